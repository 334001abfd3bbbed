"""Binary efficacy endpoints (endpoints.md §1): ORR (confirmed, primary), unconfirmed ORR,
DCR, CBR with exact Clopper-Pearson CIs, the one-sided exact binomial test of the primary
hypothesis (trial.md §5) and the BOR / CBOR distributions.

Every subject of the population stays in the denominator: a subject without an ADRS
parameter record counts as MISSING (non-responder). ``PCT`` is in percent; ``CI_LO`` /
``CI_HI`` are proportions (0-1), as the spec's worked intervals are given.
"""

from __future__ import annotations

import polars as pl
from scipy.stats import binom, binomtest
from statsmodels.stats.proportion import proportion_confint

from pipeline.endpoints.populations import NUM, pct, population

CI_METHOD = "Clopper-Pearson"
#: ENDPOINT -> (ADRS PARAMCD, AVALC values counted as success, summarised for every efficacy
#: population (True) or the primary one only (False)) -- endpoints.md §1
BINARY_ENDPOINTS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "ORR": ("CBOR", ("CR", "PR"), True),
    "ORR_UNCONF": ("BOR", ("CR", "PR"), False),
    "DCR": ("CB", ("Y",), False),
    "CBR": ("CB24", ("Y",), False),
}
RESPONSE_CATEGORIES = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE", "MISSING")


def clopper_pearson(x: int, n: int, alpha: float = 0.05) -> tuple[float | None, float | None]:
    """Exact CI ``[Beta(a/2; x, n-x+1), Beta(1-a/2; x+1, n-x)]`` (0 at x = 0, 1 at x = n).
    Example: 3/20 -> (0.032071, 0.378927). None for n = 0."""
    if n == 0:
        return None, None
    lo, hi = proportion_confint(x, n, alpha=alpha, method="beta")
    return float(lo), float(hi)


def exact_p_greater(x: int, n: int, h0: float) -> float | None:
    """One-sided exact binomial p-value P(X >= x | n, h0). Example: 8/28 vs 0.15 -> 0.0486."""
    return float(binomtest(x, n, h0, alternative="greater").pvalue) if n else None


def critical_responders(n: int, h0: float, alpha: float) -> int | None:
    """Smallest x with P(X >= x | n, h0) <= alpha (8 for n = 28, h0 0.15, alpha 0.05)."""
    if n == 0:
        return None
    for x in range(n + 1):
        if binom.sf(x - 1, n, h0) <= alpha:
            return x
    return None


def subject_values(adrs: pl.DataFrame, subjects: pl.DataFrame, paramcd: str) -> pl.DataFrame:
    """USUBJID, AVALC of one ADRS parameter for every population subject (MISSING if absent)."""
    rows = adrs.filter(pl.col("PARAMCD") == paramcd).select(pl.col("USUBJID").cast(pl.String), "AVALC").unique("USUBJID", keep="first")
    return subjects.join(rows, on="USUBJID", how="left").with_columns(pl.col("AVALC").fill_null("MISSING"))


def binary_endpoints(adrs: pl.DataFrame, adsl: pl.DataFrame, *, populations: list[str], h0: float, alpha: float) -> pl.DataFrame:
    """``ep_binary``: ENDPOINT, POPULATION, N, n_subj, PCT, CI_LO, CI_HI, CI_METHOD,
    P_VALUE (ORR only), H0. ORR for every population, the others for the first (primary)."""
    rows = []
    for endpoint, (paramcd, success, all_pops) in BINARY_ENDPOINTS.items():
        for flag in populations if all_pops else populations[:1]:
            vals = subject_values(adrs, population(adsl, flag), paramcd)
            n, x = vals.height, int(vals["AVALC"].is_in(list(success)).sum())
            lo, hi = clopper_pearson(x, n, alpha)
            rows.append({
                "ENDPOINT": endpoint, "POPULATION": flag, "N": n, NUM: x, "CI_LO": lo, "CI_HI": hi,
                "CI_METHOD": CI_METHOD, "P_VALUE": exact_p_greater(x, n, h0) if endpoint == "ORR" else None,
                "H0": h0 if endpoint == "ORR" else None,
            })
    schema = {"ENDPOINT": pl.String, "POPULATION": pl.String, "N": pl.Int64, NUM: pl.Int64, "CI_LO": pl.Float64,
              "CI_HI": pl.Float64, "CI_METHOD": pl.String, "P_VALUE": pl.Float64, "H0": pl.Float64}
    out = pl.DataFrame(rows, schema=schema).with_columns(pct().alias("PCT"))
    return out.select("ENDPOINT", "POPULATION", "N", NUM, "PCT", "CI_LO", "CI_HI", "CI_METHOD", "P_VALUE", "H0")


