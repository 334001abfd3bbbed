"""REDCap flat export (crf.md §1.2): one wide CSV for all forms plus the data dictionary.

Our generator's conventions (the contract with ``pipeline.synthetic``):

- ``record_id`` ``101-001`` = SITEID-SUBJID, split at the first ``-``; without one the site is
  :data:`pipeline.forms.SITEID`;
- event = ``Visit.redcap`` + ``_arm_N``; ``unscheduled_{k}_arm_1`` is VISIT ``UNSCHEDULED``,
  VISITREP ``k``; an event not in the catalogue is staged verbatim (validation reports it);
- field names ``f"{form}_{item}".lower()``, instrument = form in lower case;
- repeating instruments: the row belongs to ``redcap_repeat_instrument``, IGREP = instance;
  non-repeating forms share one row per record/event, and the row holds a record of form F
  when any of F's fields or ``<f>_complete`` is non-empty (an unticked checkbox ``0`` is not
  evidence: REDCap writes it for every row);
- a hidden text field ``<form>_lastmod`` per instrument carries LASTMOD (REDCap has no
  per-record modification time in its flat export; without the field LASTMOD is null).

Choices are decoded with the dictionary (radio/dropdown, plus REDCap's built-in yesno and
truefalse), checkbox columns ``<field>___<code>`` are collapsed into a ``;``-separated list of
labels in dictionary order. Codes not in the dictionary stay as exported so validation sees them.
The whole file is scanned lazily by Polars once per form: memory stays bounded.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from pipeline.forms import FORMS, SITEID, STUDYID, VISIT_BY_REDCAP

from ._staging import FormResult, write_empty, write_staged
from ._text import TextFile, UndecodableError, detect_encoding, open_text, peek_header, scan_text, sniff_delimiter
from .errors import ExportFormatError, StructuralError

RECORD, EVENT, INSTRUMENT, INSTANCE = "record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"
#: REDCap system columns that belong to no form (not reported as ignored)
SYSTEM_COLUMNS = frozenset({RECORD, EVENT, INSTRUMENT, INSTANCE, "redcap_data_access_group", "redcap_survey_identifier"})
DICT_FIELD, DICT_FORM, DICT_TYPE, DICT_CHOICES = (
    "Variable / Field Name",
    "Form Name",
    "Field Type",
    "Choices, Calculations, OR Slider Labels",
)
#: REDCap's own fixed choices for these field types (what a "labels" export would print)
BUILTIN_CHOICES = {"yesno": {"1": "Yes", "0": "No"}, "truefalse": {"1": "True", "0": "False"}}
CHOICE_TYPES = ("radio", "dropdown", "checkbox")
UNASSIGNED = "*"  # ignored_columns key for columns that cannot be attributed to a form
_ARM = r"_arm_\d+$"
_UNSCHEDULED = r"^unscheduled_(\d+)$"


@dataclass
class DictField:
    name: str
    form: str  # REDCap instrument name as in the dictionary
    ftype: str
    choices: dict[str, str] = field(default_factory=dict)  # code -> label, dictionary order


def parse_choices(text: str) -> dict[str, str]:
    """``"1, Male | 2, Female"`` -> {'1': 'Male', '2': 'Female'} (labels may contain commas)."""
    out: dict[str, str] = {}
    for part in (text or "").split("|"):
        if "," in part:
            code, label = part.split(",", 1)
            out[code.strip()] = label.strip()
    return out


def read_dictionary(path: Path) -> dict[str, DictField]:
    """Field name (lower case) -> definition. The dictionary is small: read with the csv module."""
    try:
        enc = detect_encoding(path)
    except UndecodableError as exc:
        raise ExportFormatError(f"{path.name}: REDCap data dictionary {exc}") from None
    with open(path, encoding=enc, newline="") as fh:
        sample = fh.readline()
        fh.seek(0)
        reader = csv.DictReader(fh, delimiter=sniff_delimiter(sample))
        fields = {}
        for row in reader:
            row = {(k or "").lstrip("\ufeff").strip(): v for k, v in row.items()}
            name = (row.get(DICT_FIELD) or "").strip().lower()
            if not name:
                continue
            ftype = (row.get(DICT_TYPE) or "").strip().lower()
            choices = parse_choices(row.get(DICT_CHOICES) or "") if ftype in CHOICE_TYPES else BUILTIN_CHOICES.get(ftype, {})
            fields[name] = DictField(name, (row.get(DICT_FORM) or "").strip().lower(), ftype, choices)
    return fields


def _checkbox_suffix(code: str) -> str:
    """How REDCap spells a choice code in a checkbox column name (lower case, non-alnum -> '_')."""
    return re.sub(r"[^a-z0-9]", "_", code.lower())


def _present(col: str, checkbox: bool) -> pl.Expr:
    c = pl.col(col)
    ok = c.is_not_null() & (c != "")
    return ok & (c != "0") if checkbox else ok


def _visit_exprs() -> list[pl.Expr]:
    """VISIT and VISITREP from the event name (and the instance of a repeating event)."""
    event = pl.col(EVENT).str.replace(_ARM, "")
    uns_k = event.str.extract(_UNSCHEDULED, 1)
    mapping = {k: v.name for k, v in VISIT_BY_REDCAP.items()}
    visit = (
        pl.when(uns_k.is_not_null())
        .then(pl.lit("UNSCHEDULED"))
        .otherwise(event.replace_strict(mapping, default=pl.col(EVENT), return_dtype=pl.String))
    )
    repeating_event = pl.col(INSTRUMENT).is_null() & pl.col(INSTANCE).is_not_null() & (pl.col(INSTANCE) != "")
    visitrep = pl.when(uns_k.is_not_null()).then(uns_k).when(repeating_event).then(pl.col(INSTANCE)).otherwise(pl.lit("1"))
    return [visit.alias("VISIT"), visitrep.alias("VISITREP")]


def _subject_exprs() -> list[pl.Expr]:
    rid = pl.col(RECORD)
    has_dash = rid.str.contains("-", literal=True)
    parts = rid.str.splitn("-", 2)
    return [
        pl.when(has_dash).then(parts.struct.field("field_0")).otherwise(pl.lit(SITEID)).alias("SITEID"),
        pl.when(has_dash).then(parts.struct.field("field_1")).otherwise(rid).alias("SUBJID"),
    ]


class _Layout:
    """Which file column feeds which item of which form, and what is left over."""

    def __init__(self, columns: list[str], dictionary: dict[str, DictField]):
        self.columns = set(columns)
        self.dictionary = dictionary
        self.used: set[str] = set(SYSTEM_COLUMNS)
        self.plain: dict[str, dict[str, str]] = {}  # form -> item -> column
        self.checkbox: dict[str, dict[str, list[tuple[str, str]]]] = {}  # form -> item -> [(column, label)]
        self.missing: dict[str, str] = {}  # form -> first missing required field
        self.lastmod: dict[str, str] = {}  # form -> its ``<form>_lastmod`` column
        for form, spec in FORMS.items():
            for it in spec.items:
                fname = f"{form}_{it.name}".lower()
                boxes = self._checkbox_columns(fname, columns)
                if boxes:
                    self.checkbox.setdefault(form, {})[it.name] = boxes
                    self.used.update(c for c, _ in boxes)
                elif fname in self.columns:
                    self.plain.setdefault(form, {})[it.name] = fname
                    self.used.add(fname)
                elif it.required == "Y" and form not in self.missing:
                    self.missing[form] = fname
            self.used.add(f"{form.lower()}_complete")
            if f"{form.lower()}_lastmod" in self.columns and "LASTMOD" not in spec.item_names:
                self.lastmod[form] = f"{form.lower()}_lastmod"
                self.used.add(self.lastmod[form])

    def _checkbox_columns(self, fname: str, columns: list[str]) -> list[tuple[str, str]]:
        prefix = fname + "___"
        cols = [c for c in columns if c.startswith(prefix)]
        if not cols:
            return []
        choices = self.dictionary.get(fname, DictField(fname, "", "checkbox")).choices
        by_suffix = {_checkbox_suffix(code): (i, label) for i, (code, label) in enumerate(choices.items())}
        order = {c: by_suffix.get(c[len(prefix):], (len(by_suffix) + n, c[len(prefix):])) for n, c in enumerate(cols)}
        return [(c, order[c][1]) for c in sorted(cols, key=lambda c: order[c][0])]

    def ignored(self) -> dict[str, list[str]]:
        """Unknown columns per form: by ``<form>_`` prefix (longest), else the dictionary's form."""
        out: dict[str, list[str]] = {}
        prefixes = sorted(((f.lower() + "_", f) for f in FORMS), key=lambda p: -len(p[0]))
        for col in sorted(self.columns - self.used):
            form = next((f for p, f in prefixes if col.startswith(p)), None)
            if form is None:
                dict_form = self.dictionary.get(col.split("___")[0], DictField(col, "", "")).form
                form = next((f for f in FORMS if f.lower() == dict_form), UNASSIGNED)
            out.setdefault(form, []).append(col)
        return out

    def form_exprs(self, form: str) -> tuple[pl.Expr, list[pl.Expr]]:
        """(row filter, item expressions) of ``form``."""
        f = form.lower()
        evidence = [_present(c, False) for c in self.plain.get(form, {}).values()]
        evidence += [_present(c, True) for boxes in self.checkbox.get(form, {}).values() for c, _ in boxes]
        evidence += [_present(c, False) for c in (f"{f}_complete", self.lastmod.get(form)) if c in self.columns]
        instrument = pl.col(INSTRUMENT).str.to_lowercase()
        own_row = instrument == f
        shared_row = instrument.is_null() | (instrument == "")
        keep = own_row | (shared_row & pl.any_horizontal(evidence)) if evidence else own_row
        items: list[pl.Expr] = []
        for item, col in self.plain.get(form, {}).items():
            choices = self.dictionary.get(col, DictField(col, "", "")).choices
            expr = pl.col(col).replace(choices) if choices else pl.col(col)
            items.append(expr.alias(item))
        for item, boxes in self.checkbox.get(form, {}).items():
            ticked = [pl.when(pl.col(c) == "1").then(pl.lit(label)) for c, label in boxes]
            joined = pl.concat_list(ticked).list.drop_nulls().list.join(";")
            items.append(pl.when(joined == "").then(None).otherwise(joined).alias(item))
        if form in self.lastmod:
            items.append(pl.col(self.lastmod[form]).alias("LASTMOD"))
        return keep, items


