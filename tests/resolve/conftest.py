import sys
from pathlib import Path

# The emulated organisation is shared with the provider tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "providers"))

from emulated_org import emu, providers

__all__ = ["emu", "providers"]
