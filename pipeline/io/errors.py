"""Exceptions of the export readers.

Two families, because the caller reacts differently:

- whole-export problems (:class:`UnsafeExportError`, :class:`ExportFormatError`) abort the
  load: nothing from a hostile or unrecognisable export may reach the warehouse;
- :class:`StructuralError` is *per form*: it is returned (not raised) by
  :func:`pipeline.io.stage_export` so one broken form file does not block the other forms.
"""

from __future__ import annotations


class ExportError(Exception):
    """Base class of every reader error."""


class ExportFormatError(ExportError):
    """Nothing recognisable (per-form CSV, REDCap or ODM) at the given source."""


class UnsafeExportError(ExportError):
    """Hostile input: zip-slip, zip bomb, symlinks, DTD / entity tricks in XML."""


class StructuralError(ExportError):
    """One form cannot be staged: a required column is missing or the file cannot be decoded.

    ``file`` is the export-relative file name (as in ``SRC_FILE``), ``column`` the missing
    column or a short reason (``"<encoding>"``, ``"<parse>"``...), ``message`` a sentence
    naming both, meant for the load report.
    """

    def __init__(self, file: str, column: str, message: str):
        super().__init__(message)
        self.file = file
        self.column = column
        self.message = message

    def __repr__(self) -> str:
        return f"StructuralError(file={self.file!r}, column={self.column!r}, message={self.message!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StructuralError) and (self.file, self.column, self.message) == (
            other.file,
            other.column,
            other.message,
        )

    __hash__ = Exception.__hash__
