"""SDTM domain tables as submission files: SAS XPT v5 (pyreadstat) and CDISC Dataset-JSON 1.1.

``export_domains`` writes ``<name>.xpt`` and ``<name>.json`` for every domain frame into a
temporary sibling folder, then swaps it into place (``exports/sdtm``): a failed export leaves
the previous set untouched, never half of a new one.

What goes in a file: the table's columns in table order minus lineage (``SRC_*``); variable
labels and the dataset label from the domain's Pandera model (``schemas.sdtm``; a column the
model does not declare is labelled with its name); names upper-case and <= 8 characters;
Char as text (dates are already ISO 8601 text in SDTM; a DATE/TIMESTAMP column is written as
ISO text), Num as numeric. XPT v5 limits are checked before writing (name 8, label 40,
character value 200 bytes) and break the export with a message naming the variable.

pandas is used only here, at the pyreadstat edge: SDTM tables are small (one trial), so the
copy costs nothing; everything upstream stays polars/Arrow.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from schemas.sdtm import SDTM_MODELS, dataset_label, variable_labels

DATASET_JSON_VERSION = "1.1.0"
XPT_NAME_MAX = 8
XPT_LABEL_MAX = 40
XPT_CHAR_MAX = 200
LINEAGE_PREFIX = "SRC_"
LINEAGE_COLUMNS = {"LOAD_TS", "LASTMOD"}


class ExportError(ValueError):
    """A domain that cannot be written as XPT v5 / Dataset-JSON; the message names it."""


@dataclass(frozen=True)
class ExportContext:
    studyid: str
    creation_datetime: str  # ISO 8601, taken from the load (not the wall clock): reruns are identical
    originator: str = "trialwh"
    source_system: str = "trialwh SDTM pipeline"
    source_version: str = "1"

    @property
    def metadata_version_oid(self) -> str:
        return f"MDV.{self.studyid}.SDTM"


def is_lineage(column: str) -> bool:
    return column.startswith(LINEAGE_PREFIX) or column in LINEAGE_COLUMNS


def prepare(frame: pl.DataFrame) -> pl.DataFrame:
    """The exported view: lineage dropped, dates/times as ISO text, null-typed columns as text."""
    keep = [c for c in frame.columns if not is_lineage(c)]
    out = frame.select(keep)
    casts = []
    for name, dtype in out.schema.items():
        if dtype == pl.Date:
            casts.append(pl.col(name).dt.strftime("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):
            casts.append(pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%S"))
        elif dtype == pl.Time:
            casts.append(pl.col(name).dt.strftime("%H:%M:%S"))
        elif dtype == pl.Null or dtype == pl.Categorical or isinstance(dtype, pl.Enum):
            casts.append(pl.col(name).cast(pl.Utf8))
        elif dtype == pl.Boolean:
            casts.append(pl.col(name).cast(pl.Utf8).str.to_uppercase())
        elif dtype == pl.Decimal or isinstance(dtype, pl.Decimal):
            casts.append(pl.col(name).cast(pl.Float64))
    return out.with_columns(casts) if casts else out


def labels_for(name: str, columns: list[str]) -> tuple[str, list[str]]:
    """(dataset label, variable labels in column order) from the domain's model."""
    model = SDTM_MODELS.get(name)
    if model is None:
        return name.upper(), list(columns)
    known = variable_labels(model)
    return dataset_label(model), [known.get(c, c) for c in columns]


def _char_length(series: pl.Series) -> int:
    lengths = series.drop_nulls().str.len_bytes()
    return max(int(lengths.max() or 0), 1) if lengths.len() else 1


