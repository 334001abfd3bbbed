"""Laboratory summaries (endpoints.md §3) from ADLB on-treatment records (``ONTRTFL = Y``) of
SAFFL subjects: CTCAE grade and normal-range shift tables (``ep_lab_shift``), worst
on-treatment grade 3-4 (``ep_lab_worst``) and the summary by visit (``ep_lab_visit``).

ADLB is the largest ADaM dataset (~130 rows per subject), so it never leaves DuckDB: the
worst grade per subject x PARAMCD, the worst normal-range record and the by-visit statistics
are SQL aggregations, and polars only shapes the aggregated counts into the full grids.

Grading direction per PARAMCD comes from ``trial_config.yaml`` (``endpoints.lab_directions``);
a parameter absent from ADLB simply has no rows. The baseline grade (BTOXGRL/H) and the
baseline range (BNRIND) are constant within subject x PARAMCD (adam.md), so their ``min``
is the subject's value; the worst-flagged record (WNRLOFL/WNRHIFL) is one per subject x
PARAMCD, ties broken by ANRIND then BNRIND for determinism.
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipeline.endpoints.populations import NUM, pct, population
from pipeline.warehouse_io import table_columns

GRADE_BASE = ("0", "1", "2", "3", "4", "MISSING")
GRADE_POST = ("0", "1", "2", "3", "4")
NRIND_BASE = ("LOW", "NORMAL", "HIGH", "MISSING")
NRIND_POST = ("LOW", "NORMAL", "HIGH")
#: DIRECTION -> (on-treatment grade, baseline grade, worst normal-range flag) columns of ADLB
DIRECTION_COLUMNS = {"LOW": ("ATOXGRL", "BTOXGRL", "WNRLOFL"), "HIGH": ("ATOXGRH", "BTOXGRH", "WNRHIFL")}
#: ADLB columns used here with the SQL type of their stand-in when absent
LAB_COLUMNS = {"PARAMCD": "VARCHAR", "AVAL": "DOUBLE", "ATOXGRL": "VARCHAR", "ATOXGRH": "VARCHAR", "BTOXGRL": "VARCHAR",
               "BTOXGRH": "VARCHAR", "WNRLOFL": "VARCHAR", "WNRHIFL": "VARCHAR", "ANRIND": "VARCHAR", "BNRIND": "VARCHAR",
               "ONTRTFL": "VARCHAR", "CHG": "DOUBLE", "ANL01FL": "VARCHAR", "AVISIT": "VARCHAR", "AVISITN": "DOUBLE"}
COUNT_KEYS = ["PARAMCD", "DIRECTION", "BASE_CAT", "POST_CAT"]
SHIFT_SCHEMA = {"TABLE": pl.String, "PARAMCD": pl.String, "DIRECTION": pl.String, "BASE_CAT": pl.String, "POST_CAT": pl.String,
                "n": pl.Int64, "ROW_N": pl.Int64, "PCT_ROW": pl.Float64, "BASE_ORD": pl.Int64, "POST_ORD": pl.Int64}
SAF_RELATION = "_lab_saffl"


def _source(con: duckdb.DuckDBPyConnection, adlb: str) -> str:
    """SQL of the ADLB rows of SAFFL subjects (relation :data:`SAF_RELATION`) with every column
    used here (absent ones as typed NULL)."""
    has = set(table_columns(con, adlb))
    cols = ", ".join(c if c in has else f"NULL::{t} AS {c}" for c, t in LAB_COLUMNS.items())
    return (f"SELECT CAST(USUBJID AS VARCHAR) AS USUBJID, {cols} FROM {adlb} "
            f"WHERE CAST(USUBJID AS VARCHAR) IN (SELECT USUBJID FROM {SAF_RELATION})")


def _grade_sql(directions: dict[str, list[str]]) -> str:
    """Subjects per PARAMCD x DIRECTION x baseline grade x worst on-treatment grade."""
    parts = []
    for direction, params in directions.items():
        grade, bgrade, _ = DIRECTION_COLUMNS[direction]
        plist = ", ".join(f"'{p}'" for p in params) or "NULL"
        parts.append(f"""SELECT PARAMCD, '{direction}' AS DIRECTION, coalesce(min({bgrade}), 'MISSING') AS BASE_CAT,
                                CAST(max(TRY_CAST({grade} AS BIGINT)) AS VARCHAR) AS POST_CAT
                         FROM lb WHERE PARAMCD IN ({plist}) AND ONTRTFL = 'Y'
                         GROUP BY USUBJID, PARAMCD HAVING max(TRY_CAST({grade} AS BIGINT)) IS NOT NULL""")
    return " UNION ALL ".join(parts) or "SELECT " + ", ".join(f"NULL::VARCHAR AS {k}" for k in COUNT_KEYS) + " WHERE FALSE"


def _range_sql() -> str:
    """Subjects per PARAMCD x DIRECTION x BNRIND x ANRIND of the worst-flagged record."""
    return " UNION ALL ".join(
        f"""SELECT PARAMCD, '{direction}' AS DIRECTION, coalesce(BNRIND, 'MISSING') AS BASE_CAT, ANRIND AS POST_CAT
            FROM lb WHERE {flag} = 'Y' AND ANRIND IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY USUBJID, PARAMCD ORDER BY ANRIND, BNRIND NULLS FIRST) = 1"""
        for direction, (_, _, flag) in DIRECTION_COLUMNS.items())


def _counts(con: duckdb.DuckDBPyConnection, source: str, per_subject_sql: str) -> pl.DataFrame:
    sql = f"WITH lb AS ({source}) SELECT {', '.join(COUNT_KEYS)}, count(*) AS n FROM ({per_subject_sql}) GROUP BY ALL"
    return pl.from_arrow(con.sql(sql).to_arrow_table()).cast({k: pl.String for k in COUNT_KEYS} | {"n": pl.Int64})


def _visit_sql(source: str) -> str:
    """n, mean, SD, median, min, max of AVAL and CHG per PARAMCD x scheduled visit (analysis
    records ANL01FL = Y where the flag is used at all).

    Mean and SD add the values in sorted order: a parallel sum of doubles in whatever order the
    threads deliver can differ in the last bit between two runs on the same data."""
    stats = ", ".join(
        f"count({v})::BIGINT AS N_{v}, avg({v}::DOUBLE ORDER BY {v}) AS MEAN_{v}, "
        f"stddev_samp({v}::DOUBLE ORDER BY {v}) AS SD_{v}, "
        f"median({v}::DOUBLE) AS MEDIAN_{v}, min({v}::DOUBLE) AS MIN_{v}, max({v}::DOUBLE) AS MAX_{v}"
        for v in ("AVAL", "CHG"))
    return f"""WITH lb AS ({source})
               SELECT PARAMCD, AVISITN, AVISIT, {stats} FROM lb
               WHERE (ANL01FL = 'Y' OR NOT EXISTS (SELECT 1 FROM lb WHERE ANL01FL IS NOT NULL))
                 AND AVISIT IS NOT NULL AND AVISIT <> 'UNSCHEDULED'
               GROUP BY PARAMCD, AVISITN, AVISIT
               ORDER BY PARAMCD NULLS LAST, AVISITN NULLS LAST, AVISIT NULLS LAST"""


def _grid(keys: pl.DataFrame, base: tuple[str, ...], post: tuple[str, ...]) -> pl.DataFrame:
    cats = pl.DataFrame({"BASE_CAT": list(base), "BASE_ORD": list(range(len(base)))}).join(
        pl.DataFrame({"POST_CAT": list(post), "POST_ORD": list(range(len(post)))}), how="cross")
    return keys.join(cats, how="cross")


def _shift(counts: pl.DataFrame, table: str, base: tuple[str, ...], post: tuple[str, ...]) -> pl.DataFrame:
    """Full BASE_CAT x POST_CAT grid per PARAMCD x DIRECTION with subject counts (zeros kept)."""
    if counts.is_empty():
        return pl.DataFrame(schema=SHIFT_SCHEMA)
    grid = _grid(counts.select("PARAMCD", "DIRECTION").unique(), base, post)
    out = grid.join(counts, on=COUNT_KEYS, how="left").with_columns(pl.col("n").fill_null(0))
    out = out.with_columns(pl.col("n").sum().over("PARAMCD", "DIRECTION", "BASE_CAT").alias("ROW_N"), pl.lit(table).alias("TABLE"))
    return out.with_columns(pct("n", "ROW_N").alias("PCT_ROW")).select(list(SHIFT_SCHEMA)).cast(SHIFT_SCHEMA)


def worst_grade34(grades: pl.DataFrame) -> pl.DataFrame:
    """``ep_lab_worst`` from the grade counts: PARAMCD, DIRECTION, N (subjects with a graded
    on-treatment value), n_subj (worst grade 3 or 4), PCT, n_g3, n_g4."""
    n, worst = pl.col("n"), pl.col("POST_CAT")
    out = grades.group_by("PARAMCD", "DIRECTION").agg(
        n.sum().cast(pl.Int64).alias("N"), n.filter(worst.is_in(["3", "4"])).sum().cast(pl.Int64).alias(NUM),
        n.filter(worst == "3").sum().cast(pl.Int64).alias("n_g3"), n.filter(worst == "4").sum().cast(pl.Int64).alias("n_g4"))
    return out.with_columns(pct().alias("PCT")).select("PARAMCD", "DIRECTION", "N", NUM, "PCT", "n_g3", "n_g4").sort("DIRECTION", "PARAMCD")


def lab_summaries(con: duckdb.DuckDBPyConnection, adlb: str, adsl: pl.DataFrame,
                  directions: dict[str, list[str]]) -> dict[str, pl.DataFrame]:
    """``ep_lab_shift``, ``ep_lab_worst`` and ``ep_lab_visit`` from the ADLB relation ``adlb``.

    ep_lab_shift: TABLE ('CTCAE_GRADE' | 'NORMAL_RANGE'), PARAMCD, DIRECTION, BASE_CAT,
    POST_CAT, n, ROW_N, PCT_ROW (of the row total), BASE_ORD, POST_ORD. CTCAE_GRADE: baseline
    grade (0-4, MISSING) x worst on-treatment grade (0-4) for the configured PARAMCD x
    direction. NORMAL_RANGE: BNRIND (LOW/NORMAL/HIGH/MISSING) x ANRIND of the worst
    on-treatment record (WNRLOFL "to LOW" / WNRHIFL "to HIGH") for every PARAMCD.
    ep_lab_visit: per PARAMCD x AVISIT (scheduled visits incl. BASELINE) n, mean, SD, median,
    min, max of AVAL and of CHG.
    """
    con.register(SAF_RELATION, population(adsl, "SAFFL").to_arrow())
    try:
        source = _source(con, adlb)
        grades = _counts(con, source, _grade_sql(directions))
        ranges = _counts(con, source, _range_sql())
        visits = pl.from_arrow(con.sql(_visit_sql(source)).to_arrow_table())
    finally:
        con.unregister(SAF_RELATION)
    shift = pl.concat([_shift(grades, "CTCAE_GRADE", GRADE_BASE, GRADE_POST), _shift(ranges, "NORMAL_RANGE", NRIND_BASE, NRIND_POST)])
    return {"ep_lab_shift": shift.sort("TABLE", "PARAMCD", "DIRECTION", "BASE_ORD", "POST_ORD"),
            "ep_lab_worst": worst_grade34(grades), "ep_lab_visit": visits}
