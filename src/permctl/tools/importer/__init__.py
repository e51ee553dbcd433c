"""`permctl import`: a permissions file written from what is live, so an existing organisation
can start being managed as code. Reads through the providers and writes nothing to the cloud."""

from __future__ import annotations

from permctl.providers import Session
from permctl.tools.importer.group import Entry, group_assignments
from permctl.tools.importer.read import (
    ImportRequest,
    ImportScopeError,
    LiveOrganisation,
    MeshRequest,
    read_organisation,
)
from permctl.tools.importer.write import write_file

__all__ = [
    "Entry",
    "ImportRequest",
    "ImportScopeError",
    "LiveOrganisation",
    "MeshRequest",
    "group_assignments",
    "import_file",
    "read_organisation",
    "write_file",
]


def import_file(request: ImportRequest, session: Session) -> str:
    """The text of a permissions file declaring exactly what is live in the request's scope."""
    return write_file(read_organisation(request, session), request.meshes, request.region)
