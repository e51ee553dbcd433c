"""permctl: declarative permissions-as-code for Alibaba Cloud ASM RBAC and CloudSSO."""

from importlib.metadata import version

# Written once, in pyproject.toml; an install (editable or not) records it in the metadata.
__version__ = version("permctl")
