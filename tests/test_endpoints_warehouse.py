"""Endpoint tables of a real nightly load (``loaded["clean"]``) against an independent recount
from ADaM in plain SQL, and against lifelines for the Kaplan-Meier curve."""

import polars as pl
import pytest
from lifelines import KaplanMeierFitter

from pipeline.endpoints.build import ENDPOINT_TABLES
from tests.conftest import query


def test_every_endpoint_table_is_published(clean_db):
    names = set(query(clean_db, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'endpoints'")["table_name"])
    assert set(ENDPOINT_TABLES) <= names


@pytest.mark.parametrize("endpoint,paramcd,success,flag", [
    ("ORR", "CBOR", "('CR', 'PR')", "EFFFL"), ("ORR", "CBOR", "('CR', 'PR')", "ITTFL"),
    ("ORR_UNCONF", "BOR", "('CR', 'PR')", "EFFFL"), ("DCR", "CB", "('Y')", "EFFFL"), ("CBR", "CB24", "('Y')", "EFFFL"),
])
def test_binary_endpoints_match_sql_recount(clean_db, endpoint, paramcd, success, flag):
    expected = query(clean_db, f"""
        SELECT count(*) AS N, count(*) FILTER (WHERE r.AVALC IN {success}) AS x
        FROM adam.adsl s LEFT JOIN adam.adrs r ON r.USUBJID = s.USUBJID AND r.PARAMCD = '{paramcd}'
        WHERE s.{flag} = 'Y'""").row(0)
    got = query(clean_db, f"SELECT N, n_subj, PCT FROM endpoints.ep_binary WHERE ENDPOINT = '{endpoint}' AND POPULATION = '{flag}'")
    assert got.height == 1
    assert got.row(0)[:2] == expected
    assert got["PCT"][0] == pytest.approx(100 * expected[1] / expected[0])


def test_primary_decision_follows_the_p_value(clean_db):
    d = query(clean_db, "SELECT * FROM endpoints.ep_decision").row(0, named=True)
    orr = query(clean_db, "SELECT N, n_subj, P_VALUE FROM endpoints.ep_binary WHERE ENDPOINT = 'ORR' AND POPULATION = 'EFFFL'").row(0, named=True)
    assert (d["N"], d["n_subj"], d["P_VALUE"]) == (orr["N"], orr["n_subj"], orr["P_VALUE"])
    assert d["SUCCESS"] == (orr["P_VALUE"] <= 0.05) == (orr["n_subj"] >= d["CRIT_RESP"])


def test_response_distribution_matches_sql_recount(clean_db):
    expected = query(clean_db, """
        SELECT p.POPULATION, pc.PARAMCD, coalesce(r.AVALC, 'MISSING') AS AVALC, count(*) AS n
        FROM (SELECT USUBJID, 'EFFFL' AS POPULATION FROM adam.adsl WHERE EFFFL = 'Y'
              UNION ALL SELECT USUBJID, 'ITTFL' FROM adam.adsl WHERE ITTFL = 'Y') p
        CROSS JOIN (VALUES ('CBOR'), ('BOR')) pc(PARAMCD)
        LEFT JOIN adam.adrs r ON r.USUBJID = p.USUBJID AND r.PARAMCD = pc.PARAMCD
        GROUP BY ALL ORDER BY ALL""")
    got = query(clean_db, "SELECT POPULATION, PARAMCD, AVALC, n_subj AS n FROM endpoints.ep_bor_dist WHERE n_subj > 0 ORDER BY ALL")
    assert got.rows() == expected.rows()
    totals = query(clean_db, "SELECT POPULATION, PARAMCD, sum(n_subj) = max(N) AS ok, count(*) AS k FROM endpoints.ep_bor_dist GROUP BY ALL")
    assert totals["ok"].all() and set(totals["k"]) == {7}


TEAE_SQL = """
    SELECT count(DISTINCT e.USUBJID) FILTER (WHERE {cond}) AS n
    FROM adam.adae e JOIN adam.adsl s ON s.USUBJID = e.USUBJID AND s.SAFFL = 'Y'
    WHERE e.TRTEMFL = 'Y'"""


@pytest.mark.parametrize("category,cond", [
    ("Any TEAE", "TRUE"), ("Related TEAE", "AREL = 'RELATED'"), ("Grade >= 3 TEAE", "ATOXGRN >= 3"),
    ("Serious TEAE", "ASER = 'Y'"), ("TEAE leading to discontinuation of any study drug", "AEDISCFL = 'Y'"),
    ("TEAE leading to dose reduction", "AEREDFL = 'Y'"), ("Fatal TEAE", "ATOXGRN = 5 OR AEOUT = 'FATAL'"),
])
def test_teae_overview_matches_sql_recount(clean_db, category, cond):
    n = query(clean_db, TEAE_SQL.format(cond=cond))["n"][0]
    saf = query(clean_db, "SELECT count(*) AS n FROM adam.adsl WHERE SAFFL = 'Y'")["n"][0]
    got = query(clean_db, f"SELECT N, n_subj FROM endpoints.ep_teae_overview WHERE CATEGORY = '{category}'").row(0)
    assert got == (saf, n)


def test_soc_pt_subject_counts_match_sql_recount(clean_db):
    base = """FROM adam.adae e JOIN adam.adsl s ON s.USUBJID = e.USUBJID AND s.SAFFL = 'Y' WHERE e.TRTEMFL = 'Y'"""
    pt = query(clean_db, f"""SELECT AEBODSYS, AEDECOD, count(DISTINCT e.USUBJID) AS n_any,
                              count(DISTINCT e.USUBJID) FILTER (WHERE ATOXGRN >= 3) AS n_ge3 {base} GROUP BY ALL ORDER BY ALL""")
    soc = query(clean_db, f"""SELECT AEBODSYS, NULL::VARCHAR AS AEDECOD, count(DISTINCT e.USUBJID) AS n_any,
                               count(DISTINCT e.USUBJID) FILTER (WHERE ATOXGRN >= 3) AS n_ge3 {base} GROUP BY ALL ORDER BY ALL""")
    got = query(clean_db, """SELECT AEBODSYS, AEDECOD, n_any, n_ge3 FROM endpoints.ep_teae_soc_pt WHERE SUBSET = 'ALL' ORDER BY ALL""")
    assert sorted(got.rows(), key=str) == sorted(pt.rows() + soc.rows(), key=str)
    ordered = query(clean_db, "SELECT n_any FROM endpoints.ep_teae_soc_pt WHERE SUBSET = 'ALL' AND SORT_PT = 0 ORDER BY SORT_SOC")["n_any"]
    assert ordered.to_list() == sorted(ordered.to_list(), reverse=True)
    grades = query(clean_db, "SELECT n_any = n_g1 + n_g2 + n_g3 + n_g4 + n_g5 AS ok FROM endpoints.ep_teae_soc_pt")
    assert grades["ok"].all()


@pytest.mark.parametrize("endpoint,flag", [("PFS", "EFFFL"), ("PFS", "ITTFL"), ("OS", "ITTFL"), ("OS", "EFFFL"), ("PFSNC", "EFFFL")])
def test_tte_event_counts_match_sql_recount(clean_db, endpoint, flag):
    n, ev = query(clean_db, f"""SELECT count(*) AS N, count(*) FILTER (WHERE t.CNSR = 0) AS ev FROM adam.adtte t
                         JOIN adam.adsl s ON s.USUBJID = t.USUBJID AND s.{flag} = 'Y' WHERE t.PARAMCD = '{endpoint}'""").row(0)
    got = query(clean_db, f"SELECT DISTINCT N, N_EVENT, N_CENS, CONFTYPE FROM endpoints.ep_tte WHERE ENDPOINT = '{endpoint}' AND POPULATION = '{flag}'")
    assert sorted(got["CONFTYPE"]) == ["LINEAR", "LOG", "LOGLOG"]
    assert set(got.select("N", "N_EVENT", "N_CENS").rows()) == {(n, ev, n - ev)}
    cens = query(clean_db, f"SELECT sum(n_subj) AS k FROM endpoints.ep_tte_censor WHERE ENDPOINT = '{endpoint}' AND POPULATION = '{flag}' AND CNSR > 0")
    assert cens["k"][0] == n - ev


def test_km_curve_agrees_with_lifelines_on_real_pfs(clean_db):
    data = query(clean_db, """SELECT t.AVAL, CAST(t.CNSR = 0 AS INTEGER) AS E FROM adam.adtte t
                        JOIN adam.adsl s ON s.USUBJID = t.USUBJID AND s.EFFFL = 'Y' WHERE t.PARAMCD = 'PFS'""")
    kmf = KaplanMeierFitter().fit(data["AVAL"].to_numpy(), data["E"].to_numpy())
    curve = query(clean_db, """SELECT TIME_D, SURV, CI_LO, CI_HI FROM endpoints.ep_km_curve
                         WHERE ENDPOINT = 'PFS' AND POPULATION = 'EFFFL' AND TIME_D > 0 ORDER BY TIME_D""")
    assert curve.height == data["AVAL"].n_unique()
    for t, s, lo, hi in curve.rows():
        assert s == pytest.approx(float(kmf.survival_function_.loc[t].iloc[0]), abs=1e-9)
        if lo is not None:
            assert lo == pytest.approx(float(kmf.confidence_interval_.loc[t].iloc[0]), abs=1e-9)
    risk = query(clean_db, "SELECT TICK_D, N_RISK, N_RISK + CUM_EVENT + CUM_CENS AS tot FROM endpoints.ep_at_risk WHERE ENDPOINT = 'PFS' AND POPULATION = 'EFFFL'")
    for tick, n_risk, tot in risk.rows():
        assert n_risk == (data["AVAL"] >= tick).sum() and tot == data.height


def test_landmarks_beyond_follow_up_are_null_not_zero(clean_db):
    rates = query(clean_db, """SELECT r.ENDPOINT, r.POPULATION, r.LANDMARK_D, r.SURV, m.tmax FROM endpoints.ep_tte_rate r
                         JOIN (SELECT ENDPOINT, POPULATION, max(TIME_D) AS tmax FROM endpoints.ep_km_curve GROUP BY ALL) m
                         USING (ENDPOINT, POPULATION)""")
    assert rates.height > 0
    for _, _, landmark, surv, tmax in rates.rows():
        assert (surv is None) == (landmark > tmax)


def test_historical_table_puts_observed_beside_cited(clean_db):
    h = query(clean_db, "SELECT STATISTIC, SOURCE, VALUE FROM endpoints.ep_historical")
    cited = h.filter(pl.col("SOURCE") != "This trial (observed)")
    assert sorted(cited["VALUE"].to_list()) == [2.0, 8.0, 11.0, 13.2, 18.0]
    orr = query(clean_db, "SELECT PCT FROM endpoints.ep_binary WHERE ENDPOINT = 'ORR' AND POPULATION = 'EFFFL'")["PCT"][0]
    assert h.filter((pl.col("SOURCE") == "This trial (observed)") & (pl.col("STATISTIC") == "ORR"))["VALUE"][0] == pytest.approx(orr)


def test_asset_writes_schema_and_reports_key_results(clean_db, tmp_path):
    """The Dagster multi-asset alone, on a copy of the load's ADaM tables: same tables, row-count
    and Markdown metadata; a table whose source disappeared is dropped, not left stale."""
    import dagster as dg
    import duckdb
    from dagster_duckdb import DuckDBResource

    from assets.endpoints import endpoint_tables

    work = tmp_path / "work.duckdb"
    con = duckdb.connect(str(work))
    con.execute(f"ATTACH '{clean_db}' AS pub (READ_ONLY)")
    con.execute("CREATE SCHEMA adam")
    for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'pub' AND schema_name = 'adam'").fetchall():
        con.execute(f"CREATE TABLE adam.{name} AS SELECT * FROM pub.adam.{name}")
    con.close()

    def run():
        result = dg.materialize([endpoint_tables], resources={"duckdb": DuckDBResource(database=str(work))})
        assert result.success
        return {m.asset_key.path[-1]: m.metadata for m in result.asset_materializations_for_node("endpoint_tables")}

    meta = run()
    assert set(meta) == set(ENDPOINT_TABLES)
    binary_rows = query(work, "SELECT count(*) AS n FROM endpoints.ep_binary")["n"][0]
    assert meta["ep_binary"]["dagster/row_count"].value == binary_rows == 5
    orr = query(work, "SELECT N, n_subj FROM endpoints.ep_binary WHERE ENDPOINT = 'ORR' AND POPULATION = 'EFFFL'").row(0)
    assert f"| ORR | EFFFL | {orr[1]}/{orr[0]} |" in meta["ep_binary"]["key_results"].value
    assert "| PFS | EFFFL |" in meta["ep_tte"]["key_results"].value
    assert query(work, "SELECT * FROM endpoints.ep_tte").equals(query(clean_db, "SELECT * FROM endpoints.ep_tte"))

    con = duckdb.connect(str(work))
    con.execute("DROP TABLE adam.adrs")
    con.close()
    meta = run()
    assert meta["ep_binary"]["dagster/row_count"].value == 0
    names = set(query(work, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'endpoints'")["table_name"])
    assert "ep_binary" not in names and "ep_teae_overview" in names
