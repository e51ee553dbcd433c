"""Saved plans: `permctl plan --out FILE` writes one, `permctl apply FILE` reads it back.

A saved plan holds what apply needs to execute it (each principal's full new list, each
CloudSSO assignment to create or delete) and the live snapshot it was computed from, so apply
can refuse it once live state has moved on. Reading is strict: a truncated, hand-edited or
wrong-version file is refused with one sentence. Nothing in it comes from credentials.

Integrity: `plan_digest` is a sha256 over the canonical body; with PERMCTL_PLAN_KEY set the
body is also signed (HMAC-SHA256) and reading requires a valid signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, JsonValue, ValidationError

from permctl.errors import PermctlError
from permctl.model import Assignment, MeshRole, PrincipalKind
from permctl.plan import AccountSnapshot, AssignmentChange, Plan, PrincipalSnapshot, Snapshot
from permctl.plan.changes import ChangeReason, canonical_json, sha256_of

FORMAT_VERSION = "1"
PLAN_KEY_ENV = "PERMCTL_PLAN_KEY"
DeprovisionStrategy = Literal["DeprovisionForLastAccessAssignmentOnAccount", "None"]
DEFAULT_DEPROVISION_STRATEGY: DeprovisionStrategy = "DeprovisionForLastAccessAssignmentOnAccount"
_SEALS = ("plan_digest", "signature")  # fields computed over the rest of the document
# Far above the plan of any organisation (each principal and assignment is a few hundred
# bytes); a file beyond it is refused before it is read into memory.
MAX_PLAN_BYTES = 64 * 1024 * 1024


class PlanFileError(PermctlError):
    """A saved plan cannot be read or used."""


class UnsupportedPlanFile(PlanFileError):
    def __init__(self, path: Path, version: object) -> None:
        super().__init__(
            f"{path}: plan file format {version!r} is not supported (this permctl reads format "
            f"{FORMAT_VERSION!r}); run permctl plan again"
        )


class TamperedPlanFile(PlanFileError):
    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path}: refusing the saved plan: {why}; run permctl plan again")


@dataclass(frozen=True)
class SavedAsmUpdate:
    """Replace the principal's whole list with `after`."""

    principal_id: str
    kind: PrincipalKind
    label: str | None
    after: tuple[MeshRole, ...]


@dataclass(frozen=True)
class SavedPlan:
    permctl_version: str
    created_at: datetime
    config_digest: str
    desired_context: Mapping[str, Any]
    managed_mesh_ids: tuple[str, ...]
    asm_updates: tuple[SavedAsmUpdate, ...]
    directory_id: str | None
    deprovision_strategy: DeprovisionStrategy
    sso_changes: tuple[AssignmentChange, ...]
    snapshot: Snapshot
    signed: bool

    def fingerprint(self) -> str:
        """Compare with the fingerprint of a fresh read of the same targets before applying."""
        return self.snapshot.fingerprint()


def write_plan_file(
    plan: Plan,
    path: Path,
    *,
    config_digest: str,
    permctl_version: str,
    desired_context: dict[str, Any],
    created_at: datetime | None = None,
    key: bytes | None = None,
) -> None:
    """Write `plan` to `path` atomically; signed when `key` (default: PERMCTL_PLAN_KEY) is set.

    `desired_context` is recorded verbatim (it must be JSON); its `deprovision_strategy`, if
    any, is the one apply uses for CloudSSO deletes.
    """
    body = _body(plan, config_digest, permctl_version, desired_context, created_at)
    key = key if key is not None else plan_key_from_env()
    signature = sign(body, key) if key else None
    document = {**body, "plan_digest": sha256_of(body), "signature": signature}
    _parse(Path(path), json.dumps(document))  # what we write must be what we accept
    temporary = Path(f"{path}.tmp")
    try:
        temporary.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
        os.replace(temporary, path)
    except OSError as error:
        raise PlanFileError(f"cannot write the plan to {path}: {error.strerror}") from None


def read_plan_file(path: Path, *, key: bytes | None = None) -> SavedPlan:
    """Read and check a saved plan. With a key (default: PERMCTL_PLAN_KEY) the plan must carry
    a valid signature made with it."""
    path = Path(path)
    model, document = _parse(path, _read_text(path))
    body = {name: value for name, value in document.items() if name not in _SEALS}
    if not hmac.compare_digest(sha256_of(body), model.plan_digest):
        raise TamperedPlanFile(path, "it was changed after it was written (its digest differs)")
    key = key if key is not None else plan_key_from_env()
    if key and not (model.signature and verify(body, model.signature, key)):
        raise TamperedPlanFile(path, f"its signature does not match the key in {PLAN_KEY_ENV}")
    saved = _saved_plan(model)
    if not hmac.compare_digest(saved.fingerprint(), model.snapshot_fingerprint):
        raise TamperedPlanFile(path, "its live snapshot does not match its fingerprint")
    _check_consistent(path, saved)
    return saved


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_PLAN_BYTES + 1)
        if len(raw) > MAX_PLAN_BYTES:
            limit = MAX_PLAN_BYTES // (1024 * 1024)
            raise PlanFileError(f"{path}: not a permctl plan file: larger than {limit} MiB")
        return raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PlanFileError(f"cannot read the plan file {path}: {error}") from None


