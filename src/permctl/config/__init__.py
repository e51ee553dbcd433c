"""The config stage: desired-state files read, validated, merged and checked.

    config = load_files(expand_paths([Path("permissions.yaml")]))

Any problem, in any file, raises `permctl.errors.ConfigError` carrying every problem found,
each with file, line, column and field path. Nothing here makes a network call.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from permctl.config.load import expand_paths, load_file, load_files
    from permctl.config.schema import (
        AccountAccess,
        AsmSection,
        AssignmentSpec,
        CloudSsoSection,
        Config,
        Located,
        MeshSpec,
        PrincipalSpec,
        Role,
        Safety,
        Settings,
    )

__all__ = [
    "AccountAccess",
    "AsmSection",
    "AssignmentSpec",
    "CloudSsoSection",
    "Config",
    "Located",
    "MeshSpec",
    "PrincipalSpec",
    "Role",
    "Safety",
    "Settings",
    "expand_paths",
    "load_file",
    "load_files",
]
_LOADING = frozenset({"expand_paths", "load_file", "load_files"})  # the rest are the models


def __getattr__(name: str) -> Any:
    # Each name is imported from its module on first use: a command that needs one module of
    # the stage (schema the published schema, fmt the reader and the models) does not pay for
    # building every check and message of the others.
    if name not in __all__:
        raise AttributeError(f"module 'permctl.config' has no attribute {name!r}")
    module = "permctl.config.load" if name in _LOADING else "permctl.config.schema"
    return getattr(import_module(module), name)
