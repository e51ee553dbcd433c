"""The emulated world: meshes, RAM principals and their Service Mesh grants, the resource
directory, and CloudSSO directories with their assignments and pending tasks.

One re-entrant lock guards all of it. The dispatcher holds it around each action, so every call
is atomic, as a GrantUserPermissions for several principals must be; handlers never lock.
Only grants, assignments and tasks change; everything else is the validated document.
"""

from __future__ import annotations

import heapq
import itertools
import secrets
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from permctl.emulator.schema import (
    DEFAULT_TIME,
    AccountDoc,
    AccountStateDoc,
    DirectoryDoc,
    FolderDoc,
    RamPrincipalDoc,
    ResourceDirectoryDoc,
    StateDoc,
    StateSource,
    iso_time,
    load_document,
)
from permctl.emulator.signing import Caller, Credential, KeyStore

ROOT_FOLDER_NAME = "Root"


@dataclass(frozen=True, order=True)
class MeshGrant:
    mesh: str
    role: str


@dataclass(frozen=True, order=True)
class AssignmentKey:
    access_configuration_id: str
    target_id: str
    principal_type: str  # User | Group
    principal_id: str

    def __str__(self) -> str:
        return (
            f"{self.access_configuration_id} on {self.target_id} "
            f"for {self.principal_type} {self.principal_id}"
        )


@dataclass(frozen=True, order=True)
class ProvisioningKey:
    access_configuration_id: str
    target_id: str

    def __str__(self) -> str:
        return f"{self.access_configuration_id} on {self.target_id}"


@dataclass
class Provisioning:
    status: str  # Provisioned | ReprovisionRequired | DeprovisionFailed
    created: str
    updated: str


@dataclass(frozen=True)
class Assigned:
    order: int  # creation order: listings follow it, and page cursors are made of it
    created: str


@dataclass
class Task:
    """An asynchronous CloudSSO change; its outcome is drawn when it is submitted."""

    task_id: str
    task_type: str  # CreateAccessAssignment | DeleteAccessAssignment | ProvisionAccessConfiguration
    directory_id: str
    key: AssignmentKey | ProvisioningKey
    due: float
    failure_reason: str | None
    start_time: str
    request_id: str
    deprovision_strategy: str | None = None
    status: str = "InProgress"
    end_time: str | None = None


class Directory:
    """One CloudSSO directory."""

    def __init__(self, doc: DirectoryDoc) -> None:
        self.doc = doc
        self.users = {u.id: u for u in doc.users}
        self.groups = {g.id: g for g in doc.groups}
        self.access_configurations = {c.id: c for c in doc.access_configurations}
        self.assignments: dict[AssignmentKey, Assigned] = {}
        self.by_target: defaultdict[str, set[AssignmentKey]] = defaultdict(set)
        self.tasks: dict[str, Task] = {}
        self.pending: dict[AssignmentKey | ProvisioningKey, Task] = {}
        self.provisionings: dict[ProvisioningKey, Provisioning] = {
            ProvisioningKey(p.access_configuration, p.account): Provisioning(
                p.status, DEFAULT_TIME, DEFAULT_TIME
            )
            for p in doc.provisionings
        }
        self._order = itertools.count()
        for a in doc.assignments:
            self.add(
                AssignmentKey(a.access_configuration, a.account, a.principal_type, a.principal),
                DEFAULT_TIME,
            )

    def add(self, key: AssignmentKey, created: str) -> None:
        """An assignment, its access configuration provisioned on the account if it was not."""
        self.assignments[key] = Assigned(next(self._order), created)
        self.by_target[key.target_id].add(key)
        where = ProvisioningKey(key.access_configuration_id, key.target_id)
        self.provisionings.setdefault(where, Provisioning("Provisioned", created, created))

    def remove(self, key: AssignmentKey, deprovision_last: bool) -> None:
        del self.assignments[key]
        self.by_target[key.target_id].discard(key)
        where = ProvisioningKey(key.access_configuration_id, key.target_id)
        if deprovision_last and not self.assigned_on(where):
            self.provisionings.pop(where, None)

    def assigned_on(self, where: ProvisioningKey) -> bool:
        return any(
            k.access_configuration_id == where.access_configuration_id
            for k in self.by_target.get(where.target_id, ())
        )

    def mark_changed(self, configuration_id: str, now: str) -> None:
        """A changed access configuration is out of date wherever it is provisioned."""
        for where, provisioning in self.provisionings.items():
            if where.access_configuration_id == configuration_id:
                provisioning.status, provisioning.updated = "ReprovisionRequired", now

    def principal_name(self, principal_type: str, principal_id: str) -> str:
        entities = self.users if principal_type == "User" else self.groups
        entity = entities.get(principal_id)
        return entity.name if entity else ""

    def complete(self, task: Task, now: str) -> None:
        """Apply a due task: its change becomes visible, or it fails and changes nothing."""
        del self.pending[task.key]
        task.status, task.end_time = ("Failed" if task.failure_reason else "Success"), now
        if task.failure_reason:
            return
        if isinstance(task.key, ProvisioningKey):
            self._provisioned(task.key, now)
        elif task.task_type == "CreateAccessAssignment":
            self.add(task.key, now)
        else:
            deprovision = task.deprovision_strategy != "None"
            self.remove(task.key, deprovision_last=deprovision)

    def _provisioned(self, where: ProvisioningKey, now: str) -> None:
        provisioning = self.provisionings.setdefault(where, Provisioning("Provisioned", now, now))
        provisioning.status, provisioning.updated = "Provisioned", now

    def dump_assignments(self) -> list[dict[str, str]]:
        return [
            {
                "access_configuration": k.access_configuration_id,
                "account": k.target_id,
                "principal_type": k.principal_type,
                "principal": k.principal_id,
            }
            for k in self.assignments
        ]

    def dump_provisionings(self) -> list[dict[str, str]]:
        return [
            {"access_configuration": k.access_configuration_id, "account": k.target_id,
             "status": p.status}
            for k, p in sorted(self.provisionings.items())
        ]  # fmt: skip


