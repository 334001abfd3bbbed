"""``stage_export``: one call from an export (folder, zip or ODM file) to staged Parquet tables."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pipeline.forms import FORMS

from . import csv_forms, odm, redcap
from ._staging import FormResult, sha256_file, write_empty
from .archive import DEFAULT_LIMITS, ArchiveLimits, is_zip, safe_extract
from .detect import CSV, ODM, REDCAP, detect
from .errors import ExportFormatError, StructuralError

STAGED_DIR, EXTRACT_DIR, TMP_DIR = "staged", "extracted", "tmp"


@dataclass
class StagedExport:
    """Result of staging one export.

    ``files`` lists every file of the export as ``(name, sha256, bytes)``; names are relative to
    ``root`` and spelled as in ``SRC_FILE``; for a zip the archive itself comes first, then its
    entries as ``'export.zip!AE.csv'``. ``forms`` has every catalogue form (absent or broken =
    empty table); ``rows_in`` counts the rows in each staged table; ``errors`` holds the per-form
    structural errors; ``ignored_columns`` the unknown columns/items per form (key ``'*'`` for
    those that belong to no catalogue form); ``notes`` non-fatal remarks for the load report.
    """

    format: str
    root: Path
    files: list[tuple[str, str, int]]
    forms: dict[str, Path]
    rows_in: dict[str, int]
    errors: dict[str, StructuralError] = field(default_factory=dict)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    metadata: dict | None = None
    notes: list[str] = field(default_factory=list)


def _inventory(base: Path, prefix: str, exclude: Path) -> list[tuple[str, str, int]]:
    """Every file under ``base`` (sorted, hashed), except our own workdir if it lies inside."""
    return [
        (prefix + p.relative_to(base).as_posix(), sha256_file(p), p.stat().st_size)
        for p in sorted(base.rglob("*"))
        if p.is_file() and not p.is_relative_to(exclude)
    ]


def _reset(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


def stage_export(
    source: Path, workdir: Path, load_ts: datetime, *, limits: ArchiveLimits = DEFAULT_LIMITS
) -> StagedExport:
    """Detect the format of ``source``, stage every form to ``workdir/staged/<FORM>.parquet``.

    Raises :class:`UnsafeExportError` for hostile input and :class:`ExportFormatError` when
    nothing recognisable is there; a bad form file never raises (see ``errors``).
    """
    source, workdir = Path(source).resolve(), Path(workdir).resolve()
    if not source.exists():
        raise ExportFormatError(f"{source}: does not exist")
    out_dir, tmp_dir = workdir / STAGED_DIR, workdir / TMP_DIR
    _reset(out_dir)
    _reset(tmp_dir)
    try:
        if is_zip(source):
            root = source.parent
            extracted = workdir / EXTRACT_DIR / source.stem
            safe_extract(source, extracted, limits)
            zip_prefix = source.name + "!"
            files = [(source.name, sha256_file(source), source.stat().st_size)] + _inventory(extracted, zip_prefix, workdir / STAGED_DIR)
            found = detect(extracted)
            prefix = zip_prefix + "".join(f"{p}/" for p in found.root.relative_to(extracted).parts)
        else:
            found = detect(source)
            root = source if source.is_dir() else source.parent
            files = _inventory(source, "", workdir) if source.is_dir() else [(source.name, sha256_file(source), source.stat().st_size)]
            prefix = "".join(f"{p}/" for p in found.root.relative_to(root).parts)

        results: dict[str, FormResult]
        ignored: dict[str, list[str]] = {}
        notes: list[str] = []
        metadata = None
        if found.format == CSV:
            results = csv_forms.stage_csv(found.root, out_dir, tmp_dir, load_ts, prefix)
            ignored = {f: r.ignored for f, r in results.items() if r.ignored}
            metadata = csv_forms.read_manifest(found.root)
        elif found.format == REDCAP:
            results, ignored, notes = redcap.stage_redcap(found.root, out_dir, tmp_dir, load_ts, prefix)
        elif found.format == ODM:
            named = [(p, prefix + p.relative_to(found.root).as_posix()) for p in found.odm_files]
            results, ignored = odm.stage_odm(named, out_dir, tmp_dir, load_ts)
        else:  # pragma: no cover - detect() only returns the three formats
            raise ExportFormatError(f"unsupported format {found.format}")
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)

    for form in FORMS:
        if form not in results:
            results[form] = FormResult(write_empty(form, out_dir))
    return StagedExport(
        format=found.format,
        root=root,
        files=files,
        forms={f: results[f].path for f in FORMS},
        rows_in={f: results[f].rows for f in FORMS},
        errors={f: r.error for f, r in results.items() if r.error is not None},
        ignored_columns=ignored,
        metadata=metadata,
        notes=notes,
    )
