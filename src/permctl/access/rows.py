"""Who can do what, as rows: one per person or group, service, target and role.

Pure functions over what the other stages produce: the files (`rows_from_file`, offline), or
the resolved desired state with the live state read for a plan (`rows_from_live`). Access held
by a group is a group row until `expand_groups` replaces it with a row per member, `via` the
group; a group without members keeps its row, so no access is hidden.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from permctl.config import AsmSection, CloudSsoSection, Config, PrincipalSpec
from permctl.model import (
    Assignment,
    CloudSsoPrincipalType,
    DesiredState,
    GroupMembers,
    LiveState,
    PrincipalKind,
    Service,
)
from permctl.roles import is_principal_id

PrincipalType = Literal["ram_user", "ram_role", "user", "group"]
COLUMNS = (
    "service",
    "principal_type",
    "principal",
    "principal_id",
    "target",
    "target_id",
    "role",
    "via",
    "expires",
    "in_file",
)
DIRECT = "direct"
GROUP_VIA, TEAM_VIA = "group:", "team:"
_ASM_TYPES: Mapping[PrincipalKind, PrincipalType] = {
    PrincipalKind.RAM_USER: "ram_user",
    PrincipalKind.RAM_ROLE: "ram_role",
}
_SSO_TYPES: Mapping[CloudSsoPrincipalType, PrincipalType] = {"User": "user", "Group": "group"}


@dataclass(frozen=True)
class AccessRow:
    """`principal` is the name (the id when there is none), `target` the mesh alias or the
    account name, `role` the istio role or the access configuration's name. `in_file` is
    false for access that is only live: unmanaged, or drift."""

    service: Service
    principal_type: PrincipalType
    principal: str
    principal_id: str
    target: str
    target_id: str
    role: str
    via: str = DIRECT
    expires: date | None = None
    in_file: bool = True

    @property
    def sort_key(self) -> tuple[str, ...]:
        return (self.service, self.target, self.role, self.principal, self.via, self.principal_id)

    @property
    def through(self) -> str | None:
        """The group or team the access is held through, None for direct access."""
        for prefix in (GROUP_VIA, TEAM_VIA):
            if self.via.startswith(prefix):
                return self.via[len(prefix) :]
        return None

    def fields(self) -> dict[str, str | bool | None]:
        """The row in COLUMNS order; `expires` an ISO date or None."""
        return {
            "service": self.service,
            "principal_type": self.principal_type,
            "principal": self.principal,
            "principal_id": self.principal_id,
            "target": self.target,
            "target_id": self.target_id,
            "role": self.role,
            "via": self.via,
            "expires": self.expires.isoformat() if self.expires else None,
            "in_file": self.in_file,
        }


def sorted_rows(rows: Iterable[AccessRow]) -> list[AccessRow]:
    """By service, target, role, principal: the order every format shows."""
    return sorted(set(rows), key=lambda row: row.sort_key)


# -- what the files declare -------------------------------------------------------------------


def rows_from_file(config: Config) -> list[AccessRow]:
    """The access the files declare, as they name it: nothing is looked up, so a principal,
    account or access configuration written as an id is shown by that id, a folder is its own
    target, and a group is one row (its members are only known live)."""
    asm = _asm_file_rows(config.asm) if config.asm else []
    sso = _cloudsso_file_rows(config.cloudsso) if config.cloudsso else []
    return sorted_rows([*asm, *sso])


def _asm_file_rows(section: AsmSection) -> Iterator[AccessRow]:
    for spec in section.principals:
        for alias, role in section.effective_roles(spec).items():
            for via in _asm_vias(section, spec, alias, role):
                yield AccessRow(
                    service="asm",
                    principal_type=_ASM_TYPES[spec.kind],
                    principal=spec.name,
                    principal_id=spec.ref if is_principal_id(spec.ref) else "",
                    target=alias,
                    target_id=section.meshes[alias].id,
                    role=role,
                    via=via,
                    expires=spec.expires,
                )


def _asm_vias(section: AsmSection, spec: PrincipalSpec, alias: str, role: str) -> list[str]:
    """Every way the file gives the role: each team giving it, and the explicit roles."""
    teams = [t for t in spec.teams if section.teams.get(t, {}).get(alias) == role]
    return [f"{TEAM_VIA}{t}" for t in dict.fromkeys(teams)] + (
        [DIRECT] if spec.roles.get(alias) == role else []
    )


def _cloudsso_file_rows(section: CloudSsoSection) -> Iterator[AccessRow]:
    for spec in section.assignments:
        targets = [*spec.accounts, *spec.folders]
        principals: list[tuple[PrincipalType, str, str]] = [
            *(("user", ref, "u-") for ref in spec.users),
            *(("group", ref, "g-") for ref in spec.groups),
        ]
        for target in targets:
            for principal_type, ref, id_prefix in principals:
                yield AccessRow(
                    service="cloudsso",
                    principal_type=principal_type,
                    principal=ref,
                    principal_id=ref if ref.startswith(id_prefix) else "",
                    target=target,
                    target_id=target if target.isdigit() or target.startswith("fd-") else "",
                    role=spec.access_configuration,
                    expires=spec.expires,
                )


# -- what is live -----------------------------------------------------------------------------


def rows_from_live(config: Config, desired: DesiredState, live: LiveState) -> list[AccessRow]:
    """Live access on the managed meshes and accounts. What the file declares too carries the
    file's expiry and, for Service Mesh, the teams it is given through."""
    names = {**live.names, **desired.names}
    return sorted_rows(
        [
            *_asm_live_rows(config, desired, live, names),
            *_sso_live_rows(desired, live.assignments, names),
        ]
    )


