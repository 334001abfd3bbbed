"""QA across loads: cross-table rules (GX) against the generator's manifest, the findings ledger
(keys, new/persisting/resolved, acceptance), the query listing, Data Docs offline and in Chromium,
and an ERROR rule blocking publication.

One clean export with one defect of each cross-table class is loaded three times into one home:
as delivered, again unchanged, then with the weight of one VS row put back and the working
DuckDB file deleted first (the ledger must not depend on it). A data manager accepts one finding
between the second and third load.
"""

import csv
import shutil
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest

from pipeline.cli import main
from pipeline.qa.cross_table import GX_FINDING_COLUMNS
from pipeline.qa.data_docs import remote_assets
from pipeline.qa.ledger import read_ledger, read_loads
from pipeline.qa.queries import NOT_FOR_SITE, QUERY_COLUMNS, listing_paths
from pipeline.synthetic import generate
from pipeline.synthetic.cross_defects import CROSS_CLASSES
from pipeline.validation.rules import RULES
from tests.browser import needs_chromium, opened
from tests.conftest import SEED, SUBJECTS, load, query

XT_RULES = sorted(r for r in RULES if r.startswith("XT"))


def _manifest(export: Path) -> list[dict]:
    with open(export / "_groundtruth" / "defects.csv", encoding="utf-8") as fh:
        return [d for d in csv.DictReader(fh) if d["expected_rule"].startswith("XT")]


def _fix_row(export: Path, defect: dict) -> None:
    """Put the clean value back into the one CSV line the manifest names."""
    path = export / defect["file"]
    lines = path.read_bytes().split(b"\n")
    line = lines[int(defect["row"])]
    raw, clean = defect["raw_value"].encode(), defect["clean_value"].encode()
    assert line.count(b"," + raw + b",") == 1
    lines[int(defect["row"])] = line.replace(b"," + raw + b",", b"," + clean + b",")
    path.write_bytes(b"\n".join(lines))


@pytest.fixture(scope="module")
def qa_run(tmp_path_factory):
    """Three loads of one home; the ledger and the listing after each."""
    export = tmp_path_factory.mktemp("qa_export")
    generate(export, subjects=SUBJECTS, seed=SEED, fmt="csv", mess_rate=0.0, cross_defects=1)
    home = tmp_path_factory.mktemp("qa_home")
    defects = _manifest(export)
    snaps = []

    def run(export_dir):
        success, warehouse, result = load(export_dir, home)
        assert success
        snaps.append({"ledger": read_ledger(warehouse.state_dir), "result": result,
                      "published": query(warehouse.published_path, "SELECT * FROM qa.findings")})
        return warehouse

    warehouse = run(export)
    run(export)
    accepted_key = snaps[1]["ledger"].filter(pl.col("RULE_ID") == "XT02")["FINDING_KEY"][0]
    assert main(["findings", "accept", accepted_key, "--comment", "AE started at screening; confirmed by CRA",
                 "--home", str(home)]) == 0
    fixed = tmp_path_factory.mktemp("qa_export_fixed")
    shutil.copytree(export, fixed, dirs_exist_ok=True)
    weight = next(d for d in defects if d["defect_class"] == "weight_jump")
    _fix_row(fixed, weight)
    shutil.rmtree(warehouse.build_dir)  # a lost working file must not lose the ledger
    run(fixed)
    return {"home": home, "warehouse": warehouse, "defects": defects, "snaps": snaps,
            "accepted_key": accepted_key, "fixed": weight}


def test_each_injected_cross_table_defect_is_reported_once_under_its_rule(qa_run):
    defects = qa_run["defects"]
    assert sorted(d["defect_class"] for d in defects) == sorted(CROSS_CLASSES)
    first = qa_run["snaps"][0]["published"]
    xt = first.filter(pl.col("RULE_ID").str.starts_with("XT"))
    # the export is clean apart from the injected defects: every XT finding is one of them, once
    found = sorted((r, s) for r, s in xt.select("RULE_ID", "SUBJID").iter_rows())
    assert found == sorted((d["expected_rule"], d["SUBJID"]) for d in defects)
    assert xt.height == len(CROSS_CLASSES) == 7
    by_rule = dict(xt.select("RULE_ID", "FORM").iter_rows())
    assert by_rule == {"XT02": "AE", "XT04": "EX", "XT05": "EOS", "XT06": "TL", "XT07": "RS", "XT08": "VS", "XT10": "VS"}
    row = xt.filter(pl.col("RULE_ID") == "XT08").row(0, named=True)
    weight = next(d for d in defects if d["defect_class"] == "weight_jump")
    assert (row["RAW_VALUE"], row["SRC_ROW"], row["VISIT"]) == (weight["raw_value"], int(weight["row"]), weight["VISIT"])


