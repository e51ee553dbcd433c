"""`--audit-log FILE`: one JSON line per write, appended as each write ends.

Each line goes to the file in one `write` on a descriptor opened for appending, so lines from
threads (or from two permctl runs) never interleave and a killed run loses no finished line.
Only ids, names, roles, RequestIds, the plan's digest and who acted (the role ARN and session
name a section assumes, or "the caller's own credentials", with the ARN and account
GetCallerIdentity answered for it) are written: nothing that comes from credentials.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any

from permctl.errors import PermctlError

EMPTY: Mapping[str, Any] = MappingProxyType({})


class AuditLogError(PermctlError):
    pass


class AuditLog:
    def __init__(
        self,
        path: Path,
        identities: Mapping[str, str],
        *,
        callers: Mapping[str, Mapping[str, str]] = EMPTY,
        names: Mapping[str, str] = EMPTY,
        plan_digest: str | None = None,
    ) -> None:
        """`identities`: who acts on each section of the file ("asm", "cloudsso"), or on each
        mesh account ("asm[prod,staging]") when meshes are reached as several identities;
        `callers`: per section, the ARN and account those credentials are; `names`: id ->
        name (principals, mesh aliases); `plan_digest`: of the plan being applied."""
        self._path = path
        self._identities = identities
        self._callers = callers
        self._names = names
        self._plan_digest = plan_digest
        self._lock = threading.Lock()
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as error:
            raise AuditLogError(f"cannot open the audit log {path}: {error.strerror}") from None

    def record(
        self,
        *,
        action: str,
        section: str,
        subject: dict[str, str],
        before: Any,
        after: Any,
        outcome: str,
        request_id: str | None,
        detail: str | None = None,
    ) -> None:
        principal = subject.get("principal")
        entry = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "action": action,
            "identity": self._identities[section],
            "caller": dict(self._callers.get(section, {})) or None,
            "plan_digest": self._plan_digest,
            **subject,
            "principal_name": self._names.get(principal) if principal else None,
            "before": self._named(before),
            "after": self._named(after),
            "outcome": outcome,
            "request_id": request_id,
        }
        if detail:
            entry["detail"] = detail
        line = (json.dumps(entry, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
        with self._lock:
            try:
                os.write(self._fd, line)
            except OSError as error:
                raise AuditLogError(
                    f"cannot append to the audit log {self._path}: {error.strerror}"
                ) from None

    def _named(self, grants: Any) -> Any:
        """A grant list with the alias of each managed mesh beside its id."""
        if not isinstance(grants, list):
            return grants
        aliases = [self._names.get(g["mesh_id"]) if "mesh_id" in g else None for g in grants]
        return [
            {**g, "mesh_alias": alias} if alias else g
            for g, alias in zip(grants, aliases, strict=True)
        ]

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
