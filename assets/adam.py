"""ADaM layer of the nightly graph (group ``adam``): ADSL, ADAE, ADLB, ADEX, ADRS, ADTTE, ADTR
from ``sdtm``.

One multi-asset runs ``pipeline.adam.build.derive_adam`` on the SDTM domain tables of the
working warehouse (the same code ``trialwh adam --sdtm`` runs on SDTM made elsewhere) and
writes ``adam.<dataset>``. It depends on every SDTM domain asset, so a blocking SDTM contract
failure stops it. Its own blocking checks, per dataset:

- ``contract``: the Pandera model of ``schemas.adam`` (one ADSL row per subject, one record per
  subject and subject-level parameter in ADRS / ADTTE, CNSR >= 0, AVAL > 0 for time to event,
  controlled flags, population nesting, ...);
- ``subjects_in_adsl`` (not ADSL): every subject of the dataset is in ADSL;
- ADSL ``one_row_per_subject``: ADSL subjects = DM subjects.

A dataset ``derive_adam`` did not produce (its SDTM domain is absent) is not written; its
materialisation reports 0 rows and its contract is not evaluated.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.contracts import CHECK_NAME, contract_result
from assets.sdtm import sdtm_assets
from assets.sdtm_checks import domain_asset_keys
from pipeline.adam.build import derive_adam
from pipeline.warehouse_io import read_table, write_table
from schemas.adam import ADAM_MODELS

ADAM_DATASETS = tuple(ADAM_MODELS)
SDTM_KEYS = domain_asset_keys(sdtm_assets)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["adam", name], group_name="adam", deps=SDTM_KEYS, kinds={"duckdb", "polars"},
                     description=f"{ADAM_MODELS[name].to_schema().title} ({name.upper()}, adam.md), derived from the SDTM domains")
        for name in ADAM_DATASETS
    ],
    check_specs=[
        dg.AssetCheckSpec("one_row_per_subject", asset=["adam", "adsl"], blocking=True,
                          description="ADSL has exactly one row per DM subject"),
        *[dg.AssetCheckSpec(CHECK_NAME, asset=["adam", name], blocking=True,
                            description=f"conforms to schemas.adam.{ADAM_MODELS[name].__name__}")
          for name in ADAM_DATASETS],
        *[dg.AssetCheckSpec("subjects_in_adsl", asset=["adam", name], blocking=True,
                            description="every subject of the dataset is in ADSL")
          for name in ADAM_DATASETS if name != "adsl"],
    ],
    name="adam_datasets",
)
def adam_datasets(duckdb: DuckDBResource):
    with duckdb.get_connection() as con:
        sdtm = {k.path[-1]: read_table(con, f"sdtm.{k.path[-1]}") for k in SDTM_KEYS}
        frames = derive_adam(sdtm)
        for name in ADAM_DATASETS:
            if name in frames:
                write_table(con, f"adam.{name}", frames[name])
        dm_subjects = con.execute("SELECT count(DISTINCT USUBJID) FROM sdtm.dm").fetchone()[0]
    adsl = frames["adsl"]
    for name in ADAM_DATASETS:
        yield dg.MaterializeResult(asset_key=["adam", name], metadata={"dagster/row_count": frames[name].height if name in frames else 0})
    yield dg.AssetCheckResult(
        asset_key=["adam", "adsl"], check_name="one_row_per_subject",
        passed=adsl.height == adsl["USUBJID"].n_unique() == dm_subjects,
        metadata={"rows": adsl.height, "distinct_subjects": adsl["USUBJID"].n_unique(), "dm_subjects": dm_subjects},
    )
    for name in ADAM_DATASETS:
        if name in frames:
            yield contract_result(ADAM_MODELS[name], frames[name], asset_key=dg.AssetKey(["adam", name]))
        else:
            yield dg.AssetCheckResult(asset_key=["adam", name], check_name=CHECK_NAME, passed=True,
                                      metadata={"rows": 0, "note": "dataset not derived: its SDTM domain is absent"})
    known = set(adsl["USUBJID"].to_list())
    for name in ADAM_DATASETS:
        if name == "adsl":
            continue
        subjects = set(frames[name]["USUBJID"].unique().to_list()) if name in frames else set()
        strangers = sorted(subjects - known)
        yield dg.AssetCheckResult(
            asset_key=["adam", name], check_name="subjects_in_adsl", passed=not strangers,
            metadata={"subjects_not_in_adsl": dg.MetadataValue.json(strangers[:20])},
        )
