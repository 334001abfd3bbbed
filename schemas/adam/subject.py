"""ADSL: one record per subject (adam.md §1, trial.md §7 populations)."""

from __future__ import annotations

from datetime import date
from typing import Optional

import pandera.polars as pa
import polars as pl

from schemas.adam._base import FLAG, NY, AdamDataset, implies, var
from schemas.contracts import Num


class ADSL(AdamDataset):
    SUBJID: str = var("Subject Identifier for the Study")
    SITEID: str = var("Study Site Identifier")
    AGE: Optional[Num] = var("Age", ge=0)
    ENRLFL: str = var("Enrolled Population Flag", required=True, ct=NY)
    ITTFL: str = var("Intent-To-Treat Population Flag", required=True, ct=NY)
    SAFFL: str = var("Safety Population Flag", required=True, ct=NY)
    EFFFL: Optional[str] = var("Efficacy Evaluable Population Flag", ct=NY)  # null without TU
    MDIS: Optional[str] = var("Measurable Disease at Baseline", ct=NY)
    TRTSDT: date = var("Date of First Exposure to Treatment")
    TRTEDT: date = var("Date of Last Exposure to Treatment")
    TRTDURD: Optional[Num] = var("Total Treatment Duration (Days)", ge=1)
    DTHFL: Optional[str] = var("Subject Death Flag", ct=FLAG)
    DTHDT: Optional[date] = var("Date of Death")
    LSTALVDT: Optional[date] = var("Date Last Known Alive")

    _KEY = ("USUBJID",)

    class Config:
        title = "Subject-Level Analysis Dataset"

    @pa.dataframe_check
    def safety_needs_dose(cls, data):
        """SAFFL = Y only with a first dose date."""
        return implies(data, pl.col("SAFFL") == "Y", pl.col("TRTSDT").is_not_null(), "safety_needs_dose")

    @pa.dataframe_check
    def treatment_dates_ordered(cls, data):
        """TRTEDT on or after TRTSDT."""
        return implies(data, pl.col("TRTSDT").is_not_null() & pl.col("TRTEDT").is_not_null(),
                       pl.col("TRTEDT") >= pl.col("TRTSDT"), "treatment_dates_ordered")

    @pa.dataframe_check
    def populations_nested(cls, data):
        """SAFFL = Y implies ITTFL = Y (trial.md §7); EFFFL = Y implies SAFFL = Y."""
        names = data.lazyframe.collect_schema().names()
        eff = pl.col("EFFFL") == "Y" if "EFFFL" in names else pl.lit(False)
        return data.lazyframe.select(
            (~((pl.col("SAFFL") == "Y") & (pl.col("ITTFL") != "Y")).fill_null(False)
             & ~(eff & (pl.col("SAFFL") != "Y")).fill_null(False)).alias("populations_nested"))
