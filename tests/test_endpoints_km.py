"""Kaplan-Meier of our own: every worked number of endpoints.md §2, and lifelines agreement."""

import polars as pl
import pytest
from lifelines import KaplanMeierFitter

from pipeline.endpoints import km

TIMES = [35, 42, 63, 84, 84, 126, 150, 168, 210, 252, 300, 365]
EVENTS = [1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 0]
DATA = pl.DataFrame({"AVAL": TIMES, "EVENT": EVENTS})
Z = km.z_value()

# t: (n at risk, d, S, {transform: (lo, hi)})  -- endpoints.md §2 table
TABLE = {
    35: (12, 1, 0.9167, {"LOGLOG": (0.5390, 0.9878), "LINEAR": (0.7603, 1.0), "LOG": (0.7729, 1.0)}),
    42: (11, 1, 0.8333, {"LOGLOG": (0.4817, 0.9555), "LINEAR": (0.6225, 1.0), "LOG": (0.6470, 1.0)}),
    84: (9, 2, 0.6481, {"LOGLOG": (0.3097, 0.8518), "LINEAR": (0.3686, 0.9277), "LOG": (0.4211, 0.9976)}),
    126: (7, 1, 0.5556, {"LOGLOG": (0.2369, 0.7867), "LINEAR": (0.2629, 0.8482), "LOG": (0.3281, 0.9408)}),
    168: (5, 1, 0.4444, {"LOGLOG": (0.1514, 0.7058), "LINEAR": (0.1399, 0.7490), "LOG": (0.2240, 0.8819)}),
    210: (4, 1, 0.3333, {"LOGLOG": (0.0849, 0.6131), "LINEAR": (0.0371, 0.6295), "LOG": (0.1371, 0.8106)}),
    300: (2, 1, 0.1667, {"LOGLOG": (0.0112, 0.4892), "LINEAR": (0.0000, 0.4411), "LOG": (0.0321, 0.8646)}),
}


@pytest.mark.parametrize("conftype", ["LOGLOG", "LINEAR", "LOG"])
def test_km_table_and_pointwise_ci_per_transform(conftype):
    t = km.with_ci(km.km_table(DATA), conftype, Z).filter(pl.col("N_EVENT") > 0)
    assert t["TIME_D"].to_list() == [float(x) for x in TABLE]
    for row in t.iter_rows(named=True):
        n, d, s, ci = TABLE[int(row["TIME_D"])]
        assert (row["N_RISK"], row["N_EVENT"]) == (n, d)
        assert row["SURV"] == pytest.approx(s, abs=1e-4)
        assert row["CI_LO"] == pytest.approx(ci[conftype][0], abs=1e-4)
        assert row["CI_HI"] == pytest.approx(ci[conftype][1], abs=1e-4)
        assert row["CONFTYPE"] == conftype


@pytest.mark.parametrize("conftype,lo,hi", [("LOGLOG", 42, 300), ("LINEAR", 84, 300), ("LOG", 84, None)])
def test_median_168_and_brookmeyer_crowley_ci(conftype, lo, hi):
    t = km.with_ci(km.km_table(DATA), conftype, Z)
    assert km.km_median(t) == 168
    assert km.median_ci(t) == (lo, hi)


def test_landmarks_six_months_and_twelve_months_not_estimable():
    t = km.with_ci(km.km_table(DATA), "LOGLOG", Z)
    s, lo, hi = km.landmark(t, 182.625)
    assert (s, lo, hi) == (pytest.approx(0.4444, abs=1e-4), pytest.approx(0.1514, abs=1e-4), pytest.approx(0.7058, abs=1e-4))
    assert km.landmark(t, 365.25) == (None, None, None)


def test_number_at_risk_with_cumulative_events_and_censorings():
    ticks = km.tick_days(max(TIMES), 3, 30.4375)
    assert ticks == [0.0, 91.3125, 182.625, 273.9375, 365.25]
    r = km.at_risk(DATA, ticks)
    assert r["N_RISK"].to_list() == [12, 7, 4, 2, 0]
    assert r["CUM_EVENT"].to_list() == [0, 4, 6, 7, 8]
    assert r["CUM_CENS"].to_list() == [0, 1, 2, 3, 4]


def test_at_risk_counts_a_time_equal_to_the_tick():
    r = km.at_risk(pl.DataFrame({"AVAL": [91.3125, 100.0], "EVENT": [1, 0]}), [91.3125])
    assert r["N_RISK"].to_list() == [2]


def test_midpoint_median_and_reverse_km_followup():
    four = pl.DataFrame({"AVAL": [10, 20, 30, 40], "EVENT": [1, 1, 1, 1]})
    assert km.km_median(km.km_table(four)) == 25
    assert km.reverse_km_median(DATA) == 308.5


def test_median_not_reached_is_none():
    t = km.with_ci(km.km_table(pl.DataFrame({"AVAL": [10, 20, 30], "EVENT": [1, 0, 0]})), "LOGLOG", Z)
    assert km.km_median(t) is None
    assert km.median_ci(t) == (10, None)  # the band dips below 0.5 at the only event; never the upper


def test_survival_and_loglog_band_agree_with_lifelines():
    kmf = KaplanMeierFitter().fit(TIMES, EVENTS)
    ours = km.with_ci(km.km_table(DATA), "LOGLOG", Z).filter(pl.col("N_EVENT") > 0)
    band = kmf.confidence_interval_
    for row in ours.iter_rows(named=True):
        t = row["TIME_D"]
        assert row["SURV"] == pytest.approx(float(kmf.survival_function_.loc[t].iloc[0]), abs=1e-9)
        assert row["CI_LO"] == pytest.approx(float(band.loc[t].iloc[0]), abs=1e-9)
        assert row["CI_HI"] == pytest.approx(float(band.loc[t].iloc[1]), abs=1e-9)
