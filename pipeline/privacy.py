"""Direct identifiers never enter the working warehouse, so they cannot reach the analyst copy.

The DM form carries the subject's initials, hospital record number and birth date
(``ops.privacy.identifiers`` in the trial configuration). They are needed to reconcile with the
site, never for analysis. A load keeps them in two places only, both under the warehouse folder
and readable by its owner alone: the staged export (``build/staging``, the delivery as received)
and ``restricted/identifiers.parquet``. Subjects are known everywhere else only by their
study-assigned pseudonyms (SUBJID, USUBJID) and AGE, the derived age.

Why at ingest and not at publish: publishing is a plain copy of the working file
(``pipeline.publish``), and a DuckDB file that never held an identifier value cannot leak one,
not even from freed blocks (dropping a column or a table leaves its values on disk until the
blocks are reused). So:

- ``raw/dm`` writes the identifier items of every delivered DM row to the restricted store
  (:func:`keep_identifiers`) and loads ``raw.dm`` without them (:func:`raw_select`);
- ``stg/dm`` still judges those items (a birth date must be a date): :class:`IdentifierItems`
  puts them back beside their rows, read from the restricted store, for the validation in
  memory, then drops them from ``validation.dm``, ``stg.dm`` and ``quarantine.dm`` and masks
  the findings and quarantine reasons about them (:func:`mask_frame`) before anything is
  written;
- the findings ledger kept in ``state/`` by an older version of the code may quote identifier
  values: it is masked as it is read back (:func:`masked_select`).

The mask: a finding whose FIELD is an identifier keeps its rule, place and lineage but loses its
RAW_VALUE/VALUE (NULL) and its MESSAGE/QUESTION (:data:`WITHHELD`); a quarantine reason that
names an identifier becomes :data:`WITHHELD`.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import duckdb
import polars as pl

from pipeline import config
from pipeline.forms import FORMS
from pipeline.sql_models import sql_literal

RESTRICTED_MODE = 0o700
WITHHELD = "identifier value withheld (restricted store)"
STORE_FILE = "identifiers.parquet"
#: column of the restricted store linking a row to its row of ``raw.dm`` (its rowid)
ROW_LINK = "RAW_ROW"
#: columns of finding / quarantine / query-listing tables that quote a raw value ...
_NULLED = ("RAW_VALUE", "VALUE")
#: ... or a text built from it
_WITHHELD_TEXT = ("MESSAGE", "QUESTION", "QUARANTINE_REASON")


def identifiers() -> list[str]:
    return [c.upper() for c in config.ops()["privacy"]["identifiers"]]


def identifier_items(form_name: str) -> list[str]:
    """The items of a CRF form that are direct identifiers (DM: INITIALS, MRN, BRTHDAT)."""
    ids = identifiers()
    return [i for i in FORMS[form_name].item_names if i.upper() in ids]


def restrict(folder: Path) -> Path:
    """Create ``folder`` readable and writable by the warehouse owner only."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, RESTRICTED_MODE)
    return folder


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- the mask: one plan, rendered as SQL (tables, the ledger) or polars (frames in memory) ---

def _mask_plan(columns: list[str]) -> tuple[str | None, list[tuple[str, str]]]:
    """(which rows are about an identifier: "FIELD" / "QUARANTINE_REASON" / None,
    [(column, "keep" | "null" | "withheld")]), identifier columns left out."""
    ids = identifiers()
    names = {c.upper() for c in columns}
    about = "FIELD" if "FIELD" in names else "QUARANTINE_REASON" if "QUARANTINE_REASON" in names else None
    plan = []
    for col in columns:
        upper = col.upper()
        if upper in ids:
            continue
        action = "keep"
        if about and upper in _NULLED:
            action = "null"
        elif about and upper in _WITHHELD_TEXT:
            action = "withheld"
        plan.append((col, action))
    return about, plan


def _identifier_pattern() -> str:
    """A quarantine reason naming an identifier: ``... BRTHDAT: unparseable ...``."""
    return r"\b(" + "|".join(identifiers()) + r")\b"


def field_is_identifier_sql(column: str = "FIELD") -> str:
    """SQL condition: the finding in this row is about an identifier item (its ``column``)."""
    return f"{column} IN ({', '.join(sql_literal(i) for i in identifiers())})"


def masked_select(columns: list[str]) -> str:
    """SELECT list of a relation with ``columns``: identifiers dropped, findings about them masked."""
    about, plan = _mask_plan(columns)
    if about == "FIELD":
        hit = field_is_identifier_sql()
    else:
        hit = f"regexp_matches(QUARANTINE_REASON, {sql_literal(_identifier_pattern())})"
    out = []
    for col, action in plan:
        if action == "keep":
            out.append(_quoted(col))
        else:
            value = "NULL" if action == "null" else sql_literal(WITHHELD)
            out.append(f"CASE WHEN {hit} THEN {value} ELSE {_quoted(col)} END AS {_quoted(col)}")
    return ", ".join(out)