def test_gx_results_are_dagster_asset_checks_and_only_error_rules_block(qa_run):
    from assets.qa import qa_gx_validation

    specs = {s.name: s for s in qa_gx_validation.check_specs}
    assert sorted(specs) == [r.lower() for r in XT_RULES]
    assert {n for n, s in specs.items() if s.blocking} == {"xt01"}  # the only ERROR rule
    evaluations = {e.check_name: e for e in qa_run["snaps"][0]["result"].get_asset_check_evaluations()
                   if e.asset_key.path == ["qa", "gx_validation"]}
    injected = {d["expected_rule"].lower() for d in qa_run["defects"]}
    assert {n for n, e in evaluations.items() if not e.passed} == injected
    assert all(evaluations[n].severity.value == "WARN" for n in injected)
    assert evaluations["xt01"].passed and evaluations["xt01"].severity.value == "ERROR"
    assert evaluations["xt08"].metadata["violations"].value == 1


def test_reload_of_the_same_export_keeps_every_key_persisting(qa_run):
    first, second = (s["ledger"] for s in qa_run["snaps"][:2])
    assert first.height > 0 and set(first["STATUS"]) == {"new"}
    assert sorted(second["FINDING_KEY"]) == sorted(first["FINDING_KEY"])
    assert set(second["STATUS"]) == {"persisting"}
    assert set(second["FIRST_LOAD"]) == {1} and set(second["LAST_LOAD"]) == {2}
    assert second["FINDING_KEY"].n_unique() == second.height


def test_fixing_one_row_resolves_exactly_that_finding(qa_run):
    second, third = (s["ledger"] for s in qa_run["snaps"][1:])
    resolved = third.filter(pl.col("STATUS") == "resolved")
    fixed = qa_run["fixed"]
    assert resolved.select("RULE_ID", "SUBJID", "RESOLVED_LOAD").rows() == [("XT08", fixed["SUBJID"], 3)]
    assert set(third.filter(pl.col("STATUS") != "resolved")["STATUS"]) == {"persisting"}
    assert third.height == second.height
    history = read_loads(qa_run["warehouse"].state_dir)
    assert history.select("LOAD_NO", "N_NEW", "N_PERSISTING", "N_RESOLVED").rows() == [
        (1, second.height, 0, 0), (2, 0, second.height, 0), (3, 0, second.height - 1, 1)]
    published = qa_run["snaps"][2]["published"]
    assert published.filter(pl.col("STATUS") == "resolved")["RULE_ID"].to_list() == ["XT08"]


def test_acceptance_survives_reloads_and_leaves_the_query_listing(qa_run, capsys):
    third = qa_run["snaps"][2]["ledger"]
    row = third.filter(pl.col("FINDING_KEY") == qa_run["accepted_key"]).row(0, named=True)
    assert row["ACCEPTED"] and row["ACCEPT_COMMENT"] == "AE started at screening; confirmed by CRA"
    assert row["STATUS"] == "persisting"
    assert third["ACCEPTED"].sum() == 1
    assert main(["findings", "list", "--rule", "XT02", "--home", str(qa_run["home"])]) == 0
    assert qa_run["accepted_key"] in capsys.readouterr().out
    assert main(["findings", "accept", "NO:SUCH:KEY", "--comment", "x", "--home", str(qa_run["home"])]) == 2
    csv_path, _ = listing_paths(qa_run["warehouse"].reports_dir, 3)
    assert qa_run["accepted_key"] not in csv_path.read_text(encoding="utf-8-sig")


