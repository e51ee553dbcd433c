"""Read exactly the live state a plan needs, in as few calls as the APIs allow."""

from __future__ import annotations

from types import MappingProxyType

from permctl.model import (
    AsmPrincipalLive,
    DesiredAsm,
    DesiredCloudSso,
    DesiredState,
    LiveState,
    PrincipalKind,
)
from permctl.providers import Providers, Session
from permctl.providers.cloudsso import AssignmentListing


def read_live_state(
    desired: DesiredState, session: Session, *, include_unlisted: bool
) -> LiveState:
    """The file's principals (and, with `include_unlisted`, everyone holding any Service Mesh
    permission, for pruning and drift), the assignments on managed accounts, and the caller.
    The caller is the Service Mesh identity: the one a grant change could lock out."""
    asm = read_asm(desired.asm, session.asm, include_unlisted) if desired.asm else {}
    sso = (
        read_cloudsso(desired.cloudsso, session.cloudsso)
        if desired.cloudsso
        else AssignmentListing(frozenset())
    )
    return LiveState(
        asm=MappingProxyType(asm),
        assignments=sso.assignments,
        caller_principal_id=session.asm.sts.caller_principal_id(),
        names=sso.names,
    )


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


def read_cloudsso(sso: DesiredCloudSso, providers: Providers) -> AssignmentListing:
    """Scope `accounts` asks account by account, in parallel, so unmanaged accounts cost
    nothing; scope `directory` manages every account, so one directory-wide listing is less."""
    if sso.scope == "directory":
        return providers.cloudsso.read_all_assignments(sso.directory_id)
    return providers.cloudsso.read_assignments(sso.directory_id, sso.managed_account_ids)
