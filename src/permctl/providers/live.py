"""Read exactly the live state a plan needs, in as few calls as the APIs allow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from permctl.model import (
    AsmPrincipalLive,
    DesiredAsm,
    DesiredCloudSso,
    DesiredState,
    LiveAccessConfigurations,
    LiveState,
    PrincipalKind,
)
from permctl.providers import Providers, Session
from permctl.providers.cloudsso import AssignmentListing


def read_live_state(
    desired: DesiredState, session: Session, *, include_unlisted: bool
) -> LiveState:
    """The file's principals (and, with `include_unlisted`, everyone holding any Service Mesh
    permission, for pruning and drift), the assignments on managed accounts, and the callers.
    Each mesh account is read through its own identity, and that identity is the caller there:
    the one a grant change could lock out."""
    asm: dict[str, AsmPrincipalLive] = {}
    unlisted_names: dict[str, str] = {}
    callers: set[str] = set()
    for account in session.mesh_accounts:
        if desired.asm:
            mine = replace(
                desired.asm,
                principals=tuple(p for p in desired.asm.principals if p.account == account.label),
            )
            held = read_asm(mine, account.providers, include_unlisted)
            asm.update(held)
            unlisted_names.update(name_unlisted(desired.asm, held, account.providers))
        caller = account.providers.sts.caller_principal_id()
        if caller is not None:
            callers.add(caller)
    sso = (
        read_cloudsso(desired.cloudsso, session.cloudsso)
        if desired.cloudsso
        else AssignmentListing(frozenset())
    )
    configurations = (
        read_access_configurations(desired.cloudsso, session.cloudsso)
        if desired.cloudsso
        else LiveAccessConfigurations()
    )
    return LiveState(
        asm=MappingProxyType(asm),
        assignments=sso.assignments,
        caller_principal_ids=frozenset(callers),
        names=MappingProxyType({**configurations.names, **sso.names, **unlisted_names}),
        access_configurations=configurations,
    )


def read_access_configurations(
    sso: DesiredCloudSso, providers: Providers
) -> LiveAccessConfigurations:
    """The ones the file lists, or every one when unlisted ones are deleted; nothing at all
    for a file that manages none."""
    if not (sso.access_configurations or sso.prune_access_configurations):
        return LiveAccessConfigurations()
    wanted = [c.granted.name for c in sso.access_configurations]
    listing = providers.access_configurations.read(
        sso.directory_id, wanted, everything=sso.prune_access_configurations
    )
    return LiveAccessConfigurations(MappingProxyType(listing.names), MappingProxyType(listing.read))


def read_asm(
    asm: DesiredAsm, providers: Providers, include_unlisted: bool
) -> dict[str, AsmPrincipalLive]:
    refs = {p.principal_id: p.kind for p in asm.principals}
    if include_unlisted:
        users, roles = providers.servicemesh.list_principal_ids()
        for principal_id in sorted(users - refs.keys()):
            refs[principal_id] = PrincipalKind.RAM_USER
        for principal_id in sorted(roles - refs.keys()):
            refs[principal_id] = PrincipalKind.RAM_ROLE
    return providers.servicemesh.read_principals(refs.items())


def name_unlisted(
    asm: DesiredAsm, live: Mapping[str, AsmPrincipalLive], providers: Providers
) -> dict[str, str]:
    """RAM names of the principals the file does not list that hold roles on managed meshes, so
    a reviewer sees who they are. The id is the key RAM cannot be asked by, so each kind present
    costs one listing of that kind (a page per thousand); a kind that is absent costs nothing."""
    listed = {p.principal_id for p in asm.principals}
    unlisted = [
        p
        for p in live.values()
        if p.principal_id not in listed and p.on_meshes(asm.managed_mesh_ids)
    ]
    names: dict[str, str] = {}
    if any(p.kind is PrincipalKind.RAM_USER for p in unlisted):
        names.update(providers.ram.user_names_by_id())
    if any(p.kind is PrincipalKind.RAM_ROLE for p in unlisted):
        names.update(providers.ram.role_names_by_id())
    return {p.principal_id: names[p.principal_id] for p in unlisted if p.principal_id in names}


def read_cloudsso(sso: DesiredCloudSso, providers: Providers) -> AssignmentListing:
    """Scope `accounts` asks account by account, in parallel, so unmanaged accounts cost
    nothing; scope `directory` manages every account, so one directory-wide listing is less."""
    if sso.scope == "directory":
        return providers.cloudsso.read_all_assignments(sso.directory_id)
    return providers.cloudsso.read_assignments(sso.directory_id, sso.managed_account_ids)
