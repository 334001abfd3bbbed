"""Field builders shared by the per-form CRF models, so each model reads like the CRF page.

Every field carries ``metadata={"rule": ...}`` naming the validation rule a failure of its value
check reports under; a null in a required field reports ``REQ01``.
"""

from __future__ import annotations

import pandera.polars as pa

from pipeline.codelists import CODELISTS
from pipeline.forms import STUDYID, SUBJID_DIGITS, VISITS

FULL_DATE = r"^\d{4}-\d{2}-\d{2}$"
PARTIAL_DATE = r"^(\d{4}(-\d{2}(-\d{2})?)?|\d{4}---\d{2})$"
TIME = r"^([01]\d|2[0-3]):[0-5]\d$"


def code(codelist: str, required: str = "N", rule: str = "CODE01"):
    return pa.Field(isin=list(CODELISTS[codelist]), nullable=required != "Y", metadata={"rule": rule})


def multi(codelist: str, required: str = "N"):
    alternatives = "|".join(sorted(CODELISTS[codelist], key=len, reverse=True))
    return pa.Field(
        str_matches=rf"^({alternatives})(;({alternatives}))*$", nullable=required != "Y", metadata={"rule": "CODE01"}
    )


def date(required: str = "N", partial: bool = False):
    return pa.Field(str_matches=PARTIAL_DATE if partial else FULL_DATE, nullable=required != "Y", metadata={"rule": "DAT01"})


def time():
    return pa.Field(str_matches=TIME, nullable=True, metadata={"rule": "TIM01"})


def number(required: str = "N", ge: float | None = None, le: float | None = None, rule: str = "RNG01"):
    if ge is not None and le is not None:
        return pa.Field(in_range={"min_value": ge, "max_value": le}, nullable=required != "Y", metadata={"rule": rule})
    if ge is not None:
        return pa.Field(ge=ge, nullable=required != "Y", metadata={"rule": rule})
    return pa.Field(nullable=required != "Y", metadata={"rule": rule})


def text(required: str = "N"):
    return pa.Field(nullable=required != "Y", metadata={"rule": "REQ01"})


class CrfRecord(pa.DataFrameModel):
    """Key columns every staged form carries (crf.md §1.1), after key normalisation."""

    STUDYID: str = pa.Field(isin=[STUDYID], metadata={"rule": "KEY01"})
    SITEID: str = pa.Field(str_matches=r"^\d{3}$", metadata={"rule": "KEY01"})
    SUBJID: str = pa.Field(str_matches=rf"^\d{{{SUBJID_DIGITS}}}$", metadata={"rule": "KEY01"})
    VISIT: str = pa.Field(isin=[v.name for v in VISITS], metadata={"rule": "CODE01"})
    VISITREP: int = pa.Field(ge=1, metadata={"rule": "RNG01"})
    FORMREP: int = pa.Field(ge=1, metadata={"rule": "RNG01"})
    IGREP: int = pa.Field(ge=1, metadata={"rule": "RNG01"})

    class Config:
        strict = False  # lineage and derived columns ride along
        coerce = False
