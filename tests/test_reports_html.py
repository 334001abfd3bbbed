"""The HTML analysis report: self-contained, every section, N of every table, 1-decimal
percentages and "NE" for NULL estimates; missing tables leave a note instead of failing."""

import io
import re

import polars as pl
from PIL import Image

import tests.report_frames as rf
from pipeline.reports.build import build_report, km_panels, populations
from pipeline.reports.html import SECTIONS, ReportFigure, TableSettings, render_report
from tests.conftest import query

EXTERNAL_REF = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
POPULATIONS = {"ITTFL": 31, "EFFFL": 28, "SAFFL": 30}


def _render(tables, figures=()):
    return render_report(tables, list(figures), POPULATIONS, title="NCT05204524", subtitle="test",
                         settings=TableSettings(decision_alpha=0.05, conftype="LOGLOG"))


def test_report_is_self_contained_with_every_section_and_n():
    fig = ReportFigure("km", "KM of PFS", b"\x89PNG\r\n\x1a\nfake")
    html = _render(rf.all_tables(), [fig])
    assert not EXTERNAL_REF.search(html) and "http://" not in html and "https://" not in html
    assert '<img alt="KM of PFS" src="data:image/png;base64,iVBORw0KGgpmYWtl">' in html
    for sid, heading, tables in SECTIONS:
        assert f'<h2 id="{sid}">{heading}</h2>' in html
        for _, sub, required in tables:
            assert (f"<h3>{sub}</h3>" in html) == required  # the optional extras are absent here
    # N of each table
    assert "EFFFL N = 28; ITTFL N = 28" in html  # ep_binary
    assert "EFFFL N = 12; ITTFL N = 12" in html  # ep_tte
    assert html.count("<p class=\"n\">N = 5</p>") == 2  # TEAE overview and SOC/PT
    assert html.count("SAFFL N = 30") == 2  # lab shift and exposure (population N from ADSL)
    assert "<p class=\"n\">EFFFL N = 12</p>" in html  # landmark rates take N from ep_tte


def test_report_numbers_percentages_and_ne():
    html = _render(rf.all_tables())
    # primary ORR 8/28 = 28.6%, exact CI 13.2–48.7%, p = 0.0486 -> success (trial.md §5)
    assert ("<td>28</td><td>8 (28.6%)</td><td>13.2–48.7%</td><td>Clopper-Pearson</td><td>0.15</td>"
            "<td>0.0486</td><td>H0 rejected</td>") in html
    assert "<td>0.1152</td><td>H0 not rejected</td>" in html
    # median PFS 168 days = 5.5 months (42–300 days); OS median never reached -> NE
    assert "<td>5.5 (1.4–9.9)</td><td>168 (42–300)</td>" in html
    assert "<td>NE (3.9–NE)</td><td>NE (120–NE)</td>" in html
    assert "<td>44.4% (15.1–70.6)</td>" in html and "<td>NE (NE–NE)</td>" in html  # 6- and 12-month rates
    # SOC / PT rows of the §3 example, PT indented under its SOC
    assert ('<tr class="soc"><td class="l">Investigations</td><td>3 (60.0%)</td><td>0</td><td>1</td><td>1</td>'
            "<td>1</td><td>0</td><td>2 (40.0%)</td></tr>") in html
    assert '<td class="l">· Nausea</td><td>2 (40.0%)</td>' in html
    assert '<td class="l">Any TEAE</td><td>4 (80.0%)</td>' in html
    # lab shift: n (% of row), 1 decimal
    assert "<h3>CTCAE_GRADE NEUT (LOW)</h3>" in html
    assert ('<td class="l">0</td><td>3</td><td>2 (66.7%)</td><td>1 (33.3%)</td><td>0 (0.0%)</td></tr>'
            '<tr><td class="l">1</td><td>1</td><td>0 (0.0%)</td><td>0 (0.0%)</td><td>1 (100.0%)</td>') in html
    # TEAE overview in its stored order; exposure values: counts, 1-decimal percentages
    assert html.index("Any TEAE") < html.index("Fatal TEAE")
    assert '<td class="l">EPIRUBICIN</td><td class="l">RDI_PCT</td><td class="l"></td><td class="l">N</td><td>30</td>' in html
    assert '<td class="l">MEDIAN</td><td>95.12</td>' in html and '<td class="l">PCT</td><td>83.3</td>' in html
    assert "<p class=\"n\"><b>ANY</b></p>" in html  # SOC/PT table per SUBSET


