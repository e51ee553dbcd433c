"""The stages in order, shared by every command that talks to the APIs:
config -> connect -> resolve -> read live state -> plan."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from types import MappingProxyType

from permctl import __version__
from permctl.accounts import section_roles
from permctl.config import Config
from permctl.config.checks import unknown_protected, utc_today
from permctl.embedded import embedded_emulator
from permctl.errors import ConfigError
from permctl.model import DesiredState, LiveState
from permctl.plan import Plan, build_plan
from permctl.planfile import DEFAULT_DEPROVISION_STRATEGY, write_plan_file
from permctl.providers import (
    ConnectionSettings,
    Providers,
    RoleAccess,
    Session,
    open_providers,
    open_session,
)
from permctl.providers.live import read_live_state
from permctl.resolve import resolve
from permctl.savedsafety import SAFETY_CONTEXT, safety_record


@dataclass(frozen=True)
class Target:
    """Where the APIs are: the embedded emulator seeded from `emulator_state`, or Alibaba Cloud
    through the credentials chain (`profile` picks an aliyun CLI profile)."""

    emulator_state: Path | None = None
    profile: str | None = None
    concurrency: int = 8
    quiet: bool = False


@contextmanager
def connect(config: Config, target: Target) -> Iterator[Session]:
    """The providers of each section, as the identity the file names for it (`account:`)."""
    roles = section_roles(config)
    settings = ConnectionSettings(
        region=config.settings.region,
        endpoints=MappingProxyType({str(k): v for k, v in config.settings.endpoints.items()}),
        profile=target.profile,
        concurrency=target.concurrency,
        quiet=target.quiet,
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
        profile=target.profile, concurrency=target.concurrency, quiet=target.quiet
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
    with embedded_emulator(target.emulator_state, settings) as served:
        yield served


@dataclass(frozen=True)
class PlanRun:
    config: Config
    desired: DesiredState
    live: LiveState
    plan: Plan
    identities: Mapping[str, str]  # section or mesh account -> who read (and will write) it


def plan_run(config: Config, session: Session, today: date | None = None) -> PlanRun:
    """Unlisted principals are always read: a plan shows their grants on managed meshes as
    unmanaged even when it leaves them alone."""
    desired = resolve(config, session)
    live = read_live_state(desired, session, include_unlisted=True)
    plan = build_plan(desired, live, today or utc_today())
    live_refs = {*plan.names, *plan.names.values(), *live.asm}
    unprotected = list(unknown_protected(config, live_refs))
    if unprotected:
        raise ConfigError(unprotected)
    return PlanRun(config, desired, live, plan, session.identities)


def save_plan(run: PlanRun, path: Path, *, force: bool, allow_lockout: bool) -> None:
    """`force` and `allow_lockout` are the overrides the plan was accepted with: apply needs
    them again to carry out a plan only they made acceptable."""
    sso = run.config.cloudsso
    write_plan_file(
        run.plan,
        path,
        config_digest=run.config.digest(),
        permctl_version=__version__,
        desired_context={
            "deprovision_strategy": sso.deprovision_strategy
            if sso
            else DEFAULT_DEPROVISION_STRATEGY,
            SAFETY_CONTEXT: safety_record(run.plan, force=force, allow_lockout=allow_lockout),
        },
    )
