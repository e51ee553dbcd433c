"""permctl: declarative permissions-as-code for Alibaba Cloud ASM RBAC and CloudSSO."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # The version is written once, in pyproject.toml, and an install (editable or not) records
    # it in the metadata. Reading it is looked up on first use: importlib.metadata is a sizeable
    # share of the start-up of the offline commands that never print it.
    if name == "__version__":
        from importlib.metadata import version

        return version("permctl")
    raise AttributeError(f"module 'permctl' has no attribute {name!r}")
