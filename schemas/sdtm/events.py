"""Events: AE (sdtm.md §4), MH (§7), DS (§8)."""

from __future__ import annotations

from typing import Optional

from schemas.sdtm._base import ENRF, EPOCH_CT, NY, Num, SubjectDataset, codelist, exp, perm, req, seq

AEACN_CT = [
    "DOSE INCREASED", "DOSE NOT CHANGED", "DOSE RATE REDUCED", "DOSE REDUCED", "DRUG INTERRUPTED",
    "DRUG WITHDRAWN", "NOT APPLICABLE", "UNKNOWN", "MULTIPLE",
]
AESEV_CT = ["MILD", "MODERATE", "SEVERE"]
AETOXGR_CT = ["1", "2", "3", "4", "5"]
MHCAT_CT = ["GENERAL MEDICAL HISTORY", "PRIMARY CANCER DIAGNOSIS"]
DSCAT_CT = ["PROTOCOL MILESTONE", "DISPOSITION EVENT", "OTHER EVENT"]
DSSCAT_CT = ["STUDY TREATMENT", "STUDY PARTICIPATION"]
DSDECOD_CT = [
    "INFORMED CONSENT OBTAINED", "SCREEN FAILURE", "COMPLETED", "PROGRESSIVE DISEASE", "ADVERSE EVENT",
    "WITHDRAWAL BY SUBJECT", "PHYSICIAN DECISION", "DEATH", "LOST TO FOLLOW-UP", "OTHER",
    "STUDY TERMINATED BY SPONSOR", "SITE TERMINATED BY SPONSOR", "LACK OF EFFICACY", "PROTOCOL DEVIATION",
    "NON-COMPLIANCE WITH STUDY DRUG", "PREGNANCY", "RECOVERY", "TECHNICAL PROBLEMS", "RANDOMIZED",
    "ELIGIBILITY CRITERIA MET",
]


class AE(SubjectDataset):
    DOMAIN: str = req("Domain Abbreviation", ct=["AE"])
    AESEQ: Num = seq()
    AESPID: Optional[str] = perm("Sponsor-Defined Identifier")
    AETERM: str = req("Reported Term for the Adverse Event")
    AELLT: str = exp("Lowest Level Term")
    AELLTCD: Num = exp("Lowest Level Term Code")
    # Req in SDTMIG, but sdtm.md §4: an uncoded term leaves AEDECOD null and raises an issue (qa), so the
    # column must exist yet may be null here; the metadata still records core Req
    AEDECOD: str = req("Dictionary-Derived Term", nullable=True)
    AEPTCD: Num = exp("Preferred Term Code")
    AEHLT: str = exp("High Level Term")
    AEHLTCD: Num = exp("High Level Term Code")
    AEHLGT: str = exp("High Level Group Term")
    AEHLGTCD: Num = exp("High Level Group Term Code")
    AEBODSYS: str = exp("Body System or Organ Class")
    AEBDSYCD: Num = exp("Body System or Organ Class Code")
    AESOC: str = exp("Primary System Organ Class")
    AESOCCD: Num = exp("Primary System Organ Class Code")
    AESEV: Optional[str] = perm("Severity/Intensity", ct=AESEV_CT)
    AESER: str = exp("Serious Event", ct=NY)
    AEACN: str = exp("Action Taken with Study Treatment", ct=AEACN_CT)
    AEREL: str = exp("Causality", ct=codelist("REL"))
    AEOUT: Optional[str] = perm("Outcome of Adverse Event", ct=codelist("OUT"))
    AESCONG: Optional[str] = perm("Congenital Anomaly or Birth Defect", ct=NY)
    AESDISAB: Optional[str] = perm("Persist or Signif Disability/Incapacity", ct=NY)
    AESDTH: Optional[str] = perm("Results in Death", ct=NY)
    AESHOSP: Optional[str] = perm("Requires or Prolongs Hospitalization", ct=NY)
    AESLIFE: Optional[str] = perm("Is Life Threatening", ct=NY)
    AESMIE: Optional[str] = perm("Other Medically Important Serious Event", ct=NY)
    AETOXGR: str = exp("Standard Toxicity Grade", ct=AETOXGR_CT)
    EPOCH: Optional[str] = perm("Epoch", ct=EPOCH_CT)
    AESTDTC: str = exp("Start Date/Time of Adverse Event", dtc=True)
    AEENDTC: str = exp("End Date/Time of Adverse Event", dtc=True)
    AESTDY: Optional[Num] = perm("Study Day of Start of Adverse Event")
    AEENDY: Optional[Num] = perm("Study Day of End of Adverse Event")
    AEENRTPT: Optional[str] = perm("End Relative to Reference Time Point", ct=ENRF)
    AEENTPT: Optional[str] = perm("End Reference Time Point")

    _KEY = ("STUDYID", "USUBJID", "AEDECOD", "AESTDTC", "AESPID")
    _SEQ = "AESEQ"

    class Config:
        title = "Adverse Events"


class MH(SubjectDataset):
    DOMAIN: str = req("Domain Abbreviation", ct=["MH"])
    MHSEQ: Num = seq()
    MHSPID: Optional[str] = perm("Sponsor-Defined Identifier")
    MHTERM: str = req("Reported Term for the Medical History")
    MHDECOD: Optional[str] = perm("Dictionary-Derived Term")
    MHBODSYS: Optional[str] = perm("Body System or Organ Class")
    MHCAT: Optional[str] = perm("Category for Medical History", ct=MHCAT_CT)
    MHSTDTC: Optional[str] = perm("Start Date/Time of Medical History Event", dtc=True)
    MHENDTC: Optional[str] = perm("End Date/Time of Medical History Event", dtc=True)
    MHENRTPT: Optional[str] = perm("End Relative to Reference Time Point", ct=ENRF)
    MHENTPT: Optional[str] = perm("End Reference Time Point")

    _KEY = ("STUDYID", "USUBJID", "MHTERM", "MHSTDTC", "MHSPID")
    _SEQ = "MHSEQ"

    class Config:
        title = "Medical History"


class DS(SubjectDataset):
    DOMAIN: str = req("Domain Abbreviation", ct=["DS"])
    DSSEQ: Num = seq()
    DSSPID: Optional[str] = perm("Sponsor-Defined Identifier")
    DSTERM: str = req("Reported Term for the Disposition Event")
    DSDECOD: str = req("Standardized Disposition Term", ct=DSDECOD_CT)
    DSCAT: str = exp("Category for Disposition Event", ct=DSCAT_CT)
    DSSCAT: Optional[str] = perm("Subcategory for Disposition Event", ct=DSSCAT_CT)
    EPOCH: str = exp("Epoch", ct=EPOCH_CT)
    DSDTC: Optional[str] = perm("Date/Time of Collection", dtc=True)
    DSSTDTC: str = exp("Start Date/Time of Disposition Event", dtc=True)
    DSSTDY: Optional[Num] = perm("Study Day of Start of Disposition Event")

    _KEY = ("STUDYID", "USUBJID", "DSCAT", "DSSCAT", "DSDECOD")
    _SEQ = "DSSEQ"

    class Config:
        title = "Disposition"
