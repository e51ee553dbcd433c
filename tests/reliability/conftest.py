"""The scenarios build on the apply tests' organisation and helpers."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "apply"))
