"""Figures of endpoints.md §4: the KM plot on the §2 worked example, and the waterfall,
swimmer and spider plots on the loaded clean warehouse (counts cross-checked in SQL)."""

import xml.etree.ElementTree as ET

import polars as pl
import pytest
from matplotlib.colors import to_rgba

import tests.report_frames as rf
from pipeline.config import data_cutoff
from pipeline.reports import figure_data
from pipeline.reports.figures import RESPONSE_COLOURS, km_figure, km_legend, save_figure, spider_figure, swimmer_figure, waterfall_figure
from tests.conftest import query

DPM = rf.DAYS_PER_MONTH
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _axes(fig, label):
    return next(ax for ax in fig.axes if ax.get_label() == label)


def _km():
    return km_figure(rf.km_curve(), rf.at_risk(), rf.tte(), endpoint="PFS", population="EFFFL",
                     days_per_month=DPM, conftype="LOGLOG", ci_band=True)


def test_km_curve_steps_censor_marks_and_at_risk_of_the_worked_example():
    fig = _km()
    ax = _axes(fig, "km")
    curve, censored = ax.lines[0], ax.lines[1]
    assert curve.get_drawstyle() == "steps-post"
    # S(t) after each distinct time (§2 table: 0.9167, 0.8333, 0.6481, 0.5556, 0.4444, 0.3333, 0.1667)
    heights = [round(v, 4) for v in curve.get_ydata()]
    assert heights == [1.0, 0.9167, 0.8333, 0.8333, 0.6481, 0.5556, 0.5556, 0.4444, 0.3333, 0.3333, 0.1667, 0.1667]
    assert list(curve.get_xdata()) == pytest.approx([0.0] + [t / DPM for t in (35, 42, 63, 84, 126, 150, 168, 210, 252, 300, 365)])
    # "+" at the censored times 63, 150, 252, 365 days, on the curve
    assert censored.get_marker() == "+"
    assert list(censored.get_xdata()) == pytest.approx([t / DPM for t in rf.CENSORED_DAYS])
    assert [round(v, 4) for v in censored.get_ydata()] == [0.8333, 0.5556, 0.3333, 0.1667]
    assert list(ax.get_xticks()) == [0, 3, 6, 9, 12]
    assert ax.get_ylim() == pytest.approx((0, 1.02))
    # number at risk under the axis at every tick: 12, 7, 4, 2, 0 (AVAL >= tick)
    table = _axes(fig, "at_risk")
    drawn = [(t.get_position()[0], t.get_text()) for t in table.texts]
    assert drawn == [(0, "12"), (3, "7"), (6, "4"), (9, "2"), (12, "0")]
    labels = ax.get_legend_handles_labels()[1]
    assert labels[0] == "PFS (EFFFL): median 5.5 (95% CI 1.4–9.9) months; events 8/12"
    assert len(ax.collections) == 1  # the CI band


def test_km_legend_shows_ne_for_null_estimates():
    os_row = rf.tte().filter(pl.col("ENDPOINT") == "OS").row(0, named=True)
    assert km_legend(os_row) == "median NE (95% CI 3.9–NE) months; events 3/12"


def test_km_without_band_has_no_fill():
    fig = km_figure(rf.km_curve(), rf.at_risk(), rf.tte(), endpoint="PFS", population="EFFFL", days_per_month=DPM, ci_band=False)
    assert len(_axes(fig, "km").collections) == 0


def test_figure_files_are_valid_and_byte_identical_for_identical_input(tmp_path):
    first = save_figure(_km(), tmp_path / "a", "km_pfs", dpi=100)
    second = save_figure(_km(), tmp_path / "b", "km_pfs", dpi=100)
    assert first.png.read_bytes() == second.png.read_bytes()
    assert first.svg.read_bytes() == second.svg.read_bytes()
    png, svg = first.png.read_bytes(), first.svg.read_text()
    assert png.startswith(PNG_SIGNATURE) and b"Software" not in png and b"Matplotlib" not in png
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "<dc:date>" not in svg and "Matplotlib" not in svg


@pytest.fixture(scope="module")
def clean_adam(loaded):
    db = loaded["clean"]
    return {name: query(db, f"SELECT * FROM adam.{name}") for name in ("adsl", "adrs", "adtr")}


