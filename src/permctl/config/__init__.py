"""The config stage: desired-state files read, validated, merged and checked.

    config = load_files(expand_paths([Path("permissions.yaml")]))

Any problem, in any file, raises `permctl.errors.ConfigError` carrying every problem found,
each with file, line, column and field path. Nothing here makes a network call.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from permctl.config.load import load_file, load_files
    from permctl.config.paths import expand_paths
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
_MODULE_OF = {
    "expand_paths": "permctl.config.paths",
    "load_file": "permctl.config.load",
    "load_files": "permctl.config.load",
}  # the rest are the models


def __getattr__(name: str) -> Any:
    # Each name is imported from its module on first use: a command that needs only part of
    # the stage (schema and fmt read the published schema, not the models) does not pay for
    # building every model, check and message.
    if name not in __all__:
        raise AttributeError(f"module 'permctl.config' has no attribute {name!r}")
    return getattr(import_module(_MODULE_OF.get(name, "permctl.config.schema")), name)
