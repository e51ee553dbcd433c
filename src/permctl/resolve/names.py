"""The file's names to cloud ids: Config -> DesiredState. Reads through the providers, writes
nothing, and reports every name it cannot resolve at once, each at the place the file used it."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from permctl.config.identities import accounts_of_principal
from permctl.errors import ApiError, ConfigError, ConfigProblem
from permctl.model import (
    AccessConfiguration,
    Assignment,
    CloudSsoPrincipalType,
    DesiredAccessConfiguration,
    DesiredAsm,
    DesiredAssignment,
    DesiredCloudSso,
    DesiredPrincipal,
    DesiredState,
    Mesh,
    PrincipalKind,
    new_access_configuration_id,
)
from permctl.providers import MeshAccount, Providers, Session
from permctl.providers.access_configurations import id_of
from permctl.providers.cloudsso import ACCESS_CONFIGURATION, GROUP, USER, EntityKind
from permctl.providers.resourcedirectory import RdAccount
from permctl.providers.together import together
from permctl.vocabulary import KIND_NAMES

if TYPE_CHECKING:
    from permctl.config.schema import (
        AccessConfigurationSpec,
        AsmSection,
        AssignmentSpec,
        CloudSsoSection,
        Config,
        Located,
        MeshSpec,
        PrincipalSpec,
    )


@dataclass
class _Findings:
    """What resolving has learnt so far: problems to report and id -> name for display."""

    problems: list[ConfigProblem] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    def problem(self, item: Located, at: tuple[str, int | None], message: str) -> None:
        where = item.field_source(*at)
        self.problems.append(
            ConfigProblem(where.file, where.line, where.column, item.field_path(*at), message)
        )

    def unknown(
        self,
        item: Located,
        at: tuple[str, int | None],
        noun: str,
        ref: str,
        candidates: Callable[[], Iterable[str]],
    ) -> None:
        """`candidates` is only called here, so listing everything is paid for by typos alone."""
        self.problem(item, at, unknown_message(noun, ref, candidates()))


def unknown_message(noun: str, ref: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(ref, sorted(set(candidates)), n=3, cutoff=0.6)
    if not close:
        return f"no {noun} named {ref!r}"
    return f"no {noun} named {ref!r}; did you mean " + " or ".join(repr(c) for c in close) + "?"


def resolve(config: Config, session: Session) -> DesiredState:
    """Meshes and RAM principals are looked up as the Service Mesh identity, the directory and
    its accounts as the CloudSSO identity: each in its own account. Both sections, and every
    lookup that depends on no other, are read together; problems come in file order."""
    region = config.settings.region
    asm_findings, sso_findings = _Findings(), _Findings()
    asm_section, sso_section = config.asm, config.cloudsso
    asm, sso = together(
        lambda: _resolve_asm(asm_section, session, region, asm_findings) if asm_section else None,
        lambda: (
            _resolve_cloudsso(sso_section, session.cloudsso, region, sso_findings)
            if sso_section
            else None
        ),
    )
    problems = asm_findings.problems + sso_findings.problems
    if problems:
        raise ConfigError(problems)
    return DesiredState(
        asm=asm,
        cloudsso=sso,
        safety=config.settings.safety.as_settings(),
        names=MappingProxyType({**asm_findings.names, **sso_findings.names}),
    )


# -- Service Mesh ---------------------------------------------------------------------------


def _resolve_asm(
    section: AsmSection, session: Session, region: str, findings: _Findings
) -> DesiredAsm:
    """Each principal is looked up in the account of the meshes it has roles on: a name in
    each such account (the same name is another RAM user or role in each)."""
    meshes = tuple(Mesh(alias, spec.id) for alias, spec in section.meshes.items())
    findings.names.update({mesh.mesh_id: mesh.alias for mesh in meshes})
    mesh_ids = {mesh.alias: mesh.mesh_id for mesh in meshes}
    accounts = session.mesh_accounts
    several = len(accounts) > 1
    principals: list[DesiredPrincipal] = []
    first_seen: dict[str, PrincipalSpec] = {}
    specs_of = {
        account.label: [
            spec
            for spec in section.principals
            if account in accounts_of_principal(section, spec, accounts)
        ]
        for account in accounts
    }
    read = together(
        *(
            step
            for account in accounts
            for step in (
                partial(_meshes_of, section, account, several),
                partial(_principal_ids, specs_of[account.label], account.providers),
            )
        )
    )
    for index, account in enumerate(accounts):
        account_meshes, ids = read[2 * index], read[2 * index + 1]
        _verify_meshes(account_meshes, account, region, findings, several=several)
        providers = account.providers
        specs = specs_of[account.label]
        for spec, principal_id in zip(specs, ids, strict=True):
            at = (spec.kind.value, None)
            if principal_id is None:
                names = partial(_principal_names, spec.kind, providers)
                noun = KIND_NAMES[spec.kind] + _in_account(account, several)
                findings.unknown(spec, at, noun, spec.ref, names)
            elif principal_id in first_seen:
                other = first_seen[principal_id]
                message = f"the same principal as {other.name!r} at {other.source}"
                findings.problem(spec, at, message)
            else:
                first_seen[principal_id] = spec
                findings.names[principal_id] = spec.name
                roles = {
                    mesh_ids[alias]: role
                    for alias, role in section.effective_roles(spec).items()
                    if not several or mesh_ids[alias] in account.mesh_ids
                }
                principals.append(_desired(spec, principal_id, roles, account))
    return DesiredAsm(meshes, tuple(principals), prune_unlisted=section.prune_unlisted)


def _desired(
    spec: PrincipalSpec, principal_id: str, roles: Mapping[str, str], account: MeshAccount
) -> DesiredPrincipal:
    """`roles`: mesh id -> role, on the meshes of `account` only."""
    return DesiredPrincipal(
        label=spec.name,
        principal_id=principal_id,
        kind=spec.kind,
        roles=MappingProxyType(dict(roles)),
        source=spec.source,
        expires=spec.expires,
        account=account.label,
    )


def _in_account(account: MeshAccount, several: bool) -> str:
    """Where a name was looked up, when there is more than one place it could have been."""
    return f" in the account of {account.label} ({account.identity})" if several else ""


@dataclass(frozen=True)
class _AccountMeshes:
    """The file's meshes in one account, and the meshes that account has."""

    specs: list[MeshSpec]
    existing: Mapping[str, str]


