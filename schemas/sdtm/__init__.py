"""Pandera (polars) contracts of the SDTM domains (sdtm.md): one model per domain table.

``SDTM_MODELS`` maps the DuckDB table name (``sdtm.<name>``) to its model. Each model carries the
SDTMIG variable labels (``Field(title=...)`` and ``metadata["label"]``), the core of each
variable (Req = non-null column, Exp = column present, Perm = optional column), controlled
terms, the dataset label (``Config.title``) and the natural key of §11 (``unique_key``).
``validate_contract`` runs a model lazily and returns its failure cases (empty: the table
conforms). The exports read labels through ``dataset_label`` / ``variable_labels``.
"""

from __future__ import annotations

from schemas.contracts import failure_counts, validate_contract
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

__all__ = [
    "SDTM_MODELS", "SUPPQUAL", "Num", "SdtmDataset", "dataset_label", "variable_labels", "variable_cores",
    "validate_contract", "failure_counts", *[m.__name__ for m in SDTM_MODELS.values()],
]
