"""The endpoint tables read only what they need and summarise ADLB in SQL: on a real load
(``loaded["clean"]``) the SQL lab summaries equal an independent polars recount from the
whole ADLB, the warehouse path equals the in-memory-frames path (``trialwh adam``), and the
inputs are the projected / filtered rows."""

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipeline.config import endpoints as endpoint_config
from pipeline.endpoints.build import derive_endpoints, derive_from_warehouse
from pipeline.endpoints.inputs import ADAE_COLUMNS, ADRS_PARAMS, read_inputs
from tests.conftest import query


@pytest.fixture(scope="module")
def safety_lab(clean_db) -> pl.DataFrame:
    """ADLB rows of SAFFL subjects, read whole (fine for 24 subjects)."""
    return query(clean_db, "SELECT l.* FROM adam.adlb l JOIN adam.adsl s ON s.USUBJID = l.USUBJID AND s.SAFFL = 'Y'")


def _polars_worst(lb: pl.DataFrame, directions: dict[str, list[str]]) -> pl.DataFrame:
    """USUBJID, PARAMCD, DIRECTION, BASE_CAT, WORST per subject: the pre-SQL polars rule."""
    cols = {"LOW": ("ATOXGRL", "BTOXGRL"), "HIGH": ("ATOXGRH", "BTOXGRH")}
    parts = []
    for direction, params in directions.items():
        g, b = cols[direction]
        parts.append(lb.filter(pl.col("PARAMCD").is_in(params) & (pl.col("ONTRTFL") == "Y")).group_by("USUBJID", "PARAMCD").agg(
            pl.col(g).cast(pl.Int64, strict=False).max().alias("WORST"), pl.col(b).drop_nulls().first().fill_null("MISSING").alias("BASE_CAT"))
            .filter(pl.col("WORST").is_not_null()).with_columns(pl.lit(direction).alias("DIRECTION")))
    return pl.concat(parts)


def test_sql_grade_shift_and_worst_match_a_polars_recount(clean_db, safety_lab):
    directions = endpoint_config()["lab_directions"]
    worst = _polars_worst(safety_lab, directions)
    assert worst.height > 0 and worst["WORST"].max() >= 3  # the recount has something to compare
    expected = worst.group_by("PARAMCD", "DIRECTION", "BASE_CAT", pl.col("WORST").cast(pl.String).alias("POST_CAT")).agg(pl.len().alias("n"))
    got = query(clean_db, """SELECT PARAMCD, DIRECTION, BASE_CAT, POST_CAT, n FROM endpoints.ep_lab_shift WHERE "TABLE" = 'CTCAE_GRADE' AND n > 0""")
    assert_frame_equal(got.sort(pl.all()), expected.cast({"n": pl.Int64}).sort(pl.all()))
    g34 = worst.group_by("PARAMCD", "DIRECTION").agg(pl.len().alias("N"), pl.col("WORST").is_in([3, 4]).sum().alias("n_subj"))
    got34 = query(clean_db, "SELECT PARAMCD, DIRECTION, N, n_subj FROM endpoints.ep_lab_worst")
    assert_frame_equal(got34.sort(pl.all()), g34.cast({"N": pl.Int64, "n_subj": pl.Int64}).sort(pl.all()))


def test_sql_normal_range_shift_matches_a_polars_recount(clean_db, safety_lab):
    for direction, flag in (("LOW", "WNRLOFL"), ("HIGH", "WNRHIFL")):
        recs = safety_lab.filter((pl.col(flag) == "Y") & pl.col("ANRIND").is_not_null()).unique(["USUBJID", "PARAMCD"])
        expected = recs.group_by("PARAMCD", pl.col("BNRIND").fill_null("MISSING").alias("BASE_CAT"), pl.col("ANRIND").alias("POST_CAT")).agg(
            pl.len().cast(pl.Int64).alias("n"))
        got = query(clean_db, f"""SELECT PARAMCD, BASE_CAT, POST_CAT, n FROM endpoints.ep_lab_shift
                            WHERE "TABLE" = 'NORMAL_RANGE' AND DIRECTION = '{direction}' AND n > 0""")
        assert expected.height > 0
        assert_frame_equal(got.sort(pl.all()), expected.sort(pl.all()))