def _asm_live_rows(
    config: Config, desired: DesiredState, live: LiveState, names: Mapping[str, str]
) -> Iterator[AccessRow]:
    if desired.asm is None or config.asm is None:
        return
    declared: dict[tuple[str, str, str], list[AccessRow]] = defaultdict(list)
    for row in _asm_file_rows(config.asm):
        declared[(row.principal, row.target_id, row.role)].append(row)
    listed = {p.principal_id: p for p in desired.asm.principals}
    for principal in live.asm.values():
        wanted = listed.get(principal.principal_id)
        name = wanted.label if wanted else names.get(principal.principal_id, principal.principal_id)
        for held in sorted(principal.on_meshes(desired.asm.managed_mesh_ids)):
            in_file = wanted is not None and wanted.roles.get(held.mesh_id) == held.role
            found = AccessRow(
                service="asm",
                principal_type=_ASM_TYPES[principal.kind],
                principal=name,
                principal_id=principal.principal_id,
                target=names.get(held.mesh_id, held.mesh_id),
                target_id=held.mesh_id,
                role=held.role,
                in_file=False,
            )
            file_rows = declared.get((name, held.mesh_id, held.role), []) if in_file else []
            yield from [
                replace(found, via=row.via, expires=row.expires, in_file=True) for row in file_rows
            ] or [found]


def _sso_live_rows(
    desired: DesiredState, assignments: Iterable[Assignment], names: Mapping[str, str]
) -> Iterator[AccessRow]:
    if desired.cloudsso is None:
        return
    declared = {d.assignment: d for d in desired.cloudsso.assignments}
    for held in assignments:
        wanted = declared.get(held)
        yield AccessRow(
            service="cloudsso",
            principal_type=_SSO_TYPES[held.principal_type],
            principal=names.get(held.principal_id, held.principal_id),
            principal_id=held.principal_id,
            target=names.get(held.account_id, held.account_id),
            target_id=held.account_id,
            role=names.get(held.access_configuration_id, held.access_configuration_id),
            expires=wanted.expires if wanted else None,
            in_file=wanted is not None,
        )


# -- groups -----------------------------------------------------------------------------------


def groups_with_access(
    desired: DesiredState,
    assignments: Iterable[Assignment],
    names: Mapping[str, str],
    keep: AccessFilter,
) -> set[str]:
    """The groups holding access `keep` wants, by id, whoever it asks for (a name may be any
    group's member). The assignments and their names are enough, so the members are read
    while the rest of the live state still is."""
    rows = _sso_live_rows(desired, assignments, {**names, **desired.names})
    return {
        r.principal_id
        for r in rows
        if r.principal_type == "group" and r.principal_id and keep.keeps_access(r)
    }


def expand_groups(rows: Iterable[AccessRow], members: GroupMembers) -> list[AccessRow]:
    """Each group row whose members were read becomes one row per member, `via` the group;
    a group with no members, or whose members were not read, keeps its own row."""
    expanded: list[AccessRow] = []
    for row in rows:
        people = members.get(row.principal_id, ()) if row.principal_type == "group" else ()
        expanded += [
            replace(
                row,
                principal_type="user",
                principal=member.user_name,
                principal_id=member.user_id,
                via=f"{GROUP_VIA}{row.principal}",
            )
            for member in people
        ] or [row]
    return sorted_rows(expanded)


# -- filters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessFilter:
    """Which rows to keep. Targets and roles pick a service: `--mesh` alone keeps Service Mesh
    rows, `--account` or `--access-configuration` alone keep CloudSSO rows. A principal
    matches by name or id, or as the group or team the access is held through."""

    principals: Collection[str] = ()
    meshes: Collection[str] = ()
    accounts: Collection[str] = ()
    access_configurations: Collection[str] = ()
    expiring_by: date | None = None  # keep access expiring on or before this date only

    def keeps_access(self, row: AccessRow) -> bool:
        """Whether the row's access (service, target, role, expiry) is wanted, whoever holds
        it: a group's members hold what the group does."""
        return self._keeps_target(row) and (
            self.expiring_by is None
            or (row.expires is not None and row.expires <= self.expiring_by)
        )

    def keeps(self, row: AccessRow) -> bool:
        return self.keeps_access(row) and (
            not self.principals
            or _matches(self.principals, row.principal, row.principal_id, row.through or "")
        )

    def _keeps_target(self, row: AccessRow) -> bool:
        by_service = {
            "asm": (self.meshes,),
            "cloudsso": (self.accounts, self.access_configurations),
        }
        if not any(wanted for filters in by_service.values() for wanted in filters):
            return True
        mine = by_service[row.service]
        if not any(mine):
            return False
        target_ok = not mine[0] or _matches(mine[0], row.target, row.target_id)
        role_ok = len(mine) == 1 or not mine[1] or _matches(mine[1], row.role)
        return target_ok and role_ok

    def select(self, rows: Iterable[AccessRow]) -> list[AccessRow]:
        return [row for row in rows if self.keeps(row)]


def _matches(wanted: Collection[str], *values: str) -> bool:
    """Names compare without regard to case; ids are written as they are anyway."""
    folded = {w.casefold() for w in wanted}
    return any(v and v.casefold() in folded for v in values)
