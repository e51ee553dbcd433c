"""What pyproject.toml says of the project (read with patterns: tomllib is not in Python 3.10)."""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).parents[2]
PYPROJECT = (REPO / "pyproject.toml").read_text(encoding="utf-8")


def _field(name: str) -> str:
    found = re.search(rf'^{name} = "([^"]+)"', PYPROJECT, re.MULTILINE)
    assert found, f"pyproject.toml has no {name}"
    return found[1]


VERSION = _field("version")
SOURCE = _field("Source")  # [project.urls]
REQUIRES_PYTHON = _field("requires-python")
_DEPENDENCIES = re.search(r"^dependencies = \[\n(.*?)^\]", PYPROJECT, re.MULTILINE | re.DOTALL)
assert _DEPENDENCIES, "pyproject.toml has no dependencies"
DEPENDENCIES = [
    Requirement(line) for line in re.findall(r'^\s*"([^"]+)",', _DEPENDENCIES[1], re.MULTILINE)
]
