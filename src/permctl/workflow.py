"""The stages in order, shared by every command that talks to the APIs, and the only module
that sequences them: config -> connect -> resolve -> read live state -> plan -> safety gate ->
apply, or, for a saved plan, read it -> safety gate -> connect -> staleness -> apply."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from types import MappingProxyType

from permctl import __version__
from permctl.access import (
    AccessFilter,
    AccessRow,
    expand_groups,
    groups_with_access,
    rows_from_live,
)
from permctl.apply import (
    ApplyReport,
    AuditLog,
    Changes,
    PlanAlreadyApplied,
    apply_changes,
    check_made_from,
    check_not_stale,
)
from permctl.apply.interrupt import Interrupt
from permctl.config import Config
from permctl.config.checks import unknown_protected, utc_today
from permctl.config.identities import section_roles
from permctl.errors import ConfigError
from permctl.model import DesiredState, LiveState
from permctl.plan import Override, Plan, build_plan, groups_reached
from permctl.plan.saved import TamperedPlanFile, read_plan_file, write_plan_file
from permctl.providers import (
    ConnectionSettings,
    Providers,
    RoleAccess,
    Session,
    open_providers,
    open_session,
)
from permctl.providers.connection import NO_PROGRESS, Progress
from permctl.providers.live import EarlyReads, GroupsToRead, read_live_state
from permctl.providers.pacing import DEFAULT_CEILING
from permctl.providers.servicemesh import kind_disagreement
from permctl.providers.together import started
from permctl.resolve import resolve


@dataclass(frozen=True)
class Target:
    """Where the APIs are: the embedded emulator seeded from `emulator_state`, or Alibaba Cloud
    through the credentials chain (`profile` picks an aliyun CLI profile)."""

    emulator_state: Path | None = None
    profile: str | None = None
    concurrency: int = DEFAULT_CEILING
    progress: Progress = NO_PROGRESS


@contextmanager
def connect(config: Config, target: Target) -> Iterator[Session]:
    """The providers of each section, as the identity the file names for it (`account:`)."""
    roles = section_roles(config)
    settings = ConnectionSettings(
        region=config.settings.region,
        endpoints=MappingProxyType({str(k): v for k, v in config.settings.endpoints.items()}),
        profile=target.profile,
        concurrency=target.concurrency,
        progress=target.progress,
    )
    with (
        _served(settings, target) as served,
        open_session(served, roles.sections, roles.mesh_accounts) as session,
    ):
        yield session


@contextmanager
def connect_as(target: Target, role: RoleAccess | None) -> Iterator[Providers]:
    """Providers for commands without a file, as the caller or as `role`."""
    settings = ConnectionSettings(
        profile=target.profile, concurrency=target.concurrency, progress=target.progress
    )
    with (
        _served(settings, target) as served,
        open_providers(replace(served, assume_role=role)) as providers,
    ):
        yield providers


@contextmanager
def _served(settings: ConnectionSettings, target: Target) -> Iterator[ConnectionSettings]:
    """`settings`, pointed at the embedded emulator when the target is one."""
    if target.emulator_state is None:
        yield settings
        return
    # Imported here: the emulator is loaded only by a run that uses it.
    from permctl.emulator.embedded import embedded_emulator

    with embedded_emulator(target.emulator_state, settings) as served:
        yield served


@dataclass(frozen=True)
class PlanRun:
    config: Config
    desired: DesiredState
    live: LiveState
    plan: Plan
    identities: Mapping[str, str]  # section or mesh account -> who read (and will write) it

    def warnings(self) -> list[str]:
        """What the live read said that permctl chose not to believe, one sentence each."""
        listed = (
            {p.principal_id: p.label for p in self.desired.asm.principals}
            if self.desired.asm
            else {}
        )
        found = (
            kind_disagreement(self.plan.describe(pid, listed.get(pid)), live, pid in listed)
            for pid, live in sorted(self.live.asm.items())
        )
        return [warning for warning in found if warning]


def plan_run(config: Config, session: Session, today: date | None = None) -> PlanRun:
    """Unlisted principals are always read: a plan shows their grants on managed meshes as
    unmanaged even when it leaves them alone."""
    day = today or utc_today()
    desired, live = _resolve_and_read(
        config, session, lambda d, listing: groups_reached(d, listing.assignments, day)
    )
    plan = build_plan(desired, live, day)
    live_refs = {*plan.names, *plan.names.values(), *live.asm}
    unprotected = list(unknown_protected(config, live_refs))
    if unprotected:
        raise ConfigError(unprotected)
    plan = plan.with_people(live.group_members)
    return PlanRun(config, desired, live, plan, session.identities)


def access_rows(config: Config, session: Session, keep: AccessFilter) -> list[AccessRow]:
    """Live access: the reads of a plan, with the members of each group holding wanted access
    (whoever `keep` asks for: a name may be any group's member)."""
    desired, live = _resolve_and_read(
        config,
        session,
        lambda d, listing: groups_with_access(d, listing.assignments, listing.names, keep),
    )
    rows = rows_from_live(config, desired, live)
    return keep.select(expand_groups(rows, live.group_members))


def _resolve_and_read(
    config: Config, session: Session, members_of: GroupsToRead
) -> tuple[DesiredState, LiveState]:
    """The file resolved and the live state read, with the reads that need no resolving
    started first, and the members of the groups `members_of` picks read as soon as the
    assignments are listed, alongside the Service Mesh reads."""
    early = EarlyReads(session, asm=config.asm is not None)
    with started(*early.reads):
        desired = resolve(config, session)
        live = read_live_state(
            desired, session, include_unlisted=True, early=early, members_of=members_of
        )
    return desired, live


def save_plan(
    run: PlanRun, path: Path, accepted: frozenset[Override], input_files: Sequence[Path]
) -> None:
    """`accepted` are the overrides the plan was accepted with: apply needs them again to carry
    out a plan only they made acceptable. `input_files` are the files of `run.config`: apply
    run elsewhere says which they were."""
    write_plan_file(
        run.plan,
        path,
        config_digest=run.config.digest(),
        input_files=input_files,
        permctl_version=__version__,
        planned_with=accepted,
    )


def load_saved_plan(path: Path, config: Config, accepted: frozenset[Override]) -> Plan:
    """The saved plan, refused before any call when it was made from other files or is unsafe
    now (the files' safety settings are the ones it was planned with: their digest matches)."""
    saved = read_plan_file(path)
    check_made_from(saved, config)
    if saved.plan.safety != config.settings.safety.as_settings():
        raise TamperedPlanFile(path, "its safety settings are not those of the files")
    saved.plan.raise_if_unsafe(accepted)
    return saved.plan


def apply_fresh(
    config: Config,
    target: Target,
    accepted: frozenset[Override],
    *,
    show: Callable[[Plan], None],
    warn: Callable[[list[str]], None],
    confirm: Callable[[Plan], None],
    audit_log: Path | None = None,
    interrupt: Interrupt | None = None,
) -> ApplyReport:
    """Plan, `warn` of what the live read said that permctl does not believe, `show` the plan,
    pass it through the safety gate, `confirm` it when it changes anything, apply it."""
    with connect(config, target) as session:
        run = plan_run(config, session)
        warn(run.warnings())
        plan = run.plan
        show(plan)
        plan.raise_if_unsafe(accepted)
        if plan.has_changes:
            confirm(plan)
        return _execute(Changes.from_plan(plan), session, target, audit_log, interrupt)


def apply_saved(
    plan_file: Path,
    config: Config,
    target: Target,
    accepted: frozenset[Override],
    *,
    audit_log: Path | None = None,
    interrupt: Interrupt | None = None,
) -> ApplyReport:
    """Apply exactly a saved plan, refused before any write when it is unsafe or what it
    touches moved since it was made."""
    plan = load_saved_plan(plan_file, config, accepted)
    with connect(config, target) as session:
        changes = Changes.from_plan(plan)
        try:
            check_not_stale(
                changes,
                mesh_accounts=session.mesh_accounts,
                cloudsso=session.cloudsso.cloudsso,
                access_configurations=session.cloudsso.access_configurations,
            )
        except PlanAlreadyApplied:
            return ApplyReport((), 0, already_applied=True)
        return _execute(changes, session, target, audit_log, interrupt)


def _execute(
    changes: Changes,
    session: Session,
    target: Target,
    audit_log: Path | None,
    interrupt: Interrupt | None,
) -> ApplyReport:
    if changes.is_empty:
        return ApplyReport((), 0)
    with _audit_log(audit_log, changes, session) if audit_log else nullcontext() as audit:
        return apply_changes(
            changes,
            mesh_accounts=session.mesh_accounts,
            cloudsso=session.cloudsso.cloudsso,
            access_configurations=session.cloudsso.access_configurations,
            concurrency=target.concurrency,
            audit=audit,
            progress=target.progress,
            interrupt=interrupt,
        )


def _audit_log(path: Path, changes: Changes, session: Session) -> AuditLog:
    """The log names who each section's credentials are (GetCallerIdentity, once per
    identity), the principals and meshes by name, and the plan by its digest."""
    providers = {a.label: a.providers for a in session.mesh_accounts}
    providers["cloudsso"] = session.cloudsso
    # Each identity is asked once however many sections it acts on: its provider keeps the answer.
    callers: dict[str, dict[str, str]] = {}
    for section, reached in providers.items():
        caller = reached.sts.caller_identity()
        if caller is not None:
            callers[section] = {"arn": caller.arn, "account_id": caller.account_id}
    return AuditLog(
        path,
        session.identities,
        callers=callers,
        names=changes.names,
        plan_digest=changes.snapshot.fingerprint(),
    )
