"""Findings: LB and VS (sdtm.md §5)."""

from __future__ import annotations

from typing import Optional

from schemas.sdtm._base import EPOCH_CT, FLAG, NOT_DONE, UNITS, Num, SubjectDataset, codelist, exp, perm, req, seq

LBTESTCD_CT = codelist("LBTEST")
VSTESTCD_CT = ["SYSBP", "DIABP", "PULSE", "RESP", "TEMP", "WEIGHT", "HEIGHT", "BSA"]
NRIND_CT = ["LOW", "NORMAL", "HIGH"]


class LB(SubjectDataset):
    DOMAIN: str = req("Domain Abbreviation", ct=["LB"])
    LBSEQ: Num = seq()
    LBTESTCD: str = req("Lab Test or Examination Short Name", ct=LBTESTCD_CT)
    LBTEST: str = req("Lab Test or Examination Name")
    LBCAT: str = exp("Category for Lab Test", ct=codelist("LBCAT"))
    LBORRES: str = exp("Result or Finding in Original Units")
    LBORRESU: str = exp("Original Units")
    LBORNRLO: str = exp("Reference Range Lower Limit in Orig Unit")
    LBORNRHI: str = exp("Reference Range Upper Limit in Orig Unit")
    LBSTRESC: str = exp("Character Result/Finding in Std Format")
    LBSTRESN: Num = exp("Numeric Result/Finding in Standard Units")
    LBSTRESU: str = exp("Standard Units", ct=UNITS)
    LBSTNRLO: Num = exp("Reference Range Lower Limit-Std Units")
    LBSTNRHI: Num = exp("Reference Range Upper Limit-Std Units")
    LBNRIND: str = exp("Reference Range Indicator", ct=NRIND_CT)
    LBSTAT: Optional[str] = perm("Completion Status", ct=NOT_DONE)
    LBREASND: Optional[str] = perm("Reason Test Not Done")
    LBSPEC: Optional[str] = perm("Specimen Type", ct=["BLOOD", "SERUM"])
    LBLOBXFL: str = exp("Last Observation Before Exposure Flag", ct=FLAG)
    LBBLFL: Optional[str] = perm("Baseline Flag", ct=FLAG)
    VISITNUM: Num = exp("Visit Number", ge=0)
    VISIT: str = exp("Visit Name")
    EPOCH: Optional[str] = perm("Epoch", ct=EPOCH_CT)
    LBDTC: str = exp("Date/Time of Specimen Collection", dtc=True)
    LBDY: Optional[Num] = perm("Study Day of Specimen Collection")

    _KEY = ("STUDYID", "USUBJID", "LBTESTCD", "VISITNUM", "LBDTC")
    _SEQ = "LBSEQ"

    class Config:
        title = "Laboratory Test Results"


class VS(SubjectDataset):
    DOMAIN: str = req("Domain Abbreviation", ct=["VS"])
    VSSEQ: Num = seq()
    VSTESTCD: str = req("Vital Signs Test Short Name", ct=VSTESTCD_CT)
    VSTEST: str = req("Vital Signs Test Name")
    VSORRES: str = exp("Result or Finding in Original Units")
    VSORRESU: str = exp("Original Units")
    VSSTRESC: str = exp("Character Result/Finding in Std Format")
    VSSTRESN: Num = exp("Numeric Result/Finding in Standard Units")
    VSSTRESU: str = exp("Standard Units", ct=UNITS)
    VSSTAT: Optional[str] = perm("Completion Status", ct=NOT_DONE)
    # not an SDTMIG variable: the VS model marks derived BSA rows (sdtm.md §5); labelled so the export is
    VSORIG: Optional[str] = perm("Origin of Result", ct=["CRF", "DERIVED"])
    VSREASND: Optional[str] = perm("Reason Not Performed")
    VSLOBXFL: str = exp("Last Observation Before Exposure Flag", ct=FLAG)
    VSBLFL: Optional[str] = perm("Baseline Flag", ct=FLAG)
    VISITNUM: Num = exp("Visit Number", ge=0)
    VISIT: str = exp("Visit Name")
    EPOCH: Optional[str] = perm("Epoch", ct=EPOCH_CT)
    VSDTC: str = exp("Date/Time of Measurements", dtc=True)
    VSDY: Optional[Num] = perm("Study Day of Vital Signs")

    _KEY = ("STUDYID", "USUBJID", "VSTESTCD", "VISITNUM", "VSDTC")
    _SEQ = "VSSEQ"

    class Config:
        title = "Vital Signs"
