"""Build the analysis report of one run: figures (PNG + SVG) and ``report.html`` in a folder.

Input: the endpoint tables that exist (name -> polars frame, endpoints.md §5) and the ADaM
frames the subject-level figures need (``adsl``, and ``adrs``/``adtr`` when present). Every
figure whose inputs are missing is skipped, so a warehouse from external SDTM without RS or
TR still gets a report with the sections it can fill.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline import config
from pipeline.endpoints import populations as endpoint_populations
from pipeline.reports import figure_data, figures
from pipeline.reports.html import ReportFigure, TableSettings, render_report, tte_order

POPULATION_FLAGS = ("ITTFL", "EFFFL", "SAFFL")


@dataclass
class ReportOutput:
    """What a report build wrote: the HTML and every figure's files."""

    html: Path
    figures: dict[str, figures.FigureFiles] = field(default_factory=dict)

    def thumbnail(self, stem: str) -> bytes:
        """PNG of figure ``stem`` at ``reports.thumbnail_dpi`` (for the Dagster UI), scaled
        from its ``reports.dpi`` PNG."""
        settings = config.reports()
        return figures.thumbnail_png(self.figures[stem].png, settings["thumbnail_dpi"] / settings["dpi"])


def populations(adsl: pl.DataFrame) -> dict[str, int]:
    """N of each analysis population (subjects with the flag = Y)."""
    return {flag: endpoint_populations.population(adsl, flag).height for flag in POPULATION_FLAGS if flag in adsl.columns}


def km_panels(tables: dict[str, pl.DataFrame], min_subjects: dict[str, int]) -> list[tuple[str, str]]:
    """(ENDPOINT, POPULATION) pairs of ``ep_km_curve`` to draw, in a stable order; an endpoint
    with a minimum (DoR: ≥ 5 responders) is drawn only when its ``ep_tte`` N reaches it."""
    if not {"ep_km_curve", "ep_at_risk"} <= set(tables):
        return []
    pairs = tte_order(tables["ep_km_curve"].select("ENDPOINT", "POPULATION").unique(), "").rows()
    tte = tables.get("ep_tte")
    keep = []
    for endpoint, population in pairs:
        need = min_subjects.get(endpoint, 0)
        if need and tte is not None:
            n = tte.filter((pl.col("ENDPOINT") == endpoint) & (pl.col("POPULATION") == population))["N"].max()
            if n is None or n < need:
                continue
        keep.append((endpoint, population))
    return keep


def _cap_note(shown: int, total: int, how: str) -> str:
    """Caption addition when a figure shows fewer subjects than it has (empty otherwise)."""
    return f" Showing {shown} of {total} subjects ({how}; reports cap in the trial configuration)." if shown < total else ""


def _subject_figures(adam: dict[str, pl.DataFrame], settings: dict):
    """(stem, section, caption, Figure) of the waterfall, swimmer and spider plots the ADaM
    datasets allow. Above the ``*_max_subjects`` caps of the ``reports`` settings a figure
    draws a subset (said in its caption): the swimmer the longest lanes, the waterfall and
    the spider plot subjects evenly spaced in their order, so one mark per subject stays
    readable and fast at 100,000 subjects."""
    adsl, adrs, adtr = adam.get("adsl"), adam.get("adrs"), adam.get("adtr")
    refs = settings["reference_lines_pct"]
    clip = settings["waterfall_clip_pct"]
    if adsl is None or adrs is None:
        return
    if adtr is not None:
        bars, n_without = figure_data.waterfall_data(adsl, adtr, adrs, clip)
        shown = figure_data.spread_subjects(bars, settings["waterfall_max_subjects"])
        yield ("waterfall", "tumour",
               f"Waterfall: best % change in SDIAM per EFFFL subject (n = {bars.height}; {n_without} without a "
               f"post-baseline SDIAM); dashed lines {', '.join(f'{r:+g}%' for r in refs)}; bars above +{clip:g}% clipped."
               + _cap_note(shown.height, bars.height, "evenly spaced in sorted order"),
               figures.waterfall_figure(shown, n_without, reference_pct=refs, clip_pct=clip))
    lanes = figure_data.swimmer_data(adsl, adrs, config.data_cutoff())
    shown = lanes.head(settings["swimmer_max_subjects"])
    yield ("swimmer", "tumour", f"Swimmer: time on treatment and follow-up per SAFFL subject (N = {lanes.height})."
           + _cap_note(shown.height, lanes.height, "the longest"),
           figures.swimmer_figure(shown))
    if adtr is not None:
        points = figure_data.spider_data(adsl, adtr, adrs)
        n_subjects = points["USUBJID"].n_unique()
        shown = figure_data.spread_subjects(points, settings["spider_max_subjects"])
        yield ("spider", "tumour",
               f"Spider: % change in SDIAM over time per EFFFL subject up to first PD (n = {n_subjects})."
               + _cap_note(shown["USUBJID"].n_unique(), n_subjects, "evenly spaced by USUBJID"),
               figures.spider_figure(shown, reference_pct=refs))


def build_report(tables: dict[str, pl.DataFrame], adam: dict[str, pl.DataFrame], out_dir: Path, *, subtitle: str) -> ReportOutput:
    """Write every available figure and ``report.html`` into ``out_dir``."""
    settings = config.reports()
    stats = config.endpoints()  # one home for the month length, the CI transform and the test level
    trial = config.trial()
    out_dir.mkdir(parents=True, exist_ok=True)
    output = ReportOutput(html=out_dir / "report.html")
    drawn: list[tuple[str, str, str, object]] = []
    for endpoint, population in km_panels(tables, settings["km_min_subjects"]):
        fig = figures.km_figure(
            tables["ep_km_curve"], tables["ep_at_risk"], tables.get("ep_tte"), endpoint=endpoint, population=population,
            days_per_month=stats["days_per_month"], conftype=stats["conftype"], ci_band=settings["km_ci_band"],
        )
        drawn.append((f"km_{endpoint}_{population}".lower(), "km",
                      f"Kaplan–Meier estimate of {endpoint} ({population}) with the number at risk at every x tick.", fig))
    drawn.extend(_subject_figures(adam, settings))
    report_figures = []
    for stem, section, caption, fig in drawn:
        output.figures[stem] = figures.save_figure(fig, out_dir, stem, settings["dpi"])
        report_figures.append(ReportFigure(section, caption, output.figures[stem].png.read_bytes()))
    html = render_report(
        tables, report_figures, populations(adam["adsl"]) if "adsl" in adam else {},
        title=f"{trial['studyid']}: {trial['title']}", subtitle=subtitle,
        settings=TableSettings(decision_alpha=stats["design"]["alpha_one_sided"], conftype=stats["conftype"]),
    )
    output.html.write_text(html, encoding="utf-8")
    return output
