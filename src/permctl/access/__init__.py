"""The access stage: who can do what, from the files or from live state, as rows.

Nothing here imports a cloud SDK: `permctl access --source file` runs offline.
"""

from permctl.access.rows import (
    COLUMNS,
    AccessFilter,
    AccessRow,
    expand_groups,
    groups_with_access,
    rows_from_file,
    rows_from_live,
)

__all__ = [
    "COLUMNS",
    "AccessFilter",
    "AccessRow",
    "expand_groups",
    "groups_with_access",
    "rows_from_file",
    "rows_from_live",
]
