"""The self-contained HTML analysis report (endpoints.md §0, §4, §5).

One file with inline CSS and the figures as base64 PNG ``data:`` URIs: no external URL, so it
can be mailed or archived as is. Sections are rendered from whichever endpoint tables exist
(a warehouse built from external SDTM without RS has no response tables): a missing table
leaves a note instead of its table. Every table states its N; percentages have 1 decimal;
NULL estimates show as "NE".

The tables arrive as polars frames exactly as ``pipeline.endpoints`` writes them (schema
``endpoints``, endpoints.md §5). Only presentation happens here: no statistic is computed.
Conventions of those tables: ``PCT`` in percent (100 × n / N); ``CI_LO``/``CI_HI`` of
``ep_binary`` and ``SURV``/``CI_*`` of ``ep_tte_rate`` as proportions. The subject count is
``n_subj`` where the table also has ``N`` (DuckDB column names are case-insensitive, so ``N``
and ``n`` cannot both be stored), else ``n``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

import polars as pl

from pipeline.reports.figure_data import RESPONSE_ORDER
from pipeline.reports.formatting import NE, fmt_count, fmt_n_pct, fmt_num, fmt_pct, fmt_range, is_missing

CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;font-size:13px;color:#222;max-width:1100px;margin:24px auto;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;border-bottom:2px solid #2166ac;padding-bottom:3px;margin-top:32px}
h3{font-size:15px;margin:20px 0 6px}table{border-collapse:collapse;margin:6px 0 14px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;vertical-align:top}
th{background:#eef3f8}td.l,th.l{text-align:left}td.pt{padding-left:22px}tr.soc td{font-weight:bold;background:#fafafa}
p.n{margin:2px 0;color:#444}p.note{color:#8a4b08;font-style:italic}figure{margin:10px 0 24px}
figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:12px;color:#444}
nav a{margin-right:14px}
"""

#: Display order and heading of the endpoint tables, per section. Tables of endpoints.md §5
#: get a note when absent; the optional extras (marked False) are just left out.
SECTIONS: tuple[tuple[str, str, tuple[tuple[str, str, bool], ...]], ...] = (
    ("efficacy", "Efficacy", (
        ("ep_binary", "Objective response, disease control and clinical benefit rates", True),
        ("ep_decision", "Primary hypothesis test", False),
        ("ep_bor_dist", "Best overall response", True),
        ("ep_tte", "Time-to-event endpoints", True),
        ("ep_tte_censor", "Events and censoring reasons", False),
        ("ep_tte_rate", "Kaplan–Meier landmark rates", True),
        ("ep_ttr", "Time to response", False),
        ("ep_historical", "Historical comparison", False),
    )),
    ("km", "Kaplan–Meier curves", ()),
    ("tumour", "Tumour response figures", ()),
    ("safety", "Safety", (
        ("ep_teae_overview", "Treatment-emergent adverse events: overview", True),
        ("ep_teae_soc_pt", "TEAEs by system organ class and preferred term (worst CTCAE grade)", True),
    )),
    ("lab", "Laboratory shifts", (
        ("ep_lab_shift", "Shift from baseline to worst on-treatment category", True),
        ("ep_lab_worst", "Worst on-treatment grade 3–4 abnormalities", False),
        ("ep_lab_visit", "Laboratory values by visit", False),
    )),
    ("exposure", "Exposure", (("ep_exposure", "Study drug exposure and dose intensity", True),)),
)
#: Display order of the time-to-event endpoints.
ENDPOINT_ORDER = ("PFS", "PFSNC", "OS", "DOR", "TTR")
KNOWN_TABLES = {name for _, _, tables in SECTIONS for name, _, _ in tables} | {"ep_km_curve", "ep_at_risk"}


def count_of(row: dict):
    """The subject count of a row: ``n_subj`` (tables with N) or ``n``."""
    return row["n_subj"] if "n_subj" in row else row.get("n")


@dataclass(frozen=True)
class TableSettings:
    """Presentation choices from ``config.reports()``: the one-sided level of the primary test
    (the decision column) and the CI transform listed first."""

    decision_alpha: float
    conftype: str


