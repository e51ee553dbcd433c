"""Writing a whole file or nothing: readers such as node_exporter's textfile collector, or the
next scheduled run, never see a half-written file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from permctl.errors import PermctlError


class OutputFileError(PermctlError):
    """An output file cannot be written."""


def write_atomically(path: Path, content: str, *, overwrite: bool = True) -> None:
    """Write `content` to a temporary file beside `path`, then rename it over `path`.

    Readable by others (0644, less the umask), as collectors often run as another user. With
    `overwrite` False an existing file is refused, not replaced.
    """
    if not overwrite and path.exists():
        raise OutputFileError(f"{path} already exists; use --force to overwrite it")
    directory = path.parent
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    except OSError as error:
        raise OutputFileError(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise OutputFileError(f"cannot write {path}: {error.strerror}") from None


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
