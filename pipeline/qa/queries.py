"""The query listing: open findings a site has to answer, one row per query.

From the ledger (``qa.findings``): findings that are open (new or persisting), not accepted by
a data manager, ERROR or WARN, about one subject, and of a rule a site can answer. The rules
left out are data management's own work (:data:`NOT_FOR_SITE`). Each row carries the question
put to the site, built from the finding's field, the value as delivered and its message. A
finding about a direct identifier (``pipeline.privacy``) has neither value nor message: its
question names the item and the rule's title and asks the site to check the item in the EDC.

Built in DuckDB as ``qa.query_listing`` and streamed from it per load to
``reports/queries/queries_load<NNNN>.csv`` and ``.xlsx`` (one sheet, header frozen and
filtered), sorted by site and subject; no step holds the listing in Python.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from pipeline.privacy import field_is_identifier_sql
from pipeline.qa.xlsx import write_table_xlsx
from pipeline.sql_models import sql_literal
from pipeline.validation.rules import RULES

#: rules that never become a site query, and why
NOT_FOR_SITE = {
    "DUP01": "an exact duplicate row: the load keeps one copy, nothing to ask",
    "COD01": "MedDRA coding is data management's task",
    "XT01": "a subject missing from DM in SDTM/ADaM is a pipeline fault",
    "XT09": "a distribution of many subjects, reviewed by data management",
}
#: how a question ends, when it is not a value to check
ASK = {"XT10": "Please enter the missing form, or confirm that it was not done."}
DEFAULT_ASK = "Please check the source document and correct the entry, or confirm it is correct."
#: the question about a direct identifier (``pipeline.privacy``): the finding's value and message
#: are withheld, so the site is told the item and what is wrong with it (the rule's title)
IDENTIFIER_ASK = ("the value is withheld from this listing (a direct identifier): please check it in the EDC "
                  "against the source document and correct it, or confirm it is correct.")
QUERY_COLUMNS = ["SITE", "SUBJECT", "VISIT", "FORM", "FIELD", "VALUE", "QUESTION",
                 "RULE", "SEVERITY", "STATUS", "FIRST_LOAD", "FINDING_KEY"]
#: XLSX column widths (others 12)
XLSX_WIDTHS = {"QUESTION": 90, "FINDING_KEY": 48, "VALUE": 18, "VISIT": 26}
#: rows per Arrow batch when writing the listing files
BATCH_ROWS = 50_000


def listing_paths(reports_dir: Path, load_no: int) -> tuple[Path, Path]:
    stem = Path(reports_dir) / "queries" / f"queries_load{load_no:04d}"
    return stem.with_suffix(".csv"), stem.with_suffix(".xlsx")


def query_listing_sql(table: str = "qa.findings") -> str:
    """SELECT of the open site queries in ``table`` (a ledger), sorted by site and subject."""
    excluded = ", ".join(f"'{r}'" for r in NOT_FOR_SITE)
    asks = " ".join(f"WHEN '{r}' THEN '{text}'" for r, text in ASK.items())
    titles = " ".join(f"WHEN '{r.id}' THEN {sql_literal(r.title)}" for r in RULES.values())
    return f"""
        SELECT SITEID AS SITE, SUBJID AS SUBJECT, VISIT, FORM, FIELD, RAW_VALUE AS VALUE,
               CASE WHEN {field_is_identifier_sql()}
                    THEN FIELD || ': ' || CASE RULE_ID {titles} ELSE '' END || ' (' || RULE_ID || '); {IDENTIFIER_ASK}'
                    ELSE CASE WHEN FIELD IS NOT NULL THEN FIELD || ' = "' || coalesce(RAW_VALUE, '') || '": ' ELSE '' END
                         || MESSAGE || ' (' || RULE_ID || '). ' || CASE RULE_ID {asks} ELSE '{DEFAULT_ASK}' END
               END AS QUESTION,
               RULE_ID AS RULE, SEVERITY, STATUS, FIRST_LOAD, FINDING_KEY
        FROM {table}
        WHERE STATUS IN ('new', 'persisting') AND NOT ACCEPTED AND SEVERITY IN ('ERROR', 'WARN')
          AND SUBJID IS NOT NULL AND RULE_ID NOT IN ({excluded})
        ORDER BY SITE, SUBJECT, FORM, VISIT NULLS FIRST, FIELD, FINDING_KEY"""


def build_listing(con: duckdb.DuckDBPyConnection, out: str = "qa.query_listing", table: str = "qa.findings") -> int:
    """Create ``out`` (columns :data:`QUERY_COLUMNS`) from the ledger ``table`` in DuckDB; returns its rows."""
    con.execute(f"CREATE OR REPLACE TABLE {out} AS {query_listing_sql(table)}")
    return con.execute(f"SELECT count(*) FROM {out}").fetchone()[0]


def write_listing(con: duckdb.DuckDBPyConnection, table: str, csv_path: Path, xlsx_path: Path,
                  batch_rows: int = BATCH_ROWS) -> None:
    """CSV (UTF-8 with BOM, so a spreadsheet opens the Chinese text right) and XLSX of ``table``,
    both streamed from DuckDB a batch at a time (``pipeline.qa.xlsx`` writes the XLSX)."""
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "wb") as fh:
        fh.write("\ufeff".encode())
        header = True
        for batch in con.execute(f"SELECT * FROM {table}").to_arrow_reader(batch_rows):
            if batch.num_rows or header:
                pl.from_arrow(batch).write_csv(fh, include_header=header)
                header = False
        if header:  # no batch at all: the header alone
            pl.DataFrame(schema=dict.fromkeys(QUERY_COLUMNS, pl.Utf8)).write_csv(fh)
    write_table_xlsx(con, table, xlsx_path, "queries", XLSX_WIDTHS, batch_rows=batch_rows)
