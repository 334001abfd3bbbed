"""The one function from ADaM to endpoint frames, used by the Dagster asset
(assets/endpoints.py, :func:`derive_from_warehouse`) and by ``trialwh adam``
(:func:`derive_endpoints` on in-memory frames).

Both run :func:`derive_from_duckdb` on DuckDB relations: the python side reads only the
projected / filtered inputs of :mod:`pipeline.endpoints.inputs`, ADLB is summarised in SQL.
A table whose ADaM source is absent is not produced (efficacy tables without ADRS/ADTTE,
e.g. the CDISC pilot): absent, never filled with zeros.
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipeline.config import endpoints as endpoint_config, trial
from pipeline.endpoints import binary, exposure, historical, lab, safety, tte
from pipeline.endpoints.inputs import frames_connection, read_inputs

#: every table this package can produce, in the order of endpoints.md §5 (+ extras)
ENDPOINT_TABLES = (
    "ep_binary", "ep_bor_dist", "ep_decision", "ep_tte", "ep_tte_rate", "ep_km_curve", "ep_at_risk", "ep_tte_censor", "ep_ttr",
    "ep_teae_overview", "ep_teae_soc_pt", "ep_lab_shift", "ep_lab_worst", "ep_lab_visit", "ep_exposure", "ep_historical",
)
#: ADaM datasets the endpoint tables read
SOURCES = ("adsl", "adae", "adlb", "adex", "adrs", "adtte")


def derive_endpoints(adam: dict[str, pl.DataFrame], config_path=None) -> dict[str, pl.DataFrame]:
    """``{table: frame}`` from ADaM frames (registered in an in-memory DuckDB)."""
    frames = {name: adam[name] for name in SOURCES if name in adam}
    with frames_connection(frames) as con:
        return derive_from_duckdb(con, {name: name for name in frames}, config_path)


def derive_from_warehouse(con: duckdb.DuckDBPyConnection, config_path=None) -> dict[str, pl.DataFrame]:
    """``{table: frame}`` from the ``adam`` schema of a warehouse connection."""
    present = {n for (n,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'adam'").fetchall()}
    return derive_from_duckdb(con, {name: f"adam.{name}" for name in SOURCES if name in present}, config_path)


def derive_from_duckdb(con: duckdb.DuckDBPyConnection, tables: dict[str, str], config_path=None) -> dict[str, pl.DataFrame]:
    """``{table: frame}`` for the tables whose sources exist (``tables``: dataset -> relation):
    binary / BOR / decision from ADRS, TTE tables from ADTTE (TTR only with ADRS: it needs
    confirmed responses), safety from ADAE, lab from ADLB, exposure from ADSL (+ ADEX), the
    historical comparison with ADRS. Settings from ``trial_config.yaml`` ``endpoints``."""
    cfg = endpoint_config(config_path)
    design = cfg["design"]
    pops = list(cfg["efficacy_populations"])
    adam = read_inputs(con, tables)
    adsl = adam["adsl"]
    out: dict[str, pl.DataFrame] = {}
    if "adrs" in adam:
        out["ep_binary"] = binary.binary_endpoints(adam["adrs"], adsl, populations=pops, h0=design["h0"], alpha=cfg["alpha"])
        out["ep_bor_dist"] = binary.response_distribution(adam["adrs"], adsl, populations=pops)
        out["ep_decision"] = binary.primary_decision(
            out["ep_binary"], population_flag=pops[0], h0=design["h0"], alpha_one_sided=design["alpha_one_sided"],
            n_planned=design["n_evaluable"], success_min_planned=design["success_min_responders"])
    if "adtte" in adam:
        out.update(tte.tte_summaries(adam["adtte"], adsl, tte.TteSettings.from_config(cfg)))
    if "adtte" in adam and "adrs" in adam:
        out["ep_ttr"] = tte.ttr_summary(adam["adtte"], adsl, days_per_month=cfg["days_per_month"], flag=pops[0])
    if "adae" in adam:
        out["ep_teae_overview"] = safety.teae_overview(adam["adae"], adsl)
        out["ep_teae_soc_pt"] = safety.teae_soc_pt(adam["adae"], adsl)
    if "adlb" in tables:
        out.update(lab.lab_summaries(con, tables["adlb"], adsl, cfg["lab_directions"]))
    out["ep_exposure"] = exposure.exposure_summary(adsl, adam.get("adex"), max_cycles=trial(config_path)["max_cycles"])
    if "ep_binary" in out:
        out["ep_historical"] = historical.historical_comparison(out.get("ep_binary"), out.get("ep_tte"), cfg["historical"],
                                                               conftype=cfg["conftype"])
    return out
