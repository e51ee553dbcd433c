"""The file's names to cloud ids: Config -> DesiredState. Reads through the providers, writes
nothing, and reports every name it cannot resolve at once, each at the place the file used it."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from permctl.errors import ConfigError, ConfigProblem
from permctl.model import (
    Assignment,
    CloudSsoPrincipalType,
    DesiredAsm,
    DesiredAssignment,
    DesiredCloudSso,
    DesiredPrincipal,
    DesiredState,
    Mesh,
    PrincipalKind,
    SafetySettings,
    SourceRef,
)
from permctl.providers import Providers
from permctl.providers.cloudsso import ACCESS_CONFIGURATION, GROUP, USER, EntityKind
from permctl.providers.resourcedirectory import RdAccount

if TYPE_CHECKING:
    from permctl.config import AsmSection, AssignmentSpec, CloudSsoSection, Config, PrincipalSpec


@dataclass
class _Findings:
    """What resolving has learnt so far: problems to report and id -> name for display."""

    problems: list[ConfigProblem] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    def unknown(
        self,
        where: SourceRef,
        path: str,
        noun: str,
        ref: str,
        candidates: Callable[[], Iterable[str]],
    ) -> None:
        self.problems.append(
            ConfigProblem(
                where.file, where.line, where.column, path, unknown_message(noun, ref, candidates())
            )
        )

    def problem(self, where: SourceRef, path: str, message: str) -> None:
        self.problems.append(ConfigProblem(where.file, where.line, where.column, path, message))


def unknown_message(noun: str, ref: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(ref, sorted(set(candidates)), n=3, cutoff=0.6)
    if not close:
        return f"no {noun} named {ref!r}"
    return f"no {noun} named {ref!r}; did you mean " + " or ".join(repr(c) for c in close) + "?"


def resolve(config: Config, providers: Providers) -> DesiredState:
    findings = _Findings()
    asm = _resolve_asm(config.asm, providers, findings) if config.asm else None
    sso = _resolve_cloudsso(config.cloudsso, providers, findings) if config.cloudsso else None
    if findings.problems:
        raise ConfigError(findings.problems)
    safety = config.settings.safety
    return DesiredState(
        asm=asm,
        cloudsso=sso,
        safety=SafetySettings(
            max_delete_percent=safety.max_delete_percent,
            min_existing_for_threshold=safety.min_existing_for_threshold,
            protected_principals=frozenset(safety.protected_principals),
        ),
        names=MappingProxyType(findings.names),
    )


# -- Service Mesh ---------------------------------------------------------------------------


def _resolve_asm(section: AsmSection, providers: Providers, findings: _Findings) -> DesiredAsm:
    meshes = tuple(Mesh(alias, spec.id) for alias, spec in section.meshes.items())
    findings.names.update({mesh.mesh_id: mesh.alias for mesh in meshes})
    mesh_ids = {mesh.alias: mesh.mesh_id for mesh in meshes}
    ids = providers.connection.map(
        lambda spec: _principal_id(spec, providers),
        section.principals,
        label="Resolving RAM principals",
    )
    principals: list[DesiredPrincipal] = []
    first_seen: dict[str, int] = {}
    for index, (spec, principal_id) in enumerate(zip(section.principals, ids, strict=True)):
        where = spec.field_source(_principal_field(spec.kind))
        path = f"asm.principals[{index}].{_principal_field(spec.kind)}"
        if principal_id is None:
            findings.unknown(
                where,
                path,
                _principal_noun(spec.kind),
                spec.ref,
                partial(_principal_names, spec, providers),
            )
            continue
        if principal_id in first_seen:
            other = section.principals[first_seen[principal_id]]
            findings.problem(where, path, f"the same principal as {other.name!r} at {other.source}")
            continue
        first_seen[principal_id] = index
        findings.names[principal_id] = spec.name
        roles = {mesh_ids[alias]: role for alias, role in section.effective_roles(spec).items()}
        principals.append(
            DesiredPrincipal(
                label=spec.name,
                principal_id=principal_id,
                kind=spec.kind,
                roles=MappingProxyType(roles),
                source=spec.source,
                expires=spec.expires,
            )
        )
    return DesiredAsm(meshes, tuple(principals), prune_unlisted=section.prune_unlisted)


def _principal_id(spec: PrincipalSpec, providers: Providers) -> str | None:
    if spec.kind is PrincipalKind.RAM_ROLE:
        return providers.ram.resolve_role(spec.ref)
    return providers.ram.resolve_user(spec.ref)


def _principal_field(kind: PrincipalKind) -> str:
    return "ram_role" if kind is PrincipalKind.RAM_ROLE else "ram_user"


def _principal_noun(kind: PrincipalKind) -> str:
    return "RAM role" if kind is PrincipalKind.RAM_ROLE else "RAM user"


def _principal_names(spec: PrincipalSpec, providers: Providers) -> list[str]:
    if spec.kind is PrincipalKind.RAM_ROLE:
        return providers.ram.role_names()
    return providers.ram.user_names()


# -- CloudSSO -------------------------------------------------------------------------------


def _resolve_cloudsso(
    section: CloudSsoSection, providers: Providers, findings: _Findings
) -> DesiredCloudSso:
    directory_id = section.directory
    sso = providers.cloudsso
    specs = section.assignments
    resolved = {
        kind: sso.resolve(
            directory_id, kind, sorted({ref for spec in specs for ref in refs_of(spec)})
        )
        for kind, refs_of in _SSO_REFS.items()
    }
    accounts = providers.resourcedirectory.accounts
    assignments: list[DesiredAssignment] = []
    managed: set[str] = set()
    for index, spec in enumerate(specs):
        prefix = f"cloudsso.assignments[{index}]"
        ac_id = resolved[ACCESS_CONFIGURATION][spec.access_configuration]
        if ac_id is None:
            findings.unknown(
                spec.field_source("access_configuration"),
                f"{prefix}.access_configuration",
                "access configuration",
                spec.access_configuration,
                lambda: sso.all_names(directory_id, ACCESS_CONFIGURATION),
            )
        principals = [
            *_principals(
                spec,
                "users",
                "User",
                resolved[USER],
                findings,
                prefix,
                lambda: sso.all_names(directory_id, USER),
            ),
            *_principals(
                spec,
                "groups",
                "Group",
                resolved[GROUP],
                findings,
                prefix,
                lambda: sso.all_names(directory_id, GROUP),
            ),
        ]
        account_ids = _accounts(spec, accounts, providers, findings, prefix)
        managed |= account_ids
        if ac_id is None:
            continue
        assignments += [
            DesiredAssignment(
                Assignment(ac_id, account_id, kind, principal_id), spec.source, spec.expires
            )
            for account_id in sorted(account_ids)
            for kind, principal_id in principals
        ]
    findings.names.update(sso.known_names())
    findings.names.update({a.account_id: a.display_name or a.name for a in accounts})
    if section.scope == "directory":
        managed = {a.account_id for a in accounts}
    return DesiredCloudSso(
        directory_id=directory_id,
        scope=section.scope,
        managed_account_ids=frozenset(managed),
        assignments=tuple(assignments),
        prune_unlisted=section.prune_unlisted,
    )


_SSO_REFS: Mapping[EntityKind, Callable[[Any], Iterable[str]]] = {
    ACCESS_CONFIGURATION: lambda spec: [spec.access_configuration],
    USER: lambda spec: spec.users,
    GROUP: lambda spec: spec.groups,
}


def _principals(
    spec: AssignmentSpec,
    field_name: str,
    principal_type: CloudSsoPrincipalType,
    resolved: Mapping[str, str | None],
    findings: _Findings,
    prefix: str,
    candidates: Callable[[], Iterable[str]],
) -> list[tuple[CloudSsoPrincipalType, str]]:
    found: list[tuple[CloudSsoPrincipalType, str]] = []
    for index, ref in enumerate(getattr(spec, field_name)):
        principal_id = resolved[ref]
        if principal_id is None:
            findings.unknown(
                spec.field_source(field_name, index),
                f"{prefix}.{field_name}[{index}]",
                f"CloudSSO {principal_type.lower()}",
                ref,
                candidates,
            )
        else:
            found.append((principal_type, principal_id))
    return found


def _accounts(
    spec: AssignmentSpec,
    accounts: tuple[RdAccount, ...],
    providers: Providers,
    findings: _Findings,
    prefix: str,
) -> set[str]:
    """The accounts an assignment names, plus every account below the folders it names."""
    found: set[str] = set()
    for index, ref in enumerate(spec.accounts):
        account = find_account(ref, accounts)
        if account is None:
            findings.unknown(
                spec.field_source("accounts", index),
                f"{prefix}.accounts[{index}]",
                "resource directory account",
                ref,
                lambda: [name for a in accounts for name in (a.display_name, a.name)],
            )
        else:
            found.add(account.account_id)
    for index, ref in enumerate(spec.folders):
        folder_id = find_folder(ref, providers)
        if folder_id is None:
            findings.unknown(
                spec.field_source("folders", index),
                f"{prefix}.folders[{index}]",
                "resource directory folder",
                ref,
                lambda: [f.name for f in providers.resourcedirectory.folders],
            )
        else:
            found |= providers.resourcedirectory.accounts_in(folder_id)
    return found


def find_account(ref: str, accounts: Iterable[RdAccount]) -> RdAccount | None:
    """By id, then display name, then account name; an ambiguous name matches nothing."""
    accounts = tuple(accounts)
    for key in (
        lambda a: a.account_id,
        lambda a: a.display_name,
        lambda a: a.name,
    ):
        matches = [a for a in accounts if key(a) == ref]
        if matches:
            return matches[0] if len(matches) == 1 else None
    return None


def find_folder(ref: str, providers: Providers) -> str | None:
    """A folder id found in some account's path needs no folder listing; a name does."""
    if any(ref in account.path[:-1] for account in providers.resourcedirectory.accounts):
        return ref
    folders = providers.resourcedirectory.folders
    matches = [f.folder_id for f in folders if ref in (f.folder_id, f.name)]
    return matches[0] if len(matches) == 1 else None
