"""Direct identifiers (pipeline.privacy): the mask, the ledger of an older load, and a
re-execution from failure that validates DM from the restricted store of its parent run."""

import os
from unittest import mock

import dagster as dg
import duckdb
import polars as pl
import pytest

from pipeline import privacy
from pipeline.forms import FORMS
from pipeline.privacy import WITHHELD
from pipeline.qa import ledger
from pipeline.validation.findings import FINDING_COLUMNS
from tests.conftest import query

FINDINGS = pl.DataFrame({
    "RULE_ID": ["DAT01", "DAT01", "REQ01"], "FIELD": ["BRTHDAT", "ICDAT", "MRN"],
    "RAW_VALUE": ["11/01/1969", "2022-02-30", None],
    "MESSAGE": ["BRTHDAT: ambiguous day/month order", "ICDAT: unparseable or impossible date", "MRN: missing"],
})
QUARANTINE = pl.DataFrame({
    "SUBJID": ["007", "008", "009"], "MRN": ["H1", "H2", "H3"], "BRTHDAT": ["11/01/1969", None, None],
    "QUARANTINE_REASON": ["DAT01 BRTHDAT: ambiguous day/month order", "DAT01 ICDAT: unparseable", None],
})


def test_the_mask_in_polars_and_in_sql_agree_and_drop_identifier_columns():
    masked = privacy.mask_frame(FINDINGS)
    assert masked.rows() == [("DAT01", "BRTHDAT", None, WITHHELD),
                             ("DAT01", "ICDAT", "2022-02-30", "ICDAT: unparseable or impossible date"),
                             ("REQ01", "MRN", None, WITHHELD)]
    reasons = privacy.mask_frame(QUARANTINE)
    assert reasons.columns == ["SUBJID", "QUARANTINE_REASON"]
    assert reasons["QUARANTINE_REASON"].to_list() == [WITHHELD, "DAT01 ICDAT: unparseable", None]
    con = duckdb.connect()
    for frame, expected in ((FINDINGS, masked), (QUARANTINE, reasons)):
        con.register("frame", frame.to_arrow())
        assert pl.from_arrow(con.sql(f"SELECT {privacy.masked_select(frame.columns)} FROM frame").to_arrow_table()).equals(expected)


def test_identifier_items_attach_by_raw_rowid_and_strip_everything(tmp_path):
    store = privacy.restrict(tmp_path / "restricted") / privacy.STORE_FILE
    pl.DataFrame({"RAW_ROW": [1, 0], "INITIALS": ["AB", "CD"], "MRN": ["H2", "H1"], "BRTHDAT": ["1970", "1969"]}) \
        .write_parquet(store)
    items = privacy.IdentifierItems.of("DM", tmp_path / "restricted")
    assert items.items == ("INITIALS", "MRN", "BRTHDAT")
    rows = pl.DataFrame({"_ROW": [0, 1], "SUBJID": ["001", "002"]})
    assert items.attach(rows).rows() == [(0, "001", "CD", "H1", "1969"), (1, "002", "AB", "H2", "1970")]
    assert privacy.IdentifierItems.of("AE", tmp_path / "restricted").attach(rows) is rows
    with pytest.raises(ValueError, match="restricted store"):
        privacy.IdentifierItems.of("DM", None).attach(rows)


def _empty_load(con):
    """The tables ledger.update reads, with no finding of this load."""
    cols = ", ".join(f"{c} {'BIGINT' if t == pl.Int64 else 'VARCHAR'}" for c, t in FINDING_COLUMNS.items())
    con.execute("CREATE SCHEMA qa")
    con.execute("CREATE SCHEMA raw")
    con.execute(f"CREATE TABLE qa.findings_current ({cols})")
    con.execute(f"CREATE TABLE qa.findings_gx ({cols}, RECORD VARCHAR)")
    for form in FORMS:
        con.execute(f"CREATE TABLE raw.{form.lower()} (SRC_FILE VARCHAR, SRC_ROW BIGINT, VISITREP VARCHAR, "
                    "FORMREP VARCHAR, IGREP VARCHAR)")


