"""Rules that look across items, checked on the merged desired state.

A team or a mesh may be declared in one file and used in another, so these run after merging.
Every problem points at the place to fix and names the other place involved.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from datetime import date, datetime, timezone
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
from permctl.policydocument import MAX_INLINE_POLICY_CHARS, canonical_policy, shape_problems
from permctl.vocabulary import KIND_NAMES, PrincipalKind

_ONE_ROLE = "a principal holds one role per mesh"

# Alibaba Cloud's public regions (finance regions included); a mistyped one would send every
# call to an endpoint that does not exist.
REGIONS = frozenset(
    {
        "cn-qingdao", "cn-beijing", "cn-zhangjiakou", "cn-huhehaote", "cn-wulanchabu",
        "cn-hangzhou", "cn-shanghai", "cn-nanjing", "cn-fuzhou", "cn-shenzhen", "cn-heyuan",
        "cn-guangzhou", "cn-chengdu", "cn-wuhan-lr", "cn-hongkong", "ap-northeast-1",
        "ap-northeast-2", "ap-southeast-1", "ap-southeast-3", "ap-southeast-5",
        "ap-southeast-6", "ap-southeast-7", "us-east-1", "us-west-1", "eu-west-1",
        "eu-central-1", "me-east-1", "me-central-1", "na-south-1", "cn-hangzhou-finance",
        "cn-shanghai-finance-1", "cn-shenzhen-finance-1", "cn-beijing-finance-1",
    }
)  # fmt: skip
# CloudSSO has two endpoints: cloudsso.cn-shanghai.aliyuncs.com and cloudsso.us-west-1....
CLOUDSSO_REGIONS = ("cn-shanghai", "us-west-1")
# As the APIs write them: d-00fc2p61abcd, and an instance id of 32 (or, with a leading c, 33)
# lowercase letters and digits.
DIRECTORY_ID = re.compile(r"d-[0-9a-z]{12}")
MESH_ID = re.compile(r"c?[0-9a-z]{32}")


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
    problems += _shapes(config)
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


def utc_today() -> date:
    """The day expiry dates are compared with: `expires: 2026-11-30` ends after that UTC day."""
    return datetime.now(timezone.utc).date()


def warnings(config: Config, today: date) -> list[ConfigProblem]:
    """What validate points out without refusing the file: it may be right once live state is
    known, or it is harmless but stale."""
    return [*unknown_protected(config), *expired_entries(config, today)]


def unknown_protected(
    config: Config, live: Collection[str] | None = None
) -> Iterator[ConfigProblem]:
    """Protected entries naming no principal: a typo there protects nobody. `live`: the ids and
    names plan read. Offline (None) only the file is known, and protecting a principal it does
    not list is the usual way to keep break-glass access: only a near miss of a name the file
    uses, or pruning, which removes what the file does not list, is worth a word."""
    safety = config.settings.safety
    known = _principal_refs(config) | set(live or ())
    pruning = any(s is not None and s.prune_unlisted for s in (config.asm, config.cloudsso))
    for index, entry in enumerate(safety.protected_principals):
        hint = did_you_mean(entry, known)
        if entry in known or (live is None and not hint and not pruning):
            continue
        where = "the file or live state" if live is not None else "the file"
        message = f"protected principal {entry!r} matches no principal in {where}" + (
            hint or ("" if live is not None else "; plan checks that live state has it")
        )
        yield safety.problem(message, "protected_principals", index)


def _principal_refs(config: Config) -> set[str]:
    """Every way the file names a principal: labels, RAM user and role names or ids, CloudSSO
    users and groups."""
    refs: set[str] = set()
    if config.asm is not None:
        refs |= {ref for p in config.asm.principals for ref in (p.name, p.ref)}
    if config.cloudsso is not None:
        refs |= {ref for a in config.cloudsso.assignments for ref in (*a.users, *a.groups)}
    return refs


def expired_entries(config: Config, today: date) -> Iterator[ConfigProblem]:
    """Entries whose `expires` is past: plan removes what they grant, and then they only
    mislead whoever reads the file."""
    if config.asm is not None:
        for principal in config.asm.principals:
            if principal.expires is not None and principal.expires < today:
                message = f"{principal.name} expired on {principal.expires}; remove the entry"
                yield principal.problem(message, "expires")
    if config.cloudsso is not None:
        for assignment in config.cloudsso.assignments:
            if assignment.expires is not None and assignment.expires < today:
                message = (
                    f"the assignment of {assignment.access_configuration} expired on "
                    f"{assignment.expires}; remove the entry"
                )
                yield assignment.problem(message, "expires")


def _shapes(config: Config) -> Iterator[ConfigProblem]:
    """Ids and regions that cannot be right, whatever is live: caught offline, at the line."""
    settings, sso = config.settings, config.cloudsso
    if settings.region not in REGIONS:
        message = f"unknown region {settings.region!r}" + (
            did_you_mean(settings.region, REGIONS) or "; a region id such as cn-shanghai"
        )
        yield settings.problem(message, "region")
    if sso is not None:
        if settings.region not in CLOUDSSO_REGIONS and "cloudsso" not in settings.endpoints:
            message = (
                f"CloudSSO is served only in {' and '.join(CLOUDSSO_REGIONS)}, not in "
                f"{settings.region}: set settings.region to the region of your directory"
            )
            written = "region" in settings.model_fields_set
            yield (
                settings.problem(message, "region")
                if written
                else problem_at(sso.source, sso.where.dotted(()), message)
            )
        if sso.directory and not DIRECTORY_ID.fullmatch(sso.directory):
            message = f"{sso.directory!r} is not a CloudSSO directory id, written d-00fc2p61abcd"
            yield sso.problem(message, "directory")
    if config.asm is not None:
        for mesh in config.asm.meshes.values():
            if not MESH_ID.fullmatch(mesh.id):
                message = (
                    f"{mesh.id!r} is not a Service Mesh instance id: 32 lowercase letters and "
                    "digits, such as c57b848115458460583a4260cb713abc"
                )
                yield mesh.problem(message, "id")


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
                f"{KIND_NAMES[principal.kind]} {principal.ref!r} is already declared by principal "
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