@dataclass(frozen=True)
class ReportFigure:
    """One figure of the report: its section (``km`` or ``tumour``), caption and PNG bytes."""

    section: str
    caption: str
    png: bytes


# ---------------------------------------------------------------------------------------------
# HTML building blocks


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1, row_classes: Sequence[str] | None = None) -> str:
    """An HTML table; the first ``left`` columns are left-aligned, cells are escaped."""
    head = "".join(f'<th class="l">{escape(h)}</th>' if i < left else f"<th>{escape(h)}</th>" for i, h in enumerate(header))
    body = []
    for r, row in enumerate(rows):
        cls = f' class="{row_classes[r]}"' if row_classes and row_classes[r] else ""
        cells = "".join(f'<td class="l">{escape(str(v))}</td>' if i < left else f"<td>{escape(str(v))}</td>" for i, v in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _n_line(frame: pl.DataFrame, populations: dict[str, int], default_population: str | None = None,
            tte: pl.DataFrame | None = None) -> str:
    """``N = ...`` of a table: per POPULATION when the table has N and POPULATION (a table of
    landmark rates takes N from ``ep_tte``), the single N when it has only N, else the analysis
    population's N from ADSL."""
    keys = ["ENDPOINT", "POPULATION"]
    if "N" in frame.columns:
        frame = frame.filter(pl.col("N").is_not_null())
    if "N" not in frame.columns and tte is not None and set(keys) <= set(frame.columns) and set(keys) <= set(tte.columns):
        frame = frame.join(tte.select(*keys, "N").unique(keys), on=keys, how="left")
    if {"N", "POPULATION"} <= set(frame.columns):
        by = ["POPULATION", "N"]
        groups = frame.group_by(by).agg(pl.col("ENDPOINT").unique().sort() if "ENDPOINT" in frame.columns else pl.len()).sort(by)
        several = {p for p, k in groups.group_by("POPULATION").len().rows() if k > 1}
        text = "; ".join(f"{p} N = {fmt_count(n)}" + (f" ({', '.join(e)})" if p in several and isinstance(e, list) else "")
                         for p, n, e in groups.rows())
    elif "N" in frame.columns:
        text = "N = " + ", ".join(fmt_count(n) for n in sorted(frame["N"].drop_nulls().unique().to_list()))
    elif default_population and default_population in populations:
        text = f"{default_population} N = {populations[default_population]}"
    else:
        text = "; ".join(f"{p} N = {n}" for p, n in populations.items())
    return f'<p class="n">{escape(text)}</p>'


def _generic_cell(column: str, value) -> str:
    if is_missing(value):
        return NE
    if isinstance(value, float):
        if column.upper().startswith("P_VALUE"):
            return fmt_num(value, 4)
        return fmt_num(value, 1 if column.upper().startswith("PCT") or column.endswith("_M") else 3)
    return str(value)


def generic_table(frame: pl.DataFrame) -> str:
    """Any endpoint table as it is stored (extra tables such as ``ep_ttr``)."""
    return _table(frame.columns, [[_generic_cell(c, v) for c, v in zip(frame.columns, row)] for row in frame.rows()],
                  left=sum(1 for dt in frame.dtypes if dt == pl.String) or 1)


# ---------------------------------------------------------------------------------------------
# One renderer per known table


def binary_rows(frame: pl.DataFrame, decision_alpha: float) -> tuple[list[str], list[list[str]]]:
    """Header and display rows of ep_binary: n (%), exact CI in %, the one-sided p-value of the
    primary test and its decision (shared by the HTML and the Dagster metadata)."""
    rows = []
    for r in frame.iter_rows(named=True):
        p = r.get("P_VALUE")
        decision = "" if is_missing(p) else ("H0 rejected" if p <= decision_alpha else "H0 not rejected")
        ci = fmt_range(None if is_missing(r["CI_LO"]) else 100 * r["CI_LO"], None if is_missing(r["CI_HI"]) else 100 * r["CI_HI"])
        rows.append([r["ENDPOINT"], r["POPULATION"], fmt_count(r["N"]), fmt_n_pct(count_of(r), r["PCT"]), f"{ci}%",
                     r.get("CI_METHOD") or "", "" if is_missing(r.get("H0")) else fmt_num(r.get("H0"), 2),
                     "" if is_missing(p) else fmt_num(p, 4), decision])
    header = ["Endpoint", "Population", "N", "n (%)", "95% CI", "CI method", "H0", "One-sided p", f"Decision (α = {decision_alpha:g})"]
    return header, rows


def binary_table(frame: pl.DataFrame, decision_alpha: float) -> str:
    header, rows = binary_rows(frame, decision_alpha)
    return _table(header, rows, left=2)


def bor_table(frame: pl.DataFrame) -> str:
    """ep_bor_dist: n (%) per response category in response order, per parameter and population."""
    order = {v: i for i, v in enumerate(RESPONSE_ORDER)}
    ordered = frame.with_columns(pl.col("AVALC").replace_strict(order, default=len(order)).alias("_o")).sort(
        ["PARAMCD", "POPULATION", "_o", "AVALC"])
    rows = [[r["PARAMCD"], r["POPULATION"], r["AVALC"], fmt_count(r["N"]), fmt_n_pct(count_of(r), r["PCT"])]
            for r in ordered.iter_rows(named=True)]
    return _table(["Parameter", "Population", "Response", "N", "n (%)"], rows, left=3)


def tte_order(frame: pl.DataFrame, conftype: str, extra: Sequence[str] = ()) -> pl.DataFrame:
    """Rows by endpoint (PFS, PFSNC, OS, DOR, others), population, ``extra`` keys, and the
    drawn CI transform before the other ones."""
    order = {e: i for i, e in enumerate(ENDPOINT_ORDER)}
    keys = [pl.col("ENDPOINT").replace_strict(order, default=len(order)), "ENDPOINT", "POPULATION", *extra]
    if "CONFTYPE" in frame.columns:
        keys += [pl.col("CONFTYPE") != conftype, "CONFTYPE"]
    return frame.sort(keys)


def tte_table(frame: pl.DataFrame, conftype: str) -> str:
    """ep_tte: events and censored n (%), median (95% CI) in months and days, CI transform."""
    rows = []
    for r in tte_order(frame, conftype).iter_rows(named=True):
        n = r["N"]
        pct = (lambda k: None if is_missing(k) or not n else 100 * k / n)
        rows.append([r["ENDPOINT"], r["POPULATION"], fmt_count(n), fmt_n_pct(r["N_EVENT"], pct(r["N_EVENT"])),
                     fmt_n_pct(r["N_CENS"], pct(r["N_CENS"])),
                     f"{fmt_num(r['MEDIAN_M'])} ({fmt_range(r['MEDIAN_LO_M'], r['MEDIAN_HI_M'])})",
                     f"{fmt_num(r['MEDIAN_D'], 0)} ({fmt_range(r['MEDIAN_LO_D'], r['MEDIAN_HI_D'], 0)})",
                     r.get("CONFTYPE") or ""])
    header = ["Endpoint", "Population", "N", "Events n (%)", "Censored n (%)", "Median (95% CI), months",
              "Median (95% CI), days", "CI transform"]
    return _table(header, rows, left=2)


def tte_rate_table(frame: pl.DataFrame, conftype: str) -> str:
    """ep_tte_rate: S(t) at the landmarks in % with the pointwise CI; NE beyond the data."""
    def pct(v):
        return None if is_missing(v) else 100 * v
    rows = [[r["ENDPOINT"], r["POPULATION"], fmt_num(r["LANDMARK_M"], 0),
             f"{fmt_pct(pct(r['SURV']))} ({fmt_range(pct(r['CI_LO']), pct(r['CI_HI']))})", r.get("CONFTYPE") or ""]
            for r in tte_order(frame, conftype, ["LANDMARK_M"]).iter_rows(named=True)]
    return _table(["Endpoint", "Population", "Landmark (months)", "Rate (95% CI)", "CI transform"], rows, left=2)


def teae_overview_table(frame: pl.DataFrame) -> str:
    ordered = frame.sort("ORD") if "ORD" in frame.columns else frame
    rows = [[r["CATEGORY"], fmt_n_pct(count_of(r), r["PCT"])] for r in ordered.iter_rows(named=True)]
    return _table(["Subjects with ≥ 1", "n (%)"], rows)


def soc_pt_table(frame: pl.DataFrame) -> str:
    """ep_teae_soc_pt: SOC rows (bold) followed by their PTs (indented), in the stored sort order."""
    rows, classes = [], []
    for r in frame.sort(["SORT_SOC", "SORT_PT"], nulls_last=False).iter_rows(named=True):
        is_soc = r["AEDECOD"] is None
        rows.append([r["AEBODSYS"] if is_soc else "· " + r["AEDECOD"], fmt_n_pct(r["n_any"], r["PCT_any"]),
                     *[fmt_count(r[f"n_g{g}"]) for g in range(1, 6)], fmt_n_pct(r["n_ge3"], r["PCT_ge3"])])
        classes.append("soc" if is_soc else "")
    return _table(["SOC / PT", "Any grade n (%)", "G1", "G2", "G3", "G4", "G5", "≥ G3 n (%)"], rows, row_classes=classes)


def lab_shift_tables(frame: pl.DataFrame) -> str:
    """ep_lab_shift: one baseline × worst on-treatment table per (TABLE,) PARAMCD and direction;
    cells n (% of the row total) in the stored category order, with the row total ROW_N."""
    keys = [c for c in ("TABLE", "PARAMCD", "DIRECTION") if c in frame.columns]
    base_order = ["BASE_ORD", "BASE_CAT"] if "BASE_ORD" in frame.columns else ["BASE_CAT"]
    post_order = ["POST_ORD", "POST_CAT"] if "POST_ORD" in frame.columns else ["POST_CAT"]
    data = frame.with_columns(pl.col("BASE_CAT").cast(pl.String).fill_null("missing"), pl.col("POST_CAT").cast(pl.String))
    parts = []
    for key, block in data.sort(keys).group_by(keys, maintain_order=True):
        posts = block.sort(post_order).select("POST_CAT").unique(maintain_order=True)["POST_CAT"].to_list()
        rows = []
        for base, cells in block.sort([*base_order, *post_order]).group_by("BASE_CAT", maintain_order=True):
            counts = dict(zip(cells["POST_CAT"].to_list(), cells["n"].to_list()))
            row_n = cells["ROW_N"][0]
            rows.append([base[0], fmt_count(row_n), *[
                fmt_n_pct(counts.get(p, 0), 100 * counts.get(p, 0) / row_n if row_n else None) for p in posts]])
        title = " ".join(str(k) for k in key[:-1]) + f" ({key[-1]})"
        parts.append(f"<h3>{escape(title)}</h3>" + _table(["Baseline", "Row N", *[f"Worst: {p}" for p in posts]], rows))
    return "".join(parts)


def _value(statistic, value) -> str:
    """A long-format statistic: counts as integers, percentages to 1 decimal, else 2 decimals."""
    if is_missing(value) or isinstance(value, str):
        return NE if is_missing(value) else value
    stat = str(statistic or "")
    if stat in ("N", "n"):
        return fmt_count(value)
    return fmt_num(value, 1 if "PCT" in stat.upper() or stat.endswith("%") else 2)


def exposure_table(frame: pl.DataFrame) -> str:
    """ep_exposure (long: DRUG, [PARAMETER, CATEGORY,] STATISTIC, VALUE) as stored."""
    labels = [c for c in ("DRUG", "PARAMETER", "CATEGORY", "STATISTIC") if c in frame.columns]
    rows = [[("" if is_missing(r[c]) else str(r[c])) for c in labels] + [_value(r["STATISTIC"], r["VALUE"])]
            for r in frame.iter_rows(named=True)]
    return _table([c.title() for c in labels] + ["Value"], rows, left=len(labels))


def historical_table(frame: pl.DataFrame) -> str:
    """ep_historical: this trial's estimates beside the protocol-cited comparators."""
    rows = [[r["STATISTIC"], r["SOURCE"], r.get("POPULATION") or "", fmt_count(r.get("N")) if "N" in r else "",
             f"{fmt_num(r['VALUE'])}" + (f" ({fmt_range(r.get('CI_LO'), r.get('CI_HI'))})" if not is_missing(r.get("CI_LO")) else ""),
             r.get("UNIT") or ""] for r in frame.iter_rows(named=True)]
    return _table(["Statistic", "Source", "Population", "N", "Value (95% CI)", "Unit"], rows, left=3)


def _renderers(settings: TableSettings) -> dict[str, tuple[Callable[[pl.DataFrame], str], str | None]]:
    """Table name -> (renderer, the population whose N a table without N reports)."""
    return {
        "ep_binary": (lambda f: binary_table(f, settings.decision_alpha), None),
        "ep_bor_dist": (bor_table, None),
        "ep_tte": (lambda f: tte_table(f, settings.conftype), None),
        "ep_tte_rate": (lambda f: tte_rate_table(f, settings.conftype), None),
        "ep_teae_overview": (teae_overview_table, None),
        "ep_teae_soc_pt": (soc_pt_table, None),
        "ep_lab_shift": (lab_shift_tables, "SAFFL"),
        "ep_exposure": (exposure_table, "SAFFL"),
        "ep_historical": (historical_table, None),
    }


def _subsets(frame: pl.DataFrame) -> list[tuple[str | None, pl.DataFrame]]:
    """A table with a SUBSET column is shown as one table per subset."""
    if "SUBSET" not in frame.columns:
        return [(None, frame)]
    return [(str(key[0]), part) for key, part in frame.group_by("SUBSET", maintain_order=True)]


def table_block(name: str, heading: str, tables: dict[str, pl.DataFrame], populations: dict[str, int],
                settings: TableSettings, required: bool = True) -> str:
    """Heading, N line and rendered table of ``name``; when the table does not exist a note
    (``required``) or nothing."""
    if name not in tables and not required:
        return ""
    if name not in tables:
        return (f"<h3>{escape(heading)}</h3><p class=\"note\">Not available: table endpoints.{escape(name)} "
                "does not exist in this warehouse (e.g. the source has no data for it).</p>")
    renderer, population = _renderers(settings).get(name, (generic_table, None))
    parts = [f"<h3>{escape(heading)}</h3>"]
    for subset, part in _subsets(tables[name]):
        if subset is not None:
            parts.append(f"<p class=\"n\"><b>{escape(subset)}</b></p>")
        parts.append(_n_line(part, populations, population, tables.get("ep_tte")))
        parts.append(renderer(part.drop("SUBSET") if subset is not None else part) if part.height else "<p class=\"note\">No rows.</p>")
    return "".join(parts)


def _figure(fig: ReportFigure) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    return (f'<figure><img alt="{escape(fig.caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{escape(fig.caption)}</figcaption></figure>")


def render_report(
    tables: dict[str, pl.DataFrame], figures: Sequence[ReportFigure], populations: dict[str, int], *,
    title: str, subtitle: str, settings: TableSettings,
) -> str:
    """The whole report as one HTML string: header with the analysis populations, then the
    sections of ``SECTIONS`` (tables that exist, notes for those that do not, figures), then
    any further endpoint table under "Additional tables"."""
    body = [f"<h1>{escape(title)}</h1><p>{escape(subtitle)}</p>",
            "<nav>" + "".join(f'<a href="#{sid}">{escape(h)}</a>' for sid, h, _ in SECTIONS) + "</nav>",
            "<h3>Analysis populations</h3>", _table(["Population", "N"], [[p, str(n)] for p, n in populations.items()])]
    for sid, heading, section_tables in SECTIONS:
        body.append(f'<h2 id="{sid}">{escape(heading)}</h2>')
        body.extend(table_block(name, sub, tables, populations, settings, required) for name, sub, required in section_tables)
        shown = [f for f in figures if f.section == sid]
        if sid in ("km", "tumour") and not shown:
            body.append('<p class="note">No figure: the data it needs are not in this warehouse.</p>')
        body.extend(_figure(f) for f in shown)
    extra = sorted(set(tables) - KNOWN_TABLES)
    if extra:
        body.append('<h2 id="additional">Additional tables</h2>')
        body.extend(table_block(name, name, tables, populations, settings) for name in extra)
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")