def plan_key_from_env() -> bytes | None:
    value = os.environ.get(PLAN_KEY_ENV, "")
    return value.encode("utf-8") if value else None


def sign(body: Mapping[str, Any], key: bytes) -> str:
    return "hmac-sha256:" + hmac.new(key, canonical_json(body), hashlib.sha256).hexdigest()


def verify(body: Mapping[str, Any], signature: str, key: bytes) -> bool:
    return hmac.compare_digest(sign(body, key), signature)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class _Grant(_Strict):
    mesh_id: str
    role: str
    role_type: str


class _Assignment(_Strict):
    access_configuration_id: str
    account_id: str
    principal_type: Literal["User", "Group"]
    principal_id: str


class _AsmUpdate(_Strict):
    principal_id: str
    kind: PrincipalKind
    label: str | None
    after: tuple[_Grant, ...]


class _Asm(_Strict):
    managed_mesh_ids: tuple[str, ...]
    updates: tuple[_AsmUpdate, ...]


class _SsoChange(_Strict):
    action: Literal["create", "delete"]
    reason: ChangeReason
    assignment: _Assignment


class _CloudSso(_Strict):
    directory_id: str
    deprovision_strategy: DeprovisionStrategy
    managed_account_ids: tuple[str, ...]
    changes: tuple[_SsoChange, ...]


class _PrincipalSnapshot(_Strict):
    principal_id: str
    kind: PrincipalKind
    permissions: tuple[_Grant, ...]


class _AccountSnapshot(_Strict):
    account_id: str
    assignments: tuple[_Assignment, ...]


class _Snapshot(_Strict):
    asm: tuple[_PrincipalSnapshot, ...]
    cloudsso: tuple[_AccountSnapshot, ...]


class _PlanFile(_Strict):
    format_version: Literal["1"]
    permctl_version: str
    created_at: AwareDatetime
    config_digest: str
    desired_context: dict[str, JsonValue]
    asm: _Asm | None
    cloudsso: _CloudSso | None
    snapshot: _Snapshot
    snapshot_fingerprint: str
    plan_digest: str
    signature: str | None


def _body(
    plan: Plan,
    config_digest: str,
    permctl_version: str,
    desired_context: dict[str, Any],
    created_at: datetime | None,
) -> dict[str, Any]:
    strategy = desired_context.get("deprovision_strategy", DEFAULT_DEPROVISION_STRATEGY)
    return {
        "format_version": FORMAT_VERSION,
        "permctl_version": permctl_version,
        "created_at": (created_at or datetime.now(timezone.utc)).isoformat(),
        "config_digest": config_digest,
        "desired_context": desired_context,
        "asm": _asm_section(plan) if plan.managed_mesh_ids else None,
        "cloudsso": _cloudsso_section(plan, strategy) if plan.directory_id else None,
        "snapshot": plan.snapshot.to_json(),
        "snapshot_fingerprint": plan.fingerprint(),
    }


def _asm_section(plan: Plan) -> dict[str, Any]:
    return {
        "managed_mesh_ids": list(plan.managed_mesh_ids),
        "updates": [
            {
                "principal_id": u.principal_id,
                "kind": u.kind.value,
                "label": u.label,
                "after": [_grant(g) for g in u.after],
            }
            for u in plan.asm_updates
        ],
    }


def _cloudsso_section(plan: Plan, deprovision_strategy: str) -> dict[str, Any]:
    return {
        "directory_id": plan.directory_id,
        "deprovision_strategy": deprovision_strategy,
        "managed_account_ids": list(plan.managed_account_ids),
        "changes": [
            {"action": c.action, "reason": c.reason, "assignment": _assignment(c.assignment)}
            for c in plan.sso_changes
        ],
    }


def _grant(grant: MeshRole) -> dict[str, str]:
    return {"mesh_id": grant.mesh_id, "role": grant.role, "role_type": grant.role_type}


def _assignment(a: Assignment) -> dict[str, str]:
    return {
        "access_configuration_id": a.access_configuration_id,
        "account_id": a.account_id,
        "principal_type": a.principal_type,
        "principal_id": a.principal_id,
    }


def _parse(path: Path, raw: str) -> tuple[_PlanFile, dict[str, Any]]:
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as error:
        raise PlanFileError(
            f"{path}: not a permctl plan file: invalid JSON at line {error.lineno}, "
            f"column {error.colno} ({error.msg}); was it truncated?"
        ) from None
    except RecursionError:
        # A plan nests five levels deep; Python's JSON reader gives up near a thousand.
        raise PlanFileError(f"{path}: not a permctl plan file: nested too deeply") from None
    if not isinstance(document, dict):
        raise PlanFileError(f"{path}: not a permctl plan file: expected a JSON object")
    if (found := _control_character(document)) is not None:
        character, where = found
        raise PlanFileError(
            f"{path}: not a permctl plan file: the control character U+{ord(character):04X} "
            f"at {where}"
        )
    if document.get("format_version") != FORMAT_VERSION:
        raise UnsupportedPlanFile(path, document.get("format_version"))
    try:
        return _PlanFile.model_validate_json(raw), document
    except ValidationError as error:
        raise PlanFileError(f"{path}: not a valid permctl plan file: {_problems(error)}") from None


