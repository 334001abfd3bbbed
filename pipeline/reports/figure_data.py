"""The data behind the subject-level figures (endpoints.md §4), prepared in polars from ADaM.

Each function returns one small frame per figure (one row per bar, or per plotted point), so
the drawing code in ``figures.py`` only maps columns to marks. All filtering, joining and
sorting happens here, vectorised, so a 100,000-subject trial costs a few joins.

Time axes are in weeks of study day: ``ADY / 7`` with ADY = date − TRTSDT + 1 (no day 0),
the same scale for the swimmer and the spider plot.
"""

from __future__ import annotations

from datetime import date

import polars as pl

#: Response categories in display order (best first); the legend and colour order.
RESPONSE_ORDER = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE", "MISSING")


def _param(adrs: pl.DataFrame, paramcd: str, value: str, name: str) -> pl.DataFrame:
    """``USUBJID, <name>``: AVALC of one subject-level ADRS parameter (``value`` = "AVALC") or
    its ADT where AVALC = Y (``value`` = "ADT")."""
    rows = adrs.filter(pl.col("PARAMCD") == paramcd)
    if value == "ADT":
        rows = rows.filter(pl.col("AVALC") == "Y")
    return rows.select("USUBJID", pl.col(value).alias(name)).unique("USUBJID", keep="first")


def _cbor(adsl: pl.DataFrame, adrs: pl.DataFrame) -> pl.DataFrame:
    """CBOR joined on ``adsl``; subjects without one are MISSING."""
    return adsl.join(_param(adrs, "CBOR", "AVALC", "CBOR"), on="USUBJID", how="left").with_columns(
        pl.col("CBOR").fill_null("MISSING")
    )


def _study_week(col: str) -> pl.Expr:
    """Weeks of study day of a date column relative to TRTSDT (no day 0)."""
    days = (pl.col(col) - pl.col("TRTSDT")).dt.total_days()
    return (pl.when(days >= 0).then(days + 1).otherwise(days) / 7.0).alias(f"{col}_WK")


def waterfall_data(adsl: pl.DataFrame, adtr: pl.DataFrame, adrs: pl.DataFrame, clip_pct: float) -> tuple[pl.DataFrame, int]:
    """Bars of the waterfall: one row per EFFFL subject with a best % change of SDIAM, and the
    number of EFFFL subjects without one (the footnote).

    Best % change = PCHG of the SDIAM record flagged ``ANL03FL`` (the ``ANL02FL`` choice
    restricted to ``ADT`` ≤ first PD and before new anticancer therapy, adam.md §7). Columns:
    ``USUBJID, SUBJID, PCHG, CBOR, BAR`` (PCHG capped at ``clip_pct``), ``CLIPPED``; sorted from
    the largest increase to the largest decrease (ties by USUBJID, for a stable order).
    """
    eff = adsl.filter(pl.col("EFFFL") == "Y").select("USUBJID", "SUBJID")
    best = adtr.filter((pl.col("PARAMCD") == "SDIAM") & (pl.col("ANL03FL") == "Y") & pl.col("PCHG").is_not_null())
    bars = (
        _cbor(eff, adrs)
        .join(best.select("USUBJID", "PCHG"), on="USUBJID", how="inner")
        .with_columns(
            pl.min_horizontal(pl.col("PCHG"), pl.lit(float(clip_pct))).alias("BAR"),
            (pl.col("PCHG") > clip_pct).alias("CLIPPED"),
        )
        .sort(["PCHG", "USUBJID"], descending=[True, False])
    )
    return bars, eff.height - bars.height


