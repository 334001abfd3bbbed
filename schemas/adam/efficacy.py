"""Efficacy datasets: ADRS and ADTTE (adam.md §5, §6)."""

from __future__ import annotations

from datetime import date
from typing import Optional

import pandera.polars as pa
import polars as pl

from pipeline.adam.adrs import BEST_ORDER, PARAM_LABELS, SUBJECT_LEVEL_PARAMS
from pipeline.adam.adtte import TTE_PARAMS
from schemas.adam._base import FLAG, implies, var
from schemas.adam.bds import BdsDataset
from schemas.contracts import Num

#: parameters whose AVALC is a response category (others are Y / N)
RESPONSE_VALUED = ("OVR", "BOR", "CBOR", "LSTA")


class ADRS(BdsDataset):
    PARAMCD: str = var("Parameter Code", required=True, ct=list(PARAM_LABELS))
    AVALC: Optional[str] = var("Analysis Value (C)")  # null only for MDIS when TU is absent
    AVAL: Num = var("Analysis Value", ge=0, le=7)
    ADT: date = var("Analysis Date")
    ANL01FL: Optional[str] = var("Analysis Flag 01", ct=FLAG)
    ANL02FL: Optional[str] = var("Analysis Flag 02", ct=FLAG)

    _ONE_PER = ("USUBJID", "PARAMCD")
    _RECORD_LEVEL = tuple(p for p in PARAM_LABELS if p not in SUBJECT_LEVEL_PARAMS)  # OVR

    class Config:
        title = "Tumor Response Analysis Dataset"

    @pa.dataframe_check
    def avalc_domain(cls, data):
        """Response parameters hold a response category; the others hold Y or N."""
        resp = pl.col("PARAMCD").is_in(list(RESPONSE_VALUED))
        ok = pl.when(resp).then(pl.col("AVALC").is_in(list(BEST_ORDER))).otherwise(pl.col("AVALC").is_in(["Y", "N"]))
        return data.lazyframe.select((ok | pl.col("AVALC").is_null() & (pl.col("PARAMCD") == "MDIS")).fill_null(False)
                                     .alias("avalc_domain"))


class ADTTE(BdsDataset):
    PARAMCD: str = var("Parameter Code", required=True, ct=list(TTE_PARAMS))
    AVAL: Num = var("Analysis Value", required=True, gt=0)
    STARTDT: date = var("Time-to-Event Origin Date for Subject", required=True)
    ADT: date = var("Analysis Date", required=True)
    CNSR: Num = var("Censor", required=True, ge=0)
    EVNTDESC: str = var("Event or Censoring Description", required=True)
    CNSDTDSC: Optional[str] = var("Censor Date Description")
    SRCDOM: Optional[str] = var("Source Data")
    SRCVAR: Optional[str] = var("Source Variable")
    SRCSEQ: Optional[Num] = var("Source Sequence Number")

    _ONE_PER = ("USUBJID", "PARAMCD")

    class Config:
        title = "Time-to-Event Analysis Dataset"

    @pa.dataframe_check
    def aval_is_days_from_start(cls, data):
        """AVAL = ADT - STARTDT + 1 (days, origin day 1)."""
        return data.lazyframe.select(
            (pl.col("AVAL") == (pl.col("ADT") - pl.col("STARTDT")).dt.total_days() + 1).fill_null(False)
            .alias("aval_is_days_from_start"))

    @pa.dataframe_check
    def censored_have_censor_date(cls, data):
        """A censored record (CNSR > 0) says which date it was censored at."""
        return implies(data, pl.col("CNSR") > 0, pl.col("CNSDTDSC").is_not_null(), "censored_have_censor_date")
