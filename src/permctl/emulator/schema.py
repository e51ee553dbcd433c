"""The state file: pydantic models of the schema in the package docstring, and its loader.

Ids are strings everywhere; a YAML number where an id belongs is taken as its digits. Every
cross-reference (a grant's mesh, an account's folder, an assignment's principal, ...) is checked
on load, and all problems are reported together.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

ASM_ROLES = ("istio-admin", "istio-ops", "istio-readonly")
DEFAULT_TIME = "2024-01-15T08:00:00Z"

StateSource = str | os.PathLike[str] | Mapping[str, Any]


def iso_time(epoch: float) -> str:
    """The API's timestamps: ISO 8601 in UTC, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class StateFileError(ValueError):
    """The state file cannot be read or does not match the schema."""


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class AccessKeyDoc(_Doc):
    id: str
    secret: str
    security_token: str | None = None
    principal: str | None = None  # RAM user or role (id or name) the key belongs to


class MeshDoc(_Doc):
    id: str
    name: str
    region_id: str = "cn-hangzhou"


class GrantDoc(_Doc):
    mesh: str
    role: Literal["istio-admin", "istio-ops", "istio-readonly"]


class RamPrincipalDoc(_Doc):
    id: str
    name: str
    display_name: str | None = None
    grants: tuple[GrantDoc, ...] = ()
    external_id: str | None = None  # roles: the ExternalId AssumeRole must carry


class RamDoc(_Doc):
    users: tuple[RamPrincipalDoc, ...] = ()
    roles: tuple[RamPrincipalDoc, ...] = ()


class FolderDoc(_Doc):
    id: str
    name: str
    parent: str


class AccountDoc(_Doc):
    id: str
    name: str
    display_name: str | None = None
    folder: str | None = None  # None: directly under the root folder
    type: Literal["ResourceAccount", "CloudAccount"] = "ResourceAccount"
    status: str = "CreateSuccess"
    join_method: Literal["created", "invited"] = "created"
    join_time: str = DEFAULT_TIME


class ResourceDirectoryDoc(_Doc):
    id: str
    root_folder_id: str
    folders: tuple[FolderDoc, ...] = ()
    accounts: tuple[AccountDoc, ...] = ()


class SsoUserDoc(_Doc):
    id: str
    name: str
    display_name: str | None = None
    email: str | None = None
    status: Literal["Enabled", "Disabled"] = "Enabled"


class SsoGroupDoc(_Doc):
    id: str
    name: str
    description: str | None = None
    members: tuple[str, ...] = ()  # user ids, in the order the group lists them


class AccessConfigurationDoc(_Doc):
    id: str
    name: str
    description: str | None = None
    session_duration: int = 3600


class AssignmentDoc(_Doc):
    access_configuration: str
    account: str
    principal_type: Literal["User", "Group"]
    principal: str


class DirectoryDoc(_Doc):
    id: str
    name: str
    region: str = "cn-shanghai"
    users: tuple[SsoUserDoc, ...] = ()
    groups: tuple[SsoGroupDoc, ...] = ()
    access_configurations: tuple[AccessConfigurationDoc, ...] = ()
    assignments: tuple[AssignmentDoc, ...] = ()


class CloudSsoDoc(_Doc):
    directories: tuple[DirectoryDoc, ...] = ()


class AccountStateDoc(_Doc):
    """One Alibaba Cloud account's resources."""

    account_id: str = "1000000000000001"
    meshes: tuple[MeshDoc, ...] = ()
    ram: RamDoc = RamDoc()
    resource_directory: ResourceDirectoryDoc | None = None
    cloudsso: CloudSsoDoc = CloudSsoDoc()

    @model_validator(mode="after")
    def _references_resolve(self) -> AccountStateDoc:
        problems = [*_ram_problems(self), *_rd_problems(self.resource_directory)]
        problems += _duplicates("directory id", (d.id for d in self.cloudsso.directories))
        for directory in self.cloudsso.directories:
            problems += _directory_problems(directory, self.resource_directory)
        if problems:
            raise ValueError("; ".join(problems))
        return self


class StateDoc(AccountStateDoc):
    """The caller's account, its keys, and other accounts reached by assuming their roles."""

    access_keys: tuple[AccessKeyDoc, ...] | None = None
    accounts: tuple[AccountStateDoc, ...] = ()

    @model_validator(mode="after")
    def _keys_and_accounts_resolve(self) -> StateDoc:
        principals = self.ram.users + self.ram.roles
        refs = {p.id for p in principals} | {p.name for p in principals}
        problems = [
            f"access key {k.id!r} belongs to unknown RAM principal {k.principal!r}"
            for k in self.access_keys or ()
            if k.principal is not None and k.principal not in refs
        ]
        problems += _duplicates("access key id", (k.id for k in self.access_keys or ()))
        ids = [self.account_id, *(a.account_id for a in self.accounts)]
        problems += _duplicates("account id", ids)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _duplicates(what: str, values: Iterable[str]) -> list[str]:
    return [f"{what} {v!r} appears {n} times" for v, n in Counter(values).items() if n > 1]