def test_missing_tables_leave_a_note_and_extra_tables_are_shown():
    tables = rf.all_tables()
    for name in ("ep_binary", "ep_bor_dist", "ep_km_curve"):
        tables.pop(name)
    tables["ep_ttr"] = rf.tte().select("ENDPOINT", "POPULATION", "N", "MEDIAN_D").head(1)
    tables["ep_subgroup"] = rf.tte().select("ENDPOINT", "POPULATION", "N", "MEDIAN_D").tail(1)
    html = _render(tables)
    assert "Not available: table endpoints.ep_binary does not exist" in html
    assert "Not available: table endpoints.ep_bor_dist does not exist" in html
    assert '<h2 id="km">Kaplan–Meier curves</h2><p class="note">No figure' in html
    assert '<h3>Time to response</h3><p class="n">EFFFL N = 12</p>' in html  # an optional extra, present
    assert '<h2 id="additional">Additional tables</h2><h3>ep_subgroup</h3><p class="n">ITTFL N = 12</p>' in html
    assert "<td>OS</td><td>ITTFL</td><td>12</td><td>NE</td>" in html.replace(' class="l"', "")
    assert "<h3>Time-to-event endpoints</h3><p class=\"n\">EFFFL N = 12; ITTFL N = 12</p>" in html


def test_build_report_writes_figures_and_html_from_the_loaded_warehouse(loaded, tmp_path):
    adam = {name: query(loaded["clean"], f"SELECT * FROM adam.{name}") for name in ("adsl", "adrs", "adtr")}
    out = build_report(rf.all_tables(), adam, tmp_path / "report", subtitle="test run")
    assert sorted(out.figures) == ["km_pfs_efffl", "spider", "swimmer", "waterfall"]
    for files in out.figures.values():
        assert files.png.exists() and files.svg.exists()
    # the Dagster UI thumbnail: the 150-dpi PNG scaled to 50 dpi (reports.thumbnail_dpi), same every time
    full, thumb = Image.open(out.figures["waterfall"].png), Image.open(io.BytesIO(out.thumbnail("waterfall")))
    assert thumb.format == "PNG" and thumb.size == (round(full.width / 3), round(full.height / 3)) == (400, 240)
    assert out.thumbnail("waterfall") == out.thumbnail("waterfall")
    html = out.html.read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == 4
    assert not EXTERNAL_REF.search(html)
    counts = query(loaded["clean"], "SELECT count(*) FILTER (ITTFL = 'Y') AS itt, count(*) FILTER (EFFFL = 'Y') AS eff, "
                                    "count(*) FILTER (SAFFL = 'Y') AS saf FROM adam.adsl").row(0)
    assert populations(adam["adsl"]) == dict(zip(("ITTFL", "EFFFL", "SAFFL"), counts))
    assert f'<td class="l">EFFFL</td><td>{counts[1]}</td>' in html


def test_dor_curve_only_with_enough_responders():
    """endpoints.md §4: the DoR KM curve is drawn only with >= 5 (confirmed) responders."""
    curve = rf.km_curve()
    tables = {"ep_km_curve": pl.concat([curve, curve.with_columns(pl.lit("DOR").alias("ENDPOINT"))]),
              "ep_at_risk": rf.at_risk()}
    for n, drawn in ((4, [("PFS", "EFFFL")]), (5, [("PFS", "EFFFL"), ("DOR", "EFFFL")])):
        tables["ep_tte"] = pl.concat([rf.tte(), rf.tte().head(1).with_columns(pl.lit("DOR").alias("ENDPOINT"), pl.lit(n, pl.Int64).alias("N"))])
        assert km_panels(tables, {"DOR": 5}) == drawn