def test_sql_lab_by_visit_matches_polars_statistics(clean_db, safety_lab):
    lb = safety_lab.filter((pl.col("ANL01FL") == "Y") & pl.col("AVISIT").is_not_null() & (pl.col("AVISIT") != "UNSCHEDULED"))
    expected = lb.group_by("PARAMCD", "AVISITN", "AVISIT").agg(
        pl.col("AVAL").count().cast(pl.Int64).alias("N_AVAL"), pl.col("AVAL").mean().alias("MEAN_AVAL"), pl.col("AVAL").std().alias("SD_AVAL"),
        pl.col("CHG").median().alias("MEDIAN_CHG"), pl.col("CHG").max().alias("MAX_CHG")).sort("PARAMCD", "AVISITN", "AVISIT")
    got = query(clean_db, "SELECT PARAMCD, AVISITN, AVISIT, N_AVAL, MEAN_AVAL, SD_AVAL, MEDIAN_CHG, MAX_CHG FROM endpoints.ep_lab_visit")
    assert got.height == expected.height > 10
    assert_frame_equal(got, expected, check_exact=False, rel_tol=1e-9)


def test_warehouse_path_equals_the_frames_path(clean_db):
    """The asset (SQL reads on the warehouse) and ``trialwh adam`` (frames read whole) agree
    table by table."""
    con = duckdb.connect(str(clean_db), read_only=True)
    try:
        from_warehouse = derive_from_warehouse(con)
        names = [n for (n,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'adam'").fetchall()]
        whole = {n: pl.from_arrow(con.sql(f"SELECT * FROM adam.{n}").to_arrow_table()) for n in names}
    finally:
        con.close()
    from_frames = derive_endpoints(whole)
    assert set(from_frames) == set(from_warehouse) and "ep_lab_shift" in from_frames
    for name, frame in from_frames.items():
        assert_frame_equal(frame, from_warehouse[name], check_exact=False, rel_tol=1e-12), name


def test_inputs_are_projected_and_filtered(clean_db):
    con = duckdb.connect(str(clean_db), read_only=True)
    try:
        inputs = read_inputs(con, {n: f"adam.{n}" for n in ("adsl", "adae", "adrs", "adlb")})
        n_teae = con.sql("SELECT count(*) FROM adam.adae WHERE TRTEMFL = 'Y'").fetchone()[0]
        n_ae = con.sql("SELECT count(*) FROM adam.adae").fetchone()[0]
    finally:
        con.close()
    assert "adlb" not in inputs  # summarised in SQL, never read
    assert set(inputs["adae"].columns) <= set(ADAE_COLUMNS) and inputs["adae"].height == n_teae <= n_ae
    assert (inputs["adae"]["TRTEMFL"] == "Y").all() and inputs["adae"].width < 15
    assert set(inputs["adrs"]["PARAMCD"].unique()) == set(ADRS_PARAMS)
    assert inputs["adrs"].columns == ["USUBJID", "PARAMCD", "AVALC"]


def test_lab_visit_statistics_are_the_same_on_every_run():
    """Two runs over the same ADLB must give the same MEAN and SD to the last bit: a parallel
    sum of doubles in thread order does not (it gave 8 different results in 8 runs here)."""
    from pipeline.endpoints.lab import _visit_sql

    con = duckdb.connect(config={"threads": 2})
    con.execute("""CREATE TABLE adlb AS SELECT 'ALT' AS PARAMCD, (i % 3)::DOUBLE AS AVISITN, 'WEEK ' || (i % 3) AS AVISIT,
                   'Y' AS ANL01FL, hash(i) % 100000 / 7.0 AS AVAL, hash(i + 1) % 1000 / 3.0 AS CHG
                   FROM range(1500000) r(i)""")
    runs = {tuple(con.execute(_visit_sql("SELECT * FROM adlb")).fetchall()) for _ in range(6)}
    assert len(runs) == 1
    (row,) = [r for r in next(iter(runs)) if r[1] == 0.0]
    assert row[3] == 500000  # N_AVAL of visit 0
