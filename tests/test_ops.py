"""Nightly operations on real loads: data cuts, change report, audit trail, privacy, retries.

One warehouse gets three loads of the messy CSV trial: the export, the same export again, and
the export with three hand edits (a changed lab value, a deleted concomitant medication, an
added one). The third load's publish step fails once with a transient error first, and finds
the cut a killed load catalogued but never published (planted before it).
"""

import csv
import dataclasses
import hashlib
import json
import shutil
import stat
from datetime import datetime, timedelta, timezone
from unittest import mock

import duckdb
import pytest

from pipeline import audit, cuts
from pipeline.privacy import WITHHELD, identifiers
from tests.conftest import load, query

LB_EDIT = {"SUBJID": "003", "IGREP": "4", "VISIT": "SCREENING", "LBTEST": "HGB"}
CM_DELETE_ROW = 2  # data row of CM.csv (1-based)


def _read_csv(path):
    """The rows of an export CSV (UTF-8 with BOM; the generator writes GB18030 only for AE)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows([header, *rows])


def _edit_export(export):
    """Change one LB value, delete one CM row, add one CM row; return the expected change rows."""
    header, rows = _read_csv(export / "LB.csv")
    col = {c: i for i, c in enumerate(header)}
    target = next(r for r in rows if all(r[col[k]].strip() == v for k, v in LB_EDIT.items()))
    old = target[col["LBORRES"]]
    target[col["LBORRES"]] = "99.9"
    _write_csv(export / "LB.csv", header, rows)
    expected = {("LB", target[col["SUBJID"]], target[col["VISIT"]], target[col["IGREP"]], "CHANGED", "LBORRES", old, "99.9")}

    header, rows = _read_csv(export / "CM.csv")
    col = {c: i for i, c in enumerate(header)}
    deleted = rows.pop(CM_DELETE_ROW - 1)
    expected.add(("CM", deleted[col["SUBJID"]], deleted[col["VISIT"]], deleted[col["IGREP"]], "DELETED", None, None, None))
    added = list(rows[0])
    same_subject = [int(r[col["IGREP"]]) for r in rows if r[col["SUBJID"]] == added[col["SUBJID"]]]
    added[col["IGREP"]] = str(max(same_subject) + 1)
    added[col["CMTRT"]] = "PARACETAMOL"
    rows.append(added)
    _write_csv(export / "CM.csv", header, rows)
    expected.add(("CM", added[col["SUBJID"]], added[col["VISIT"]], added[col["IGREP"]], "NEW", None, None, None))
    return expected


class _FlakyOnce:
    """Wraps publish_load: the first call fails like a busy file system, later calls publish."""

    def __init__(self, real):
        self.real, self.calls = real, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == 1:
            raise OSError("simulated transient failure: disk busy")
        return self.real(*args, **kwargs)


def _plant_old_working_file(home, exports) -> list[tuple[str, str]]:
    """A working file as an older version of the code left it: raw.dm with the identifiers,
    dropped (its values stay in freed blocks). Returns what the byte scan finds in it."""
    db = home / "build" / "trial.duckdb"
    db.parent.mkdir(parents=True)
    con = duckdb.connect(str(db))
    try:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.dm AS SELECT * FROM read_csv(?, all_varchar = true) "
                    "UNION ALL BY NAME SELECT * FROM read_csv(?, all_varchar = true)",
                    [str(exports["csv"] / "DM.csv"), str(exports["clean"] / "DM.csv")])
        con.execute("CREATE TABLE raw.keep AS SELECT range AS r FROM range(100000)")  # blocks after dm's
        con.execute("CHECKPOINT")
        con.execute("DROP TABLE raw.dm")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return _bytes_holding([db], _long_identifier_values(exports["csv"], exports["clean"]))


def _plant_unpublished_cut(cuts_dir) -> str:
    """What a load killed after cataloguing its cut and before renaming its file over the
    published path leaves: a complete cut newer than the published one (here the published
    cut again, catalogued one second later). Returns its id."""
    latest = cuts.latest_cut(cuts_dir)
    stamp, export_hash = latest.cut_id.split("-")
    later = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ") + timedelta(seconds=1)
    orphan = dataclasses.replace(latest, cut_id=f"{later:%Y%m%dT%H%M%SZ}-{export_hash}", run_id="killed-run")
    cuts.save_cut(latest.path(cuts_dir), cuts_dir, orphan)
    assert cuts.latest_cut(cuts_dir).cut_id == orphan.cut_id
    return orphan.cut_id


@pytest.fixture(scope="module")
def three_loads(exports, tmp_path_factory):
    import assets.publish

    home = tmp_path_factory.mktemp("wh_ops")
    planted = _plant_old_working_file(home, exports)
    edited = tmp_path_factory.mktemp("export_edited") / "export"
    shutil.copytree(exports["csv"], edited)
    expected = _edit_export(edited)
    results = [load(exports["csv"], home), load(exports["csv"], home)]
    unpublished = _plant_unpublished_cut(home / "cuts")
    flaky = _FlakyOnce(assets.publish.publish_load)
    with mock.patch.object(assets.publish, "publish_load", flaky):
        results.append(load(edited, home))
    assert all(r[0] for r in results), "a load failed"
    return {"home": home, "warehouse": results[0][1], "results": results, "expected": expected,
            "edited": edited, "flaky_calls": flaky.calls, "planted": planted, "unpublished": unpublished}


def _cut_ids(three_loads):
    return [c.cut_id for c in cuts.list_cuts(three_loads["warehouse"].cuts_dir)]


def test_every_load_is_a_catalogued_read_only_cut(three_loads, exports):
    warehouse = three_loads["warehouse"]
    listed = cuts.list_cuts(warehouse.cuts_dir)
    assert len(listed) == 3 and len(set(_cut_ids(three_loads))) == 3
    files = {f["name"]: f["sha256"] for f in listed[0].export_files}
    assert files["DM.csv"] == hashlib.sha256((exports["csv"] / "DM.csv").read_bytes()).hexdigest()
    assert listed[0].export_files == listed[1].export_files != listed[2].export_files
    assert listed[0].cut_id.split("-")[1] == listed[1].cut_id.split("-")[1]  # the id names the export
    assert all(c.data_cutoff == "2023-08-27" and "+src." in c.code_version for c in listed)
    accepted = query(listed[0].path(warehouse.cuts_dir), "SELECT FORM, ROWS_ACCEPTED FROM qa.load_summary")
    assert listed[0].rows == dict(accepted.iter_rows()) and 0 < listed[0].rows["DM"] <= 24
    for cut in listed:
        assert not cut.path(warehouse.cuts_dir).stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        assert query(cut.path(warehouse.cuts_dir), "SELECT CUT_ID FROM ops.cut")["CUT_ID"][0] == cut.cut_id
    # the published warehouse is the latest cut, byte for byte
    assert warehouse.published_path.read_bytes() == listed[-1].path(warehouse.cuts_dir).read_bytes()


def test_the_latest_cut_is_the_published_file_and_older_cuts_stay_apart(three_loads):
    """A cut is a hard link of the file then published (no copy of a large warehouse); the
    next load renames a new file over the published path, so earlier cuts keep their own."""
    warehouse = three_loads["warehouse"]
    paths = [c.path(warehouse.cuts_dir) for c in cuts.list_cuts(warehouse.cuts_dir)]
    inodes = [p.stat().st_ino for p in paths]
    assert warehouse.published_path.stat().st_ino == inodes[-1]
    assert len(set(inodes)) == 3 and all(p.stat().st_nlink == 1 for p in paths[:-1])
    assert query(paths[0], "SELECT CUT_ID FROM ops.cut")["CUT_ID"][0] != query(warehouse.published_path, "SELECT CUT_ID FROM ops.cut")["CUT_ID"][0]


#: what a reload changes by design: the findings ledger's status across loads and its history
LEDGER_STATE = {"STATUS", "FIRST_LOAD", "LAST_LOAD", "RESOLVED_LOAD", "LOAD_TS"}
LOAD_HISTORY = {("qa", "load_history"), ("qa", "trend")}


def test_loading_the_same_export_twice_gives_identical_tables(three_loads):
    first, second, _ = cuts.list_cuts(three_loads["warehouse"].cuts_dir)
    cuts_dir = three_loads["warehouse"].cuts_dir
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{first.path(cuts_dir)}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{second.path(cuts_dir)}' AS b (READ_ONLY)")
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'a' AND schema_name <> 'ops'"
        ).fetchall()
        assert len(tables) > 100
        for schema, table in tables:
            if (schema, table) in LOAD_HISTORY:
                continue
            cols = [c for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = 'a' AND schema_name = ? "
                "AND table_name = ? ORDER BY column_index", [schema, table]).fetchall()
                if c != "LOAD_TS" and not (schema == "qa" and c in LEDGER_STATE)]
            sel = ", ".join(f'"{c}"' for c in cols)
            diff = con.execute(
                f"SELECT count(*) FROM ((SELECT {sel} FROM a.{schema}.{table} EXCEPT ALL SELECT {sel} FROM b.{schema}.{table})"
                f" UNION ALL (SELECT {sel} FROM b.{schema}.{table} EXCEPT ALL SELECT {sel} FROM a.{schema}.{table}))"
            ).fetchone()[0]
            assert diff == 0, f"{schema}.{table} differs between two loads of the same export"
    finally:
        con.close()
    assert query(second.path(cuts_dir), "SELECT count(*) AS n FROM qa.change_report")["n"][0] == 0


def test_change_report_lists_exactly_the_edits(three_loads):
    warehouse = three_loads["warehouse"]
    report = query(warehouse.published_path, "SELECT FORM, SUBJID, VISIT, IGREP, CHANGE, FIELD, OLD_VALUE, NEW_VALUE "
                                             "FROM qa.change_report")
    assert set(report.iter_rows()) == three_loads["expected"]
    assert report.height == 3
    ids = _cut_ids(three_loads)
    page = (warehouse.root / "reports" / "changes" / f"{ids[2]}.md").read_text(encoding="utf-8")
    assert f"since cut `{ids[1]}`" in page and "| LB |" in page and "99.9" in page and "DELETED" in page
    assert "No change." in (warehouse.root / "reports" / "changes" / f"{ids[1]}.md").read_text(encoding="utf-8")


def test_a_cut_never_published_is_removed_before_the_next_comparison(three_loads):
    warehouse = three_loads["warehouse"]
    orphan = three_loads["unpublished"]
    assert orphan not in _cut_ids(three_loads)
    assert not list(warehouse.cuts_dir.glob(f"{orphan}.*"))
    publish = next(e for e in three_loads["results"][2][2].get_asset_materialization_events()
                   if e.asset_key.path == ["warehouse", "published"])
    metadata = publish.materialization.metadata
    assert metadata["unpublished_cuts_removed"].value == [orphan]
    assert metadata["previous_cut"].value == _cut_ids(three_loads)[1]  # compared with what analysts had


def test_audit_trail_records_every_load(three_loads):
    warehouse = three_loads["warehouse"]
    trail = audit.read(warehouse.audit_path)
    assert [r["status"] for r in trail] == ["PUBLISHED"] * 3
    assert [r["cut_id"] for r in trail] == _cut_ids(three_loads)
    assert [r["run_id"] for r in trail] == [res[2].run_id for res in three_loads["results"]]
    last = trail[-1]
    assert last["trigger"] == "test" and last["tags"]["trialwh/trigger"] == "test"
    assert last["export"] == str(three_loads["edited"]) and last["changes"] == 3
    assert last["rows"] == cuts.list_cuts(warehouse.cuts_dir)[-1].rows and last["previous_cut_id"] == trail[1]["cut_id"]
    assert any(c["check"] == "reconciliation" and c["passed"] for c in last["checks"])
    assert last["started_utc"] <= last["recorded_utc"]
    in_warehouse = query(warehouse.published_path, "SELECT RUN_ID, STATUS, CUT_ID FROM ops.audit")
    assert in_warehouse["CUT_ID"].to_list() == _cut_ids(three_loads)


def test_transient_publish_failure_is_retried(three_loads):
    assert three_loads["flaky_calls"] == 2
    events = three_loads["results"][2][2].all_events
    retried = [e for e in events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert [e.step_key for e in retried] == ["warehouse__published"]


def _identifier_values(export) -> dict[str, set[str]]:
    header, rows = _read_csv(export / "DM.csv")
    out = {}
    for name in ("INITIALS", "MRN", "BRTHDAT"):
        i = header.index(name)
        out[name] = {r[i].strip() for r in rows if r[i].strip()}
    return out


def _long_identifier_values(*exports) -> set[str]:
    """Identifier values long enough to search a file's bytes for: every MRN and birth date as
    delivered (pass the clean export too for the ISO dates the validation types them to);
    initials (two letters) and Excel serials (five digits) are too short to mean anything there."""
    out = set()
    for export in exports:
        values = _identifier_values(export)
        out |= {v for v in values["MRN"] | values["BRTHDAT"] if len(v.encode()) >= 8}
    return out


def _bytes_holding(paths, values: set[str]) -> list[tuple[str, str]]:
    """(file name, value) for every value whose UTF-8 bytes occur anywhere in a file."""
    found = []
    for path in paths:
        data = path.read_bytes()
        found += [(path.name, v) for v in sorted(values) if v.encode() in data]
    return found


def test_no_identifier_value_reaches_the_published_warehouse(three_loads, exports):
    values = _identifier_values(exports["csv"])
    assert len(values["MRN"]) == 24 and len(values["INITIALS"]) > 5 and len(values["BRTHDAT"]) > 5
    published = three_loads["warehouse"].published_path
    con = duckdb.connect(str(published), read_only=True)
    try:
        columns = con.execute("SELECT schema_name, table_name, column_name FROM duckdb_columns()").fetchall()
        assert not [c for c in columns if c[2].upper() in identifiers()]
        assert ("raw", "dm", "AGE") in columns and ("sdtm", "dm", "AGE") in columns  # the derived age stays
        con.execute("CREATE TEMP TABLE ids AS SELECT unnest(?) AS v", [sorted(set().union(*values.values()))])
        con.execute("CREATE TEMP TABLE mrn AS SELECT unnest(?) AS v", [sorted(values["MRN"])])
        by_table = {}
        for schema, table, column in columns:
            by_table.setdefault((schema, table), []).append(column)
        for (schema, table), cols in by_table.items():
            cells = ", ".join(f'CAST("{c}" AS VARCHAR)' for c in cols)
            sql = f"SELECT unnest([{cells}]) AS v FROM {schema}.{table}"
            exact = con.execute(f"SELECT count(*) FROM ({sql}) t JOIN ids USING (v)").fetchone()[0]
            inside = con.execute(f"SELECT count(*) FROM ({sql}) t JOIN mrn m ON contains(t.v, m.v)").fetchone()[0]
            assert exact == 0 and inside == 0, f"an identifier value is in {schema}.{table}"
    finally:
        con.close()


def test_no_identifier_value_is_in_the_bytes_of_any_warehouse_file(three_loads, exports):
    """Not in a table, not in a freed block: the published file, every cut, the working file
    (which now never holds one, so publishing can copy it) and the site's query listings."""
    values = _long_identifier_values(exports["csv"], exports["clean"], three_loads["edited"])
    assert len(values) > 40
    # the scan can fail: it finds the values a dropped table left in the planted old working file
    assert len({v for _, v in three_loads["planted"]}) > 40
    warehouse = three_loads["warehouse"]
    files = [warehouse.published_path, warehouse.working_path,
             *(c.path(warehouse.cuts_dir) for c in cuts.list_cuts(warehouse.cuts_dir)),
             *sorted((warehouse.reports_dir / "queries").glob("*.csv"))]
    assert len(files) == 2 + 3 + 3
    assert _bytes_holding(files, values) == []


