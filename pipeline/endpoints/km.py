"""Kaplan-Meier estimation of our own (endpoints.md §2), vectorised in polars.

Why not lifelines: its median ignores the midpoint rule, its landmark carries the last value
forward past the largest observed time, and its at-risk table counts ``AVAL > tick`` on ties.
The estimator itself is simple enough to own; lifelines cross-checks it in the tests.

Conventions: events before censorings on ties (censored at ``t`` are at risk at ``t``);
Greenwood variance; pointwise CIs for the transforms LOGLOG (default), LOG and LINEAR.
Every function works on a frame with one row per subject (``time``, ``event`` 1/0) and
aggregates to one row per distinct time, so it scales to any trial size.
"""

from __future__ import annotations

import math

import polars as pl
from scipy.stats import norm

CONFTYPES = ("LOGLOG", "LOG", "LINEAR")
#: |S - 0.5| below this counts as exactly 0.5 (midpoint rule of the median)
HALF_TOL = 1e-12


def z_value(alpha: float = 0.05) -> float:
    """Two-sided normal quantile (1.959964 for alpha 0.05)."""
    return float(norm.ppf(1 - alpha / 2))


def km_table(data: pl.DataFrame, time: str = "AVAL", event: str = "EVENT") -> pl.DataFrame:
    """One row per distinct time: TIME_D, N_RISK, N_EVENT, N_CENS, SURV, GW_VAR.

    ``S(t) = prod(1 - d_i / n_i)``; ``GW_VAR`` = Greenwood sum ``sum d_i / (n_i (n_i - d_i))``
    (infinite once S reaches 0). Rows at censoring-only times carry S forward, so the table
    is also the step function for plotting (censor marks at N_CENS > 0).
    """
    n = data.height
    return (
        data.group_by(pl.col(time).cast(pl.Float64).alias("TIME_D"))
        .agg(pl.col(event).cast(pl.Int64).sum().alias("N_EVENT"), (1 - pl.col(event).cast(pl.Int64)).sum().alias("N_CENS"))
        .sort("TIME_D")
        .with_columns(
            (pl.lit(n) - (pl.col("N_EVENT") + pl.col("N_CENS")).cum_sum().shift(1, fill_value=0)).cast(pl.Int64).alias("N_RISK"))
        .with_columns(
            (1 - pl.col("N_EVENT") / pl.col("N_RISK")).cum_prod().alias("SURV"),
            pl.when(pl.col("N_RISK") > pl.col("N_EVENT"))
            .then(pl.col("N_EVENT") / (pl.col("N_RISK") * (pl.col("N_RISK") - pl.col("N_EVENT"))))
            .otherwise(float("inf")).cum_sum().alias("GW_VAR"))
        .select("TIME_D", "N_RISK", "N_EVENT", "N_CENS", "SURV", "GW_VAR")
    )


def ci_exprs(conftype: str, z: float) -> tuple[pl.Expr, pl.Expr]:
    """Pointwise CI bounds (CI_LO, CI_HI) of SURV for one transform; NULL where undefined.

    LOGLOG: ``theta = z sqrt(V) / ln S``, CI ``[S^exp(-theta), S^exp(theta)]`` sorted
    (undefined at S in {0, 1}); LOG: ``S exp(+-z sqrt(V))``, upper capped at 1 (undefined at
    S = 0); LINEAR: ``S +- z S sqrt(V)`` clipped to [0, 1] (undefined at S = 0).
    """
    s, se = pl.col("SURV"), pl.col("GW_VAR").sqrt()
    alive = (s > 0) & pl.col("GW_VAR").is_finite()
    if conftype == "LOGLOG":
        theta = z * se / s.log()
        a, b = s.pow((-theta).exp()), s.pow(theta.exp())
        ok = alive & (s < 1)
        lo, hi = pl.min_horizontal(a, b), pl.max_horizontal(a, b)
    elif conftype == "LOG":
        ok = alive
        lo, hi = s * (-z * se).exp(), pl.min_horizontal(s * (z * se).exp(), pl.lit(1.0))
    elif conftype == "LINEAR":
        ok = alive
        lo, hi = pl.max_horizontal(s - z * s * se, pl.lit(0.0)), pl.min_horizontal(s + z * s * se, pl.lit(1.0))
    else:
        raise ValueError(f"unknown CONFTYPE {conftype!r}; use one of {CONFTYPES}")
    return (pl.when(ok).then(lo).alias("CI_LO"), pl.when(ok).then(hi).alias("CI_HI"))