def _ram_problems(doc: AccountStateDoc) -> list[str]:
    principals = doc.ram.users + doc.ram.roles
    meshes = {m.id for m in doc.meshes}
    problems = _duplicates("mesh id", (m.id for m in doc.meshes))
    problems += _duplicates("RAM principal id", (p.id for p in principals))
    problems += _duplicates("RAM user name", (u.name for u in doc.ram.users))
    problems += _duplicates("RAM role name", (r.name for r in doc.ram.roles))
    problems += [
        f"RAM principal {p.name!r} has a grant on unknown mesh {g.mesh!r}"
        for p in principals
        for g in p.grants
        if g.mesh not in meshes
    ]
    return problems


def _rd_problems(rd: ResourceDirectoryDoc | None) -> list[str]:
    if rd is None:
        return []
    parents = {f.id: f.parent for f in rd.folders}
    problems = _duplicates("folder id", [rd.root_folder_id, *parents])
    problems += _duplicates("account id", (a.id for a in rd.accounts))
    for folder_id in parents:
        seen, current = {folder_id}, parents[folder_id]
        while current in parents and current not in seen:
            seen.add(current)
            current = parents[current]
        if current != rd.root_folder_id:
            problems.append(f"folder {folder_id!r} does not lead up to the root folder")
    problems += [
        f"account {a.id!r} is in unknown folder {a.folder!r}"
        for a in rd.accounts
        if a.folder is not None and a.folder != rd.root_folder_id and a.folder not in parents
    ]
    return problems


def _directory_problems(directory: DirectoryDoc, rd: ResourceDirectoryDoc | None) -> list[str]:
    where = f"directory {directory.id!r}:"
    catalog = {
        "access configuration": {c.id for c in directory.access_configurations},
        "account": {a.id for a in rd.accounts} if rd else set(),
        "User": {u.id for u in directory.users},
        "Group": {g.id for g in directory.groups},
    }
    named = (
        ("user", directory.users),
        ("group", directory.groups),
        ("access configuration", directory.access_configurations),
    )
    problems = [
        f"{where} {p}"
        for what, entities in named
        for p in _duplicates(f"{what} id", (e.id for e in entities))
        + _duplicates(f"{what} name", (e.name for e in entities))
    ]
    for index, a in enumerate(directory.assignments):
        for kind, ref in (
            ("access configuration", a.access_configuration),
            ("account", a.account),
            (a.principal_type, a.principal),
        ):
            if ref not in catalog[kind]:
                problems.append(f"{where} assignment {index} names unknown {kind} {ref!r}")
    keys = [
        f"{a.access_configuration}/{a.account}/{a.principal_type}/{a.principal}"
        for a in directory.assignments
    ]
    problems += _membership_problems(directory)
    return problems + [f"{where} {p}" for p in _duplicates("assignment", keys)]


def _membership_problems(directory: DirectoryDoc) -> list[str]:
    where = f"directory {directory.id!r}:"
    users = {u.id for u in directory.users}
    problems = [
        f"{where} group {g.id!r} has unknown member {member!r}"
        for g in directory.groups
        for member in g.members
        if member not in users
    ]
    for g in directory.groups:
        problems += [f"{where} group {g.id!r}: {p}" for p in _duplicates("member", g.members)]
    return problems


def load_document(source: StateSource) -> StateDoc:
    """Parse and validate a state given as a YAML or JSON file path or as a dict."""
    name = "<dict>"
    if isinstance(source, Mapping):
        raw: Any = source
    else:
        name = os.fspath(source)
        raw = _read_file(Path(name))
    if not isinstance(raw, Mapping):
        raise StateFileError(f"{name}: the emulator state must be a mapping at the top level")
    try:
        return StateDoc.model_validate(raw)
    except ValidationError as error:
        lines = [
            f"  {'.'.join(str(part) for part in e['loc']) or '(top level)'}: {e['msg']}"
            for e in error.errors()
        ]
        raise StateFileError(f"{name}: invalid emulator state\n" + "\n".join(lines)) from None


def _read_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise StateFileError(f"{path}: cannot read the emulator state: {error.strerror}") from None
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise StateFileError(f"{path}: not valid {kind}: {error}") from None
