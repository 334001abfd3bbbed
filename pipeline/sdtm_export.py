"""SDTM domain tables as submission files: SAS XPT v5 and CDISC Dataset-JSON 1.1.

``export_tables`` writes ``<name>.xpt`` and ``<name>.json`` for every domain table of a DuckDB
connection into a temporary sibling folder, then swaps it into place (``exports/sdtm``): a
failed export leaves the previous set untouched, never half of a new one.

What goes in a file: the table's columns in table order minus lineage (``SRC_*``); variable
labels and the dataset label from the domain's Pandera model (``schemas.sdtm``; a column the
model does not declare is labelled with its name); names upper-case and <= 8 characters;
Char as text (dates are already ISO 8601 text in SDTM; a DATE/TIMESTAMP column is written as
ISO text), Num as numeric. XPT v5 limits are checked before writing (name 8, label 40,
character value 200 bytes) and break the export with a message naming the variable.

Both files are streamed from one query in Arrow batches straight from DuckDB (``pipeline.xpt``
pads and packs the XPT rows with numpy; DuckDB's ``json_array`` renders the rows of
Dataset-JSON), so a 10-million-record LB is read once and costs one batch of memory. The
files take the Arrow buffers as they are: no Python object per value. The tests read every XPT back with
pyreadstat.
"""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.arrow_bytes import concatenated
from pipeline.warehouse_io import to_arrow
from pipeline.xpt import XptVariable, XptWriter
from schemas.sdtm import SDTM_MODELS, dataset_label, variable_labels

DATASET_JSON_VERSION = "1.1.0"
XPT_NAME_MAX = 8
XPT_LABEL_MAX = 40
XPT_CHAR_MAX = 200
LINEAGE_PREFIX = "SRC_"
LINEAGE_COLUMNS = {"LOAD_TS", "LASTMOD"}
#: rows per Arrow batch: bounds memory whatever the table size
BATCH_ROWS = 100_000


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


def labels_for(name: str, columns: list[str]) -> tuple[str, list[str]]:
    """(dataset label, variable labels in column order) from the domain's model."""
    model = SDTM_MODELS.get(name)
    if model is None:
        return name.upper(), list(columns)
    known = variable_labels(model)
    return dataset_label(model), [known.get(c, c) for c in columns]


INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}


@dataclass(frozen=True)
class ExportColumn:
    """One exported variable: its name, SQL expression (as exported), kind and JSON type."""

    name: str
    sql: str
    numeric: bool
    json_type: str


def export_columns(con, table: str) -> list[ExportColumn]:
    """The exported view of ``table``: lineage dropped; dates / times as ISO text; Boolean as
    TRUE/FALSE text; DECIMAL as double; all-null columns as text. Any other type breaks the
    export with a message naming the column."""
    out = []
    for name, dtype in con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {table})").fetchall():
        if is_lineage(name):
            continue
        q = f'"{name}"'
        base = dtype.split("(")[0].upper()
        if base in INTEGER_TYPES:
            out.append(ExportColumn(name, q, True, "integer"))
        elif base in FLOAT_TYPES or base == "DECIMAL":
            out.append(ExportColumn(name, f"CASE WHEN isfinite({q}::DOUBLE) THEN {q}::DOUBLE END", True, "double"))
        elif base == "DATE":
            out.append(ExportColumn(name, f"strftime({q}, '%Y-%m-%d')", False, "date"))
        elif base.startswith("TIMESTAMP"):
            out.append(ExportColumn(name, f"strftime({q}, '%Y-%m-%dT%H:%M:%S')", False, "datetime"))
        elif base == "TIME":
            out.append(ExportColumn(name, f"CAST({q} AS VARCHAR)", False, "time"))
        elif base == "BOOLEAN":
            out.append(ExportColumn(name, f"upper(CAST({q} AS VARCHAR))", False, "string"))
        elif base in ("VARCHAR", '"NULL"', "NULL"):
            out.append(ExportColumn(name, f"CAST({q} AS VARCHAR)", False,
                                    "datetime" if name.endswith("DTC") else "string"))
        else:
            raise ExportError(f"{table}.{name}: type {dtype} is neither Char nor Num")
    return out


