"""The renderers draw the plans the plan tests build."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plan"))