def _meshes_of(section: AsmSection, account: MeshAccount, several: bool) -> _AccountMeshes:
    """One DescribeServiceMeshes per account catches a mistyped mesh id before anything is
    granted on it; each account's providers see the meshes of that account."""
    specs = [s for s in section.meshes.values() if not several or s.id in account.mesh_ids]
    return _AccountMeshes(specs, account.providers.servicemesh.list_meshes() if specs else {})


def _principal_ids(specs: list[PrincipalSpec], providers: Providers) -> list[str | None]:
    return providers.connection.map(
        partial(_principal_id, providers=providers),
        specs,
        label="Resolving RAM principals",
        product="ram",
    )


def _verify_meshes(
    meshes: _AccountMeshes, account: MeshAccount, region: str, findings: _Findings, *, several: bool
) -> None:
    specs, existing = meshes.specs, meshes.existing
    where = _in_account(account, several)
    for spec in specs:
        if spec.id not in existing:
            findings.unknown(
                spec,
                ("id", None),
                f"Service Mesh instance in {region}{where}",
                spec.id,
                lambda: [*existing, *existing.values()],
            )


def _principal_id(spec: PrincipalSpec, providers: Providers) -> str | None:
    if spec.kind is PrincipalKind.RAM_ROLE:
        return providers.ram.resolve_role(spec.ref)
    return providers.ram.resolve_user(spec.ref)


