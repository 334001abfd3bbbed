"""Time-to-event summaries (endpoints.md §2) from ADTTE: ``ep_tte``, ``ep_tte_rate``,
``ep_km_curve``, ``ep_at_risk``, ``ep_tte_censor`` and ``ep_ttr``.

Analysis set of an endpoint x population: the ADTTE records (``AVAL`` days, ``CNSR`` 0 =
event) of the population's subjects. DoR exists only for confirmed responders; it is
summarised when at least one DOR record exists. ``ep_km_curve`` starts with a row at time 0
(S = 1) so that it is the whole step function; censor marks are its rows with N_CENS > 0. Medians, CIs and landmark rates come from
:mod:`pipeline.endpoints.km`; every row carries the CI transform (``CONFTYPE``).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipeline.endpoints import km
from pipeline.endpoints.populations import NUM, pct, population

#: ENDPOINT -> populations it is summarised for (the first is the primary analysis, trial.md §4);
#: DOR records exist for confirmed responders only, so DOR x EFFFL = the EFFFL responders
TTE_POPULATIONS = {"PFS": ("EFFFL", "ITTFL"), "PFSNC": ("EFFFL",), "OS": ("ITTFL", "EFFFL"), "DOR": ("EFFFL",)}
FOLLOWUP_ENDPOINTS = ("OS",)


@dataclass(frozen=True)
class TteSettings:
    """Statistical settings from ``trial_config.yaml`` (``endpoints``)."""
    conftype: str
    conftypes: tuple[str, ...]
    landmarks_months: tuple[float, ...]
    tick_months: float
    days_per_month: float
    z: float

    @classmethod
    def from_config(cls, cfg: dict) -> "TteSettings":
        return cls(cfg["conftype"], tuple(cfg["conftypes"]), tuple(cfg["landmarks_months"]), cfg["at_risk_tick_months"],
                   cfg["days_per_month"], km.z_value(cfg["alpha"]))


def analysis_sets(adtte: pl.DataFrame, adsl: pl.DataFrame) -> list[tuple[str, str, pl.DataFrame]]:
    """(ENDPOINT, POPULATION, frame of USUBJID, AVAL, EVENT, CNSR, EVNTDESC, CNSDTDSC) for every
    endpoint x population with at least one record."""
    out = []
    tte = adtte.with_columns(pl.col("USUBJID").cast(pl.String), (pl.col("CNSR") == 0).cast(pl.Int64).alias("EVENT"))
    for endpoint, pops in TTE_POPULATIONS.items():
        recs = tte.filter((pl.col("PARAMCD") == endpoint) & pl.col("AVAL").is_not_null())
        for flag in pops:
            data = recs.join(population(adsl, flag), on="USUBJID", how="semi")
            if data.height:
                out.append((endpoint, flag, data))
    return out


def _months(cols: list[str], dpm: float) -> list[pl.Expr]:
    return [(pl.col(f"{c}_D") / dpm).alias(f"{c}_M") for c in cols]


def tte_summaries(adtte: pl.DataFrame, adsl: pl.DataFrame, s: TteSettings) -> dict[str, pl.DataFrame]:
    """All TTE tables; each empty (with its columns) when ADTTE has no usable record."""
    summary, rates, curves, risk, censor = [], [], [], [], []
    for endpoint, flag, data in analysis_sets(adtte, adsl):
        key = {"ENDPOINT": endpoint, "POPULATION": flag}
        table = km.km_table(data)
        n, n_event = data.height, int(data["EVENT"].sum())
        fu = km.reverse_km_median(data) if endpoint in FOLLOWUP_ENDPOINTS else None
        med = km.km_median(table)
        for ct in s.conftypes:
            tci = km.with_ci(table, ct, s.z)
            lo, hi = km.median_ci(tci)
            summary.append({**key, "N": n, "N_EVENT": n_event, "N_CENS": n - n_event, "MEDIAN_D": med, "MEDIAN_LO_D": lo,
                            "MEDIAN_HI_D": hi, "MEDIAN_FU_D": fu, "CONFTYPE": ct})
            for m in s.landmarks_months:
                sv, clo, chi = km.landmark(tci, m * s.days_per_month)
                rates.append({**key, "LANDMARK_M": float(m), "LANDMARK_D": m * s.days_per_month, "SURV": sv, "CI_LO": clo, "CI_HI": chi, "CONFTYPE": ct})
        start = pl.DataFrame([{"TIME_D": 0.0, "N_RISK": n, "N_EVENT": 0, "N_CENS": 0, "SURV": 1.0, "GW_VAR": 0.0}], schema=table.schema)
        curve = pl.concat([start, table]) if table["TIME_D"].min() > 0 else table
        curves.append(km.with_ci(curve, s.conftype, s.z).drop("GW_VAR").with_columns(
            pl.lit(endpoint).alias("ENDPOINT"), pl.lit(flag).alias("POPULATION")))
        ticks = km.tick_days(float(data["AVAL"].max()), s.tick_months, s.days_per_month)
        risk.append(km.at_risk(data, ticks).with_columns(pl.lit(endpoint).alias("ENDPOINT"), pl.lit(flag).alias("POPULATION")))
        censor.append(data.group_by("CNSR", "EVNTDESC", "CNSDTDSC").agg(pl.len().cast(pl.Int64).alias(NUM)).with_columns(
            pl.lit(endpoint).alias("ENDPOINT"), pl.lit(flag).alias("POPULATION"), pl.lit(n, pl.Int64).alias("N")))
    dpm = s.days_per_month
    return {
        "ep_tte": pl.DataFrame(summary, schema=TTE_SCHEMA).with_columns(
            pct("N_EVENT").alias("PCT_EVENT"), pct("N_CENS").alias("PCT_CENS"),
            *_months(["MEDIAN", "MEDIAN_LO", "MEDIAN_HI", "MEDIAN_FU"], dpm)).select(TTE_COLUMNS),
        "ep_tte_rate": pl.DataFrame(rates, schema=RATE_SCHEMA),
        "ep_km_curve": _stack(curves, CURVE_SCHEMA).with_columns((pl.col("TIME_D") / dpm).alias("TIME_M")).select(CURVE_COLUMNS),
        "ep_at_risk": _stack(risk, RISK_SCHEMA).with_columns((pl.col("TICK_D") / dpm).round(6).alias("TICK_M")).select(RISK_COLUMNS),
        "ep_tte_censor": _stack(censor, CENSOR_SCHEMA).with_columns(pct().alias("PCT")).sort("ENDPOINT", "POPULATION", "CNSR", "EVNTDESC", "CNSDTDSC")
        .select(CENSOR_COLUMNS),
    }


def ttr_summary(adtte: pl.DataFrame, adsl: pl.DataFrame, *, days_per_month: float, flag: str = "EFFFL") -> pl.DataFrame:
    """``ep_ttr``: time to confirmed response, descriptive only (n, median, min, max; days and
    months) over the population's TTR records (confirmed responders). Statistics NULL if n = 0."""
    ttr = adtte.filter(pl.col("PARAMCD") == "TTR").with_columns(pl.col("USUBJID").cast(pl.String)).join(population(adsl, flag), on="USUBJID", how="semi")
    aval = pl.col("AVAL").cast(pl.Float64)
    out = ttr.select(pl.len().cast(pl.Int64).alias("N"), aval.median().alias("MEDIAN_D"), aval.min().alias("MIN_D"), aval.max().alias("MAX_D"))
    return out.with_columns(pl.lit("TTR").alias("ENDPOINT"), pl.lit(flag).alias("POPULATION"),
                            *_months(["MEDIAN", "MIN", "MAX"], days_per_month)).select(
        "ENDPOINT", "POPULATION", "N", "MEDIAN_D", "MIN_D", "MAX_D", "MEDIAN_M", "MIN_M", "MAX_M")


