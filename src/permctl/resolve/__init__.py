"""The resolve stage: the file's names to cloud ids (Config -> DesiredState)."""

from permctl.resolve.names import accounts_named, resolve, unknown_message

__all__ = ["accounts_named", "resolve", "unknown_message"]