def char_lengths(con, table: str, columns: list[ExportColumn]) -> tuple[dict[str, int], int]:
    """(longest value in bytes per character column, at least 1: the XPT / JSON length; the
    table's rows), in one scan."""
    chars = [c for c in columns if not c.numeric]
    row = con.execute("SELECT " + ", ".join(["count(*)", *(f"max(strlen({c.sql}))" for c in chars)])
                      + f" FROM {table}").fetchone()
    return {c.name: max(int(n or 0), 1) for c, n in zip(chars, row[1:])}, int(row[0])


def check_xpt(domain: str, columns: list[ExportColumn], lengths: dict[str, int], dslabel: str, labels: list[str]) -> None:
    """XPT v5 limits, checked before a byte is written: names, labels, character lengths."""
    if len(domain) > XPT_NAME_MAX:
        raise ExportError(f"{domain}: dataset name longer than {XPT_NAME_MAX} characters")
    if len(dslabel) > XPT_LABEL_MAX:
        raise ExportError(f"{domain}: dataset label longer than {XPT_LABEL_MAX}: {dslabel!r}")
    for column, label in zip(columns, labels):
        name = column.name
        if len(name) > XPT_NAME_MAX or name != name.upper() or not name.isascii():
            raise ExportError(f"{domain}.{name}: XPT v5 names are upper-case ASCII, <= {XPT_NAME_MAX} characters")
        if len(label) > XPT_LABEL_MAX:
            raise ExportError(f"{domain}.{name}: label longer than {XPT_LABEL_MAX}: {label!r}")
        if not column.numeric and lengths[name] > XPT_CHAR_MAX:
            raise ExportError(f"{domain}.{name}: a value is longer than {XPT_CHAR_MAX} bytes (split it into SUPP--)")


def dataset_json_header(domain: str, columns: list[ExportColumn], lengths: dict[str, int], dslabel: str,
                        labels: list[str], ctx: ExportContext, records: int, keys: tuple[str, ...] = ()) -> dict:
    """Dataset-JSON 1.1 without ``rows`` (written after it, streamed)."""
    items = []
    for column, label in zip(columns, labels):
        entry = {"itemOID": f"IT.{domain}.{column.name}", "name": column.name, "label": label,
                 "dataType": column.json_type}
        if not column.numeric:
            entry["length"] = lengths[column.name]
        if column.name in keys:
            entry["keySequence"] = keys.index(column.name) + 1
        items.append(entry)
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
        "records": records,
        "name": domain,
        "label": dslabel,
        "columns": items,
    }


#: the column of the export query that holds a Dataset-JSON row (not a possible variable name)
JSON_ROW = "json row"


def _export_select(columns: list[ExportColumn]) -> str:
    """The one query both files are written from: every variable as exported (the XPT writer
    pads text itself) and the row rendered by DuckDB as Dataset-JSON text, ``', [...]'``."""
    values = [f'{c.sql} AS "{c.name}"' for c in columns]
    row = f"', ' || CAST(json_array({', '.join(c.sql for c in columns)}) AS VARCHAR) AS \"{JSON_ROW}\""
    return ", ".join([*values, row])


def _keys(name: str) -> tuple[str, ...]:
    model = SDTM_MODELS.get(name)
    return tuple(getattr(model, "_KEY", ())) if model is not None else ()