def test_waterfall_one_bar_per_efffl_subject_with_a_best_change(loaded, clean_adam, tmp_path):
    expected = query(loaded["clean"], """
        SELECT t.USUBJID, t.PCHG FROM adam.adtr t JOIN adam.adsl s USING (USUBJID)
        WHERE s.EFFFL = 'Y' AND t.PARAMCD = 'SDIAM' AND t.ANL03FL = 'Y' ORDER BY t.PCHG DESC""")
    n_eff = query(loaded["clean"], "SELECT count(*) AS n FROM adam.adsl WHERE EFFFL = 'Y'")["n"][0]
    bars, n_without = figure_data.waterfall_data(clean_adam["adsl"], clean_adam["adtr"], clean_adam["adrs"], 100)
    assert bars.height == expected.height > 0
    assert n_without == n_eff - expected.height > 0
    fig = waterfall_figure(bars, n_without, reference_pct=[20, -30], clip_pct=100)
    ax = _axes(fig, "waterfall")
    heights = [p.get_height() for p in ax.containers[0]]
    assert heights == pytest.approx(expected["PCHG"].to_list())
    assert heights == sorted(heights, reverse=True)  # largest increase left
    cbor = dict(query(loaded["clean"], "SELECT USUBJID, AVALC FROM adam.adrs WHERE PARAMCD = 'CBOR'").rows())
    colours = [p.get_facecolor() for p in ax.containers[0]]
    assert colours == [to_rgba(RESPONSE_COLOURS[cbor[u]]) for u in bars["USUBJID"].to_list()]
    dashed = sorted(line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == "--")
    assert dashed == [-30, 20]
    assert any(f"{n_without} EFFFL subject(s) without a post-baseline SDIAM" in t.get_text() for t in fig.texts)
    files = save_figure(fig, tmp_path, "waterfall", dpi=60)
    assert files.png.read_bytes().startswith(PNG_SIGNATURE) and files.svg.stat().st_size > 0


def test_waterfall_clips_values_above_100_percent_with_a_marker(clean_adam):
    adtr = clean_adam["adtr"]
    top = adtr.filter(pl.col("ANL03FL") == "Y").sort("PCHG", descending=True)["USUBJID"][0]
    boosted = adtr.with_columns(
        pl.when((pl.col("USUBJID") == top) & (pl.col("ANL03FL") == "Y")).then(pl.lit(150.0)).otherwise(pl.col("PCHG")).alias("PCHG"))
    bars, n_without = figure_data.waterfall_data(clean_adam["adsl"], boosted, clean_adam["adrs"], 100)
    assert bars.row(0, named=True)["PCHG"] == 150.0 and bars["BAR"][0] == 100.0 and bars["CLIPPED"].sum() == 1
    ax = _axes(waterfall_figure(bars, n_without, reference_pct=[20, -30], clip_pct=100), "waterfall")
    assert ax.containers[0][0].get_height() == 100.0
    markers = [line for line in ax.lines if line.get_marker() == "^"]
    assert len(markers) == 1 and list(markers[0].get_xdata()) == [0] and list(markers[0].get_ydata()) == [100]


def test_swimmer_one_lane_per_saffl_subject(loaded, clean_adam):
    saf = query(loaded["clean"], "SELECT USUBJID, TRTDURD, DTHDT, EOSSTT FROM adam.adsl WHERE SAFFL = 'Y'")
    lanes = figure_data.swimmer_data(clean_adam["adsl"], clean_adam["adrs"], data_cutoff())
    assert lanes.height == saf.height
    assert lanes["END_WK"].to_list() == sorted(lanes["END_WK"].to_list(), reverse=True)
    assert (lanes["END_WK"] >= lanes["TRT_WK"]).all()
    fig = swimmer_figure(lanes)
    ax = _axes(fig, "swimmer")
    trtdurd = dict(query(loaded["clean"], "SELECT SUBJID, TRTDURD FROM adam.adsl WHERE SAFFL = 'Y'").rows())
    widths = [bar.get_width() for bar in ax.containers[0]]
    assert widths == pytest.approx([trtdurd[s] / 7 for s in lanes["SUBJID"].to_list()])
    by_label = {line.get_label(): line for line in ax.lines}
    assert len(by_label["death"].get_xdata()) == saf.filter(pl.col("DTHDT").is_not_null()).height
    assert len(by_label["on study at DCO"].get_xdata()) == saf.filter(
        pl.col("DTHDT").is_null() & (pl.col("EOSSTT") == "ONGOING")).height
    n_resp = query(loaded["clean"], "SELECT count(*) AS n FROM adam.adrs r JOIN adam.adsl s USING (USUBJID) "
                                    "WHERE s.SAFFL = 'Y' AND r.PARAMCD = 'CRSP' AND r.AVALC = 'Y'")["n"][0]
    assert len(by_label["first response (confirmed)"].get_xdata()) == n_resp


