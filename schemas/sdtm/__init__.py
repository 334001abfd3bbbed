"""Pandera (polars) contracts of the SDTM domains (sdtm.md): one model per domain table.

``SDTM_MODELS`` maps the DuckDB table name (``sdtm.<name>``) to its model. Each model carries the
SDTMIG variable labels (``Field(title=...)`` and ``metadata["label"]``), the core of each
variable (Req = non-null column, Exp = column present, Perm = optional column), controlled
terms, the dataset label (``Config.title``) and the natural key of §11 (``unique_key``).
``validate_contract`` runs a model lazily and returns its failure cases (empty: the table
conforms). The exports read labels through ``dataset_label`` / ``variable_labels``.
"""

from __future__ import annotations

import pandera.errors
import polars as pl

from schemas.sdtm._base import Num, SdtmDataset, dataset_label, variable_cores, variable_labels
from schemas.sdtm.events import AE, DS, MH
from schemas.sdtm.findings import LB, VS
from schemas.sdtm.interventions import CM, EX, PR
from schemas.sdtm.oncology import RS, TR, TU
from schemas.sdtm.special_purpose import DM, SV
from schemas.sdtm.suppqual import SUPPAE, SUPPEX, SUPPMH, SUPPQUAL, SUPPTU
from schemas.sdtm.trial_design import TA, TE, TS

SDTM_MODELS: dict[str, type[SdtmDataset]] = {
    "dm": DM, "ex": EX, "suppex": SUPPEX, "ae": AE, "suppae": SUPPAE, "cm": CM, "pr": PR,
    "mh": MH, "suppmh": SUPPMH, "ds": DS, "lb": LB, "vs": VS, "sv": SV,
    "ta": TA, "te": TE, "ts": TS, "tu": TU, "supptu": SUPPTU, "tr": TR, "rs": RS,
}

FAILURE_COLUMNS = ["column", "check", "failure_case", "index"]


def validate_contract(model: type[SdtmDataset], frame: pl.DataFrame) -> pl.DataFrame:
    """Failure cases of ``frame`` against ``model`` (all checks, lazy); empty when it conforms."""
    try:
        model.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as err:
        cases = err.failure_cases
        missing = pl.col("check") == "column_in_dataframe"  # report a missing column under its own name
        return cases.select(
            pl.when(missing).then(pl.col("failure_case")).otherwise(pl.col("column")).cast(pl.Utf8).alias("column"),
            pl.col("check").cast(pl.Utf8),
            pl.col("failure_case").cast(pl.Utf8),
            pl.col("index").cast(pl.Int64),
        )
    return pl.DataFrame(schema={"column": pl.Utf8, "check": pl.Utf8, "failure_case": pl.Utf8, "index": pl.Int64})


def failure_counts(cases: pl.DataFrame) -> pl.DataFrame:
    """One row per (column, check) with the number of failing rows (or 1 for a schema-level failure)."""
    return cases.group_by(["column", "check"]).len("failures").sort(["column", "check"])


__all__ = [
    "SDTM_MODELS", "SUPPQUAL", "Num", "SdtmDataset", "dataset_label", "variable_labels", "variable_cores",
    "validate_contract", "failure_counts", *[m.__name__ for m in SDTM_MODELS.values()],
]
