"""``ep_historical``: the observed primary results beside the figures the protocol cites
(``trial_config.yaml`` ``endpoints.historical``; trial.md §8). Descriptive only: no test
against a historical control is made or implied.
"""

from __future__ import annotations

import polars as pl



OBSERVED = "This trial (observed)"
SCHEMA = {"STATISTIC": pl.String, "SOURCE": pl.String, "POPULATION": pl.String, "VALUE": pl.Float64, "CI_LO": pl.Float64,
          "CI_HI": pl.Float64, "UNIT": pl.String, "N": pl.Int64}


def historical_comparison(ep_binary: pl.DataFrame | None, ep_tte: pl.DataFrame | None, cited: list[dict], *,
                          conftype: str) -> pl.DataFrame:
    """Rows STATISTIC (ORR in %, MEDIAN_PFS / MEDIAN_OS in months), SOURCE, POPULATION, VALUE,
    CI_LO, CI_HI, UNIT, N: first the observed values (confirmed ORR of the primary population,
    medians of the primary population with the default CI transform; NULL if not estimable),
    then each cited figure."""
    rows = []
    if ep_binary is not None and ep_binary.height:
        orr = ep_binary.filter(pl.col("ENDPOINT") == "ORR").row(0, named=True)
        rows.append({"STATISTIC": "ORR", "SOURCE": OBSERVED, "POPULATION": orr["POPULATION"], "VALUE": orr["PCT"],
                     "CI_LO": _scaled(orr["CI_LO"]), "CI_HI": _scaled(orr["CI_HI"]), "UNIT": "%", "N": orr["N"]})
    if ep_tte is not None and ep_tte.height:
        for endpoint in ("PFS", "OS"):
            m = ep_tte.filter((pl.col("ENDPOINT") == endpoint) & (pl.col("CONFTYPE") == conftype))
            if m.height:
                r = m.row(0, named=True)
                rows.append({"STATISTIC": f"MEDIAN_{endpoint}", "SOURCE": OBSERVED, "POPULATION": r["POPULATION"], "VALUE": r["MEDIAN_M"],
                             "CI_LO": r["MEDIAN_LO_M"], "CI_HI": r["MEDIAN_HI_M"], "UNIT": "months", "N": r["N"]})
    rows += [{k: c.get(k) for k in ("STATISTIC", "SOURCE", "POPULATION", "VALUE", "UNIT")} for c in cited]
    return pl.DataFrame(rows, schema=SCHEMA)


def _scaled(p: float | None) -> float | None:
    return None if p is None else 100.0 * p