def _control_character(document: dict[str, Any]) -> tuple[str, str] | None:
    """The first control character in a key or text of the document, and where it is. Every
    text of a plan ends up in a message or report: one that can move the cursor or start a
    line could make the terminal show what the plan does not say."""
    pending: list[tuple[str, Any]] = [("document", document)]
    while pending:
        where, value = pending.pop()
        if isinstance(value, dict):
            texts = [(where, key) for key in value]
            pending += [(f"{where}.{key}", child) for key, child in value.items()]
        elif isinstance(value, list):
            texts = []
            pending += [(f"{where}[{index}]", child) for index, child in enumerate(value)]
        else:
            texts = [(where, value)] if isinstance(value, str) else []
        for place, text in texts:
            bad = next((c for c in text if not c.isprintable()), None)
            if bad is not None:
                return bad, place.removeprefix("document.")
    return None


def _problems(error: ValidationError, shown: int = 3) -> str:
    problems = [
        f"{'.'.join(str(p) for p in e['loc']) or 'document'}: {e['msg']}" for e in error.errors()
    ]
    more = f" (and {len(problems) - shown} more)" if len(problems) > shown else ""
    return "; ".join(problems[:shown]) + more


def _saved_plan(model: _PlanFile) -> SavedPlan:
    return SavedPlan(
        permctl_version=model.permctl_version,
        created_at=model.created_at,
        config_digest=model.config_digest,
        desired_context=model.desired_context,
        managed_mesh_ids=model.asm.managed_mesh_ids if model.asm else (),
        asm_updates=tuple(
            SavedAsmUpdate(u.principal_id, u.kind, u.label, tuple(_role(g) for g in u.after))
            for u in (model.asm.updates if model.asm else ())
        ),
        directory_id=model.cloudsso.directory_id if model.cloudsso else None,
        deprovision_strategy=(
            model.cloudsso.deprovision_strategy if model.cloudsso else DEFAULT_DEPROVISION_STRATEGY
        ),
        sso_changes=tuple(
            AssignmentChange(c.action, _domain_assignment(c.assignment), c.reason)
            for c in (model.cloudsso.changes if model.cloudsso else ())
        ),
        snapshot=Snapshot(
            asm=tuple(
                PrincipalSnapshot(p.principal_id, p.kind, tuple(_role(g) for g in p.permissions))
                for p in model.snapshot.asm
            ),
            cloudsso=tuple(
                AccountSnapshot(a.account_id, tuple(_domain_assignment(x) for x in a.assignments))
                for a in model.snapshot.cloudsso
            ),
        ),
        signed=model.signature is not None,
    )


def _role(grant: _Grant) -> MeshRole:
    return MeshRole(grant.mesh_id, grant.role, grant.role_type)


def _domain_assignment(a: _Assignment) -> Assignment:
    return Assignment(a.access_configuration_id, a.account_id, a.principal_type, a.principal_id)


def _check_consistent(path: Path, saved: SavedPlan) -> None:
    """Refuse changes that disagree with the snapshot, even in a file whose digest was redone:
    an update must keep every grant on meshes the file does not manage, and a CloudSSO change
    must fit what the snapshot says the account holds."""
    held = {p.principal_id: p for p in saved.snapshot.asm}
    updated = [u.principal_id for u in saved.asm_updates]
    if len(set(updated)) != len(updated) or set(updated) != held.keys():
        raise TamperedPlanFile(path, "its Service Mesh updates and snapshot disagree")
    managed = frozenset(saved.managed_mesh_ids)
    for update in saved.asm_updates:
        before = held.get(update.principal_id)
        if before is None or before.kind is not update.kind:
            raise TamperedPlanFile(path, f"principal {update.principal_id} is not in its snapshot")
        if _outside(before.permissions, managed) != _outside(update.after, managed):
            raise TamperedPlanFile(
                path,
                f"the update of {update.principal_id} would change grants on meshes "
                "the file does not manage",
            )
    accounts = {a.account_id: set(a.assignments) for a in saved.snapshot.cloudsso}
    for change in saved.sso_changes:
        live = accounts.get(change.assignment.account_id)
        if live is None or (change.assignment in live) != (change.action == "delete"):
            raise TamperedPlanFile(
                path, f"a CloudSSO {change.action} does not match its snapshot of the account"
            )


def _outside(grants: tuple[MeshRole, ...], managed: frozenset[str]) -> frozenset[MeshRole]:
    return frozenset(g for g in grants if g.mesh_id not in managed)