def _check_xpt(domain: str, frame: pl.DataFrame, dslabel: str, labels: list[str]) -> None:
    if len(domain) > XPT_NAME_MAX:
        raise ExportError(f"{domain}: dataset name longer than {XPT_NAME_MAX} characters")
    if len(dslabel) > XPT_LABEL_MAX:
        raise ExportError(f"{domain}: dataset label longer than {XPT_LABEL_MAX}: {dslabel!r}")
    for column, label in zip(frame.columns, labels):
        if len(column) > XPT_NAME_MAX or column != column.upper() or not column.isascii():
            raise ExportError(f"{domain}.{column}: XPT v5 names are upper-case ASCII, <= {XPT_NAME_MAX} characters")
        if len(label) > XPT_LABEL_MAX:
            raise ExportError(f"{domain}.{column}: label longer than {XPT_LABEL_MAX}: {label!r}")
        if frame.schema[column] == pl.Utf8 and _char_length(frame[column]) > XPT_CHAR_MAX:
            raise ExportError(f"{domain}.{column}: a value is longer than {XPT_CHAR_MAX} bytes (split it into SUPP--)")
        if frame.schema[column] != pl.Utf8 and not frame.schema[column].is_numeric():
            raise ExportError(f"{domain}.{column}: type {frame.schema[column]} is neither Char nor Num")


def write_xpt(path: Path, domain: str, frame: pl.DataFrame, dslabel: str, labels: list[str]) -> None:
    import pyreadstat

    _check_xpt(domain, frame, dslabel, labels)
    pdf = frame.with_columns(pl.col(c).cast(pl.Float64) for c, t in frame.schema.items() if t.is_numeric()).to_pandas()
    for column, dtype in frame.schema.items():
        if dtype == pl.Utf8:  # all-null text columns must stay text, not become numeric
            pdf[column] = pdf[column].astype(object).where(pdf[column].notna(), "")
    pyreadstat.write_xport(
        pdf, str(path), file_format_version=5, table_name=domain, file_label=dslabel, column_labels=labels
    )


def _json_type(column: str, dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "integer"
    if dtype.is_float():
        return "double"
    if column.endswith("DTC"):
        return "datetime"
    return "string"


def _json_value(value):
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def dataset_json(domain: str, frame: pl.DataFrame, dslabel: str, labels: list[str], ctx: ExportContext,
                 keys: tuple[str, ...] = ()) -> dict:
    columns = []
    for column, label in zip(frame.columns, labels):
        dtype = frame.schema[column]
        entry = {"itemOID": f"IT.{domain}.{column}", "name": column, "label": label,
                 "dataType": _json_type(column, dtype)}
        if dtype == pl.Utf8:
            entry["length"] = _char_length(frame[column])
        if column in keys:
            entry["keySequence"] = keys.index(column) + 1
        columns.append(entry)
    return {
        "datasetJSONCreationDateTime": ctx.creation_datetime,
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": f"{ctx.studyid}.SDTM.{domain}",
        "dbLastModifiedDateTime": ctx.creation_datetime,
        "originator": ctx.originator,
        "sourceSystem": {"name": ctx.source_system, "version": ctx.source_version},
        "studyOID": ctx.studyid,
        "metaDataVersionOID": ctx.metadata_version_oid,
        "itemGroupOID": f"IG.{domain}",
        "records": frame.height,
        "name": domain,
        "label": dslabel,
        "columns": columns,
        "rows": [[_json_value(v) for v in row] for row in frame.iter_rows()],
    }


def _keys(name: str) -> tuple[str, ...]:
    model = SDTM_MODELS.get(name)
    return tuple(getattr(model, "_KEY", ())) if model is not None else ()


def export_domains(frames: dict[str, pl.DataFrame], out_dir: Path, ctx: ExportContext) -> list[Path]:
    """Write every domain as XPT v5 and Dataset-JSON 1.1 into ``out_dir``, replacing it as a whole."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.tmp")
    old = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for name in sorted(frames):
            domain = name.upper()
            frame = prepare(frames[name])
            dslabel, labels = labels_for(name, frame.columns)
            write_xpt(tmp / f"{name}.xpt", domain, frame, dslabel, labels)
            doc = dataset_json(domain, frame, dslabel, labels, ctx, _keys(name))
            (tmp / f"{name}.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        shutil.rmtree(old, ignore_errors=True)
        if out_dir.exists():
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out_dir.exists():
            os.replace(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return sorted(out_dir.iterdir())