def _principal_names(kind: PrincipalKind, providers: Providers) -> list[str]:
    if kind is PrincipalKind.RAM_ROLE:
        return providers.ram.role_names()
    return providers.ram.user_names()


# -- CloudSSO -------------------------------------------------------------------------------

NO_SUCH_DIRECTORY = "EntityNotExists.Directory"

_SSO_REFS: Mapping[EntityKind, Callable[[Any], Iterable[str]]] = {
    ACCESS_CONFIGURATION: lambda spec: [spec.access_configuration],
    USER: lambda spec: spec.users,
    GROUP: lambda spec: spec.groups,
}


def _resolve_cloudsso(
    section: CloudSsoSection, providers: Providers, region: str, findings: _Findings
) -> DesiredCloudSso | None:
    """None when the directory does not exist: nothing in it can be resolved."""
    directory_id = section.directory
    sso = providers.cloudsso
    rd = providers.resourcedirectory
    # A file that manages access configurations lists them all anyway: names resolve in that
    # one listing, which the read of what they grant then reuses.
    lists_configurations = bool(section.access_configurations)
    kinds = [k for k in _SSO_REFS if not (k is ACCESS_CONFIGURATION and lists_configurations)]
    try:
        *found, listing, _ = together(
            *(
                partial(
                    sso.resolve,
                    directory_id,
                    kind,
                    sorted({r for s in section.assignments for r in _SSO_REFS[kind](s)}),
                )
                for kind in kinds
            ),
            lambda: (
                providers.access_configurations.names(directory_id)
                if lists_configurations
                else None
            ),
            lambda: rd.accounts,  # wanted by the assignments' accounts, read meanwhile
        )
    except ApiError as error:
        if error.code != NO_SUCH_DIRECTORY:
            raise
        message = (
            f"no CloudSSO directory {directory_id!r} in {region} for this account "
            "(`aliyun cloudsso ListDirectories` lists yours)"
        )
        findings.problem(section, ("directory", None), message)
        return None
    listed: dict[str, str] | None = listing
    resolved = dict(zip(kinds, found, strict=True))
    declared = {spec.name.lower(): spec.name for spec in section.access_configurations}
    if listed is not None:
        refs = {s.access_configuration for s in section.assignments}
        resolved[ACCESS_CONFIGURATION] = {ref: id_of(ref, listed) for ref in refs}
        findings.names.update(listed)
    resolved[ACCESS_CONFIGURATION] = {
        ref: found or _to_be_created(ref, declared)
        for ref, found in resolved[ACCESS_CONFIGURATION].items()
    }
    findings.names.update({new_access_configuration_id(n): n for n in declared.values()})

    def ids_of(spec: AssignmentSpec, kind: EntityKind, field_name: str) -> list[str]:
        def candidates() -> list[str]:
            if kind is not ACCESS_CONFIGURATION:
                return sso.all_names(directory_id, kind)
            existing = (
                list(listed.values()) if listed is not None else sso.all_names(directory_id, kind)
            )
            return existing + list(declared.values())

        return _found(
            spec, field_name, resolved[kind], findings, f"CloudSSO {kind.noun}", candidates
        )

    assignments: list[DesiredAssignment] = []
    managed: set[str] = set()
    for spec in section.assignments:
        configuration = ids_of(spec, ACCESS_CONFIGURATION, "access_configuration")
        principals: list[tuple[CloudSsoPrincipalType, str]] = [
            *(("User", user) for user in ids_of(spec, USER, "users")),
            *(("Group", group) for group in ids_of(spec, GROUP, "groups")),
        ]
        accounts = _accounts(spec, providers, findings)
        managed |= accounts
        assignments += [
            DesiredAssignment(Assignment(ac, account, kind, principal), spec.source, spec.expires)
            for ac in configuration
            for account in sorted(accounts)
            for kind, principal in principals
        ]
    rd_accounts = providers.resourcedirectory.accounts
    findings.names.update(sso.known_names())
    findings.names.update({a.account_id: a.display_name or a.name for a in rd_accounts})
    if section.scope == "directory":
        managed = {a.account_id for a in rd_accounts}
    return DesiredCloudSso(
        directory_id=directory_id,
        scope=section.scope,
        managed_account_ids=frozenset(managed),
        assignments=tuple(assignments),
        prune_unlisted=section.prune_unlisted,
        deprovision_strategy=section.deprovision_strategy,
        access_configurations=tuple(
            DesiredAccessConfiguration(granted_by(spec), spec.source)
            for spec in section.access_configurations
        ),
        prune_access_configurations=section.prune_access_configurations,
    )


