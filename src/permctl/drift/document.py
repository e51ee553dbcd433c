"""The drift report as a versioned JSON document for scripts and as the next run's baseline;
the schema is docs/drift.md. Additions keep `format_version`; renaming or removing a field
would change it."""

from __future__ import annotations

import json
from typing import Any

from permctl.drift.report import FORMAT_VERSION, DriftReport, describe_item
from permctl.model import SERVICES
from permctl.plan import (
    ACCESS_CONFIGURATION,
    DRIFT_KINDS,
    DRIFT_KINDS_OF,
    DriftItem,
    Plan,
)


def render(report: DriftReport) -> str:
    return json.dumps(document(report), indent=2, ensure_ascii=False) + "\n"


def document(report: DriftReport) -> dict[str, Any]:
    plan = report.plan
    counts = report.counts()
    baseline = report.baseline
    return {
        "format_version": FORMAT_VERSION,
        "generated_at": report.generated_at.isoformat().replace("+00:00", "Z"),
        "has_drift": report.has_drift,
        "summary": {
            "total": len(report.items),
            "by_kind": {k: sum(counts.get((s, k), 0) for s in SERVICES) for k in DRIFT_KINDS},
            "by_service": {s: {k: counts[(s, k)] for k in DRIFT_KINDS_OF[s]} for s in SERVICES},
        },
        "since_baseline": None
        if baseline is None
        else {
            "path": baseline.path,
            "found": baseline.found,
            "known_items_left_out": len(report.known),
        },
        "asm": {"managed_meshes": [_named(plan, "mesh", m) for m in plan.managed_mesh_ids]},
        "cloudsso": {
            "directory_id": plan.directory_id,
            "managed_account_ids": list(plan.managed_account_ids),
        },
        "items": [_item(plan, item) for item in report.items],
    }


def _item(plan: Plan, item: DriftItem) -> dict[str, Any]:
    common = {
        "key": item.key,
        "service": item.service,
        "kind": item.kind,
        "principal_type": item.principal_type,
        **_named(plan, "principal", item.principal_id),
    }
    specific: dict[str, Any]
    if item.principal_type == ACCESS_CONFIGURATION:
        specific = {
            **_named(plan, "access_configuration", item.principal_id),
            "account_id": item.target_id or None,
            "changes": list(item.details),
            "widens": bool(item.widening),
            "widening": list(item.widening),
        }
    elif item.service == "asm":
        specific = {
            **_named(plan, "mesh", item.target_id),
            "live_role": item.live,
            "file_role": item.in_file,
        }
    else:
        configuration = item.live or item.in_file or ""
        specific = {
            **_named(plan, "account", item.target_id),
            **_named(plan, "access_configuration", configuration),
            "live": item.live is not None,
            "in_file": item.in_file is not None,
        }
    return {**common, **specific, "description": describe_item(plan, item)}


def _named(plan: Plan, field: str, object_id: str) -> dict[str, str | None]:
    """`<field>_id` and `<field>_name` (null when no name is known)."""
    return {f"{field}_id": object_id, f"{field}_name": plan.names.get(object_id)}
