"""Rules that look across items, checked on the merged desired state.

A team or a mesh may be declared in one file and used in another, so these run after merging.
Every problem points at the place to fix and names the other place involved.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import NamedTuple

from permctl.config.problems import did_you_mean
from permctl.config.schema import (
    AccessConfigurationSpec,
    AsmSection,
    CloudSsoSection,
    Config,
    PrincipalSpec,
)
from permctl.config.sources import problem_at
from permctl.errors import ConfigProblem
from permctl.model import PrincipalKind
from permctl.policydocument import MAX_INLINE_POLICY_CHARS, canonical_policy, shape_problems

_ONE_ROLE = "a principal holds one role per mesh"
_KIND_NOUN = {PrincipalKind.RAM_USER: "RAM user", PrincipalKind.RAM_ROLE: "RAM role"}


def check(config: Config) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    sso = config.cloudsso
    if sso is not None and not sso.directory:
        message = "missing required key 'directory' (the CloudSSO directory id, d-...)"
        problems.append(problem_at(sso.source, sso.field_path("directory"), message))
    if sso is not None:
        problems += _check_access_configurations(sso)
    if config.asm is not None:
        problems += _check_asm(config.asm)
    return problems


def _check_access_configurations(sso: CloudSsoSection) -> Iterator[ConfigProblem]:
    """Names unique (the API compares them without case), inline policies well formed and
    within the API's size limit."""
    by_name: dict[str, AccessConfigurationSpec] = {}
    for spec in sso.access_configurations:
        first = by_name.setdefault(spec.name.lower(), spec)
        if first is not spec:
            message = f"access configuration {spec.name!r} is already declared at {first.source}"
            yield spec.problem(message, "name")
        if spec.inline_policy is None:
            continue
        shape = list(shape_problems(spec.inline_policy))
        for path, message in shape:
            where = ("inline_policy", *path)
            yield problem_at(spec.where.at(where), spec.where.dotted(where), message)
        size = len(canonical_policy(spec.inline_policy)) if not shape else 0
        if size > MAX_INLINE_POLICY_CHARS:
            message = (
                f"the inline policy is {size} characters as compact JSON, more than the "
                f"{MAX_INLINE_POLICY_CHARS} the API accepts; split it or use a system policy"
            )
            yield spec.problem(message, "inline_policy")


def _check_asm(asm: AsmSection) -> list[ConfigProblem]:
    problems = [*_one_alias_per_mesh(asm), *_team_meshes_known(asm), *_principals_unique(asm)]
    for principal in asm.principals:
        problems += _references_known(asm, principal)
        problems += _role_conflicts(asm, principal)
    return problems


def _unknown(noun: str, name: str, known: Collection[str], declared_under: str) -> str:
    hint = did_you_mean(name, known)
    if not hint:
        hint = (
            f"; declared: {', '.join(sorted(known))}"
            if known
            else f"; declare it under {declared_under}"
        )
    return f"unknown {noun} {name!r}{hint}"


def _one_alias_per_mesh(asm: AsmSection) -> Iterator[ConfigProblem]:
    aliases: dict[str, str] = {}
    for alias, mesh in asm.meshes.items():
        first = aliases.setdefault(mesh.id, alias)
        if first != alias:
            message = (
                f"mesh {mesh.id} is already declared as {first!r} at "
                f"{asm.field_source('meshes', first)}; give each mesh one alias"
            )
            yield asm.problem(message, "meshes", alias)


def _team_meshes_known(asm: AsmSection) -> Iterator[ConfigProblem]:
    for team, roles in asm.teams.items():
        for alias in roles:
            if alias not in asm.meshes:
                path = ("teams", team, alias)
                message = _unknown("mesh alias", alias, asm.meshes, "asm.meshes")
                yield problem_at(asm.where.key_at(path), asm.where.dotted(path), message)


def _principals_unique(asm: AsmSection) -> Iterator[ConfigProblem]:
    by_name: dict[str, PrincipalSpec] = {}
    by_ref: dict[tuple[PrincipalKind, str], PrincipalSpec] = {}
    for principal in asm.principals:
        first = by_name.setdefault(principal.name, principal)
        if first is not principal:
            message = f"principal {principal.name!r} is already declared at {first.source}"
            yield principal.problem(message, "name")
        field = principal.kind.value
        first = by_ref.setdefault((principal.kind, principal.ref), principal)
        if first is not principal:
            message = (
                f"{_KIND_NOUN[principal.kind]} {principal.ref!r} is already declared by principal "
                f"{first.name!r} at {first.field_source(field)}"
            )
            yield principal.problem(message, field)


def _references_known(asm: AsmSection, principal: PrincipalSpec) -> Iterator[ConfigProblem]:
    for index, team in enumerate(principal.teams):
        if team not in asm.teams:
            message = _unknown("team", team, asm.teams, "asm.teams")
            yield principal.problem(message, "teams", index)
    for alias in principal.roles:
        if alias not in asm.meshes:
            message = _unknown("mesh alias", alias, asm.meshes, "asm.meshes")
            yield problem_at(
                principal.where.key_at(("roles", alias)),
                principal.field_path("roles", alias),
                message,
            )


class _TeamRole(NamedTuple):
    role: str
    team: str


def _role_conflicts(asm: AsmSection, principal: PrincipalSpec) -> Iterator[ConfigProblem]:
    """Teams that disagree on a mesh, and explicit roles that disagree with a team."""

    def team_role_at(granted: _TeamRole, alias: str) -> str:
        where = asm.where.at(("teams", granted.team, alias))
        return f"{granted.role} from team {granted.team!r} ({where})"

    from_teams: dict[str, _TeamRole] = {}
    for index, team in enumerate(principal.teams):
        for alias, role in asm.teams.get(team, {}).items():
            prior = from_teams.setdefault(alias, _TeamRole(role, team))
            if prior.role != role:
                message = (
                    f"on mesh {alias!r} {team_role_at(_TeamRole(role, team), alias)} disagrees "
                    f"with {team_role_at(prior, alias)}; {_ONE_ROLE}"
                )
                yield principal.problem(message, "teams", index)
    for alias, role in principal.roles.items():
        granted = from_teams.get(alias)
        if granted is not None and granted.role != role:
            message = (
                f"{role} disagrees with {team_role_at(granted, alias)}; "
                f"{_ONE_ROLE}: drop the explicit role or the team"
            )
            yield principal.problem(message, "roles", alias)
