"""Which commands `permctl policy` grants for: apart from the documents, so that the command
line offers the choice without loading the file models."""

from __future__ import annotations

from enum import Enum


class Mode(str, Enum):
    PLAN = "plan"  # plan, drift and access: reads only
    APPLY = "apply"  # plan's reads and the writes