def _to_be_created(ref: str, declared: Mapping[str, str]) -> str | None:
    """An access configuration the file declares and the directory lacks is created first."""
    name = declared.get(ref.lower())
    return new_access_configuration_id(name) if name else None


def granted_by(spec: AccessConfigurationSpec) -> AccessConfiguration:
    """What the file says an access configuration grants, in the form the API's is read in."""
    return AccessConfiguration.written(
        spec.name,
        spec.description,
        spec.session_duration,
        spec.relay_state,
        spec.system_policies,
        spec.inline_policy,
    )


def _found(
    spec: AssignmentSpec,
    field_name: str,
    resolved: Mapping[str, str | None],
    findings: _Findings,
    noun: str,
    candidates: Callable[[], Iterable[str]],
) -> list[str]:
    """The ids of one field of an assignment (a single value or a list), reporting the unknown."""
    value = getattr(spec, field_name)
    refs: list[tuple[int | None, str]] = (
        [(None, value)] if isinstance(value, str) else list(enumerate(value))
    )
    ids = []
    for index, ref in refs:
        found = resolved[ref]
        if found is None:
            findings.unknown(spec, (field_name, index), noun, ref, candidates)
        else:
            ids.append(found)
    return ids


def _accounts(spec: AssignmentSpec, providers: Providers, findings: _Findings) -> set[str]:
    """The accounts an assignment names, plus every account below the folders it names."""
    rd = providers.resourcedirectory
    found: set[str] = set()
    for index, ref in enumerate(spec.accounts):
        matches = accounts_named(ref, rd.accounts)
        if len(matches) == 1:
            found.add(matches[0].account_id)
        elif matches:
            ids = ", ".join(sorted(a.account_id for a in matches))
            message = f"several accounts are named {ref!r} ({ids}); use the account id"
            findings.problem(spec, ("accounts", index), message)
        else:
            findings.unknown(
                spec,
                ("accounts", index),
                "resource directory account",
                ref,
                lambda: [name for a in rd.accounts for name in (a.display_name, a.name)],
            )
    for index, ref in enumerate(spec.folders):
        folder_id = find_folder(ref, providers)
        if folder_id is None:
            findings.unknown(
                spec,
                ("folders", index),
                "resource directory folder",
                ref,
                lambda: [f.name for f in rd.folders],
            )
        else:
            found |= rd.accounts_in(folder_id)
    return found


def accounts_named(ref: str, accounts: Iterable[RdAccount]) -> list[RdAccount]:
    """The accounts `ref` names: by id, else by display name, else by account name."""
    accounts = tuple(accounts)
    keys: tuple[Callable[[RdAccount], str], ...] = (
        lambda a: a.account_id,
        lambda a: a.display_name,
        lambda a: a.name,
    )
    for key in keys:
        matches = [a for a in accounts if key(a) == ref]
        if matches:
            return matches
    return []


def find_folder(ref: str, providers: Providers) -> str | None:
    """A folder id found in some account's path needs no folder listing; a name does."""
    rd = providers.resourcedirectory
    if any(account.in_folder(ref) for account in rd.accounts):
        return ref
    matches = [f.folder_id for f in rd.folders if ref in (f.folder_id, f.name)]
    return matches[0] if len(matches) == 1 else None
