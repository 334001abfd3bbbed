"""Trial design: TE, TA, TS (sdtm.md §10)."""

from __future__ import annotations

from typing import Optional

from schemas.sdtm._base import EPOCH_CT, Num, TrialDesignDataset, exp, perm, req, seq
from schemas.sdtm.special_purpose import ARM_CT, ARMCD_CT

ETCD_CT = ["SCRN", "TRT", "FU"]


class TE(TrialDesignDataset):
    DOMAIN: str = req("Domain Abbreviation", ct=["TE"])
    ETCD: str = req("Element Code", ct=ETCD_CT)
    ELEMENT: str = req("Description of Element")
    TESTRL: str = req("Rule for Start of Element")
    TEENRL: Optional[str] = perm("Rule for End of Element")
    TEDUR: Optional[str] = perm("Planned Duration of Element", duration=True)

    _KEY = ("STUDYID", "ETCD")

    class Config:
        title = "Trial Elements"


class TA(TrialDesignDataset):
    DOMAIN: str = req("Domain Abbreviation", ct=["TA"])
    ARMCD: str = req("Planned Arm Code", ct=ARMCD_CT)
    ARM: str = req("Description of Planned Arm", ct=ARM_CT)
    TAETORD: Num = req("Planned Order of Element within Arm", ge=1)
    ETCD: str = req("Element Code", ct=ETCD_CT)
    ELEMENT: Optional[str] = perm("Description of Element")
    TABRANCH: str = exp("Branch")
    TATRANS: str = exp("Transition Rule")
    EPOCH: str = req("Epoch", ct=EPOCH_CT)

    _KEY = ("STUDYID", "ARMCD", "TAETORD")

    class Config:
        title = "Trial Arms"


class TS(TrialDesignDataset):
    DOMAIN: str = req("Domain Abbreviation", ct=["TS"])
    TSSEQ: Num = seq()
    TSGRPID: Optional[str] = perm("Group ID")
    TSPARMCD: str = req("Trial Summary Parameter Short Name", pattern=r"^[A-Z][A-Z0-9]{0,7}$")
    TSPARM: str = req("Trial Summary Parameter")
    TSVAL: str = exp("Parameter Value")
    TSVALNF: Optional[str] = perm("Parameter Null Flavor")
    TSVALCD: Optional[str] = perm("Parameter Value Code")
    TSVCDREF: Optional[str] = perm("Name of the Reference Terminology")
    TSVCDVER: Optional[str] = perm("Version of the Reference Terminology")

    _KEY = ("STUDYID", "TSPARMCD", "TSSEQ")

    class Config:
        title = "Trial Summary"