def primary_decision(ep_binary: pl.DataFrame, *, population_flag: str, h0: float, alpha_one_sided: float,
                     n_planned: int, success_min_planned: int) -> pl.DataFrame:
    """``ep_decision``: the primary hypothesis test (trial.md §5) in one row.

    Rule: success if the one-sided exact p-value of confirmed ORR vs H0 is <= alpha, which for
    the planned N = 28 is the design rule ">= 8 responders". CRIT_RESP is the critical number
    of responders for the observed N (equal to the design's 8 when N = 28).
    """
    orr = ep_binary.filter((pl.col("ENDPOINT") == "ORR") & (pl.col("POPULATION") == population_flag))
    n, x, p = (orr.row(0, named=True)[k] for k in ("N", NUM, "P_VALUE")) if orr.height else (0, 0, None)
    return pl.DataFrame([{
        "ENDPOINT": "ORR", "POPULATION": population_flag, "N": n, NUM: x, "H0": h0, "ALPHA_ONE_SIDED": alpha_one_sided,
        "P_VALUE": p, "CRIT_RESP": critical_responders(n, h0, alpha_one_sided), "N_PLANNED": n_planned,
        "CRIT_RESP_PLANNED": success_min_planned,
        "SUCCESS": None if p is None else p <= alpha_one_sided,
    }], schema_overrides={"P_VALUE": pl.Float64, "CRIT_RESP": pl.Int64, "SUCCESS": pl.Boolean})


def response_distribution(adrs: pl.DataFrame, adsl: pl.DataFrame, *, populations: list[str]) -> pl.DataFrame:
    """``ep_bor_dist``: POPULATION, PARAMCD (CBOR, BOR), AVALC in :data:`RESPONSE_CATEGORIES`
    order (zero rows kept), N, n_subj, PCT. No record -> MISSING, kept in N."""
    cats = pl.DataFrame({"AVALC": list(RESPONSE_CATEGORIES), "_ORD": list(range(len(RESPONSE_CATEGORIES)))})
    parts = []
    for flag in populations:
        subjects = population(adsl, flag)
        for paramcd in ("CBOR", "BOR"):
            counts = subject_values(adrs, subjects, paramcd).group_by("AVALC").agg(pl.len().cast(pl.Int64).alias(NUM))
            parts.append(cats.join(counts, on="AVALC", how="full", coalesce=True).with_columns(
                pl.lit(flag).alias("POPULATION"), pl.lit(paramcd).alias("PARAMCD"),
                pl.lit(subjects.height, pl.Int64).alias("N"), pl.col(NUM).fill_null(0),
                pl.col("_ORD").fill_null(len(RESPONSE_CATEGORIES))))
    if not parts:
        return pl.DataFrame(schema={"POPULATION": pl.String, "PARAMCD": pl.String, "AVALC": pl.String, "N": pl.Int64, NUM: pl.Int64, "PCT": pl.Float64})
    return (pl.concat(parts).sort("POPULATION", "PARAMCD", "_ORD", "AVALC", descending=[False, True, False, False])
            .with_columns(pct().alias("PCT")).select("POPULATION", "PARAMCD", "AVALC", "N", NUM, "PCT"))
