"""SUPPQUAL: one shared model (sdtm.md §1) and its per-parent datasets SUPPEX/SUPPAE/SUPPMH/SUPPTU.

The subclasses only pin ``RDOMAIN``, the ``QNAM`` values the spec lists for that parent and the
dataset label; every variable, type and check comes from ``SUPPQUAL``.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.sdtm._base import USUBJID_PATTERN, SdtmDataset, exp, req


class SUPPQUAL(SdtmDataset):
    RDOMAIN: str = req("Related Domain Abbreviation", pattern=r"^[A-Z]{2}$")
    USUBJID: str = req("Unique Subject Identifier", pattern=USUBJID_PATTERN)
    IDVAR: str = exp("Identifying Variable", pattern=r"^[A-Z]{2}SEQ$")
    IDVARVAL: str = exp("Identifying Variable Value", pattern=r"^\d+$")
    QNAM: str = req("Qualifier Variable Name", pattern=r"^[A-Z][A-Z0-9]{0,7}$")
    QLABEL: str = req("Qualifier Variable Label", max_len=40)
    QVAL: str = req("Data Value")
    QORIG: str = req("Origin", ct=["CRF", "DERIVED"])
    QEVAL: str = exp("Evaluator")

    _KEY = ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM")

    class Config:
        title = "Supplemental Qualifiers"

    @pa.dataframe_check
    def idvar_of_parent(cls, data):
        """IDVAR is the parent's --SEQ: its first two letters are RDOMAIN."""
        return data.lazyframe.select(
            (pl.col("IDVAR").is_null() | (pl.col("IDVAR").str.slice(0, 2) == pl.col("RDOMAIN")))
            .fill_null(False).alias("idvar_of_parent")
        )


def _supp(parent: str, qnams: list[str], label: str) -> type[SUPPQUAL]:
    rdomain = req("Related Domain Abbreviation", ct=[parent])
    qnam = req("Qualifier Variable Name", ct=qnams)
    config = type("Config", (), {"title": label})
    return type(
        f"SUPP{parent}",
        (SUPPQUAL,),
        {"__annotations__": {"RDOMAIN": str, "QNAM": str}, "RDOMAIN": rdomain, "QNAM": qnam, "Config": config,
         "__module__": __name__},
    )


SUPPEX = _supp("EX", ["BSA", "PLDOSE", "CYCLE"], "Supplemental Qualifiers for EX")
SUPPAE = _supp("AE", ["AERELEPI", "AERELTMZ", "AEACNEPI", "AEACNTMZ"], "Supplemental Qualifiers for AE")
SUPPMH = _supp("MH", ["PRIMSITE", "HISTGRD", "DISSTAT", "METSITES"], "Supplemental Qualifiers for MH")
SUPPTU = _supp("TU", ["TUNODE", "TUEQUIV"], "Supplemental Qualifiers for TU")