def write_domain(con, name: str, table: str, out_dir: Path, ctx: ExportContext, batch_rows: int = BATCH_ROWS) -> int:
    """``<name>.xpt`` and ``<name>.json`` of one table, streamed in batches; returns its rows.

    Both files are written in one pass over the table: each Arrow batch of the export query
    goes to :class:`pipeline.xpt.XptWriter` (the variables) and to the Dataset-JSON file (the
    rendered rows), so the table is read and decompressed once. The Dataset-JSON header comes
    first and needs the record count, taken with the character lengths. Memory is one batch.
    """
    domain = name.upper()
    columns = export_columns(con, table)
    dslabel, labels = labels_for(name, [c.name for c in columns])
    lengths, records = char_lengths(con, table, columns)
    check_xpt(domain, columns, lengths, dslabel, labels)
    variables = [XptVariable(c.name, label, c.numeric, 8 if c.numeric else lengths[c.name]) for c, label in zip(columns, labels)]
    header = dataset_json_header(domain, columns, lengths, dslabel, labels, ctx, records, _keys(name))
    with XptWriter(out_dir / f"{name}.xpt", domain, dslabel, variables) as xpt, \
            open(out_dir / f"{name}.json", "wb") as fh:
        fh.write((json.dumps(header, ensure_ascii=False)[:-1] + ', "rows": [').encode())
        # every row is rendered by DuckDB as ', [...]'; the file takes the batches' text buffers
        # as they are, less the separator in front of the first row
        skip = len(", ")
        for batch in con.execute(f"SELECT {_export_select(columns)} FROM {table}").to_arrow_reader(batch_rows):
            xpt.write_batch(batch)
            text = concatenated(batch.column(JSON_ROW))
            fh.write(text[skip:])
            skip = max(0, skip - len(text))
        fh.write(b"]}")
    if xpt.rows != records:
        raise ExportError(f"{domain}: {xpt.rows} rows written, {records} counted (the table changed while exporting)")
    return records


#: domains written at once, each on its own thread and cursor
EXPORT_THREADS = 2


def _write_domains(con, tables: dict[str, str], out_dir: Path, ctx: ExportContext) -> dict[str, int]:
    """:func:`write_domain` of every table, :data:`EXPORT_THREADS` at a time, largest first;
    rows per name, in name order.

    Why threads: writing one domain alternates between DuckDB rendering a batch, numpy packing
    it and the disk taking it, each leaving the other core idle; all three release the GIL, so
    two domains written side by side keep both cores busy (the SDTM exports of 100,000
    subjects: 12 GB of files). The files are the same whatever the order they are written in.
    """
    sizes = {name: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for name, table in tables.items()}

    def write(name: str) -> int:
        cursor = con.cursor()  # a cursor serves one thread at a time
        try:
            return write_domain(cursor, name, tables[name], out_dir, ctx)
        finally:
            cursor.close()

    with ThreadPoolExecutor(max_workers=EXPORT_THREADS, thread_name_prefix="sdtm_export") as pool:
        futures = {name: pool.submit(write, name) for name in sorted(tables, key=lambda n: (-sizes[n], n))}
        return {name: futures[name].result() for name in sorted(tables)}


def export_tables(con, tables: dict[str, str], out_dir: Path, ctx: ExportContext) -> dict[str, int]:
    """Write every table (``{name: qualified table}``) as XPT v5 and Dataset-JSON 1.1 into
    ``out_dir``, replacing it as a whole; returns rows per name."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.tmp")
    old = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        rows = _write_domains(con, tables, tmp, ctx)
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
    return rows


def export_domains(frames: dict[str, pl.DataFrame], out_dir: Path, ctx: ExportContext) -> dict[str, int]:
    """:func:`export_tables` for in-memory polars frames (tests, small deliveries)."""
    import duckdb

    con = duckdb.connect()
    try:
        for name, frame in frames.items():  # tables, not registered frames: every cursor sees them
            con.register("_frame", to_arrow(frame))  # all-null columns as text (a table would make them INTEGER)
            con.execute(f'CREATE TABLE "_export_{name}" AS SELECT * FROM _frame')
            con.unregister("_frame")
        return export_tables(con, {name: f'"_export_{name}"' for name in frames}, out_dir, ctx)
    finally:
        con.close()
