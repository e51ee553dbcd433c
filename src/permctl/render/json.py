"""The plan for machines: its one JSON document (`plan.document`; schema in docs/plan-json.md),
the same a saved plan holds."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType

from permctl.plan import Plan
from permctl.plan.document import plan_document


def render(plan: Plan, identities: Mapping[str, str] = MappingProxyType({})) -> str:
    """`identities` (section -> who acts on it), when given, are shown beside the plan."""
    extra = {"identities": dict(identities)} if identities else {}
    return json.dumps(plan_document(plan) | extra, indent=2, ensure_ascii=False) + "\n"
