"""The config stage: desired-state files read, validated, merged and checked.

    config = load_files(expand_paths([Path("permissions.yaml")]))

Any problem, in any file, raises `permctl.errors.ConfigError` carrying every problem found,
each with file, line, column and field path. Nothing here makes a network call.
"""

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
