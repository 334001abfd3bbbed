"""Oncology (RECIST 1.1): TU, TR, RS (sdtm.md §9)."""

from __future__ import annotations

from typing import Optional

import pandera.polars as pa
import polars as pl

from schemas.sdtm._base import EPOCH_CT, NOT_DONE, Num, SubjectDataset, codelist, exp, perm, req, seq

LESION_GROUP_CT = ["TARGET", "NON-TARGET", "NEW"]
METHOD_CT = codelist("TRMETHOD")
# SAXIS per sdtm.md; LPERP is admiralonco's code for the same measurement ("keep the code configurable")
TRTESTCD_CT = ["LDIAM", "SAXIS", "LPERP", "SUMDIAM", "TUMSTATE"]
TUMSTATE_CT = codelist("NTSTAT")
RSCAT_CT = ["RECIST 1.1", "ECOG"]
RS_RESULTS = {
    "TRGRESP": codelist("TRGRESP"),
    "NTRGRESP": codelist("NTRGRESP"),
    "NEWLIND": ["Y", "N"],
    "OVRLRESP": codelist("OVRLRESP"),
    "ECOG101": ["0", "1", "2", "3", "4", "5"],
}
RSTESTCD_CT = list(RS_RESULTS)


class TU(SubjectDataset):
    DOMAIN: str = req("Domain Abbreviation", ct=["TU"])
    TUSEQ: Num = seq()
    TUGRPID: Optional[str] = perm("Group ID")
    TULNKID: str = exp("Link ID", pattern=r"^(T|NT|NEW)\d+$")
    TUTESTCD: str = req("Tumor/Lesion ID Short Name", ct=["TUMIDENT"])
    TUTEST: str = req("Tumor/Lesion ID Test Name", ct=["Tumor Identification"])
    TUORRES: str = exp("Tumor/Lesion ID Result", ct=LESION_GROUP_CT)
    TUSTRESC: str = exp("Tumor/Lesion ID Result Std. Format", ct=LESION_GROUP_CT)
    TULOC: str = exp("Location of the Tumor/Lesion", ct=codelist("TULOC"))
    TUMETHOD: str = exp("Method of Identification", ct=METHOD_CT)
    TUEVAL: str = exp("Evaluator", ct=["INVESTIGATOR"])
    VISITNUM: Num = exp("Visit Number", ge=0)
    VISIT: str = exp("Visit Name")
    EPOCH: Optional[str] = perm("Epoch", ct=EPOCH_CT)
    TUDTC: str = exp("Date/Time of Tumor/Lesion Identification", dtc=True)
    TUDY: Optional[Num] = perm("Study Day of Tumor/Lesion Identification")

    _KEY = ("STUDYID", "USUBJID", "TULNKID", "TUEVAL")
    _SEQ = "TUSEQ"

    class Config:
        title = "Tumor/Lesion Identification"


class TR(SubjectDataset):
    DOMAIN: str = req("Domain Abbreviation", ct=["TR"])
    TRSEQ: Num = seq()
    TRGRPID: Optional[str] = perm("Group ID", ct=LESION_GROUP_CT)
    TRLNKID: str = exp("Link ID", pattern=r"^(T|NT|NEW)\d+$")
    TRLNKGRP: Optional[str] = perm("Link Group ID")
    TRTESTCD: str = req("Tumor/Lesion Assessment Short Name", ct=TRTESTCD_CT)
    TRTEST: str = req("Tumor/Lesion Assessment Test Name")
    TRORRES: str = exp("Result or Finding in Original Units")
    TRORRESU: str = exp("Original Units", ct=["mm"])
    TRSTRESC: str = exp("Character Result/Finding in Std Format")
    TRSTRESN: Num = exp("Numeric Result/Finding in Standard Units", ge=0)
    TRSTRESU: str = exp("Standard Units", ct=["mm"])
    TRSTAT: Optional[str] = perm("Completion Status", ct=NOT_DONE)
    TRREASND: Optional[str] = perm("Reason Not Done")
    TRMETHOD: Optional[str] = perm("Method Used to Identify the Tumor", ct=METHOD_CT)
    TREVAL: str = exp("Evaluator", ct=["INVESTIGATOR"])
    VISITNUM: Num = exp("Visit Number", ge=0)
    VISIT: str = exp("Visit Name")
    EPOCH: Optional[str] = perm("Epoch", ct=EPOCH_CT)
    TRDTC: str = exp("Date/Time of Tumor/Lesion Measurement", dtc=True)
    TRDY: Optional[Num] = perm("Study Day of Tumor/Lesion Measurement")

    _SEQ = "TRSEQ"

    class Config:
        title = "Tumor/Lesion Results"

    @pa.dataframe_check
    def unique_key(cls, data):
        """sdtm.md §11: TRLNKID (TRGRPID for SUMDIAM), TRTESTCD, VISITNUM, TREVAL."""
        names = data.lazyframe.collect_schema().names()
        lesion = pl.coalesce([pl.col(c) for c in ("TRLNKID", "TRGRPID") if c in names]).alias("_LESION")
        return data.lazyframe.select(
            ~pl.struct([pl.col("USUBJID"), lesion, pl.col("TRTESTCD"), pl.col("VISITNUM"), pl.col("TREVAL")])
            .is_duplicated().alias("unique_key")
        )


class RS(SubjectDataset):
    DOMAIN: str = req("Domain Abbreviation", ct=["RS"])
    RSSEQ: Num = seq()
    RSLNKGRP: Optional[str] = perm("Link Group ID")
    RSTESTCD: str = req("Assessment Short Name", ct=RSTESTCD_CT)
    RSTEST: str = req("Assessment Name")
    RSCAT: str = exp("Category for Assessment", ct=RSCAT_CT)
    RSORRES: str = exp("Result or Finding in Original Units")
    RSSTRESC: str = exp("Character Result/Finding in Std Format",
                        ct=sorted({v for values in RS_RESULTS.values() for v in values}))
    RSSTRESN: Optional[Num] = perm("Numeric Result/Finding in Standard Units", ge=0, le=5)
    RSSTAT: Optional[str] = perm("Completion Status", ct=NOT_DONE)
    RSREASND: Optional[str] = perm("Reason Not Done")
    RSEVAL: str = exp("Evaluator", ct=["INVESTIGATOR"])
    VISITNUM: Num = exp("Visit Number", ge=0)
    VISIT: str = exp("Visit Name")
    EPOCH: Optional[str] = perm("Epoch", ct=EPOCH_CT)
    RSDTC: str = exp("Date/Time of Assessment", dtc=True)
    RSDY: Optional[Num] = perm("Study Day of Assessment")

    _KEY = ("STUDYID", "USUBJID", "RSCAT", "RSTESTCD", "VISITNUM", "RSEVAL")
    _SEQ = "RSSEQ"

    class Config:
        title = "Disease Response and Clin Classification"

    @pa.dataframe_check
    def result_by_test(cls, data):
        """RSSTRESC is one of the values its RSTESTCD allows (sdtm.md §9 table)."""
        ok = pl.lit(False)
        for testcd, values in RS_RESULTS.items():
            ok = ok | ((pl.col("RSTESTCD") == testcd) & pl.col("RSSTRESC").is_in(values))
        return data.lazyframe.select((ok | pl.col("RSSTRESC").is_null()).fill_null(False).alias("result_by_test"))
