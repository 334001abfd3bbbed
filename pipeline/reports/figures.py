"""The figures of endpoints.md §4: Kaplan–Meier, waterfall, swimmer and spider plots.

Drawing only: the KM figure takes the rows of the endpoint tables (``ep_km_curve``,
``ep_at_risk``, ``ep_tte``) as computed by ``pipeline.endpoints``; the subject-level figures
take the frames of ``figure_data``. No statistic is computed here.

Every figure is a plain ``matplotlib.figure.Figure`` (Agg canvas, no pyplot global state) and
is returned, so tests can read the drawn artists. ``save_figure`` writes one PNG and one SVG
byte-identical for identical input: fixed font, size and dpi, a fixed ``svg.hashsalt`` for
the SVG element ids, and no date or software version in the file metadata.
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import polars as pl
from PIL import Image
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from pipeline.reports.figure_data import RESPONSE_ORDER
from pipeline.reports.formatting import fmt_count, fmt_num

matplotlib.use("Agg")

#: rcParams every figure is drawn and saved under (fonts ship with matplotlib).
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "svg.hashsalt": "trialwh-report",
    "svg.fonttype": "path",
    "path.simplify": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
}

#: Colour of each response category (colour-blind-safe diverging palette).
RESPONSE_COLOURS = {
    "CR": "#1b7837", "PR": "#5aae61", "SD": "#4393c3", "NON-CR/NON-PD": "#92c5de",
    "PD": "#d6604d", "NE": "#878787", "MISSING": "#c7c7c7",
}
KM_COLOUR = "#2166ac"
#: Above this many subjects the swimmer lanes carry no subject label (unreadable anyway).
MAX_LABELLED_LANES = 200
#: The columns of ep_km_curve a KM figure draws.
CURVE_SCHEMA = {"TIME_D": pl.Float64, "N_CENS": pl.Int64, "SURV": pl.Float64, "CI_LO": pl.Float64, "CI_HI": pl.Float64}


@contextmanager
def _style():
    with matplotlib.rc_context(STYLE):
        yield


@dataclass(frozen=True)
class FigureFiles:
    png: Path
    svg: Path


def save_figure(fig: Figure, folder: Path, stem: str, dpi: int) -> FigureFiles:
    """``<stem>.png`` and ``<stem>.svg`` in ``folder``, deterministic byte for byte."""
    folder.mkdir(parents=True, exist_ok=True)
    files = FigureFiles(folder / f"{stem}.png", folder / f"{stem}.svg")
    with _style():
        fig.savefig(files.png, format="png", dpi=dpi, metadata={"Software": None})
        fig.savefig(files.svg, format="svg", metadata={"Date": None, "Creator": None})
    return files


def thumbnail_png(png: Path, scale: float) -> bytes:
    """PNG bytes of the image in ``png`` scaled by ``scale`` (for Dagster metadata).

    Why scaled, not drawn again at a lower dpi: drawing is most of a figure's cost (about 0.15 s
    each here), and the UI shows two thumbnails, of nine figures on the default trial."""
    with Image.open(png) as image:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        buf = io.BytesIO()
        image.resize(size, Image.Resampling.LANCZOS).save(buf, format="PNG")
    return buf.getvalue()


def _response_legend(ax, categories: pl.Series, extra=(), outside: bool = False) -> None:
    """Legend of the CBOR colours present (in response order) and of ``extra`` handles."""
    seen = set(categories.unique().to_list())
    present = [c for c in RESPONSE_ORDER if c in seen]
    handles = [Patch(facecolor=RESPONSE_COLOURS[c], label=c) for c in present] + list(extra)
    where = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0)} if outside else {"loc": "upper right"}
    ax.legend(handles=handles, title="Confirmed BOR", fontsize=7, title_fontsize=7, frameon=False, **where)


def _colours(categories: pl.Series) -> list[str]:
    """The response colour of every row (MISSING's for an unknown category)."""
    return categories.replace_strict(RESPONSE_COLOURS, default=RESPONSE_COLOURS["MISSING"], return_dtype=pl.String).to_list()


def _reference_lines(ax, reference_pct) -> None:
    for ref in reference_pct:
        ax.axhline(ref, color="black", linestyle="--", linewidth=0.8, label=f"{ref:+g}%")
    ax.axhline(0, color="black", linewidth=0.6)


# ---------------------------------------------------------------------------------------------
# Kaplan–Meier


def km_rows(frame: pl.DataFrame, endpoint: str, population: str, conftype: str | None) -> pl.DataFrame:
    """The rows of one endpoint and population; one CI transform when the table stores several."""
    rows = frame.filter((pl.col("ENDPOINT") == endpoint) & (pl.col("POPULATION") == population))
    if conftype and "CONFTYPE" in rows.columns:
        rows = rows.filter(pl.col("CONFTYPE") == conftype)
    return rows


def km_legend(tte: dict) -> str:
    """``median X.X (95% CI a.a–b.b) months; events e/N`` ("NE" for NULL)."""
    return (
        f"median {fmt_num(tte.get('MEDIAN_M'))} (95% CI {fmt_num(tte.get('MEDIAN_LO_M'))}–"
        f"{fmt_num(tte.get('MEDIAN_HI_M'))}) months; events {fmt_count(tte.get('N_EVENT'))}/{fmt_count(tte.get('N'))}"
    )


def km_figure(
    curve: pl.DataFrame, at_risk: pl.DataFrame, tte: pl.DataFrame | None, *, endpoint: str, population: str,
    days_per_month: float, conftype: str | None = None, ci_band: bool = True,
) -> Figure:
    """Step function of S(t) against months for one ENDPOINT/POPULATION of ``ep_km_curve``,
    with "+" at censored times, the optional pointwise CI band, the ``ep_tte`` median in the
    legend (when ``tte`` is given), and the ``ep_at_risk`` counts under the x axis at every
    tick (x ticks = the at-risk ticks, every 3 months). Axes labels: ``km`` (curve) and
    ``at_risk`` (table)."""
    rows = km_rows(curve, endpoint, population, conftype).sort("TIME_D")
    risk = km_rows(at_risk, endpoint, population, None).sort("TICK_M")
    summary = km_rows(tte, endpoint, population, conftype) if tte is not None else pl.DataFrame()
    rows = rows.select(list(CURVE_SCHEMA)).cast(CURVE_SCHEMA)
    if rows.is_empty() or rows["TIME_D"][0] > 0:  # the step function starts at S(0) = 1, stored or not
        rows = pl.concat([pl.DataFrame([(0.0, 0, 1.0, 1.0, 1.0)], schema=CURVE_SCHEMA, orient="row"), rows])
    x = (rows["TIME_D"] / days_per_month).to_list()
    surv = rows["SURV"].to_list()
    ticks = risk["TICK_M"].cast(pl.Float64).to_list()
    x_max = max([*ticks, *x])
    with _style():
        fig = Figure(figsize=(7.5, 5.2), dpi=100)
        grid = fig.add_gridspec(2, 1, height_ratios=[4.2, 0.8], hspace=0.3, left=0.09, right=0.98, top=0.93, bottom=0.03)
        ax = fig.add_subplot(grid[0])
        ax.set_label("km")
        label = f"{endpoint} ({population}): " + km_legend(summary.row(0, named=True) if summary.height else {})
        ax.step(x, surv, where="post", color=KM_COLOUR, linewidth=1.6, label=label)
        if ci_band:
            lo = rows["CI_LO"].fill_null(float("nan")).to_list()
            hi = rows["CI_HI"].fill_null(float("nan")).to_list()
            ax.fill_between(x, lo, hi, step="post", color=KM_COLOUR, alpha=0.15, linewidth=0,
                            label="95% pointwise CI" + (f" ({conftype.lower().replace('loglog', 'log-log')})" if conftype else ""))
        cens = rows.filter(pl.col("N_CENS") > 0)
        ax.plot((cens["TIME_D"] / days_per_month).to_list(), cens["SURV"].to_list(), linestyle="none",
                marker="+", markersize=9, markeredgewidth=1.3, color=KM_COLOUR, label="censored")
        ax.set_xlim(0, x_max)
        ax.set_ylim(0, 1.02)
        ax.set_xticks(ticks)
        ax.set_xticklabels([fmt_num(t, 0) for t in ticks])
        ax.set_xlabel("Months")
        ax.set_ylabel("Survival probability")
        ax.set_title(f"Kaplan–Meier estimate of {endpoint} ({population})", loc="left")
        ax.legend(loc="upper right", fontsize=7.5, frameon=False)
        table = fig.add_subplot(grid[1], sharex=ax)
        table.set_label("at_risk")
        table.set_title("Number at risk", loc="left", fontsize=8)
        for tick, n in zip(ticks, risk["N_RISK"].to_list()):
            table.text(tick, 0.5, fmt_count(n), ha="center", va="center", fontsize=8)
        table.set_ylim(0, 1)
        table.set_yticks([])
        table.tick_params(axis="x", labelbottom=False, length=0)
        for side in ("left", "bottom"):
            table.spines[side].set_visible(False)
    return fig


# ---------------------------------------------------------------------------------------------
# Subject-level figures


def waterfall_figure(bars: pl.DataFrame, n_without: int, *, reference_pct, clip_pct: float) -> Figure:
    """One bar per subject of ``figure_data.waterfall_data`` in its order (largest increase
    left), coloured by CBOR; dashed lines at the reference percentages; bars clipped at
    ``clip_pct`` carry a "^" marker; footnote with the subjects without a post-baseline SDIAM."""
    n = bars.height
    with _style():
        fig = Figure(figsize=(8, 4.8), dpi=100)
        ax = fig.add_subplot()
        ax.set_label("waterfall")
        ax.bar(range(n), bars["BAR"].to_list(), color=_colours(bars["CBOR"]), width=0.8)
        clipped = bars.with_row_index("X").filter(pl.col("CLIPPED"))["X"].to_list()
        marker = Line2D([], [], linestyle="none", marker="^", color="black", label=f"> {clip_pct:g}% (clipped)")
        if clipped:
            ax.plot(clipped, [clip_pct] * len(clipped), linestyle="none", marker="^", color="black", markersize=6)
        _reference_lines(ax, reference_pct)
        low = min(-100.0, bars["BAR"].min() or 0.0)
        ax.set_ylim(low - 5, clip_pct + 15)
        ax.set_xlim(-0.8, max(n, 1) - 0.2)
        ax.set_xticks([])
        ax.set_xlabel(f"Subjects (EFFFL with a best % change, n = {n})")
        ax.set_ylabel("Best % change from baseline in SDIAM")
        ax.set_title("Best percentage change in the sum of target-lesion diameters", loc="left")
        _response_legend(ax, bars["CBOR"], extra=[marker] if clipped else [])
        fig.text(0.01, 0.01, f"{n_without} EFFFL subject(s) without a post-baseline SDIAM (before PD / new therapy) not shown.",
                 fontsize=7, ha="left", va="bottom")
        fig.subplots_adjust(bottom=0.14)
    return fig


def swimmer_figure(lanes: pl.DataFrame) -> Figure:
    """One lane per subject of ``figure_data.swimmer_data`` (longest at the top): bar = time
    on treatment, thin line to death or last known alive/DCO, markers for the first
    response, PD and death, and an arrow when the subject is on study at DCO."""
    n = lanes.height
    lanes = lanes.with_columns((n - 1 - pl.int_range(n)).alias("Y"))  # the first lane at the top
    y = lanes["Y"].to_list()

    def at(column: str, keep: pl.Expr) -> tuple[list, list]:
        rows = lanes.filter(keep)
        return rows[column].to_list(), rows["Y"].to_list()

    with _style():
        fig = Figure(figsize=(9, min(max(3.0, 0.22 * n + 1.5), 60.0)), dpi=100)
        ax = fig.add_subplot()
        ax.set_label("swimmer")
        ax.barh(y, lanes["TRT_WK"].to_list(), color=_colours(lanes["CBOR"]), height=0.7)
        ax.hlines(y, lanes["TRT_WK"].to_list(), lanes["END_WK"].to_list(), color="#555555", linewidth=0.8)
        markers = (("RESP_WK", pl.col("RESP_WK").is_not_null(), "o", "#1b7837", "first response (confirmed)"),
                   ("PD_WK", pl.col("PD_WK").is_not_null(), "s", "#b2182b", "PD"),
                   ("DTH_WK", pl.col("DTH_WK").is_not_null(), "X", "black", "death"),
                   ("END_WK", pl.col("ONGOING"), ">", "#555555", "on study at DCO"))
        handles = []
        for column, keep, marker, colour, label in markers:
            ax.plot(*at(column, keep), linestyle="none", marker=marker, color=colour, markersize=5, label=label)
            handles.append(Line2D([], [], linestyle="none", marker=marker, color=colour, label=label))
        if n <= MAX_LABELLED_LANES:
            ax.set_yticks(y)
            ax.set_yticklabels(lanes["SUBJID"].to_list(), fontsize=6)
        else:
            ax.set_yticks([])
        ax.set_ylim(-1, n)
        ax.set_xlim(0, max(1.0, lanes["END_WK"].max() or 0.0) * 1.05)
        ax.set_xlabel("Weeks since first dose (bar: on treatment; line: follow-up)")
        ax.set_title("Time on treatment and follow-up (SAFFL)", loc="left")
        _response_legend(ax, lanes["CBOR"], extra=handles, outside=True)
        fig.subplots_adjust(left=0.08, right=0.74, top=0.95, bottom=0.08)
    return fig


def spider_figure(points: pl.DataFrame, *, reference_pct) -> Figure:
    """One line per subject of ``figure_data.spider_data`` (% change of SDIAM against weeks,
    from 0% at baseline to the first PD), coloured by CBOR, with the reference lines. The
    lines are one ``LineCollection`` (label ``subjects``), so a large trial stays one artist."""
    paths = points.group_by("USUBJID", maintain_order=True).agg(pl.col("CBOR").first(), pl.col("WEEK"), pl.col("PCHG"))
    segments = [list(zip(w, p)) for w, p in zip(paths["WEEK"].to_list(), paths["PCHG"].to_list())]
    with _style():
        fig = Figure(figsize=(8, 4.8), dpi=100)
        ax = fig.add_subplot()
        ax.set_label("spider")
        lines = LineCollection(segments, colors=_colours(paths["CBOR"]), linewidths=1.2, label="subjects")
        ax.add_collection(lines)
        ax.scatter(points["WEEK"].to_list(), points["PCHG"].to_list(), s=6, c=_colours(points["CBOR"]), zorder=3)
        _reference_lines(ax, reference_pct)
        ax.set_xlim(0, (points["WEEK"].max() or 1.0) * 1.05 + 1)
        ax.set_ylim(min(-100.0, points["PCHG"].min() or 0.0) - 5, max(40.0, points["PCHG"].max() or 0.0) + 10)
        ax.set_xlabel("Weeks since first dose (ADY / 7)")
        ax.set_ylabel("% change from baseline in SDIAM")
        ax.set_title("Change in tumour burden over time (EFFFL, up to first PD)", loc="left")
        _response_legend(ax, paths["CBOR"])
    return fig