def test_spider_lines_start_at_zero_and_stop_at_first_pd(loaded, clean_adam):
    points = figure_data.spider_data(clean_adam["adsl"], clean_adam["adtr"], clean_adam["adrs"])
    subjects = query(loaded["clean"], """
        SELECT DISTINCT t.USUBJID FROM adam.adtr t JOIN adam.adsl s USING (USUBJID)
        JOIN (SELECT USUBJID, ADT AS BASEDT FROM adam.adtr WHERE PARAMCD = 'SDIAM' AND ABLFL = 'Y') b USING (USUBJID)
        LEFT JOIN (SELECT USUBJID, ADT AS PDDT FROM adam.adrs WHERE PARAMCD = 'PD' AND AVALC = 'Y') p USING (USUBJID)
        WHERE s.EFFFL = 'Y' AND t.PARAMCD = 'SDIAM' AND t.ANL01FL = 'Y' AND t.PCHG IS NOT NULL
          AND t.ADT > b.BASEDT AND (p.PDDT IS NULL OR t.ADT <= p.PDDT)""")
    pd_week = dict(query(loaded["clean"], """
        SELECT r.USUBJID, (r.ADT - s.TRTSDT + 1) / 7.0 FROM adam.adrs r JOIN adam.adsl s USING (USUBJID)
        WHERE r.PARAMCD = 'PD' AND r.AVALC = 'Y'""").rows())
    ax = _axes(spider_figure(points, reference_pct=[20, -30]), "spider")
    lines = ax.collections[0]
    assert lines.get_label() == "subjects"
    paths = lines.get_segments()
    assert len(paths) == subjects.height > 0
    assert all(tuple(p[0]) == (0.0, 0.0) for p in paths)
    last = points.group_by("USUBJID").agg(pl.col("WEEK").max())
    late = [u for u, w in last.rows() if u in pd_week and w > pd_week[u] + 1e-9]
    assert late == []


def _many_subjects(n: int) -> dict[str, pl.DataFrame]:
    """ADSL / ADRS / ADTR of ``n`` EFFFL = SAFFL subjects: subject i treated i days, alive on
    study, one post-baseline SDIAM with PCHG = (i mod 150) - 100."""
    from datetime import date, timedelta

    start = date(2023, 1, 1)
    ids = [f"S{i:04d}" for i in range(n)]
    adsl = pl.DataFrame({"USUBJID": ids, "SUBJID": ids, "EFFFL": "Y", "SAFFL": "Y", "TRTSDT": [start] * n,
                         "TRTDURD": list(range(n)), "DTHDT": pl.Series([None] * n, dtype=pl.Date),
                         "LSTALVDT": [start + timedelta(days=i + 10) for i in range(n)], "EOSSTT": "ONGOING"})
    adrs = pl.DataFrame({"USUBJID": ids, "PARAMCD": "CBOR", "AVALC": [("PR", "SD", "PD")[i % 3] for i in range(n)],
                         "ADT": pl.Series([None] * n, dtype=pl.Date)})
    adtr = pl.DataFrame({"USUBJID": ids * 2, "PARAMCD": "SDIAM", "ABLFL": ["Y"] * n + [None] * n,
                         "ANL01FL": [None] * n + ["Y"] * n, "ANL03FL": [None] * n + ["Y"] * n,
                         "PCHG": [None] * n + [float(i % 150 - 100) for i in range(n)],
                         "ADT": [start] * n + [start + timedelta(days=42)] * n, "ADY": [1] * n + [43] * n})
    return {"adsl": adsl, "adrs": adrs, "adtr": adtr}


def test_subject_figures_above_their_caps_draw_a_stated_subset():
    from pipeline.config import reports
    from pipeline.reports.build import _subject_figures

    caps = {"waterfall_max_subjects": 50, "swimmer_max_subjects": 40, "spider_max_subjects": 30}
    drawn = {stem: (caption, fig) for stem, _, caption, fig in _subject_figures(_many_subjects(300), {**reports(), **caps})}
    caption, fig = drawn["swimmer"]
    widths = [bar.get_width() for bar in _axes(fig, "swimmer").containers[0]]
    assert widths == pytest.approx([i / 7 for i in range(299, 259, -1)])  # the 40 longest lanes, longest first
    assert "Showing 40 of 300 subjects (the longest" in caption
    caption, fig = drawn["waterfall"]
    bars = [bar.get_height() for bar in _axes(fig, "waterfall").containers[0]]
    assert len(bars) == 50 and bars[0] == 49.0 and bars[-1] == -100.0  # largest increase .. largest decrease kept
    assert bars == sorted(bars, reverse=True) and "Showing 50 of 300 subjects" in caption
    caption, fig = drawn["spider"]
    assert len(_axes(fig, "spider").collections[0].get_segments()) == 30 and "Showing 30 of 300 subjects" in caption
    uncapped = {stem: caption for stem, _, caption, _ in _subject_figures(_many_subjects(30), {**reports(), **caps})}
    assert not any("Showing" in c for c in uncapped.values())
