"""The Dagster asset ``["reports", "analysis_report"]``: materialised on a copy of a loaded
warehouse with endpoint tables, and as part of every nightly load (without them)."""

import shutil

import dagster as dg
import duckdb

import tests.report_frames as rf
from assets.reports import analysis_report
from pipeline.resources import WarehouseResource, build_resources
from pipeline.warehouse_io import write_table
from tests.browser import needs_chromium


def test_report_asset_writes_run_and_latest_reports_with_metadata(loaded, tmp_path):
    warehouse = WarehouseResource(home=str(tmp_path))
    warehouse.build_dir.mkdir(parents=True)
    shutil.copyfile(loaded["clean"], warehouse.working_path)
    con = duckdb.connect(str(warehouse.working_path))
    try:
        for name, frame in rf.all_tables().items():
            write_table(con, f"endpoints.{name}", frame)
    finally:
        con.close()
    result = dg.materialize([analysis_report], resources=build_resources(tmp_path))
    assert result.success
    run_report = warehouse.analysis_reports_dir / result.run_id / "report.html"
    latest = warehouse.analysis_reports_dir / "latest" / "report.html"
    assert run_report.exists() and latest.read_bytes() == run_report.read_bytes()
    assert sorted(p.name for p in (warehouse.analysis_reports_dir / "latest").glob("*.svg")) == [
        "km_pfs_efffl.svg", "spider.svg", "swimmer.svg", "waterfall.svg"]
    meta = result.asset_materializations_for_node("reports__analysis_report")[0].metadata
    assert meta["report"].value == str(run_report)
    assert meta["missing_tables"].value == []
    assert "| ORR | EFFFL | 28 | 8 (28.6%) | 13.2–48.7% |" in meta["orr"].value
    for stem in ("km_pfs_efffl", "waterfall"):
        assert meta[stem].value.startswith(f"![{stem}](data:image/png;base64,iVBORw0KGgo")
        assert meta[f"{stem}_png"].value == str(warehouse.analysis_reports_dir / result.run_id / f"{stem}.png")
    # a second run gets its own folder and becomes latest; the first run's report stays
    again = dg.materialize([analysis_report], resources=build_resources(tmp_path))
    assert again.success and again.run_id != result.run_id
    second = warehouse.analysis_reports_dir / again.run_id / "report.html"
    assert latest.read_bytes() == second.read_bytes() and f"Dagster run {again.run_id}" in second.read_text(encoding="utf-8")
    assert run_report.exists() and sorted(p.name for p in warehouse.analysis_reports_dir.iterdir()) == sorted(
        [result.run_id, again.run_id, "latest"])


def test_nightly_load_writes_a_report_with_the_sections_it_can_fill(loaded):
    """The load of the ``loaded`` fixture ran the asset: its report exists for the run and as
    ``latest``, with the subject-level figures from ADaM whatever endpoint tables exist."""
    reports = loaded["clean"].parent / "reports" / "analysis"
    html = (reports / "latest" / "report.html").read_text(encoding="utf-8")
    runs = [p for p in reports.iterdir() if p.name != "latest"]
    assert len(runs) == 1 and (runs[0] / "report.html").read_text(encoding="utf-8") == html
    for stem in ("waterfall", "swimmer", "spider"):
        assert (reports / "latest" / f"{stem}.png").exists()
    assert html.count('src="data:image/png;base64,') >= 3
    assert '<h2 id="safety">Safety</h2>' in html and "http://" not in html


@needs_chromium
def test_report_opens_in_a_browser_with_its_tables_and_figures(loaded):
    """The analysis report of the nightly load, opened in headless Chromium from disk: every
    figure decodes (KM for PFS and OS, waterfall, swimmer, spider), the efficacy, safety, lab and
    exposure tables are there, and the page asks for nothing beyond its own file."""
    from tests.browser import opened

    report = loaded["clean"].parent / "reports" / "analysis" / "latest" / "report.html"
    with opened(report) as (page, requested):
        seen = page.evaluate("""() => ({
            images: [...document.images].map(i => [i.alt, i.naturalWidth > 0]),
            headings: [...document.querySelectorAll('h2')].map(h => h.id),
            tables: document.querySelectorAll('table').length,
        })""")
    drawn = {alt for alt, ok in seen["images"] if ok}
    assert len(drawn) == len(seen["images"]) >= 5
    for kind in ("Kaplan", "Waterfall", "Swimmer", "Spider"):
        assert any(kind.lower() in alt.lower() for alt in drawn), kind
    assert {"efficacy", "safety"} <= set(seen["headings"])
    assert seen["tables"] >= 8
    assert [u for u in requested if not u.startswith(("file://", "data:"))] == []