def mask_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` without identifier columns, its findings or reasons about them masked."""
    about, plan = _mask_plan(frame.columns)
    if about == "FIELD":
        hit = pl.col("FIELD").is_in(identifiers()).fill_null(False)
    else:
        hit = pl.col("QUARANTINE_REASON").str.contains(_identifier_pattern()).fill_null(False)
    out = []
    for col, action in plan:
        if action == "keep":
            out.append(pl.col(col))
        else:
            value = pl.lit(None, dtype=frame.schema[col]) if action == "null" else pl.lit(WITHHELD)
            out.append(pl.when(hit).then(value).otherwise(pl.col(col)).alias(col))
    return frame.select(out)


# --- raw/dm: the identifiers go to the restricted store, the rest to raw.dm -------------------

def raw_select(form_name: str) -> str:
    """SELECT of a staged form (parameter: its Parquet file) into ``raw.<form>``, in delivery
    order, without identifier items; row ``n`` of the file is rowid ``n`` of the table."""
    items = identifier_items(form_name)
    if not items:
        return "SELECT * FROM read_parquet(?)"
    dropped = ", ".join(_quoted(i) for i in [*items, "file_row_number"])
    return f"SELECT * EXCLUDE ({dropped}) FROM read_parquet(?, file_row_number = true) ORDER BY file_row_number"


def store_path(restricted_dir: Path) -> Path:
    return Path(restricted_dir) / STORE_FILE


def keep_identifiers(con: duckdb.DuckDBPyConnection, form_name: str, staged: str | Path, restricted_dir: Path) -> Path:
    """Write ``restricted/identifiers.parquet`` from the staged file of the form that carries the
    identifiers (DM): per delivered row the raw keys, the identifier items, the lineage and
    :data:`ROW_LINK` (its rowid in ``raw.<form>``).

    DuckDB streams Parquet to Parquet; nothing is written into the database ``con`` is on."""
    target = store_path(restrict(Path(restricted_dir)))
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    cols = ", ".join(["STUDYID", "SITEID", "SUBJID", *(_quoted(i) for i in identifier_items(form_name)),
                      "SRC_FILE", "SRC_ROW", f"file_row_number AS {ROW_LINK}"])
    con.execute(f"COPY (SELECT {cols} FROM read_parquet({sql_literal(staged)}, file_row_number = true) "
                f"ORDER BY SITEID, SUBJID, {ROW_LINK}) TO {sql_literal(tmp)} (FORMAT parquet)")
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)
    return target


# --- stg/dm: validate the identifier items in memory, write nothing of them ------------------

@dataclasses.dataclass(frozen=True)
class IdentifierItems:
    """The identifier items of one form around its validation (none: both steps do nothing).

    ``attach`` joins them from the restricted store to validation rows by ``_ROW`` (the rowid
    in ``raw.<form>``, :data:`ROW_LINK` in the store); ``strip`` takes them out of the result
    again and masks what quotes them, so ``validation``, ``stg``, ``quarantine`` and the
    findings of the form are written without an identifier value.
    """

    items: tuple[str, ...]
    store: Path | None

    @classmethod
    def of(cls, form_name: str, restricted_dir: Path | None) -> IdentifierItems:
        return cls(tuple(identifier_items(form_name)), store_path(restricted_dir) if restricted_dir else None)

    def attach(self, rows: pl.DataFrame) -> pl.DataFrame:
        missing = [i for i in self.items if i not in rows.columns]
        if not missing:
            return rows  # a raw table that still has them (built by hand): validated as it is
        if self.store is None:
            raise ValueError(f"identifier items {missing} are validated from the restricted store: pass restricted_dir")
        kept = pl.read_parquet(self.store, columns=[ROW_LINK, *missing]).with_columns(pl.col(ROW_LINK).cast(pl.Int64))
        link = rows["_ROW"].dtype
        return (rows.with_columns(pl.col("_ROW").cast(pl.Int64))
                .join(kept.rename({ROW_LINK: "_ROW"}), on="_ROW", how="left", maintain_order="left")
                .with_columns(pl.col("_ROW").cast(link)))

    def strip(self, result):
        """``result`` (a ``FormResult``) with its frames masked (:func:`mask_frame`)."""
        if not self.items:
            return result
        return dataclasses.replace(result, **{
            f.name: mask_frame(getattr(result, f.name)) for f in dataclasses.fields(result)
            if isinstance(getattr(result, f.name), pl.DataFrame)
        })