def test_identifier_items_are_still_validated_and_their_findings_masked(three_loads):
    """The messy export's ambiguous birth dates (subjects 007 and 011, DAT01) and its Excel
    serial one (020, DAT05) are found from the restricted store, and reported without value."""
    published = three_loads["warehouse"].published_path
    findings = query(published, "SELECT RULE_ID, SUBJID, SRC_ROW, RAW_VALUE, MESSAGE FROM qa.findings "
                                "WHERE FIELD = 'BRTHDAT' AND STATUS <> 'resolved' ORDER BY SUBJID")
    assert findings.rows() == [("DAT01", "007", 7, None, WITHHELD), ("DAT01", "011", 11, None, WITHHELD),
                               ("DAT05", "020", 20, None, WITHHELD)]
    quarantined = query(published, "SELECT SUBJID, QUARANTINE_REASON FROM quarantine.dm ORDER BY SRC_ROW")
    assert quarantined.rows() == [("007", WITHHELD), ("011", WITHHELD)]
    assert query(published, "SELECT count(*) AS n FROM stg.dm WHERE SUBJID IN ('007', '011')")["n"][0] == 0
    listing = query(published, "SELECT SUBJECT, FIELD, VALUE, QUESTION FROM qa.query_listing WHERE FIELD = 'BRTHDAT'")
    question = ("BRTHDAT: Unparseable, impossible, ambiguous or out-of-range date (DAT01); the value is withheld "
                "from this listing (a direct identifier): please check it in the EDC against the source document "
                "and correct it, or confirm it is correct.")
    assert listing.rows() == [("007", "BRTHDAT", None, question), ("011", "BRTHDAT", None, question)]
    site_csv = sorted((three_loads["warehouse"].reports_dir / "queries").glob("*.csv"))[-1].read_text(encoding="utf-8-sig")
    assert site_csv.count(question) == 2


