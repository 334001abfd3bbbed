"""ADAE: one record per SDTM AE record (adam.md §2)."""

from __future__ import annotations

from datetime import date
from typing import Optional

import pandera.polars as pa
import polars as pl

from schemas.adam._base import FLAG, AdamDataset, var
from schemas.contracts import Num, unique_rows

GRADES = ["1", "2", "3", "4", "5"]


class ADAE(AdamDataset):
    AESEQ: Num = var("Sequence Number", required=True, ge=1)
    AEDECOD: str = var("Dictionary-Derived Term")
    AEBODSYS: Optional[str] = var("Body System or Organ Class")
    ASTDT: date = var("Analysis Start Date")
    AENDT: Optional[date] = var("Analysis End Date")
    TRTEMFL: str = var("Treatment Emergent Analysis Flag", ct=FLAG)
    ATOXGR: Optional[str] = var("Analysis Toxicity Grade", ct=GRADES)
    ATOXGRN: Optional[Num] = var("Analysis Toxicity Grade (N)", ge=1, le=5)
    AOCCPFL: Optional[str] = var("1st Max Sev./Int. Occurrence Within PT Flag", ct=FLAG)
    AOCCSFL: Optional[str] = var("1st Max Sev./Int. Occurrence Within SOC Flag", ct=FLAG)

    _KEY = ("USUBJID", "AESEQ")

    class Config:
        title = "Adverse Events Analysis Dataset"

    @pa.dataframe_check
    def one_flagged_per_subject_pt(cls, data):
        """AOCCPFL marks at most one record per subject and PT (the worst-grade TEAE)."""
        return unique_rows(data.lazyframe, ("USUBJID", "AEDECOD"), "one_flagged_per_subject_pt",
                           where=pl.col("AOCCPFL") == "Y")

    @pa.dataframe_check
    def flagged_are_teae(cls, data):
        """Occurrence flags are set on treatment-emergent records only."""
        return data.lazyframe.select(
            ((pl.col("AOCCPFL") != "Y") | (pl.col("TRTEMFL") == "Y")).fill_null(True).alias("flagged_are_teae"))
