"""Live access: what a plan reads, plus the members of each group holding access in scope.

The only module of the stage that talks to the APIs; `permctl access --source file` never
imports it.
"""

from __future__ import annotations

from types import MappingProxyType

from permctl.access.rows import AccessFilter, AccessRow, expand_groups, group_ids, rows_from_live
from permctl.config import Config
from permctl.model import GroupMembers
from permctl.providers import Session
from permctl.providers.live import read_live_state
from permctl.resolve import resolve


def read_access(config: Config, session: Session, keep: AccessFilter) -> list[AccessRow]:
    """Members are read once per group holding access on a wanted target and role (whoever
    `--principal` asks for: a name may be any group's member), each group's in parallel."""
    desired = resolve(config, session)
    live = read_live_state(desired, session, include_unlisted=True)
    rows = rows_from_live(config, desired, live)
    members: GroupMembers = MappingProxyType({})
    groups = group_ids(row for row in rows if keep.keeps_target(row))
    if desired.cloudsso is not None and groups:
        members = session.cloudsso.cloudsso.read_group_members(
            desired.cloudsso.directory_id, groups
        )
    return keep.select(expand_groups(rows, members))
