"""Endpoint tables shaped as endpoints.md §5, holding the spec's worked examples.

The report code takes these tables as ``pipeline.endpoints`` writes them (subject counts in
``n_subj`` beside ``N``, since DuckDB column names are case-insensitive; SUBSET, TABLE and
order columns as extras); here they are built by hand so the figures and the HTML can be
tested on known numbers: the 12-subject KM example of §2 (S(t) as exact fractions, log-log
CIs as printed there), the 8/28 primary ORR of §1, and the N = 5 safety example of §3.
"""

import polars as pl

DAYS_PER_MONTH = 30.4375

# (time, n at risk, events, censored, S(t), log-log CI) of the §2 example, every distinct time
_KM = [
    (35, 12, 1, 0, 11 / 12, 0.5390, 0.9878),
    (42, 11, 1, 0, 10 / 12, 0.4817, 0.9555),
    (63, 10, 0, 1, 10 / 12, 0.4817, 0.9555),
    (84, 9, 2, 0, 10 / 12 * 7 / 9, 0.3097, 0.8518),
    (126, 7, 1, 0, 10 / 12 * 6 / 9, 0.2369, 0.7867),
    (150, 6, 0, 1, 10 / 12 * 6 / 9, 0.2369, 0.7867),
    (168, 5, 1, 0, 10 / 12 * 6 / 9 * 4 / 5, 0.1514, 0.7058),
    (210, 4, 1, 0, 10 / 12 * 6 / 9 * 3 / 5, 0.0849, 0.6131),
    (252, 3, 0, 1, 10 / 12 * 6 / 9 * 3 / 5, 0.0849, 0.6131),
    (300, 2, 1, 0, 10 / 12 * 6 / 9 * 3 / 10, 0.0112, 0.4892),
    (365, 1, 0, 1, 10 / 12 * 6 / 9 * 3 / 10, 0.0112, 0.4892),
]
CENSORED_DAYS = [63, 150, 252, 365]


def km_curve() -> pl.DataFrame:
    return pl.DataFrame(
        [("PFS", "EFFFL", float(t), n, d, c, s, lo, hi, "LOGLOG") for t, n, d, c, s, lo, hi in _KM],
        schema=["ENDPOINT", "POPULATION", "TIME_D", "N_RISK", "N_EVENT", "N_CENS", "SURV", "CI_LO", "CI_HI", "CONFTYPE"],
        orient="row",
    )


def at_risk() -> pl.DataFrame:
    return pl.DataFrame({
        "ENDPOINT": ["PFS"] * 5, "POPULATION": ["EFFFL"] * 5, "TICK_M": [0, 3, 6, 9, 12],
        "TICK_D": [0.0, 91.3125, 182.625, 273.9375, 365.25],
        "N_RISK": [12, 7, 4, 2, 0], "CUM_EVENT": [0, 4, 6, 7, 8], "CUM_CENS": [0, 1, 2, 3, 4],
    })


def tte() -> pl.DataFrame:
    """Median 168 days, log-log CI 42–300 (§2); OS row with a median never reached (NULL)."""
    d = DAYS_PER_MONTH
    return pl.DataFrame({
        "ENDPOINT": ["PFS", "OS"], "POPULATION": ["EFFFL", "ITTFL"], "N": [12, 12], "N_EVENT": [8, 3],
        "N_CENS": [4, 9], "MEDIAN_D": [168.0, None], "MEDIAN_LO_D": [42.0, 120.0], "MEDIAN_HI_D": [300.0, None],
        "MEDIAN_M": [168 / d, None], "MEDIAN_LO_M": [42 / d, 120 / d], "MEDIAN_HI_M": [300 / d, None],
        "CONFTYPE": ["LOGLOG", "LOGLOG"],
    })


def tte_rate() -> pl.DataFrame:
    return pl.DataFrame({
        "ENDPOINT": ["PFS", "PFS"], "POPULATION": ["EFFFL", "EFFFL"], "LANDMARK_M": [6, 12],
        "SURV": [0.4444, None], "CI_LO": [0.1514, None], "CI_HI": [0.7058, None], "CONFTYPE": ["LOGLOG", "LOGLOG"],
    })


