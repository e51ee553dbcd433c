"""What an import reads: every principal holding a role on the given meshes, every CloudSSO
assignment on the given accounts, and the names of all of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from permctl.errors import PermctlError
from permctl.model import AsmPrincipalLive, Assignment, PrincipalKind
from permctl.providers import Providers, Session
from permctl.providers.resourcedirectory import RdAccount
from permctl.resolve import accounts_named, unknown_message


class ImportScopeError(PermctlError):
    """What was asked for cannot be imported (an unknown mesh or account)."""


@dataclass(frozen=True)
class MeshRequest:
    mesh_id: str
    alias: str | None = None  # None: the mesh's name


@dataclass(frozen=True)
class ImportRequest:
    region: str
    meshes: tuple[MeshRequest, ...] = ()
    directory_id: str | None = None
    accounts: tuple[str, ...] = ()  # ids or names; empty: every account of the directory


@dataclass(frozen=True)
class LiveOrganisation:
    """The live state in scope, with id -> name of everything that has a name."""

    meshes: Mapping[str, str]  # id -> name, in the order asked
    principals: tuple[AsmPrincipalLive, ...]  # those holding a role on one of `meshes`
    principal_names: Mapping[tuple[PrincipalKind, str], str]
    directory_id: str | None = None
    all_accounts: bool = True  # no --accounts: the whole resource directory is in scope
    rd_accounts: tuple[RdAccount, ...] = ()
    assignments: frozenset[Assignment] = frozenset()
    left_out: int = 0  # assignments on accounts outside the resource directory
    sso_names: Mapping[str, str] = field(default_factory=dict)


def read_organisation(request: ImportRequest, session: Session) -> LiveOrganisation:
    """Service Mesh and RAM are read through the session's `asm` providers, CloudSSO and the
    resource directory through its `cloudsso` ones, as plan reads them."""
    meshes = _meshes(request, session.asm) if request.meshes else {}
    principals = _principals(frozenset(meshes), session.asm) if meshes else ()
    names = _principal_names(principals, session.asm)
    if request.directory_id is None:
        return LiveOrganisation(meshes, principals, names)
    rd = session.cloudsso.resourcedirectory.accounts
    accounts = _accounts(request.accounts, rd) if request.accounts else {a.account_id for a in rd}
    sso = session.cloudsso.cloudsso
    listing = (
        sso.read_assignments(request.directory_id, accounts)
        if request.accounts
        else sso.read_all_assignments(request.directory_id)
    )
    in_scope = frozenset(a for a in listing.assignments if a.account_id in accounts)
    return LiveOrganisation(
        meshes,
        principals,
        names,
        directory_id=request.directory_id,
        all_accounts=not request.accounts,
        rd_accounts=rd,
        assignments=in_scope,
        left_out=len(listing.assignments) - len(in_scope),
        sso_names=listing.names,
    )


def _meshes(request: ImportRequest, providers: Providers) -> dict[str, str]:
    existing = providers.servicemesh.list_meshes()
    unknown = [m.mesh_id for m in request.meshes if m.mesh_id not in existing]
    if unknown:
        noun = f"Service Mesh instance in {request.region}"
        raise ImportScopeError("; ".join(unknown_message(noun, m, existing) for m in unknown))
    return {m.mesh_id: existing[m.mesh_id] for m in request.meshes}


def _principals(mesh_ids: frozenset[str], providers: Providers) -> tuple[AsmPrincipalLive, ...]:
    """Everyone holding any Service Mesh permission is read, as plan reads them to find
    unmanaged principals; those with a role on one of the meshes are kept."""
    users, roles = providers.servicemesh.list_principal_ids()
    refs = {
        **{r: PrincipalKind.RAM_ROLE for r in roles},
        **{u: PrincipalKind.RAM_USER for u in users},
    }
    held = providers.servicemesh.read_principals(sorted(refs.items()))
    return tuple(p for _, p in sorted(held.items()) if p.on_meshes(mesh_ids))


def _principal_names(
    principals: Sequence[AsmPrincipalLive], providers: Providers
) -> dict[tuple[PrincipalKind, str], str]:
    kinds = {p.kind for p in principals}
    names: dict[tuple[PrincipalKind, str], str] = {}
    if PrincipalKind.RAM_USER in kinds:
        users = providers.ram.user_names_by_id()
        names.update({(PrincipalKind.RAM_USER, i): n for i, n in users.items()})
    if PrincipalKind.RAM_ROLE in kinds:
        roles = providers.ram.role_names_by_id()
        names.update({(PrincipalKind.RAM_ROLE, i): n for i, n in roles.items()})
    return names


def _accounts(refs: Sequence[str], rd: Sequence[RdAccount]) -> set[str]:
    found: set[str] = set()
    problems: list[str] = []
    for ref in refs:
        matches = accounts_named(ref, rd)
        if len(matches) == 1:
            found.add(matches[0].account_id)
        elif matches:
            ids = ", ".join(sorted(a.account_id for a in matches))
            problems.append(f"several accounts are named {ref!r} ({ids}); use the account id")
        else:
            candidates = [name for a in rd for name in (a.account_id, a.display_name, a.name)]
            problems.append(unknown_message("resource directory account", ref, candidates))
    if problems:
        raise ImportScopeError("; ".join(problems))
    return found
