"""Reading a previous JSON drift report back as a baseline: only its format and item keys
matter, so reports from newer permctl versions of the same format version are accepted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from permctl.drift.report import FORMAT_VERSION, Baseline
from permctl.errors import PermctlError


class BaselineError(PermctlError):
    """The --since-baseline file is not a drift report this permctl can read."""


class _Item(BaseModel):
    model_config = ConfigDict(extra="ignore")
    key: str


class _Report(BaseModel):
    model_config = ConfigDict(extra="ignore")
    format_version: Literal["1"]
    items: list[_Item]


def read_baseline(path: Path) -> Baseline:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Baseline(str(path), frozenset(), found=False)
    except (OSError, UnicodeDecodeError) as error:
        raise BaselineError(f"cannot read the baseline {path}: {error}") from None
    try:
        report = _Report.model_validate(json.loads(raw))
    except ValidationError as error:  # a ValueError too, so it is caught first
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the document"
        raise BaselineError(
            f"{path}: not a drift report of format {FORMAT_VERSION!r} as "
            f"`permctl drift --format json` writes ({where}: {first['msg']})"
        ) from None
    except (ValueError, RecursionError) as error:
        raise BaselineError(f"{path}: the baseline is not JSON ({error})") from None
    return Baseline(str(path), frozenset(item.key for item in report.items))