def binary() -> pl.DataFrame:
    """ORR 8/28 (p = 0.0486, success) and 7/28 for the ITT sensitivity (p = 0.1152)."""
    return pl.DataFrame({
        "ENDPOINT": ["ORR", "ORR", "DCR"], "POPULATION": ["EFFFL", "ITTFL", "EFFFL"], "N": [28, 28, 28],
        "n_subj": [8, 7, 19], "PCT": [100 * 8 / 28, 25.0, 100 * 19 / 28], "CI_LO": [0.1322, 0.1069, 0.4765],
        "CI_HI": [0.4867, 0.4487, 0.8412], "CI_METHOD": ["Clopper-Pearson"] * 3, "P_VALUE": [0.0486, 0.1152, None],
        "H0": [0.15, 0.15, 0.15],
    })


def bor_dist() -> pl.DataFrame:
    values = [("CR", 0), ("PR", 8), ("SD", 11), ("PD", 7), ("NE", 1), ("MISSING", 1)]
    return pl.DataFrame({
        "POPULATION": ["EFFFL"] * 6, "PARAMCD": ["CBOR"] * 6, "AVALC": [v for v, _ in values],
        "N": [28] * 6, "n_subj": [n for _, n in values], "PCT": [100 * n / 28 for _, n in values],
    })


def teae_overview() -> pl.DataFrame:
    cats = [("Any TEAE", 4), ("Grade >= 3 TEAE", 3), ("Serious TEAE", 2), ("TEAE leading to discontinuation", 1), ("Fatal TEAE", 0)]
    return pl.DataFrame({"ORD": [5, 4, 3, 2, 1], "CATEGORY": [c for c, _ in cats][::-1], "N": [5] * 5,
                         "n_subj": [n for _, n in cats][::-1], "PCT": [100 * n / 5 for _, n in cats][::-1]})


def teae_soc_pt() -> pl.DataFrame:
    rows = [  # SOC, PT, any, g1..g5, ge3, sort soc, sort pt
        ("Investigations", None, 3, 0, 1, 1, 1, 0, 2, 1, 0),
        ("Investigations", "Neutrophil count decreased", 3, 0, 1, 1, 1, 0, 2, 1, 1),
        ("Gastrointestinal disorders", None, 2, 0, 1, 1, 0, 0, 1, 2, 0),
        ("Gastrointestinal disorders", "Nausea", 2, 0, 1, 1, 0, 0, 1, 2, 1),
    ]
    frame = pl.DataFrame(rows, orient="row", schema=["AEBODSYS", "AEDECOD", "n_any", "n_g1", "n_g2", "n_g3", "n_g4", "n_g5",
                                                     "n_ge3", "SORT_SOC", "SORT_PT"])
    return frame.with_columns(pl.lit("ANY").alias("SUBSET"), pl.lit(5).alias("N"), (100 * pl.col("n_any") / 5).alias("PCT_any"),
                              (100 * pl.col("n_ge3") / 5).alias("PCT_ge3"))


def lab_shift() -> pl.DataFrame:
    return pl.DataFrame({
        "TABLE": ["CTCAE_GRADE"] * 3, "PARAMCD": ["NEUT"] * 3, "DIRECTION": ["LOW"] * 3, "BASE_CAT": ["1", "0", "0"],
        "POST_CAT": ["4", "3", "0"], "n": [1, 1, 2], "ROW_N": [1, 3, 3], "BASE_ORD": [1, 0, 0], "POST_ORD": [4, 3, 0],
    })


def exposure() -> pl.DataFrame:
    return pl.DataFrame({"DRUG": ["EPIRUBICIN"] * 3, "PARAMETER": ["RDI_PCT"] * 3, "CATEGORY": [None, None, ">= 80%"],
                         "STATISTIC": ["N", "MEDIAN", "PCT"], "VALUE": [30.0, 95.123, 83.333]})


def all_tables() -> dict[str, pl.DataFrame]:
    return {
        "ep_binary": binary(), "ep_bor_dist": bor_dist(), "ep_tte": tte(), "ep_tte_rate": tte_rate(),
        "ep_km_curve": km_curve(), "ep_at_risk": at_risk(), "ep_teae_overview": teae_overview(),
        "ep_teae_soc_pt": teae_soc_pt(), "ep_lab_shift": lab_shift(), "ep_exposure": exposure(),
    }