def test_query_listing_has_one_row_per_open_query_sorted_by_site_and_subject(qa_run):
    warehouse = qa_run["warehouse"]
    ledger = qa_run["snaps"][2]["ledger"]
    expected = ledger.filter(
        pl.col("STATUS").is_in(["new", "persisting"]) & ~pl.col("ACCEPTED") & pl.col("SEVERITY").is_in(["ERROR", "WARN"])
        & pl.col("SUBJID").is_not_null() & ~pl.col("RULE_ID").is_in(list(NOT_FOR_SITE)))
    csv_path, xlsx_path = listing_paths(warehouse.reports_dir, 3)
    listing = pl.read_csv(csv_path, infer_schema=False)
    assert listing.columns == QUERY_COLUMNS
    assert sorted(listing["FINDING_KEY"]) == sorted(expected["FINDING_KEY"])
    assert listing["FINDING_KEY"].n_unique() == listing.height
    # the fixed weight is resolved and the accepted AE is answered: 7 XT findings - 2, plus the
    # staging findings of the same defects (DAT01 of the lesion's baseline, DAT04 and VIS01 of the late dose)
    assert "XT08" not in listing["RULE"].to_list() and "XT02" not in listing["RULE"].to_list()
    assert sorted(set(listing["RULE"])) == ["DAT01", "DAT04", "VIS01", "XT04", "XT05", "XT06", "XT07", "XT10"]
    assert listing.select("SITE", "SUBJECT").rows() == sorted(listing.select("SITE", "SUBJECT").rows())
    xt05 = listing.filter(pl.col("RULE") == "XT05").row(0, named=True)
    assert (xt05["FORM"], xt05["FIELD"]) == ("EOS", "EOSDAT")
    assert xt05["QUESTION"].startswith(f'EOSDAT = "{xt05["VALUE"]}": end of study for DEATH on')
    sheet = openpyxl.load_workbook(xlsx_path, read_only=True)["queries"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == QUERY_COLUMNS and len(rows) == listing.height + 1
    assert [r[-1] for r in rows[1:]] == listing["FINDING_KEY"].to_list()
    published = query(warehouse.published_path, "SELECT count(*) AS n FROM qa.query_listing")["n"][0]
    assert published == listing.height


def test_qa_summary_and_trend(qa_run):
    db = qa_run["warehouse"].published_path
    trend = query(db, "SELECT LOAD_NO, N_RESOLVED FROM qa.trend ORDER BY LOAD_NO")
    assert trend.rows() == [(1, 0), (2, 0), (3, 1)]
    by_rule = query(db, "SELECT VALUE, N FROM qa.summary WHERE DIMENSION = 'RULE_ID' AND VALUE LIKE 'XT%' ORDER BY 1")
    assert by_rule.rows() == [(r, 1) for r in ("XT02", "XT04", "XT05", "XT06", "XT07", "XT10")]
    gx = query(db, "SELECT RULE_ID, SUCCESS, VIOLATIONS FROM qa.gx_results ORDER BY 1")
    assert gx.filter(~pl.col("SUCCESS"))["RULE_ID"].to_list() == ["XT02", "XT04", "XT05", "XT06", "XT07", "XT10"]


def test_data_docs_need_no_network(qa_run):
    site = qa_run["warehouse"].reports_dir / "qa"
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 1 + 2 * len(XT_RULES)  # index, one suite and one validation page per rule
    assert {p: remote_assets(p) for p in pages if remote_assets(p)} == {}
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="static/vendor/bootstrap/css/bootstrap.min.css"' in index
    assert (site / "static" / "vendor" / "bootstrap" / "css" / "bootstrap.min.css").stat().st_size > 100_000
    assert "XT04_study_drug_administration_dated_after_death" in index


@needs_chromium
def test_data_docs_index_renders_styled_in_headless_chromium(qa_run):
    index = qa_run["warehouse"].reports_dir / "qa" / "index.html"
    with opened(index) as (page, requested):
        style = page.evaluate("""() => {
            const nav = getComputedStyle(document.querySelector('nav.navbar'));
            return {nav: nav.display, navPadTop: nav.paddingTop, table: typeof jQuery.fn.bootstrapTable,
                    tabs: getComputedStyle(document.querySelector('.nav-tabs')).borderBottom,
                    rows: document.querySelectorAll('table tbody tr').length,
                    icons: document.fonts.check('900 16px "Font Awesome 6 Free"')};
        }""")
    # Bootstrap 4: .navbar is a flex box with 0.5rem padding; .nav-tabs has a 1px #dee2e6 bottom border
    assert style["nav"] == "flex" and style["navPadTop"] == "8px"
    assert style["tabs"] == "1px solid rgb(222, 226, 230)"
    assert style["table"] == "function" and style["icons"]
    assert style["rows"] == 2 * len(XT_RULES)  # the validation results tab and the expectation suites tab
    assert [u for u in requested if not u.startswith("file://")] == []


def test_an_error_rule_blocks_the_ledger_and_publication(qa_run, tmp_path):
    """A subject in SDTM AE but not in DM (XT01, ERROR) stops everything after the GX asset."""
    import dagster as dg

    from assets.publish import QA_ASSETS, published_warehouse
    from assets.qa import qa_gx_validation
    from pipeline.resources import build_resources

    resources = build_resources(tmp_path)
    working = resources["warehouse"].working_path
    working.parent.mkdir(parents=True)
    shutil.copy(qa_run["warehouse"].published_path, working)
    con = duckdb.connect(str(working))
    con.execute("INSERT INTO sdtm.ae BY NAME SELECT * REPLACE ('NCT05204524-101-999' AS USUBJID) FROM sdtm.ae LIMIT 1")
    con.close()
    downstream = [a for a in QA_ASSETS if a is not qa_gx_validation and a.key.path[1] in ("ledger", "query_listing", "summary")]
    result = dg.materialize([qa_gx_validation, *downstream, published_warehouse], resources=resources,
                            selection=[qa_gx_validation.key, *[a.key for a in downstream], published_warehouse.key],
                            raise_on_error=False)
    xt01 = next(e for e in result.get_asset_check_evaluations() if e.check_name == "xt01")
    assert not xt01.passed and xt01.severity.value == "ERROR" and xt01.metadata["violations"].value == 1
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert materialized == {"gx_validation"}
    assert not resources["warehouse"].published_path.exists()
    assert not (resources["warehouse"].state_dir / "findings_ledger.parquet").exists()
    gx = query(working, "SELECT RULE_ID, RECORD, SUBJID FROM qa.findings_gx WHERE RULE_ID = 'XT01'")
    assert gx.rows() == [("XT01", "SDTM.AE", "999")]
    assert set(GX_FINDING_COLUMNS) <= set(query(working, "SELECT * FROM qa.findings_gx LIMIT 0").columns)


def test_rules_the_generator_does_not_inject_fire_on_edited_sdtm(qa_run, tmp_path):
    """XT03 (dose before consent), XT09 (a lab median a hundredfold off, a second standard unit):
    edited straight into a copy of the warehouse, each reported once."""
    from pipeline.qa.cross_table import violations

    db = tmp_path / "edited.duckdb"
    shutil.copy(qa_run["warehouse"].published_path, db)
    con = duckdb.connect(str(db))
    try:
        con.execute("""UPDATE sdtm.ex SET EXSTDTC = CAST(CAST(d.RFICDTC AS DATE) - 10 AS VARCHAR)
                       FROM sdtm.dm d WHERE d.USUBJID = ex.USUBJID AND ex.USUBJID LIKE '%-010' AND ex.EXSEQ = 1""")
        con.execute("UPDATE sdtm.lb SET LBSTRESN = LBSTRESN * 100 WHERE LBTESTCD = 'ALT'")
        con.execute("UPDATE sdtm.lb SET LBSTRESU = 'mEq/L' WHERE LBTESTCD = 'K' AND LBSEQ = (SELECT min(LBSEQ) FROM sdtm.lb WHERE LBTESTCD = 'K')")
        found = violations(con)
    finally:
        con.close()
    xt03 = found["XT03"]
    assert xt03.select("SUBJID", "FORM", "FIELD").rows() == [("010", "EX", "EXSTDAT")]
    assert sorted(found["XT09"]["RECORD"]) == ["LB|ALT|U/L", "LB|K|mEq/L", "LB|K|mmol/L"]
    assert found["XT09"]["SUBJID"].null_count() == 3  # a distribution is no subject's query
