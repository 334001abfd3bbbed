"""The query listing: open findings a site has to answer, one row per query.

From the ledger (``qa.findings``): findings that are open (new or persisting), not accepted by
a data manager, ERROR or WARN, about one subject, and of a rule a site can answer. The rules
left out are data management's own work (:data:`NOT_FOR_SITE`). Each row carries the question
put to the site, built from the finding's field, the value as delivered and its message.

Written per load as ``reports/queries/queries_load<NNNN>.csv`` and ``.xlsx`` (one sheet,
header frozen and filtered), sorted by site and subject.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

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
QUERY_COLUMNS = ["SITE", "SUBJECT", "VISIT", "FORM", "FIELD", "VALUE", "QUESTION",
                 "RULE", "SEVERITY", "STATUS", "FIRST_LOAD", "FINDING_KEY"]


def listing_paths(reports_dir: Path, load_no: int) -> tuple[Path, Path]:
    stem = Path(reports_dir) / "queries" / f"queries_load{load_no:04d}"
    return stem.with_suffix(".csv"), stem.with_suffix(".xlsx")


def query_listing(con: duckdb.DuckDBPyConnection, table: str = "qa.findings") -> pl.DataFrame:
    excluded = ", ".join(f"'{r}'" for r in NOT_FOR_SITE)
    asks = " ".join(f"WHEN '{r}' THEN '{text}'" for r, text in ASK.items())
    return pl.from_arrow(con.sql(f"""
        SELECT SITEID AS SITE, SUBJID AS SUBJECT, VISIT, FORM, FIELD, RAW_VALUE AS VALUE,
               CASE WHEN FIELD IS NOT NULL THEN FIELD || ' = "' || coalesce(RAW_VALUE, '') || '": ' ELSE '' END
               || MESSAGE || ' (' || RULE_ID || '). ' || CASE RULE_ID {asks} ELSE '{DEFAULT_ASK}' END AS QUESTION,
               RULE_ID AS RULE, SEVERITY, STATUS, FIRST_LOAD, FINDING_KEY
        FROM {table}
        WHERE STATUS IN ('new', 'persisting') AND NOT ACCEPTED AND SEVERITY IN ('ERROR', 'WARN')
          AND SUBJID IS NOT NULL AND RULE_ID NOT IN ({excluded})
        ORDER BY SITE, SUBJECT, FORM, VISIT NULLS FIRST, FIELD, FINDING_KEY""").to_arrow_table()).select(QUERY_COLUMNS)


def write_listing(listing: pl.DataFrame, csv_path: Path, xlsx_path: Path) -> None:
    """CSV (UTF-8 with BOM, so a spreadsheet opens the Chinese text right) and XLSX."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "wb") as fh:
        fh.write("\ufeff".encode())
        listing.write_csv(fh)
    wb = Workbook()
    ws = wb.active
    ws.title = "queries"
    ws.append(listing.columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in listing.iter_rows():
        ws.append(list(row))
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    widths = {"QUESTION": 90, "FINDING_KEY": 48, "VALUE": 18, "VISIT": 26}
    for i, name in enumerate(listing.columns):
        ws.column_dimensions[ws.cell(1, i + 1).column_letter].width = widths.get(name, 12)
    wb.save(xlsx_path)
