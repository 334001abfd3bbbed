"""What changed in the export since the previous data cut.

Each raw record (one item-group row of a form, as exported, identifiers already removed) is
keyed by its natural CRF key: site, subject, visit, visit repeat, form repeat, item-group
repeat, and its occurrence number among rows with that key (an EDC may deliver a duplicate).
A record hash over its item values (lineage such as file row and LASTMOD left out) tells
whether it changed. The two cuts are joined on keys, hash and rowid only; item values are read
back for the changed records alone (at 100,000 subjects carrying every item through the join
of 11 million LB rows was most of publishing). ``qa.change_report`` then holds one row per NEW or DELETED record and one
row per changed item of a CHANGED record, with the old and the new value. Everything runs in
DuckDB: the previous cut is attached read-only and the two versions are joined per form.
"""

from __future__ import annotations

import duckdb

KEY = ("SITEID", "SUBJID", "VISIT", "VISITREP", "FORMREP", "IGREP")
# not compared: the study (constant) and lineage, which moves without the data changing
NOT_COMPARED = ("STUDYID", "SRC_FORMAT", "SRC_FILE", "SRC_ROW", "LASTMOD", "LOAD_TS")
CHANGE_COLUMNS = (
    "FORM VARCHAR, SITEID VARCHAR, SUBJID VARCHAR, VISIT VARCHAR, VISITREP VARCHAR, FORMREP VARCHAR, "
    "IGREP VARCHAR, OCCURRENCE BIGINT, CHANGE VARCHAR, FIELD VARCHAR, OLD_VALUE VARCHAR, NEW_VALUE VARCHAR"
)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _raw_columns(con, databases: tuple[str, ...]) -> dict[tuple[str, str], list[str]]:
    """Columns of every raw table of ``databases``, by (database, table), in table order.

    One catalogue query for all forms: ``duckdb_columns()`` lists every column of every attached
    database, and asking it once per form and cut took 80 queries (about 1 s) of each publish."""
    found: dict[tuple[str, str], list[str]] = {}
    for database, table, column in con.execute(
        "SELECT database_name, table_name, column_name FROM duckdb_columns() "
        "WHERE schema_name = 'raw' AND list_contains(?, database_name) "
        "ORDER BY database_name, table_name, column_index", [list(databases)]).fetchall():
        found.setdefault((database, table), []).append(column)
    return found


def _keyed(database: str, table: str, items: list[str], subjects: str | None = None) -> str:
    """Per raw record: its key, occurrence, a hash of its item values and its rowid (no values:
    the join of the two cuts stays narrow; values are fetched for changed records only).
    ``subjects`` (a relation of SITEID, SUBJID) keeps only their rows: a key lies within one
    subject, so filtering first leaves every occurrence number as it is."""
    keys = ", ".join(f"trim({_q(k)}) AS {k}" for k in KEY)
    hashed = "hash(" + ", ".join(_q(i) for i in items) + ")"
    source = f"(SELECT *, rowid AS RID FROM {_q(database)}.raw.{_q(table)})"
    if subjects:
        source = (f"(SELECT r.*, r.rowid AS RID FROM {_q(database)}.raw.{_q(table)} r SEMI JOIN {subjects} s "
                  f"ON trim(r.SITEID) IS NOT DISTINCT FROM s.SITEID AND trim(r.SUBJID) IS NOT DISTINCT FROM s.SUBJID)")
    return (
        f"SELECT {keys}, row_number() OVER (PARTITION BY {', '.join(KEY)} ORDER BY SRC_ROW) AS OCCURRENCE, "
        f"{hashed} AS RECORD_HASH, RID FROM {source}"
    )


def _subject_sums(database: str, table: str, items: list[str]) -> str:
    """Per subject: a sum of the hashes of its records (key, occurrence, values) and their count."""
    record = "hash(" + ", ".join((*KEY[2:], "OCCURRENCE", "RECORD_HASH")) + ")"
    return (f"SELECT SITEID, SUBJID, sum({record}::HUGEINT) AS S, count(*) AS N "
            f"FROM ({_keyed(database, table, items)}) GROUP BY SITEID, SUBJID")


