"""Field builders and base models shared by the SDTM domain contracts (sdtm.md).

Every variable is declared with its SDTMIG label and core:

- ``req(label, ...)``: Req, the column must exist and is never null;
- ``exp(label, ...)``: Exp, the column must exist, may be null;
- ``perm(label, ...)``: Perm, the column may be absent (annotate it ``Optional[...]``).

The label is kept both as the pandera ``title`` and as ``metadata["label"]`` (with
``metadata["core"]``); the exports read it from there. Labels longer than 40 characters (the SAS
XPT v5 limit) are refused when the model is defined, not when a file is written.

``Num`` is the SDTM numeric type: any polars numeric dtype (DuckDB BIGINT, INTEGER or DOUBLE
all pass), never text. Char variables are ``str``. The dataset label is the model's
``Config.title``; the natural key of sdtm.md §11 is ``_KEY`` (checked as ``unique_key``) and
``_SEQ`` names the ``--SEQ`` variable (``seq_unique``: one sequence number per record of a
subject). Columns a model does not declare (lineage ``SRC_FILE``/``SRC_ROW``) are allowed.
"""

from __future__ import annotations

from typing import ClassVar

import pandera.polars as pa
import polars as pl

from pipeline.codelists import CODELISTS
from schemas.contracts import KeyedDataset, Num, present, unique_rows, value_checks  # noqa: F401 (Num: re-exported)
from pipeline.forms import STUDYID, SUBJID_DIGITS

USUBJID_PATTERN = rf"^{STUDYID}-\d{{3}}-\d{{{SUBJID_DIGITS}}}$"
# ISO 8601 date/time, truncated on the right; unknown month with known day as YYYY---DD (sdtm.md §1)
DTC_PATTERN = r"^(\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?)?)?|\d{4}---\d{2})$"
# ISO 8601 duration (P21D, P18Y, PT2H); polars regex has no look-ahead, so a bare "P" is not refused
DURATION_PATTERN = r"^P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
LABEL_MAX = 40

NY = ["Y", "N"]
NYUNA = ["Y", "N", "U", "NA"]
FLAG = ["Y"]
EPOCH_CT = ["SCREENING", "TREATMENT", "FOLLOW-UP"]
UNITS = [
    "mg", "mg/m2", "m2", "mmHg", "beats/min", "breaths/min", "C", "kg", "cm", "mm", "%",
    "10^9/L", "g/L", "U/L", "umol/L", "mmol/L",
]
EVALUATOR = ["INVESTIGATOR", "INDEPENDENT ASSESSOR", "RADIOLOGIST"]
NOT_DONE = ["NOT DONE"]
ENRF = ["BEFORE", "DURING", "AFTER", "DURING/AFTER", "ONGOING", "U"]


def _field(label: str, core: str, *, ct=None, pattern: str | None = None, ge=None, le=None,
           dtc: bool = False, duration: bool = False, max_len: int | None = None, nullable: bool | None = None):
    if len(label) > LABEL_MAX:
        raise ValueError(f"SDTM label longer than {LABEL_MAX} characters: {label!r}")
    checks = value_checks(ct=ct, ge=ge, le=le)
    if dtc:
        pattern = DTC_PATTERN
    if duration:
        pattern = DURATION_PATTERN
    if pattern is not None:
        checks["str_matches"] = pattern
    if max_len is not None:
        checks["str_length"] = {"max_value": max_len}
    if nullable is None:
        nullable = core != "Req"
    return pa.Field(nullable=nullable, title=label, metadata={"label": label, "core": core}, **checks)


def req(label: str, **kw):
    return _field(label, "Req", **kw)


def exp(label: str, **kw):
    return _field(label, "Exp", **kw)


def perm(label: str, **kw):
    return _field(label, "Perm", **kw)


def seq():
    return req("Sequence Number", ge=1)


def codelist(name: str) -> list[str]:
    return list(CODELISTS[name])


class SdtmDataset(KeyedDataset):
    """Columns every SDTM dataset has; ``_KEY`` is the natural key of sdtm.md §11 and ``_SEQ``
    the --SEQ variable. Lineage columns (SRC_FILE, SRC_ROW) ride along; they are never exported."""

    STUDYID: str = req("Study Identifier", ct=[STUDYID])

    _SEQ: ClassVar[str | None] = None

    @pa.dataframe_check
    def seq_unique(cls, data):
        """--SEQ identifies a record within a subject."""
        keys = ("USUBJID", cls._SEQ) if cls._SEQ else ()
        if len(present(data.lazyframe, keys)) < 2:
            return data.lazyframe.select(pl.lit(True).alias("ok"))
        return unique_rows(data.lazyframe, keys, "seq_unique")


class SubjectDataset(SdtmDataset):
    """A subject-level domain: STUDYID, DOMAIN, USUBJID."""

    DOMAIN: str = req("Domain Abbreviation", pattern=r"^[A-Z]{2}$")
    USUBJID: str = req("Unique Subject Identifier", pattern=USUBJID_PATTERN)


class TrialDesignDataset(SdtmDataset):
    """A trial design domain: no subject identifiers."""

    DOMAIN: str = req("Domain Abbreviation", pattern=r"^[A-Z]{2}$")


def dataset_label(model) -> str:
    return model.to_schema().title or model.__name__


def variable_labels(model) -> dict[str, str]:
    """Variable name -> SDTM label, in model order."""
    return {name: (col.title or name) for name, col in model.to_schema().columns.items()}


def variable_cores(model) -> dict[str, str]:
    return {name: (col.metadata or {}).get("core", "") for name, col in model.to_schema().columns.items()}