def _stack(parts: list[pl.DataFrame], schema: dict) -> pl.DataFrame:
    return pl.concat([p.select(list(schema)).cast(schema) for p in parts]) if parts else pl.DataFrame(schema=schema)


KEY = {"ENDPOINT": pl.String, "POPULATION": pl.String}
TTE_SCHEMA = {**KEY, "N": pl.Int64, "N_EVENT": pl.Int64, "N_CENS": pl.Int64, "MEDIAN_D": pl.Float64, "MEDIAN_LO_D": pl.Float64,
              "MEDIAN_HI_D": pl.Float64, "MEDIAN_FU_D": pl.Float64, "CONFTYPE": pl.String}
TTE_COLUMNS = ["ENDPOINT", "POPULATION", "N", "N_EVENT", "N_CENS", "MEDIAN_D", "MEDIAN_LO_D", "MEDIAN_HI_D", "MEDIAN_M", "MEDIAN_LO_M",
               "MEDIAN_HI_M", "CONFTYPE", "PCT_EVENT", "PCT_CENS", "MEDIAN_FU_D", "MEDIAN_FU_M"]
RATE_SCHEMA = {**KEY, "LANDMARK_M": pl.Float64, "LANDMARK_D": pl.Float64, "SURV": pl.Float64, "CI_LO": pl.Float64, "CI_HI": pl.Float64,
               "CONFTYPE": pl.String}
CURVE_SCHEMA = {**KEY, "TIME_D": pl.Float64, "N_RISK": pl.Int64, "N_EVENT": pl.Int64, "N_CENS": pl.Int64, "SURV": pl.Float64,
                "CI_LO": pl.Float64, "CI_HI": pl.Float64, "CONFTYPE": pl.String}
CURVE_COLUMNS = ["ENDPOINT", "POPULATION", "TIME_D", "N_RISK", "N_EVENT", "N_CENS", "SURV", "CI_LO", "CI_HI", "CONFTYPE", "TIME_M"]
RISK_SCHEMA = {**KEY, "TICK_D": pl.Float64, "N_RISK": pl.Int64, "CUM_EVENT": pl.Int64, "CUM_CENS": pl.Int64}
RISK_COLUMNS = ["ENDPOINT", "POPULATION", "TICK_M", "N_RISK", "CUM_EVENT", "CUM_CENS", "TICK_D"]
CENSOR_SCHEMA = {**KEY, "CNSR": pl.Int64, "EVNTDESC": pl.String, "CNSDTDSC": pl.String, "N": pl.Int64, NUM: pl.Int64}
CENSOR_COLUMNS = ["ENDPOINT", "POPULATION", "CNSR", "EVNTDESC", "CNSDTDSC", "N", NUM, "PCT"]