class ResourceDirectory:
    def __init__(self, doc: ResourceDirectoryDoc) -> None:
        self.doc = doc
        self.folders = {f.id: f for f in doc.folders}
        self.accounts = {a.id: a for a in doc.accounts}

    def chain(self, folder_id: str | None) -> list[FolderDoc]:
        """The folders from below the root down to `folder_id` (empty for the root)."""
        chain: list[FolderDoc] = []
        while folder_id in self.folders:
            chain.insert(0, self.folders[folder_id])
            folder_id = self.folders[folder_id].parent
        return chain

    def folder_path(self, folder_id: str | None) -> str:
        """`rd-x/r-y/fd-a/fd-b`: the ResourceDirectoryPath of a folder."""
        return "/".join(
            (self.doc.id, self.doc.root_folder_id, *(f.id for f in self.chain(folder_id)))
        )

    def account_path(self, account: AccountDoc) -> str:
        return f"{self.folder_path(account.folder)}/{account.id}"

    def account_path_name(self, account: AccountDoc) -> str:
        """`rd-x/root/dev/dev-test`: TargetPathName, names where the path has ids."""
        names = (f.name for f in self.chain(account.folder))
        return "/".join((self.doc.id, "root", *names, account.name))

    def folder_of(self, account: AccountDoc) -> str:
        return account.folder or self.doc.root_folder_id