def test_identifiers_stay_in_the_owner_only_restricted_store(three_loads):
    warehouse = three_loads["warehouse"]
    con = duckdb.connect()
    try:
        kept = con.execute(f"SELECT * FROM read_parquet('{warehouse.restricted_dir / 'identifiers.parquet'}')").pl()
    finally:
        con.close()
    assert kept.height == 24
    assert set(_identifier_values(three_loads["edited"])["MRN"]) == set(kept["MRN"].str.strip_chars())
    # each row names its delivered row and its rowid in raw.dm, which stg/dm validates it with
    raw = query(warehouse.working_path, "SELECT rowid AS RAW_ROW, SRC_FILE, SRC_ROW FROM raw.dm")
    assert kept.select("RAW_ROW", "SRC_FILE", "SRC_ROW").sort("RAW_ROW").rows() == raw.sort("RAW_ROW").rows()
    assert kept.filter(kept["SRC_ROW"] == 7)["BRTHDAT"].to_list() == ["11/01/1969"]
    for folder in (warehouse.restricted_dir, warehouse.build_dir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    dataset_json = (warehouse.root / "exports" / "sdtm")
    dm_files = [p for p in dataset_json.rglob("*") if p.is_file() and p.name.lower().startswith("dm")]
    assert dm_files and all(b"BRTHDTC" not in p.read_bytes() for p in dm_files)


def test_locked_cut_survives_pruning_and_refuses_overwrite(three_loads, tmp_path):
    cuts_dir = tmp_path / "cuts"
    shutil.copytree(three_loads["warehouse"].cuts_dir, cuts_dir)
    first, second, third = _cut_ids(three_loads)
    locked = cuts.lock_cut(cuts_dir, second, datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert locked.locked and json.loads((cuts_dir / f"{second}.json").read_text())["locked"] is True
    assert cuts.prune_cuts(cuts_dir, keep_unlocked=1) == [first]
    assert [c.cut_id for c in cuts.list_cuts(cuts_dir)] == [second, third]
    with pytest.raises(cuts.CutLockedError):
        cuts.delete_cut(cuts_dir, second)
    with pytest.raises(cuts.CutLockedError):
        cuts.save_cut(cuts_dir / f"{third}.duckdb", cuts_dir, cuts.get_cut(cuts_dir, second))
    assert cuts.get_cut(cuts_dir, second).locked


def test_failed_run_is_written_to_the_audit_trail_by_the_failure_sensor(tmp_path):
    import dagster as dg

    from pipeline.definitions import build_definitions
    from pipeline.sensors import audit_failed_runs

    home = tmp_path / "wh"
    defs = build_definitions(home=home, export_path=tmp_path / "no_such_export")
    instance = dg.DagsterInstance.get()
    result = defs.resolve_job_def("nightly_load").execute_in_process(
        instance=instance, raise_on_error=False, tags={"trialwh/trigger": "test"})
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name="audit_failed_runs", dagster_instance=instance, dagster_run=instance.get_run_by_id(result.run_id),
        dagster_event=failure, resources={"warehouse": defs.resources["warehouse"]},
    ).for_run_failure()
    audit_failed_runs(context)
    audit_failed_runs(context)  # evaluated twice (or also recorded by `trialwh load`): still one line
    trail = audit.read(home / "state" / "audit.jsonl")
    assert [(r["run_id"], r["status"], r["published"], r["trigger"]) for r in trail] == [
        (result.run_id, "FAILURE", False, "test")]
    assert trail[0]["failed_steps"] == [
        {"step": "raw__export", "error": f"FileNotFoundError: export not found: {tmp_path / 'no_such_export'}"}]
    assert trail[0]["started_utc"] <= trail[0]["ended_utc"] <= trail[0]["recorded_utc"]
    assert not (home / "trial.duckdb").exists() and not (home / "cuts").exists()
