"""Interventions: EX (sdtm.md §3), CM and PR (§6)."""

from __future__ import annotations

from typing import Optional

from schemas.sdtm._base import ENRF, EPOCH_CT, UNITS, Num, SubjectDataset, codelist, exp, perm, req, seq

EXTRT_CT = codelist("EXTRT")
CMCAT_CT = ["CONCOMITANT MEDICATION", "PRIOR ANTICANCER THERAPY", "SUBSEQUENT ANTICANCER THERAPY"]
PRCAT_CT = ["PRIOR ANTICANCER THERAPY", "SUBSEQUENT ANTICANCER THERAPY"]


class EX(SubjectDataset):
    DOMAIN: str = req("Domain Abbreviation", ct=["EX"])
    EXSEQ: Num = seq()
    EXGRPID: Optional[str] = perm("Group ID", pattern=r"^CYCLE \d+$")
    EXSPID: Optional[str] = perm("Sponsor-Defined Identifier")
    EXTRT: str = req("Name of Treatment", ct=EXTRT_CT)
    EXDOSE: Num = exp("Dose", ge=0)
    EXDOSU: str = exp("Dose Units", ct=UNITS)
    EXDOSFRM: str = exp("Dose Form")
    EXDOSFRQ: Optional[str] = perm("Dosing Frequency per Interval")
    EXROUTE: Optional[str] = perm("Route of Administration", ct=codelist("ROUTE") + ["ORAL"])
    EXADJ: Optional[str] = perm("Reason for Dose Adjustment")
    EPOCH: Optional[str] = perm("Epoch", ct=EPOCH_CT)
    VISITNUM: Optional[Num] = perm("Visit Number", ge=0)
    VISIT: Optional[str] = perm("Visit Name")
    EXSTDTC: str = exp("Start Date/Time of Treatment", dtc=True)
    EXENDTC: Optional[str] = perm("End Date/Time of Treatment", dtc=True)
    EXSTDY: Optional[Num] = perm("Study Day of Start of Treatment")
    EXENDY: Optional[Num] = perm("Study Day of End of Treatment")

    _KEY = ("STUDYID", "USUBJID", "EXTRT", "EXSTDTC")
    _SEQ = "EXSEQ"

    class Config:
        title = "Exposure"


class CM(SubjectDataset):
    DOMAIN: str = req("Domain Abbreviation", ct=["CM"])
    CMSEQ: Num = seq()
    CMSPID: Optional[str] = perm("Sponsor-Defined Identifier")
    CMTRT: str = req("Reported Name of Drug, Med, or Therapy")
    CMDECOD: str = exp("Standardized Medication Name")
    CMCAT: Optional[str] = perm("Category for Medication", ct=CMCAT_CT)
    CMINDC: Optional[str] = perm("Indication")
    CMDOSE: Optional[Num] = perm("Dose per Administration", ge=0)
    CMDOSU: Optional[str] = perm("Dose Units")
    CMDOSFRQ: Optional[str] = perm("Dosing Frequency per Interval")
    CMROUTE: Optional[str] = perm("Route of Administration")
    EPOCH: Optional[str] = perm("Epoch", ct=EPOCH_CT)
    CMSTDTC: str = exp("Start Date/Time of Medication", dtc=True)
    CMENDTC: str = exp("End Date/Time of Medication", dtc=True)
    CMSTDY: Optional[Num] = perm("Study Day of Start of Medication")
    CMENDY: Optional[Num] = perm("Study Day of End of Medication")
    CMENRTPT: Optional[str] = perm("End Relative to Reference Time Point", ct=ENRF)
    CMENTPT: Optional[str] = perm("End Reference Time Point")

    _KEY = ("STUDYID", "USUBJID", "CMTRT", "CMSTDTC", "CMSPID")
    _SEQ = "CMSEQ"

    class Config:
        title = "Concomitant/Prior Medications"


class PR(SubjectDataset):
    DOMAIN: str = req("Domain Abbreviation", ct=["PR"])
    PRSEQ: Num = seq()
    PRSPID: Optional[str] = perm("Sponsor-Defined Identifier")
    PRTRT: str = req("Reported Name of Procedure")
    PRDECOD: Optional[str] = perm("Standardized Procedure Name")
    PRCAT: Optional[str] = perm("Category", ct=PRCAT_CT)
    PRSCAT: Optional[str] = perm("Subcategory")
    PRLOC: Optional[str] = perm("Location of Procedure")
    EPOCH: Optional[str] = perm("Epoch", ct=EPOCH_CT)
    PRSTDTC: str = exp("Start Date/Time of Procedure", dtc=True)
    PRENDTC: Optional[str] = perm("End Date/Time of Procedure", dtc=True)
    PRSTDY: Optional[Num] = perm("Study Day of Start of Procedure")
    PRENDY: Optional[Num] = perm("Study Day of End of Procedure")
    PRENRTPT: Optional[str] = perm("End Relative to Reference Time Point", ct=ENRF)
    PRENTPT: Optional[str] = perm("End Reference Time Point")

    # no natural key in sdtm.md §11: uniqueness is USUBJID + PRSEQ
    _SEQ = "PRSEQ"

    class Config:
        title = "Procedures"