def test_a_ledger_written_by_an_older_version_is_masked_when_read(tmp_path):
    """An identifier finding of an older load (value and message quoted) comes back resolved,
    masked in qa.findings and in the ledger written back to the state folder."""
    old = {c: None for c in ledger.LEDGER_COLUMNS} | {
        "RULE_ID": "DAT01", "SEVERITY": "ERROR", "FORM": "DM", "SITEID": "101", "SUBJID": "007", "FIELD": "BRTHDAT",
        "RAW_VALUE": "11/01/1969", "MESSAGE": "BRTHDAT: ambiguous 11/01/1969", "RECORD": "DM|SCREENING|1|1|1|BRTHDAT",
        "FINDING_KEY": "DAT01:101-007:DM|SCREENING|1|1|1|BRTHDAT", "STATUS": "new", "FIRST_LOAD": 1, "LAST_LOAD": 1,
        "ACCEPTED": False,
    }
    state = tmp_path / "state"
    state.mkdir()
    pl.DataFrame([old], schema=ledger.LEDGER_COLUMNS).write_parquet(state / ledger.LEDGER_FILE)
    con = duckdb.connect()
    _empty_load(con)
    assert ledger.update(con, state, run_id="r2", export="x") == 1
    got = con.execute("SELECT STATUS, FIELD, RAW_VALUE, MESSAGE FROM qa.findings").fetchall()
    assert got == [("resolved", "BRTHDAT", None, WITHHELD)]
    kept = pl.read_parquet(state / ledger.LEDGER_FILE)
    assert kept.select("RAW_VALUE", "MESSAGE").rows() == [(None, WITHHELD)]


# --- a re-execution from failure keeps the working file and finds the restricted store -------

def reconstructable_nightly_load():
    """nightly_load of the warehouse and export named by the environment (for dg.reconstructable)."""
    from pipeline.definitions import build_definitions

    return build_definitions(home=os.environ["TRIALWH_TEST_HOME"],
                             export_path=os.environ["TRIALWH_TEST_EXPORT"]).resolve_job_def("nightly_load")


def test_reexecution_from_failure_keeps_the_working_file_and_validates_dm(exports, tmp_path, monkeypatch):
    import assets.stg

    home = tmp_path / "wh"
    monkeypatch.setenv("TRIALWH_TEST_HOME", str(home))
    monkeypatch.setenv("TRIALWH_TEST_EXPORT", str(exports["csv"]))
    real = assets.stg.validate_table

    def dm_fails(con, form_name, *args, **kwargs):
        if form_name == "DM":
            raise dg.Failure("simulated failure of stg/dm", allow_retries=False)
        return real(con, form_name, *args, **kwargs)

    job = dg.reconstructable(reconstructable_nightly_load)
    with dg.instance_for_test() as instance:
        with mock.patch.object(assets.stg, "validate_table", dm_fails):
            with dg.execute_job(job, instance=instance) as first:
                assert not first.success
                parent = first.run_id
        assert not (home / "trial.duckdb").exists()
        working_before = query(home / "build" / "trial.duckdb", "SELECT count(*) AS n FROM raw.lb")["n"][0]
        (home / "build" / "staging" / "staged" / "DM.parquet").unlink()  # stg/dm reads the restricted store
        options = dg.ReexecutionOptions.from_failure(parent, instance)
        with dg.execute_job(job, instance=instance, reexecution_options=options) as again:
            assert again.success
            steps = {e.step_key for e in again.all_events if e.event_type_value == "STEP_SUCCESS"}
    assert "stg__dm" in steps and "warehouse__published" in steps
    assert not {"raw__export", "raw__dm", "raw__lb"} & steps  # the parent run's raw tables were used
    published = home / "trial.duckdb"
    assert query(published, "SELECT count(*) AS n FROM raw.lb")["n"][0] == working_before > 0
    dat01 = query(published, "SELECT SUBJID, RAW_VALUE, MESSAGE FROM qa.findings WHERE FIELD = 'BRTHDAT' "
                             "AND RULE_ID = 'DAT01' ORDER BY SUBJID")
    assert dat01.rows() == [("007", None, WITHHELD), ("011", None, WITHHELD)]
