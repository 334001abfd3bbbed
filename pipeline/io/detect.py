"""Which export format is at a path: per-form CSV, REDCap flat file, or ODM XML.

Detection reads headers and the first bytes only. A folder holding exactly one
sub-folder and nothing recognisable is descended into, because zipping an export folder
usually adds that extra level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .csv_forms import find_form_files
from .errors import ExportFormatError
from .redcap import find_redcap_files

CSV, REDCAP, ODM = "csv", "redcap", "odm"
_ODM_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?ODM[\s>/]")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)")
_SNIFF_BYTES = 1 << 16


@dataclass
class Detected:
    format: str
    root: Path  # folder the reader works in
    odm_files: list[Path] = field(default_factory=list)


def looks_like_odm(path: Path) -> bool:
    """An ODM root element near the top, or a DTD (so the safe parser gets to refuse it)."""
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="ignore").encode("utf-8")
    return bool(_ODM_ROOT.search(head) or _DTD.search(head))


def _detect_folder(root: Path) -> Detected | None:
    data, _ = find_redcap_files(root)
    if data is not None:
        return Detected(REDCAP, root)
    if find_form_files(root):
        return Detected(CSV, root)
    xml = [p for p in sorted(root.iterdir()) if p.is_file() and p.suffix.lower() == ".xml" and looks_like_odm(p)]
    if xml:
        return Detected(ODM, root, xml)
    return None


def detect(path: Path) -> Detected:
    """Detect the format of an (extracted) export folder or a single XML file."""
    if path.is_file():
        if path.suffix.lower() == ".xml" or looks_like_odm(path):
            return Detected(ODM, path.parent, [path])
        raise ExportFormatError(f"{path.name}: not a zip archive, an ODM XML file or an export folder")
    if not path.is_dir():
        raise ExportFormatError(f"{path}: does not exist")
    found = _detect_folder(path)
    if found is None:
        entries = [p for p in path.iterdir() if not p.name.startswith(".")]
        if len(entries) == 1 and entries[0].is_dir():
            found = _detect_folder(entries[0])
    if found is None:
        raise ExportFormatError(
            f"{path}: no per-form CSV (<FORM>.csv), REDCap flat file (record_id, redcap_event_name) "
            "or ODM XML found"
        )
    return found
