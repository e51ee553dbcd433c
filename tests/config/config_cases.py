"""Helpers shared by the config tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from permctl.config import Config, expand_paths, load_files
from permctl.errors import ConfigError


def problems_of(*args: str | Path) -> list[str]:
    """Every problem `permctl validate ARGS` would print, as `file:line:column path: message`."""
    with pytest.raises(ConfigError) as caught:
        load_files(expand_paths([Path(a) for a in args]))
    return [str(problem) for problem in caught.value.problems]


def load_text(tmp_path: Path, text: str, name: str = "permissions.yaml") -> Config:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_files([path])


def problems_in_text(
    tmp_path: Path, text: str | bytes, name: str = "permissions.yaml"
) -> list[str]:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return [p.replace(str(tmp_path) + "/", "") for p in problems_of(path)]