def swimmer_data(adsl: pl.DataFrame, adrs: pl.DataFrame, cutoff: date) -> pl.DataFrame:
    """Lanes of the swimmer plot: one row per SAFFL subject.

    ``TRT_WK`` = TRTDURD / 7 (the bar); ``END_WK`` = study week of death, else of the last
    known alive date capped at the data cut-off (the thin extension); event weeks
    ``RESP_WK`` (first response of a confirmed pair, ADRS CRSP ADT), ``PD_WK`` (ADRS PD ADT),
    ``DTH_WK``; ``ONGOING`` when the subject is alive and still on study at DCO (EOSSTT
    ONGOING). Sorted by total length, longest first (ties by USUBJID).
    """
    saf = adsl.filter(pl.col("SAFFL") == "Y").select(
        "USUBJID", "SUBJID", "TRTSDT", "TRTDURD", "DTHDT", "LSTALVDT", "EOSSTT"
    )
    cut = pl.lit(cutoff, dtype=pl.Date)
    lanes = (
        _cbor(saf, adrs)
        .join(_param(adrs, "CRSP", "ADT", "RESPDT"), on="USUBJID", how="left")
        .join(_param(adrs, "PD", "ADT", "PDDT"), on="USUBJID", how="left")
        .with_columns(
            pl.coalesce(pl.col("DTHDT"), pl.min_horizontal(pl.col("LSTALVDT"), cut)).alias("ENDDT"),
            (pl.col("TRTDURD").fill_null(0) / 7.0).alias("TRT_WK"),
            (pl.col("DTHDT").is_null() & (pl.col("EOSSTT") == "ONGOING")).alias("ONGOING"),
        )
        .with_columns(_study_week("ENDDT"), _study_week("RESPDT"), _study_week("PDDT"), _study_week("DTHDT"))
        .with_columns(pl.max_horizontal("TRT_WK", "ENDDT_WK").alias("END_WK"))
        .rename({"RESPDT_WK": "RESP_WK", "PDDT_WK": "PD_WK", "DTHDT_WK": "DTH_WK"})
        .sort(["END_WK", "USUBJID"], descending=[True, False])
    )
    return lanes.select("USUBJID", "SUBJID", "CBOR", "TRT_WK", "END_WK", "RESP_WK", "PD_WK", "DTH_WK", "ONGOING")


def spider_data(adsl: pl.DataFrame, adtr: pl.DataFrame, adrs: pl.DataFrame) -> pl.DataFrame:
    """Points of the spider plot: per EFFFL subject with a post-baseline SDIAM, the baseline at
    (week 0, 0%) followed by the ``ANL01FL`` SDIAM records after baseline up to and including
    the first PD (ADRS PD ADT); ``WEEK = ADY / 7``. Columns ``USUBJID, CBOR, WEEK, PCHG``
    sorted by subject and week."""
    eff = _cbor(adsl.filter(pl.col("EFFFL") == "Y").select("USUBJID"), adrs)
    sdiam = adtr.filter(pl.col("PARAMCD") == "SDIAM")
    base = sdiam.filter(pl.col("ABLFL") == "Y").select("USUBJID", pl.col("ADT").alias("BASEDT"))
    post = (
        sdiam.filter((pl.col("ANL01FL") == "Y") & pl.col("PCHG").is_not_null())
        .join(base, on="USUBJID", how="inner")
        .join(_param(adrs, "PD", "ADT", "PDDT"), on="USUBJID", how="left")
        .filter((pl.col("ADT") > pl.col("BASEDT")) & (pl.col("PDDT").is_null() | (pl.col("ADT") <= pl.col("PDDT"))))
        .join(eff, on="USUBJID", how="inner")
        .select("USUBJID", "CBOR", (pl.col("ADY") / 7.0).alias("WEEK"), pl.col("PCHG").cast(pl.Float64))
    )
    origin = post.select("USUBJID", "CBOR").unique().with_columns(pl.lit(0.0).alias("WEEK"), pl.lit(0.0).alias("PCHG"))
    return pl.concat([origin, post]).sort(["USUBJID", "WEEK"])


def spread_subjects(frame: pl.DataFrame, max_subjects: int) -> pl.DataFrame:
    """The rows of at most ``max_subjects`` subjects, evenly spaced in the frame's order (the
    first and the last included), so a capped waterfall keeps the shape of the distribution
    and a capped spider plot a deterministic cross-section; the frame unchanged when it holds
    fewer subjects."""
    subjects = frame.select("USUBJID").unique(maintain_order=True)
    m = subjects.height
    if m <= max_subjects:
        return frame
    step = (m - 1) / max(max_subjects - 1, 1)
    picks = (pl.int_range(0, max_subjects, eager=True).cast(pl.Float64) * step).round().cast(pl.Int64).unique(maintain_order=True)
    return frame.join(subjects[picks], on="USUBJID", how="semi")
