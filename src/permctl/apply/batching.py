"""Principals of one kind whose new lists are identical are granted together, in chunks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from permctl.apply.changes import PrincipalGrant
from permctl.model import MeshRole, PrincipalKind

# SubAccountUserIds has no documented limit; a modest chunk keeps each request small and a
# failed call from touching many principals at once.
GRANT_BATCH_SIZE = 20


@dataclass(frozen=True)
class GrantBatch:
    kind: PrincipalKind
    after: frozenset[MeshRole]
    grants: tuple[PrincipalGrant, ...]


def grant_batches(
    grants: Iterable[PrincipalGrant], size: int = GRANT_BATCH_SIZE
) -> list[GrantBatch]:
    """In the order each (kind, new list) group first appears; within a group, input order."""
    groups: dict[tuple[PrincipalKind, frozenset[MeshRole]], list[PrincipalGrant]] = {}
    for grant in grants:
        groups.setdefault((grant.kind, grant.after), []).append(grant)
    return [
        GrantBatch(kind, after, tuple(members[start : start + size]))
        for (kind, after), members in groups.items()
        for start in range(0, len(members), size)
    ]
