"""EDC export readers: per-form CSV, REDCap flat export and CDISC ODM into staged raw tables.

Every reader produces, per catalogue form, the staged raw model of crf.md §1.4: key columns,
the form's items as verbatim text, then lineage. :func:`stage_export` is the entry point;
the format modules (:mod:`.csv_forms`, :mod:`.redcap`, :mod:`.odm`) and :mod:`.archive` /
:mod:`.detect` are importable for finer-grained use and tests.
"""

from .archive import ArchiveLimits, safe_extract
from .detect import detect
from .errors import ExportError, ExportFormatError, StructuralError, UnsafeExportError
from .stage import StagedExport, stage_export

__all__ = [
    "ArchiveLimits",
    "ExportError",
    "ExportFormatError",
    "StagedExport",
    "StructuralError",
    "UnsafeExportError",
    "detect",
    "safe_extract",
    "stage_export",
]
