"""Read exactly the live state a plan needs, in as few calls as the APIs allow."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from functools import partial
from types import MappingProxyType

from permctl.model import (
    AsmPrincipalLive,
    DesiredAsm,
    DesiredCloudSso,
    DesiredState,
    GroupMembers,
    LiveAccessConfigurations,
    LiveState,
    PrincipalKind,
)
from permctl.providers import MeshAccount, Providers, Session
from permctl.providers.cloudsso import AssignmentListing
from permctl.providers.together import Once, started, together

# Which groups' members to read, once the assignments on the managed accounts are known.
GroupsToRead = Callable[[DesiredState, AssignmentListing], Iterable[str]]


class EarlyReads:
    """The reads a plan makes whatever the file resolves to: who holds any Service Mesh
    permission and who the caller is, in each mesh account. Started before resolving, so
    that they take no round trip of their own."""

    def __init__(self, session: Session, *, asm: bool) -> None:
        self.holders = {
            a.label: Once(a.providers.servicemesh.list_principal_ids)
            for a in session.mesh_accounts
            if asm
        }
        self.callers = {
            a.label: Once(a.providers.sts.caller_principal_id) for a in session.mesh_accounts
        }

    @property
    def reads(self) -> list[Callable[[], object]]:
        return [
            *(once.get for once in self.holders.values()),
            *(once.get for once in self.callers.values()),
        ]


def read_live_state(
    desired: DesiredState,
    session: Session,
    *,
    include_unlisted: bool,
    early: EarlyReads | None = None,
    members_of: GroupsToRead | None = None,
) -> LiveState:
    """The file's principals (and, with `include_unlisted`, everyone holding any Service Mesh
    permission, for pruning and drift), the assignments on managed accounts, and the callers.
    Each mesh account is read through its own identity, and that identity is the caller there:
    the one a grant change could lock out. The accounts and CloudSSO are read together; the
    members of the groups `members_of` picks are read as soon as the assignments are listed,
    while the Service Mesh reads still run."""
    early = early or EarlyReads(session, asm=bool(desired.asm) and include_unlisted)

    def read_account(account: MeshAccount) -> tuple[dict[str, AsmPrincipalLive], dict[str, str]]:
        if not desired.asm:
            return {}, {}
        mine = replace(
            desired.asm,
            principals=tuple(p for p in desired.asm.principals if p.account == account.label),
        )
        holders = early.holders[account.label].get if include_unlisted else None
        held = read_asm(mine, account.providers, holders)
        return held, name_unlisted(desired.asm, held, account.providers)

    def read_sso() -> tuple[AssignmentListing, GroupMembers]:
        if not desired.cloudsso:
            return AssignmentListing(frozenset()), MappingProxyType({})
        listing = read_cloudsso(desired.cloudsso, session.cloudsso)
        groups = set(members_of(desired, listing)) if members_of else set()
        if not groups:
            return listing, MappingProxyType({})
        cloudsso = session.cloudsso.cloudsso
        return listing, cloudsso.read_group_members(desired.cloudsso.directory_id, groups)

    def read_configurations() -> LiveAccessConfigurations:
        if not desired.cloudsso:
            return LiveAccessConfigurations()
        return read_access_configurations(desired.cloudsso, session.cloudsso)

    with started(*early.reads):  # no-ops when the caller started them already
        *per_account, (sso, members), configurations = together(
            *(partial(read_account, account) for account in session.mesh_accounts),
            read_sso,
            read_configurations,
        )
    asm: dict[str, AsmPrincipalLive] = {}
    unlisted_names: dict[str, str] = {}
    for held, names in per_account:
        asm.update(held)
        unlisted_names.update(names)
    callers = {early.callers[a.label].get() for a in session.mesh_accounts}
    return LiveState(
        asm=MappingProxyType(asm),
        assignments=sso.assignments,
        caller_principal_ids=frozenset(c for c in callers if c is not None),
        names=MappingProxyType({**configurations.names, **sso.names, **unlisted_names}),
        access_configurations=configurations,
        group_members=members,
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
    asm: DesiredAsm,
    providers: Providers,
    holders: Callable[[], tuple[frozenset[str], frozenset[str]]] | None,
) -> dict[str, AsmPrincipalLive]:
    """`holders`, when given, tells who holds any permission: they are read too (a plan
    starts that listing before resolving the file, so its answer is there by now)."""
    refs = {p.principal_id: p.kind for p in asm.principals}
    if holders:
        users, roles = holders()
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
    listings = together(
        *(
            listing
            for kind, listing in (
                (PrincipalKind.RAM_USER, providers.ram.user_names_by_id),
                (PrincipalKind.RAM_ROLE, providers.ram.role_names_by_id),
            )
            if any(p.kind is kind for p in unlisted)
        )
    )
    for listing in listings:
        names.update(listing)
    return {p.principal_id: names[p.principal_id] for p in unlisted if p.principal_id in names}


def read_cloudsso(sso: DesiredCloudSso, providers: Providers) -> AssignmentListing:
    """Scope `accounts` asks account by account, in parallel, so unmanaged accounts cost
    nothing; scope `directory` manages every account, so one directory-wide listing is less."""
    if sso.scope == "directory":
        return providers.cloudsso.read_all_assignments(sso.directory_id)
    return providers.cloudsso.read_assignments(sso.directory_id, sso.managed_account_ids)
