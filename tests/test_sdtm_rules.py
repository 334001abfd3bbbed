"""sdtm.md §1 rules shared by all domains, with the spec's hand-checked values, and SEQ stability."""

import duckdb
import pytest

from pipeline.sql_models import SQL_ROOT
from tests.conftest import load, query


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    c.execute((SQL_ROOT / "sdtm" / "_macros.sql").read_text(encoding="utf-8"))
    yield c
    c.close()


@pytest.mark.parametrize("dtc,expected", [
    ("2022-01-10", 1), ("2022-01-11", 2), ("2022-01-09", -1), ("2021-12-13", -28),
    ("2022-01-11T14:30", 2), ("2022-01", None), ("2022", None), ("2022---11", None), (None, None),
])
def test_study_day_has_no_day_zero(con, dtc, expected):
    assert con.execute("SELECT study_day(?, '2022-01-10')", [dtc]).fetchone()[0] == expected


def test_study_day_needs_a_reference_date(con):
    assert con.execute("SELECT study_day('2022-01-11', NULL)").fetchone()[0] is None


@pytest.mark.parametrize("dtc,expected", [
    ("2022-01-09", "SCREENING"),      # day before first dose
    ("2022-01-10", "TREATMENT"),      # first dose day
    ("2022-06-30", "TREATMENT"),      # EOT visit day
    ("2022-07-01", "FOLLOW-UP"),      # day after
    ("2022-01", None),                # January straddles the first dose: no single epoch
    ("2022-03", "TREATMENT"),         # every day of March is on treatment
    ("2022-06", "TREATMENT"),
    ("2022-07", "FOLLOW-UP"),
    ("2021", "SCREENING"),
    ("2022", None),
])
def test_epoch_at_the_boundaries_and_for_partial_dates(con, dtc, expected):
    sql = "SELECT epoch(?, DATE '2022-01-10', DATE '2022-06-30')"
    assert con.execute(sql, [dtc]).fetchone()[0] == expected


def test_epoch_before_any_dose_is_screening(con):
    assert con.execute("SELECT epoch('2022-05-01', NULL, NULL)").fetchone()[0] == "SCREENING"


@pytest.mark.parametrize("visit,num", [
    ("SCREENING", 1), ("CYCLE 1 DAY 1", 101), ("CYCLE 6 DAY 1", 106), ("TUMOUR ASSESSMENT WEEK 6", 201),
    ("TUMOUR ASSESSMENT WEEK 48", 208), ("END OF TREATMENT", 800), ("SURVIVAL FOLLOW-UP 3", 903),
])
def test_visitnum(con, visit, num):
    assert con.execute("SELECT visitnum(?)", [visit]).fetchone()[0] == num


def test_usubjid(con):
    assert con.execute("SELECT usubjid('NCT05204524', '101', '001')").fetchone()[0] == "NCT05204524-101-001"


def test_partial_dates_stay_partial_in_dm(loaded):
    """Death dates with an unknown day stay YYYY-MM (BRTHDTC, the other one, is an unpublished identifier)."""
    dm = query(loaded["csv"], "SELECT * FROM sdtm.dm")
    deaths = dm["DTHDTC"].drop_nulls()
    assert deaths.len() > 0 and all(len(v) in (4, 7, 10) for v in deaths)
    assert any(len(v) == 7 for v in deaths)
    assert "BRTHDTC" not in dm.columns


def test_sdtm_tables_and_seq_are_stable_across_reloads(exports, loaded, tmp_path):
    """Loading the same export again gives identical SDTM tables, --SEQ included."""
    assert load(exports["csv"], tmp_path / "again")[0]
    again = tmp_path / "again" / "trial.duckdb"
    tables = query(loaded["csv"], "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'sdtm' ORDER BY 1")
    assert "dm" in tables["table_name"].to_list()
    for table in tables["table_name"]:
        first = query(loaded["csv"], f"SELECT * FROM sdtm.{table}")
        second = query(again, f"SELECT * FROM sdtm.{table}")
        assert first.equals(second), f"sdtm.{table} differs between two loads of the same export"


def test_every_sdtm_subject_is_in_dm(loaded):
    """A subject whose DM row is quarantined stays out of every domain until the query is resolved."""
    tables = query(loaded["csv"], """SELECT table_name FROM duckdb_columns()
                                     WHERE schema_name = 'sdtm' AND column_name = 'USUBJID' AND table_name <> 'dm'""")
    assert tables.height >= 15
    for table in tables["table_name"]:
        orphans = query(loaded["csv"], f"SELECT count(*) AS n FROM sdtm.{table} WHERE USUBJID NOT IN (SELECT USUBJID FROM sdtm.dm)")
        assert orphans["n"][0] == 0, table
    quarantined = query(loaded["csv"], "SELECT count(*) AS n FROM quarantine.dm")["n"][0]
    assert quarantined > 0, "the messy trial should exercise a quarantined DM row"
