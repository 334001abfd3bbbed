"""Basic data structure datasets: ADLB, ADEX, ADTR (adam.md §3, §4, §7)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Optional

import pandera.polars as pa
import polars as pl

from schemas.adam._base import FLAG, AdamDataset, var
from schemas.contracts import Num, unique_rows

NRIND = ["LOW", "NORMAL", "HIGH"]
LAB_GRADES = ["0", "1", "2", "3", "4"]


def one_flagged(data, flag: str, name: str) -> pl.LazyFrame:
    """At most one ``flag = Y`` record per subject and parameter."""
    return unique_rows(data.lazyframe, ("USUBJID", "PARAMCD"), name, where=pl.col(flag) == "Y")


class BdsDataset(AdamDataset):
    """A basic data structure dataset. ``_ONE_PER``: the key of its subject-level parameters
    (e.g. USUBJID, PARAMCD; empty: none), every PARAMCD but the record-level ``_RECORD_LEVEL``."""

    PARAMCD: str = var("Parameter Code", required=True)
    PARAM: str = var("Parameter", required=True)
    AVAL: Num = var("Analysis Value")

    _ONE_PER: ClassVar[tuple[str, ...]] = ()
    _RECORD_LEVEL: ClassVar[tuple[str, ...]] = ()

    @pa.dataframe_check
    def one_per_subject_and_param(cls, data):
        """Subject-level parameters have one record per ``_ONE_PER`` key."""
        if not cls._ONE_PER:
            return data.lazyframe.select(pl.lit(True).alias("one_per_subject_and_param"))
        where = ~pl.col("PARAMCD").is_in(list(cls._RECORD_LEVEL)) if cls._RECORD_LEVEL else None
        return unique_rows(data.lazyframe, cls._ONE_PER, "one_per_subject_and_param", where=where)


class ADLB(BdsDataset):
    ADT: date = var("Analysis Date")
    ABLFL: str = var("Baseline Record Flag", ct=FLAG)
    BASE: Num = var("Baseline Value")
    CHG: Num = var("Change from Baseline")
    ONTRTFL: str = var("On Treatment Record Flag", ct=FLAG)
    ANRIND: str = var("Analysis Reference Range Indicator", ct=NRIND)
    BNRIND: str = var("Baseline Reference Range Indicator", ct=NRIND)
    ATOXGRL: Optional[str] = var("Analysis Toxicity Grade Low", ct=LAB_GRADES)
    ATOXGRH: Optional[str] = var("Analysis Toxicity Grade High", ct=LAB_GRADES)

    class Config:
        title = "Laboratory Analysis Dataset"

    @pa.dataframe_check
    def one_baseline(cls, data):
        """At most one baseline record per subject and parameter."""
        return one_flagged(data, "ABLFL", "one_baseline")


class ADEX(BdsDataset):
    EXTRT: str = var("Name of Treatment", required=True)
    AVAL: Num = var("Analysis Value", ge=0)

    _ONE_PER = ("USUBJID", "EXTRT", "PARAMCD")  # subject x drug parameters
    _RECORD_LEVEL = ("DOSE",)

    class Config:
        title = "Exposure Analysis Dataset"


class ADTR(BdsDataset):
    ADT: date = var("Analysis Date", required=True)
    AVAL: Num = var("Analysis Value", ge=0)
    ABLFL: str = var("Baseline Record Flag", ct=FLAG)
    PCHG: Num = var("Percent Change from Baseline")
    ANL01FL: str = var("Analysis Flag 01", ct=FLAG)

    _KEY = ("USUBJID", "PARAMCD", "ADT")

    class Config:
        title = "Tumor Results Analysis Dataset"

    @pa.dataframe_check
    def one_baseline(cls, data):
        """At most one baseline sum of diameters per subject."""
        return one_flagged(data, "ABLFL", "one_baseline")
