"""Saved plans: `permctl plan --out FILE` writes one, `permctl apply --plan FILE` reads it back.

A saved plan is the plan document (`plan.document`, the JSON `plan --format json` prints) with
seals around it: the permctl version, when, the digest of the files it was made from (and, to
find them again, each file's path and digest), a digest
of the whole and, with PERMCTL_PLAN_KEY set, an HMAC-SHA256 signature (reading then requires a
valid one). Reading gives back the `Plan` that was saved, so safety, staleness, rendering and
apply run on one type. Reading is strict: a truncated, hand-edited or wrong-version file is
refused with one sentence, and so is one whose derived parts (each update's changes, the admin
counts after the plan) do not follow from its lists as the engine derives them. Nothing in it
comes from credentials.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, ValidationError

from permctl.errors import PermctlError
from permctl.files import write_atomically
from permctl.model import outside_meshes
from permctl.plan.access_configurations import (
    AccessConfigurationDelete,
    AccessConfigurationUpdate,
)
from permctl.plan.changes import AssignmentDelete, canonical_json, principal_update, sha256_of
from permctl.plan.core import Plan, count_mesh_admins
from permctl.plan.document import FORMAT_VERSION, PlanDocument, Strict, plan_document
from permctl.plan.safety import Override

PLAN_KEY_ENV = "PERMCTL_PLAN_KEY"
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


class InputFile(Strict):
    """A file a plan was made from: its path relative to where `permctl plan` ran, the same
    made absolute, and the sha256 of its bytes."""

    path: str
    absolute: str
    sha256: str

    @classmethod
    def of(cls, path: Path) -> InputFile:
        absolute = path.resolve()
        return cls(
            path=os.path.relpath(absolute),
            absolute=str(absolute),
            sha256=hashlib.sha256(absolute.read_bytes()).hexdigest(),
        )

    def planned_in(self) -> str | None:
        """The directory `permctl plan` ran in, when the relative path says it (no `..`)."""
        relative = Path(self.path)
        if relative.is_absolute() or ".." in relative.parts:
            return None
        return str(Path(self.absolute).parents[len(relative.parts) - 1])


class PlanInputsMissing(PlanFileError):
    """`apply --plan` cannot find the files the plan was made from: they say how to connect."""

    def __init__(self, path: Path, needed: Sequence[InputFile], missing: Sequence[Path]) -> None:
        looked = ", ".join(str(p.resolve()) for p in missing)
        files = "".join(f"\n  {f.path}: {f.absolute} (sha256 {f.sha256[:12]}...)" for f in needed)
        planned_in = sorted({d for d in (f.planned_in() for f in needed) if d is not None})
        ran_in = f" ({', '.join(planned_in)})" if planned_in else ""
        super().__init__(
            f"{path}: cannot find the files this plan was made from (looked for {looked}); "
            f"it needs:{files}\nRun permctl apply --plan from the directory where permctl plan "
            f"ran{ran_in}, or pass the files: permctl apply --plan {path} "
            + " ".join(f.absolute for f in needed)
        )


@dataclass(frozen=True)
class SavedPlan:
    """A plan read back from a file, and the seals it was saved with."""

    plan: Plan
    permctl_version: str
    created_at: datetime
    config_digest: str
    input_files: tuple[InputFile, ...]
    signed: bool


class _SavedPlanFile(PlanDocument):
    permctl_version: str
    created_at: AwareDatetime
    config_digest: str
    input_files: tuple[InputFile, ...] = ()  # plans saved before it was recorded lack it
    plan_digest: str
    signature: str | None


def write_plan_file(
    plan: Plan,
    path: Path,
    *,
    config_digest: str,
    input_files: Sequence[Path],
    permctl_version: str,
    planned_with: frozenset[Override],
    created_at: datetime | None = None,
    key: bytes | None = None,
) -> None:
    """Write `plan`, made from `input_files` and accepted with the overrides `planned_with`, to
    `path` atomically; signed when `key` (default: PERMCTL_PLAN_KEY) is set."""
    body = {
        **plan_document(replace(plan, planned_with=planned_with)),
        "permctl_version": permctl_version,
        "created_at": (created_at or datetime.now(timezone.utc)).isoformat(),
        "config_digest": config_digest,
        "input_files": [InputFile.of(f).model_dump() for f in input_files],
    }
    key = key if key is not None else plan_key_from_env()
    document = {
        **body,
        "plan_digest": sha256_of(body),
        "signature": sign(body, key) if key else None,
    }
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    _parse(Path(path), text)  # what we write must be what we accept
    write_atomically(Path(path), text)


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
    plan = model.to_plan()
    if not hmac.compare_digest(plan.fingerprint(), model.fingerprint):
        raise TamperedPlanFile(path, "its live snapshot does not match its fingerprint")
    _check_consistent(path, plan)
    return SavedPlan(
        plan=plan,
        permctl_version=model.permctl_version,
        created_at=model.created_at,
        config_digest=model.config_digest,
        input_files=model.input_files,
        signed=model.signature is not None,
    )


def require_input_files(path: Path, given: Sequence[Path]) -> None:
    """Before `apply --plan` reads the files: when any is missing, say which files the plan
    needs rather than only that one is not there."""
    missing = [p for p in given if not p.exists()]
    if missing:
        needed = read_plan_file(path).input_files
        if needed:  # a plan saved before the files were recorded: the missing file says it
            raise PlanInputsMissing(path, needed, missing)


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


def _parse(path: Path, raw: str) -> tuple[_SavedPlanFile, dict[str, Any]]:
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
        return _SavedPlanFile.model_validate_json(raw), document
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


def _check_consistent(path: Path, plan: Plan) -> None:
    """Refuse a plan whose parts disagree, even in a file whose digest was redone: the updates
    must be those of the principals in its snapshot, start from what the snapshot holds, keep
    every grant on meshes it does not manage, and carry the changes and admin counts the
    engine derives from them; a CloudSSO change must fit what the snapshot says the account
    holds; and it must say which overrides `permctl plan` accepted it with."""
    if plan.planned_with is None:
        raise TamperedPlanFile(path, "it does not record the overrides it was planned with")
    granted = {c.configuration_id: c.granted for c in plan.snapshot.access_configurations}
    changed = [c for c in plan.access_configuration_changes if c.action != "create"]
    if {c.configuration_id for c in changed} != granted.keys() or any(
        isinstance(c, AccessConfigurationUpdate | AccessConfigurationDelete)
        and granted[c.configuration_id] != c.before
        for c in changed
    ):
        raise TamperedPlanFile(path, "its access configuration changes and snapshot disagree")
    held = {p.principal_id: p for p in plan.snapshot.asm}
    updated = [u.principal_id for u in plan.asm_updates]
    if len(set(updated)) != len(updated) or set(updated) != held.keys():
        raise TamperedPlanFile(path, "its Service Mesh updates and snapshot disagree")
    managed = frozenset(plan.managed_mesh_ids)
    for update in plan.asm_updates:
        before = held[update.principal_id]
        if before.kind is not update.kind or set(before.permissions) != set(update.before):
            raise TamperedPlanFile(
                path, f"the update of {update.principal_id} does not start from its snapshot"
            )
        if outside_meshes(update.before, managed) != outside_meshes(update.after, managed):
            raise TamperedPlanFile(
                path,
                f"the update of {update.principal_id} would change grants on meshes "
                "the file does not manage",
            )
        reason = update.changes[0].reason if update.changes else "desired"
        derived = principal_update(
            update.principal_id,
            update.kind,
            update.label,
            update.before,
            update.after,
            managed,
            reason,
        )
        if derived != update:
            raise TamperedPlanFile(
                path, f"the changes of {update.principal_id} do not follow from its lists"
            )
    if {m.mesh_id for m in plan.mesh_admins} != managed:
        raise TamperedPlanFile(path, "its counts of mesh admins name other meshes than it")
    before_counts = {m.mesh_id: m.before for m in plan.mesh_admins}
    if count_mesh_admins(before_counts, plan.asm_updates) != plan.mesh_admins:
        raise TamperedPlanFile(path, "its counts of mesh admins do not follow from its updates")
    accounts = {a.account_id: set(a.assignments) for a in plan.snapshot.cloudsso}
    for change in plan.sso_changes:
        live = accounts.get(change.assignment.account_id)
        if live is None or (change.assignment in live) != isinstance(change, AssignmentDelete):
            raise TamperedPlanFile(
                path, f"a CloudSSO {change.action} does not match its snapshot of the account"
            )