def find_redcap_files(root: Path) -> tuple[Path | None, Path | None]:
    """(flat data file, data dictionary) among the top-level CSV files, recognised by their headers."""
    data = dictionary = None
    for p in sorted(root.iterdir()):
        if not (p.is_file() and p.suffix.lower() == ".csv"):
            continue
        header = {h.strip() for h in peek_header(p)}
        if data is None and {RECORD, EVENT} <= header:
            data = p
        elif dictionary is None and DICT_FIELD in header:
            dictionary = p
    return data, dictionary


def stage_redcap(
    root: Path, out_dir: Path, tmp_dir: Path, load_ts: datetime, prefix: str = ""
) -> tuple[dict[str, FormResult], dict[str, list[str]], list[str]]:
    """Stage every catalogue form from the flat file. Returns (results, ignored columns, notes)."""
    data, dict_path = find_redcap_files(root)
    if data is None:
        raise ExportFormatError(f"{root}: no REDCap flat file (CSV with record_id and redcap_event_name)")
    src = prefix + data.relative_to(root).as_posix()
    notes = [] if dict_path else [f"{src}: no data dictionary found, codes are staged undecoded"]
    dictionary = read_dictionary(dict_path) if dict_path else {}
    results: dict[str, FormResult] = {}
    try:
        tf: TextFile = open_text(data, tmp_dir)
    except UndecodableError as exc:
        err = StructuralError(src, "<encoding>", f"{src}: cannot be decoded: file {exc}")
        return {f: FormResult(write_empty(f, out_dir), 0, err) for f in FORMS}, {}, notes
    try:
        columns = [h.strip().lower() for h in tf.header]
        layout = _Layout(columns, dictionary)
        base = scan_text(tf, columns)
        for col in (INSTRUMENT, INSTANCE):
            if col not in layout.columns:  # projects without repeating instruments omit them
                base = base.with_columns(pl.lit(None, pl.String).alias(col))
        base = base.with_columns(
            pl.lit(STUDYID).alias("STUDYID"), *_subject_exprs(), *_visit_exprs(), pl.lit("1").alias("FORMREP")
        )
        for form in FORMS:
            if form in layout.missing:
                col = layout.missing[form]
                err = StructuralError(src, col, f"{src}: required field {col!r} of form {form} is missing")
                results[form] = FormResult(write_empty(form, out_dir), 0, err)
                continue
            keep, items = layout.form_exprs(form)
            igrep = pl.when(pl.col(INSTRUMENT).str.to_lowercase() == form.lower()).then(pl.col(INSTANCE))
            lf = base.filter(keep).select(
                "STUDYID", "SITEID", "SUBJID", "VISIT", "VISITREP", "FORMREP",
                igrep.fill_null(pl.lit("1")).alias("IGREP"), *items, "SRC_ROW",
            )
            try:
                rows = write_staged(lf, form, out_dir, src_format="redcap", src_file=src, load_ts=load_ts)
            except (pl.exceptions.PolarsError, OSError) as exc:
                err = StructuralError(src, "<parse>", f"{src}: cannot be parsed as CSV: {exc}")
                results[form] = FormResult(write_empty(form, out_dir), 0, err)
                continue
            results[form] = FormResult(out_dir / f"{form}.parquet", rows)
    finally:
        if tf.transcoded:
            tf.path.unlink(missing_ok=True)
    return results, layout.ignored(), notes