class EmulatorState:
    """One account's world. The state loaded from a file is the caller's account; it holds the
    other accounts of the file in `accounts` (itself included), which share its lock and keys:
    a key made by AssumeRole acts in the role's account."""

    def __init__(
        self,
        doc: AccountStateDoc,
        *,
        lock: threading.RLock | None = None,
        keys: KeyStore | None = None,
    ) -> None:
        self.lock = lock or threading.RLock()
        self.doc = doc
        self.account_id = doc.account_id
        self.meshes = {m.id: m for m in doc.meshes}
        self.users_by_name = {u.name: u for u in doc.ram.users}
        self.roles_by_name = {r.name: r for r in doc.ram.roles}
        self.roles_by_lower_name = {r.name.lower(): r for r in doc.ram.roles}
        self.principals: dict[str, RamPrincipalDoc] = {
            p.id: p for p in doc.ram.users + doc.ram.roles
        }
        self.role_ids = frozenset(r.id for r in doc.ram.roles)
        self.grants: dict[str, tuple[MeshGrant, ...]] = {
            p.id: tuple(dict.fromkeys(MeshGrant(g.mesh, g.role) for g in p.grants))
            for p in self.principals.values()
        }
        rd = doc.resource_directory
        self.rd = ResourceDirectory(rd) if rd else None
        self.directories = {d.id: Directory(d) for d in doc.cloudsso.directories}
        self.keys: KeyStore = keys if keys is not None else self._key_store()
        self._due: list[tuple[float, int, Task]] = []
        self._order = itertools.count()
        others = doc.accounts if isinstance(doc, StateDoc) else ()
        self.accounts: dict[str, EmulatorState] = {self.account_id: self} | {
            other.account_id: EmulatorState(other, lock=self.lock, keys=self.keys)
            for other in others
        }

    @classmethod
    def load(cls, source: StateSource | EmulatorState) -> EmulatorState:
        """A state from a YAML/JSON path, a dict, or an existing state (used as is)."""
        return source if isinstance(source, EmulatorState) else cls(load_document(source))

    def _key_store(self) -> KeyStore:
        if not isinstance(self.doc, StateDoc) or self.doc.access_keys is None:
            generated = Credential(
                f"permctl-emulator-{secrets.token_hex(4)}",
                f"permctl-emulator-secret-{secrets.token_hex(12)}",
            )
            return {generated.access_key_id: generated}
        by_name = {p.name: p.id for p in self.principals.values()}
        return {
            k.id: Credential(
                k.id,
                k.secret,
                k.security_token,
                by_name.get(k.principal, k.principal) if k.principal else None,
            )
            for k in self.doc.access_keys
        }

    def is_role(self, principal_id: str) -> bool:
        return principal_id in self.role_ids

    def account_of(self, credential: Credential) -> EmulatorState:
        """The account a key acts in: its role's, for a key made by AssumeRole."""
        return self.accounts.get(credential.account_id or self.account_id, self)

    def caller(self, credential: Credential) -> Caller:
        """Who signed with `credential`, in this account (the one `account_of` gives)."""
        principal = self.principals.get(credential.principal_id or "")
        if principal is None:
            return Caller(credential.access_key_id, "Account", self.account_id, self.account_id)
        kind = "AssumedRoleUser" if self.is_role(principal.id) else "RAMUser"
        return Caller(
            credential.access_key_id, kind, principal.id, principal.name, credential.session_name
        )

    def role_arn(self, role_name: str) -> str:
        return f"acs:ram::{self.account_id}:role/{role_name.lower()}"

    # -- CloudSSO tasks ------------------------------------------------------------------------

    def submit(self, directory: Directory, task: Task) -> None:
        directory.tasks[task.task_id] = task
        directory.pending[task.key] = task
        heapq.heappush(self._due, (task.due, next(self._order), task))

    def settle(self, now: float, everything: bool = False) -> list[Task]:
        """Complete the tasks of every account due by `now` (all of them with `everything`),
        oldest first. Completion is lazy: it happens on the next call after a task falls due,
        and is dated when the task fell due."""
        return [
            task
            for account in self.accounts.values()
            for task in account._settle_own(now, everything)
        ]

    def _settle_own(self, now: float, everything: bool) -> list[Task]:
        done: list[Task] = []
        while self._due and (everything or self._due[0][0] <= now):
            task = heapq.heappop(self._due)[2]
            self.directories[task.directory_id].complete(task, iso_time(min(task.due, now)))
            done.append(task)
        return done

    # -- dump ----------------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """The current state in the schema it was loaded from."""
        with self.lock:
            data = self.doc.model_dump(mode="json", exclude_none=True, exclude={"accounts"})
            others = [a.dump() for a in self.accounts.values() if a is not self]
            if others:
                data["accounts"] = others
            for section in ("users", "roles"):
                for entry in data["ram"][section]:
                    entry["grants"] = [
                        {"mesh": g.mesh, "role": g.role} for g in self.grants[entry["id"]]
                    ]
            for entry in data["cloudsso"]["directories"]:
                directory = self.directories[entry["id"]]
                entry["assignments"] = directory.dump_assignments()
                entry["provisionings"] = directory.dump_provisionings()
                entry["access_configurations"] = [
                    c.model_dump(mode="json", exclude_none=True)
                    for c in directory.access_configurations.values()
                ]
            return data
