"""Per-form CSV exports (crf.md §1.1): ``AE.csv``, ``LB.csv``... one row per item-group repeat.

Values are staged verbatim as text. Header names, on the other hand, are matched to the
catalogue after trimming and upper-casing (they are structure, not data), and catalogue
columns the file lacks are added as nulls unless they are required, which makes the form a
:class:`StructuralError`. Unknown columns are reported, never staged and never silently lost.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl

from pipeline.forms import FORMS, KEY_COLUMNS

from ._staging import FormResult, write_empty, write_staged
from ._text import UndecodableError, open_text, scan_text
from .errors import StructuralError

#: every key column must be in a per-form file (crf.md §1.1: "present in every file"); a missing
#: repeat key cannot be defaulted safely because log forms would collapse onto one key
REQUIRED_KEYS: tuple[str, ...] = KEY_COLUMNS
MANIFEST = "export.json"
_MAX_MANIFEST_BYTES = 1 << 20


def find_form_files(root: Path) -> dict[str, list[Path]]:
    """Form -> files named ``<FORM>.csv`` (any case) directly under ``root``."""
    by_stem = {f.lower(): f for f in FORMS}
    found: dict[str, list[Path]] = {}
    for p in sorted(root.iterdir()):
        if p.is_file() and p.suffix.lower() == ".csv" and p.stem.lower() in by_stem:
            found.setdefault(by_stem[p.stem.lower()], []).append(p)
    return found


def read_manifest(root: Path) -> dict | None:
    """The optional ``export.json`` (export time, EDC version); a bad manifest is reported, not fatal."""
    path = next((p for p in root.iterdir() if p.is_file() and p.name.lower() == MANIFEST), None)
    if path is None:
        return None
    if path.stat().st_size > _MAX_MANIFEST_BYTES:
        return {"_error": f"{path.name} larger than {_MAX_MANIFEST_BYTES} bytes, not read"}
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {"_error": f"{path.name} is not valid JSON: {exc}"}
    return data if isinstance(data, dict) else {"_value": data}


def _match_header(form: str, header: list[str], src: str) -> tuple[list[str], list[str]]:
    """Scan names for the header (catalogue name or a private name for unknown columns) and the
    list of unknown columns as written. Raises StructuralError on duplicates or missing required."""
    known = {c.upper(): c for c in KEY_COLUMNS + FORMS[form].item_names + ("LASTMOD",)}
    names, ignored, seen = [], [], set()
    for i, raw in enumerate(header):
        canon = known.get(raw.strip().upper())
        if canon is None:
            ignored.append(raw)
            names.append(f"__ignored_{i}")
            continue
        if canon in seen:
            raise StructuralError(src, canon, f"{src}: column {canon!r} appears more than once in the header")
        seen.add(canon)
        names.append(canon)
    required = REQUIRED_KEYS + tuple(it.name for it in FORMS[form].items if it.required == "Y")
    for col in required:
        if col not in seen:
            raise StructuralError(src, col, f"{src}: required column {col!r} is missing for form {form}")
    return names, ignored


def stage_form_file(
    path: Path, form: str, out_dir: Path, tmp_dir: Path, load_ts: datetime, src: str
) -> FormResult:
    """Stage one ``<FORM>.csv``; every failure is returned as the form's StructuralError."""
    ignored: list[str] = []
    try:
        try:
            tf = open_text(path, tmp_dir)
        except UndecodableError as exc:
            raise StructuralError(src, "<encoding>", f"{src}: cannot be decoded: file {exc}") from None
        if not tf.header or tf.header == [""]:
            raise StructuralError(src, "<header>", f"{src}: empty file, no header row")
        try:
            names, ignored = _match_header(form, tf.header, src)
            try:
                rows = write_staged(
                    scan_text(tf, names), form, out_dir, src_format="csv", src_file=src, load_ts=load_ts
                )
            except (pl.exceptions.PolarsError, OSError) as exc:
                raise StructuralError(src, "<parse>", f"{src}: cannot be parsed as CSV: {exc}") from None
        finally:
            if tf.transcoded:
                tf.path.unlink(missing_ok=True)
    except StructuralError as err:
        return FormResult(write_empty(form, out_dir), 0, err, ignored)
    return FormResult(out_dir / f"{form}.parquet", rows, None, ignored)


def stage_csv(root: Path, out_dir: Path, tmp_dir: Path, load_ts: datetime, prefix: str = "") -> dict[str, FormResult]:
    """Stage every per-form file found under ``root``; ``prefix`` (``'export.zip!'``) goes before SRC_FILE."""
    results: dict[str, FormResult] = {}
    for form, paths in find_form_files(root).items():
        src = prefix + paths[0].relative_to(root).as_posix()
        if len(paths) > 1:
            names = ", ".join(prefix + p.name for p in paths)
            err = StructuralError(src, "<file>", f"{names}: several files for form {form} (names differ only in case)")
            results[form] = FormResult(write_empty(form, out_dir), 0, err)
            continue
        results[form] = stage_form_file(paths[0], form, out_dir, tmp_dir, load_ts, src)
    return results