def with_ci(table: pl.DataFrame, conftype: str, z: float) -> pl.DataFrame:
    """``table`` (from :func:`km_table`) with CI_LO, CI_HI and CONFTYPE."""
    return table.with_columns(*ci_exprs(conftype, z), pl.lit(conftype).alias("CONFTYPE"))


def km_median(table: pl.DataFrame) -> float | None:
    """Smallest event time with S <= 0.5; midpoint ``(t_j + t_{j+1}) / 2`` when S = 0.5
    exactly on ``[t_j, t_{j+1})`` (t_{j+1} = next event time; t_j itself if no later event).
    None (NE) when S never reaches 0.5. Example: events at 10, 20, 30, 40 -> 25."""
    ev = table.filter(pl.col("N_EVENT") > 0)
    hit = ev.filter(pl.col("SURV") <= 0.5 + HALF_TOL)
    if hit.is_empty():
        return None
    t, s = hit["TIME_D"][0], hit["SURV"][0]
    if abs(s - 0.5) < HALF_TOL:
        later = ev.filter(pl.col("TIME_D") > t)["TIME_D"]
        return (t + later[0]) / 2 if later.len() else t
    return t


def median_ci(table_ci: pl.DataFrame) -> tuple[float | None, float | None]:
    """Brookmeyer-Crowley CI of the median: first event time whose lower band is <= 0.5, and
    first event time whose upper band is <= 0.5 (None = NE). A band undefined because S = 0
    counts as 0 (the curve has reached 0 there)."""
    ev = table_ci.filter(pl.col("N_EVENT") > 0)

    def first(col: str) -> float | None:
        band = pl.when(pl.col("SURV") <= 0).then(0.0).otherwise(pl.col(col))
        hit = ev.filter(band <= 0.5)["TIME_D"]
        return hit[0] if hit.len() else None

    return first("CI_LO"), first("CI_HI")


def landmark(table_ci: pl.DataFrame, t_star: float) -> tuple[float | None, float | None, float | None]:
    """S(t*) with its pointwise CI; all None (NE) when t* is beyond the largest observed time.
    Before the first time S = 1 (CI as the transform defines it at S = 1: NULL for LOGLOG)."""
    if table_ci.is_empty() or t_star > table_ci["TIME_D"].max():
        return None, None, None
    upto = table_ci.filter(pl.col("TIME_D") <= t_star)
    if upto.is_empty():
        return 1.0, None, None
    row = upto.row(-1, named=True)
    return row["SURV"], row["CI_LO"], row["CI_HI"]


def at_risk(data: pl.DataFrame, ticks_d: list[float], time: str = "AVAL", event: str = "EVENT") -> pl.DataFrame:
    """Number at risk at each tick (``time >= tick``, R/survminer convention) and cumulative
    events / censorings strictly before the tick, so N_RISK + CUM_EVENT + CUM_CENS = N.
    Returns TICK_D, N_RISK, CUM_EVENT, CUM_CENS."""
    ticks = pl.DataFrame({"TICK_D": [float(t) for t in ticks_d]})
    t, e = pl.col(time).cast(pl.Float64), pl.col(event).cast(pl.Int64)
    return ticks.join(data.select(t.alias("_t"), e.alias("_e")), how="cross").group_by("TICK_D").agg(
        (pl.col("_t") >= pl.col("TICK_D")).sum().cast(pl.Int64).alias("N_RISK"),
        ((pl.col("_t") < pl.col("TICK_D")) & (pl.col("_e") == 1)).sum().cast(pl.Int64).alias("CUM_EVENT"),
        ((pl.col("_t") < pl.col("TICK_D")) & (pl.col("_e") == 0)).sum().cast(pl.Int64).alias("CUM_CENS"),
    ).sort("TICK_D")


def tick_days(max_time: float, step_months: float, days_per_month: float) -> list[float]:
    """Ticks 0, step, 2 step, ... months (in days) up to the first tick at or past ``max_time``."""
    step = step_months * days_per_month
    return [k * step for k in range(int(math.ceil(max_time / step)) + 1)] if max_time > 0 else [0.0]


def reverse_km_median(data: pl.DataFrame, time: str = "AVAL", event: str = "EVENT") -> float | None:
    """Median follow-up by reverse KM: censorings are the events, events are censored.
    Example (endpoints.md §2, 12 subjects): S = 0.5 on [252, 365) -> 308.5 days."""
    flipped = data.with_columns((1 - pl.col(event).cast(pl.Int64)).alias(event))
    return km_median(km_table(flipped, time, event))