def _form_changes(current: str, previous: str, form: str, cur_cols: list[str], prev_cols: list[str]) -> str:
    """Changes of one form: subjects whose records differ are found from one sum per subject,
    and only their records are paired (a nightly export changes a few subjects; a reload none).
    ``cur_cols`` and ``prev_cols``: the columns of the form's raw table in each cut."""
    table = form.lower()
    items = [c for c in cur_cols if c in prev_cols and c not in KEY and c not in NOT_COMPARED]
    on = " AND ".join(f"c.{k} IS NOT DISTINCT FROM p.{k}" for k in (*KEY, "OCCURRENCE"))
    key_cols = ", ".join(f"coalesce(c.{k}, p.{k}) AS {k}" for k in (*KEY, "OCCURRENCE"))
    per_item = ", ".join(
        f"{{'f': '{i}', 'o': CAST(pr.{_q(i)} AS VARCHAR), 'n': CAST(cr.{_q(i)} AS VARCHAR)}}" for i in items
    )
    keys = ", ".join((*KEY, "OCCURRENCE"))
    return f"""
        WITH moved AS MATERIALIZED (
            SELECT coalesce(c.SITEID, p.SITEID) AS SITEID, coalesce(c.SUBJID, p.SUBJID) AS SUBJID
            FROM ({_subject_sums(current, table, items)}) c FULL OUTER JOIN ({_subject_sums(previous, table, items)}) p
              ON c.SITEID IS NOT DISTINCT FROM p.SITEID AND c.SUBJID IS NOT DISTINCT FROM p.SUBJID
            WHERE c.S IS DISTINCT FROM p.S OR c.N IS DISTINCT FROM p.N
        ),
        c AS ({_keyed(current, table, items, "moved")}), p AS ({_keyed(previous, table, items, "moved")}),
        j AS (
            SELECT {key_cols},
                   CASE WHEN p.RECORD_HASH IS NULL THEN 'NEW' WHEN c.RECORD_HASH IS NULL THEN 'DELETED'
                        ELSE 'CHANGED' END AS CHANGE, c.RID AS C_RID, p.RID AS P_RID
            FROM c FULL OUTER JOIN p ON {on}
            WHERE c.RECORD_HASH IS DISTINCT FROM p.RECORD_HASH
        ),
        changed AS (
            SELECT j.*, [{per_item}] AS diffs
            FROM j JOIN {_q(current)}.raw.{_q(table)} cr ON cr.rowid = j.C_RID
                   JOIN {_q(previous)}.raw.{_q(table)} pr ON pr.rowid = j.P_RID
            WHERE j.CHANGE = 'CHANGED'
        )
        SELECT '{form}' AS FORM, {keys}, CHANGE, NULL AS FIELD, NULL AS OLD_VALUE, NULL AS NEW_VALUE
        FROM j WHERE CHANGE <> 'CHANGED'
        UNION ALL
        SELECT '{form}', {keys}, CHANGE, d.f, d.o, d.n
        FROM (SELECT *, unnest(diffs) AS d FROM changed)
        WHERE d.o IS DISTINCT FROM d.n
    """


def build_change_report(con: duckdb.DuckDBPyConnection, current: str, previous: str | None,
                        forms: list[str]) -> int:
    """Write ``qa.change_report`` in ``current`` (empty when there is no previous cut); row count."""
    con.execute("CREATE SCHEMA IF NOT EXISTS qa")
    con.execute(f"CREATE OR REPLACE TABLE {_q(current)}.qa.change_report ({CHANGE_COLUMNS})")
    if previous is None:
        return 0
    columns = _raw_columns(con, (current, previous))
    for form in forms:
        cur_cols, prev_cols = columns.get((current, form.lower())), columns.get((previous, form.lower()))
        if not (cur_cols and prev_cols):
            continue
        con.execute(f"INSERT INTO {_q(current)}.qa.change_report "
                    f"{_form_changes(current, previous, form, cur_cols, prev_cols)}")
    con.execute(
        f"CREATE OR REPLACE TABLE {_q(current)}.qa.change_report AS SELECT * FROM {_q(current)}.qa.change_report "
        f"ORDER BY FORM, SITEID, SUBJID, VISIT, VISITREP, FORMREP, IGREP, OCCURRENCE, CHANGE, FIELD"
    )
    return con.execute(f"SELECT count(*) FROM {_q(current)}.qa.change_report").fetchone()[0]


def change_summary(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(form, site, subject, new, changed, deleted) per subject with any change."""
    return con.execute("""
        SELECT FORM, SITEID, SUBJID,
               count(*) FILTER (CHANGE = 'NEW'), count(DISTINCT (VISIT, VISITREP, FORMREP, IGREP, OCCURRENCE))
               FILTER (CHANGE = 'CHANGED'), count(*) FILTER (CHANGE = 'DELETED')
        FROM qa.change_report GROUP BY ALL ORDER BY ALL
    """).fetchall()


DETAIL_ROWS = 500  # the report page lists at most this many changes; qa.change_report holds all


def change_detail(con: duckdb.DuckDBPyConnection, limit: int = DETAIL_ROWS) -> list[tuple]:
    """The first ``limit`` changes: form, site, subject, visit, row, change, item, old, new."""
    return con.execute(
        "SELECT FORM, SITEID, SUBJID, VISIT, IGREP, CHANGE, FIELD, OLD_VALUE, NEW_VALUE FROM qa.change_report LIMIT ?",
        [limit],
    ).fetchall()
