"""QA at scale: the query listing's XLSX written by DuckDB (``pipeline.qa.xlsx``), read back with
openpyxl and compared with what openpyxl itself writes for the same table (the writer the listing
used before); listing files streamed in batches; the cap on rows GX validates per rule."""

from __future__ import annotations

import duckdb
import openpyxl
import pytest

from pipeline.qa.queries import build_listing, write_listing
from pipeline.qa.xlsx import column_letter, write_table_xlsx

ROWS = [
    ("101", "00001", "SCREENING", 'AESTDAT = "2023-01-0x": bad & <odd> date', 1, 2.5, True),
    ("101", None, "  leading and trailing  ", "恶心 / 呕吐", 2, None, False),
    ("102", "00003", None, "line one\nline two\ttab", None, -0.125, None),
    ("103", "00004", "CYCLE 2 DAY 1", "quote \" and apostrophe '", 12345678901, 1e-7, True),
]


@pytest.fixture()
def con():
    c = duckdb.connect()
    c.execute("CREATE TABLE t (SITE VARCHAR, SUBJECT VARCHAR, VISIT VARCHAR, QUESTION VARCHAR, "
              "FIRST_LOAD BIGINT, X DOUBLE, FLAG BOOLEAN)")
    c.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)", ROWS)
    yield c
    c.close()


def _openpyxl_reference(path, columns, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "queries"
    ws.append(columns)
    for row in rows:
        ws.append(list(row))
    wb.save(path)


def _cells(path, sheet="queries"):
    return list(openpyxl.load_workbook(path, read_only=True)[sheet].iter_rows(values_only=True))


def test_column_letters():
    assert [column_letter(i) for i in (0, 11, 25, 26, 51, 52, 701, 702)] == ["A", "L", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]


def test_same_cells_as_openpyxl_writes(con, tmp_path):
    columns = ["SITE", "SUBJECT", "VISIT", "QUESTION", "FIRST_LOAD", "X", "FLAG"]
    n = write_table_xlsx(con, "t", tmp_path / "new.xlsx", "queries", {"QUESTION": 90})
    _openpyxl_reference(tmp_path / "ref.xlsx", columns, ROWS)
    assert n == 4
    got = _cells(tmp_path / "new.xlsx")
    assert got == _cells(tmp_path / "ref.xlsx")
    assert got[0] == tuple(columns)
    assert got[1][3] == 'AESTDAT = "2023-01-0x": bad & <odd> date' and got[2][2] == "  leading and trailing  "
    assert got[4][4] == 12345678901 and isinstance(got[4][4], int) and got[3][5] == -0.125
    ws = openpyxl.load_workbook(tmp_path / "new.xlsx")["queries"]  # the full (validating) reader
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:G5"
    assert ws["A1"].font.b and not ws["A2"].font.b
    assert ws.column_dimensions["D"].width == 90 and ws.column_dimensions["A"].width == 12


def test_control_characters_are_dropped(con, tmp_path):
    con.execute("CREATE TABLE c AS SELECT 'a' || chr(1) || 'b' || chr(13) || 'c' || chr(31) AS V")
    write_table_xlsx(con, "c", tmp_path / "c.xlsx", "queries")
    assert _cells(tmp_path / "c.xlsx") == [("V",), ("ab\rc",)]


def test_rows_beyond_the_sheet_limit_continue_on_further_sheets(con, tmp_path):
    con.execute("CREATE TABLE big AS SELECT i AS N, 'row ' || i AS LABEL FROM range(7) r(i) ORDER BY i")
    assert write_table_xlsx(con, "big", tmp_path / "b.xlsx", "queries", max_rows=4, batch_rows=2) == 7
    wb = openpyxl.load_workbook(tmp_path / "b.xlsx", read_only=True)
    assert wb.sheetnames == ["queries", "queries 2", "queries 3"]
    assert _cells(tmp_path / "b.xlsx", "queries") == [("N", "LABEL"), (0, "row 0"), (1, "row 1"), (2, "row 2")]
    assert _cells(tmp_path / "b.xlsx", "queries 2") == [("N", "LABEL"), (3, "row 3"), (4, "row 4"), (5, "row 5")]
    assert _cells(tmp_path / "b.xlsx", "queries 3") == [("N", "LABEL"), (6, "row 6")]


def test_listing_files_across_small_batches_match_one_batch(tmp_path):
    """The CSV and XLSX streamed in batches of 3 rows equal those written in one batch."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA qa")
    con.execute("""CREATE TABLE qa.findings AS SELECT
        printf('%03d', 100 + i % 3) AS SITEID, printf('%05d', i) AS SUBJID, 'CYCLE ' || (i % 4) || ' DAY 1' AS VISIT,
        'LB' AS FORM, CASE WHEN i % 2 = 0 THEN 'LBDAT' END AS FIELD, '2023-0' || (i % 9 + 1) AS RAW_VALUE,
        'message ' || i AS MESSAGE, CASE WHEN i % 5 = 0 THEN 'XT09' ELSE 'DAT01' END AS RULE_ID,
        CASE WHEN i % 7 = 0 THEN 'NOTICE' ELSE 'ERROR' END AS SEVERITY,
        CASE WHEN i % 6 = 0 THEN 'resolved' ELSE 'new' END AS STATUS, i % 11 = 0 AS ACCEPTED,
        CAST(1 + i % 2 AS BIGINT) AS FIRST_LOAD, 'KEY-' || i AS FINDING_KEY FROM range(40) r(i)""")
    rows = build_listing(con)
    # 40 findings less XT09 (8), NOTICE (6), resolved (7), accepted (4), overlaps counted once
    assert rows == sum(1 for i in range(40) if i % 5 and i % 7 and i % 6 and i % 11)
    write_listing(con, "qa.query_listing", tmp_path / "one.csv", tmp_path / "one.xlsx")
    write_listing(con, "qa.query_listing", tmp_path / "many.csv", tmp_path / "many.xlsx", batch_rows=3)
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "many.csv").read_bytes()
    assert (tmp_path / "one.csv").read_bytes().startswith("\ufeffSITE,SUBJECT,".encode())
    many = _cells(tmp_path / "many.xlsx")
    assert many == _cells(tmp_path / "one.xlsx") and len(many) == rows + 1
    assert [r[:2] for r in many[1:]] == sorted(r[:2] for r in many[1:])  # SITE then SUBJECT order


def test_gx_sees_at_most_the_configured_rows_and_data_docs_say_so(tmp_path):
    """A rule with 5 violating rows and a cap of 2: GX observes 2 rows and still fails, the result
    keeps the full count, and the rule's Data Docs page states the cap."""
    import polars as pl

    from pipeline.qa.gx_suites import SHOWN, run_suites

    frame = pl.DataFrame({c: [f"{c.lower()}{i}" for i in range(5)] for c in SHOWN})
    results = run_suites({"XT04": frame}, pl.DataFrame(), tmp_path / "docs", min_n=20, max_rows=2)
    res = results["XT04"]
    assert not res.success and res.violations == 5
    assert res.observed["expect_table_row_count_to_equal"]["observed_value"] == 2
    pages = [p.read_text(encoding="utf-8") for p in (tmp_path / "docs").rglob("*.html")]
    assert any("5 violating rows; GX validated the first 2" in page for page in pages)
