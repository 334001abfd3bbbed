"""ADaM layer of the nightly graph (group ``adam``): ADSL, ADAE, ADLB, ADEX, ADRS, ADTTE, ADTR
from ``sdtm``.

One multi-asset runs ``pipeline.adam.build.derive_adam`` on the SDTM domain tables of the
working warehouse (the same code ``trialwh adam --sdtm`` runs on SDTM made elsewhere), one
subject chunk at a time (``pipeline.adam.warehouse.adam_by_chunk``, about
``ops.scale.adam_chunk_rows`` SDTM rows each), and appends each chunk's datasets to
``adam.<dataset>`` (``pipeline.warehouse_io.ChunkedTable``), so memory is bounded by a chunk,
not the trial. A chunk is written (and its contracts evaluated) on a background thread while
the next one is derived (``pipeline.overlap.write_behind``), with DuckDB's buffer pool lowered
to ``ops.scale.adam_duckdb_memory_limit`` for the step. It depends on every SDTM domain
asset, so a blocking SDTM contract failure stops it. Its own blocking checks, per dataset:

- ``contract``: the Pandera model of ``schemas.adam`` (one ADSL row per subject, one record per
  subject and subject-level parameter in ADRS / ADTTE, CNSR >= 0, AVAL > 0 for time to event,
  controlled flags, population nesting, ...), evaluated on each chunk as written and merged
  (``schemas.contracts.ContractTally``: failures counted over all chunks, first 20 examples);
- ``subjects_in_adsl`` (not ADSL): every subject of the dataset is in ADSL (SQL);
- ADSL ``one_row_per_subject``: ADSL subjects = DM subjects (SQL).

A dataset ``derive_adam`` did not produce (its SDTM domain is absent) is not written; its
materialisation reports 0 rows and its contract is not evaluated.
"""

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from assets.contracts import CHECK_NAME, tally_result
from assets.sdtm import sdtm_assets
from assets.sdtm_checks import domain_asset_keys
from pipeline.adam.warehouse import adam_by_chunk, adam_duckdb_memory_limit
from pipeline.overlap import write_behind
from pipeline.warehouse_io import ChunkedTable, memory_limit
from schemas.adam import ADAM_MODELS
from schemas.contracts import ContractTally

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
    names = [k.path[-1] for k in SDTM_KEYS]
    with duckdb.get_connection() as con:
        out = con.cursor()  # the writes run on a background thread (write_behind), on their own cursor
        tables = {name: ChunkedTable(out, f"adam.{name}") for name in ADAM_DATASETS}
        tallies = {name: ContractTally(ADAM_MODELS[name]) for name in ADAM_DATASETS}
        derived: dict[str, pl.DataFrame] = {}  # dataset -> its empty frame (validated when no chunk has rows)

        def write(frames: dict[str, pl.DataFrame]) -> None:
            for name, frame in frames.items():
                written = tables[name].append(frame)
                derived.setdefault(name, written.clear())
                if not written.is_empty():
                    tallies[name].add(written)

        try:
            with memory_limit(con, adam_duckdb_memory_limit()):
                write_behind(adam_by_chunk(con, names), write)
                rows = {name: tables[name].close() for name in derived}
        finally:
            out.close()
        checks = list(subject_checks(con, [n for n in ADAM_DATASETS if n in derived]))
    for name in ADAM_DATASETS:
        yield dg.MaterializeResult(asset_key=["adam", name], metadata={"dagster/row_count": rows.get(name, 0)})
    for name in ADAM_DATASETS:
        if name not in derived:
            yield dg.AssetCheckResult(asset_key=["adam", name], check_name=CHECK_NAME, passed=True,
                                      metadata={"rows": 0, "note": "dataset not derived: its SDTM domain is absent"})
            continue
        if rows[name] == 0:
            tallies[name].add(derived[name])
        yield tally_result(tallies[name], asset_key=dg.AssetKey(["adam", name]))
    yield from checks


def subject_checks(con, written: list[str]):
    """``one_row_per_subject`` (ADSL vs DM) and ``subjects_in_adsl`` (every other dataset), in
    SQL over the written tables; a dataset not written has no subjects."""
    rows, distinct, dm = con.execute(
        "SELECT (SELECT count(*) FROM adam.adsl), (SELECT count(DISTINCT USUBJID) FROM adam.adsl), "
        "(SELECT count(DISTINCT USUBJID) FROM sdtm.dm)").fetchone()
    yield dg.AssetCheckResult(
        asset_key=["adam", "adsl"], check_name="one_row_per_subject", passed=rows == distinct == dm,
        metadata={"rows": rows, "distinct_subjects": distinct, "dm_subjects": dm},
    )
    for name in ADAM_DATASETS:
        if name == "adsl":
            continue
        strangers = [] if name not in written else [r[0] for r in con.execute(
            f"SELECT DISTINCT USUBJID FROM adam.{name} WHERE USUBJID NOT IN (SELECT USUBJID FROM adam.adsl WHERE USUBJID IS NOT NULL) "
            "ORDER BY USUBJID LIMIT 20").fetchall()]
        yield dg.AssetCheckResult(
            asset_key=["adam", name], check_name="subjects_in_adsl", passed=not strangers,
            metadata={"subjects_not_in_adsl": dg.MetadataValue.json(strangers)},
        )
