"""CloudSSO assignments grouped into file entries: one entry per access configuration and set
of accounts, naming every principal that holds that configuration on exactly those accounts.
Expanded again, the entries give back exactly the assignments they were made from."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from permctl.model import Assignment, CloudSsoPrincipalType


@dataclass(frozen=True, order=True)
class Entry:
    access_configuration_id: str
    account_ids: tuple[str, ...]
    user_ids: tuple[str, ...]
    group_ids: tuple[str, ...]

    def assignments(self) -> frozenset[Assignment]:
        principals: list[tuple[CloudSsoPrincipalType, str]] = [
            *(("User", u) for u in self.user_ids),
            *(("Group", g) for g in self.group_ids),
        ]
        return frozenset(
            Assignment(self.access_configuration_id, account, kind, principal)
            for account in self.account_ids
            for kind, principal in principals
        )


def group_assignments(assignments: Iterable[Assignment]) -> tuple[Entry, ...]:
    accounts_of: defaultdict[tuple[str, CloudSsoPrincipalType, str], set[str]] = defaultdict(set)
    for a in assignments:
        accounts_of[(a.access_configuration_id, a.principal_type, a.principal_id)].add(a.account_id)
    holders: defaultdict[tuple[str, tuple[str, ...]], list[tuple[str, str]]] = defaultdict(list)
    for (configuration, kind, principal), accounts in accounts_of.items():
        holders[(configuration, tuple(sorted(accounts)))].append((kind, principal))
    return tuple(
        sorted(
            Entry(
                configuration,
                accounts,
                tuple(sorted(p for kind, p in principals if kind == "User")),
                tuple(sorted(p for kind, p in principals if kind == "Group")),
            )
            for (configuration, accounts), principals in holders.items()
        )
    )
