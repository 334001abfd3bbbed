"""Special-purpose domains: DM (sdtm.md §2) and SV (§8)."""

from __future__ import annotations

from typing import Optional

import pandera.polars as pa
import polars as pl

from pipeline import config
from pipeline.forms import SUBJID_DIGITS
from schemas.sdtm._base import EPOCH_CT, FLAG, NY, Num, SubjectDataset, codelist, exp, perm, req

RACE_CT = sorted(set(codelist("RACE")) | {
    "AMERICAN INDIAN OR ALASKA NATIVE", "NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER", "MULTIPLE", "NOT REPORTED",
})
ETHNIC_CT = ["HISPANIC OR LATINO", "NOT HISPANIC OR LATINO", "NOT REPORTED", "UNKNOWN"]
ARMNRS_CT = ["SCREEN FAILURE", "ASSIGNED, NOT TREATED", "NOT ASSIGNED", "UNPLANNED TREATMENT", "NOT TREATED"]


def _arm() -> tuple[list[str], list[str]]:
    trial = config.trial()
    return [trial["armcd"]], [trial["arm"]]


ARMCD_CT, ARM_CT = _arm()


class DM(SubjectDataset):
    DOMAIN: str = req("Domain Abbreviation", ct=["DM"])
    SUBJID: str = req("Subject Identifier for the Study", pattern=rf"^\d{{{SUBJID_DIGITS}}}$")
    RFSTDTC: str = exp("Subject Reference Start Date/Time", dtc=True)
    RFENDTC: str = exp("Subject Reference End Date/Time", dtc=True)
    RFXSTDTC: str = exp("Date/Time of First Study Treatment", dtc=True)
    RFXENDTC: str = exp("Date/Time of Last Study Treatment", dtc=True)
    RFICDTC: str = exp("Date/Time of Informed Consent", dtc=True)
    RFPENDTC: str = exp("Date/Time of End of Participation", dtc=True)
    DTHDTC: str = exp("Date/Time of Death", dtc=True)
    DTHFL: str = exp("Subject Death Flag", ct=FLAG)
    SITEID: str = req("Study Site Identifier", pattern=r"^\d{3}$")
    BRTHDTC: Optional[str] = perm("Date/Time of Birth", dtc=True)
    AGE: Num = exp("Age", ge=0, le=130)
    AGEU: str = exp("Age Units", ct=["YEARS"])
    SEX: str = req("Sex", ct=codelist("SEX"))
    RACE: str = exp("Race", ct=RACE_CT)
    ETHNIC: Optional[str] = perm("Ethnicity", ct=ETHNIC_CT)
    ARMCD: str = exp("Planned Arm Code", ct=ARMCD_CT)
    ARM: str = exp("Description of Planned Arm", ct=ARM_CT)
    ACTARMCD: str = exp("Actual Arm Code", ct=ARMCD_CT)
    ACTARM: str = exp("Description of Actual Arm", ct=ARM_CT)
    ARMNRS: str = exp("Reason Arm and/or Actual Arm is Null", ct=ARMNRS_CT)
    COUNTRY: str = req("Country", ct=["CHN"])
    DMDTC: Optional[str] = perm("Date/Time of Collection", dtc=True)
    DMDY: Optional[Num] = perm("Study Day of Collection")

    _KEY = ("STUDYID", "USUBJID")

    class Config:
        title = "Demographics"

    @pa.dataframe_check
    def usubjid_parts(cls, data):
        """USUBJID = STUDYID-SITEID-SUBJID (sdtm.md §1)."""
        expected = pl.concat_str([pl.col("STUDYID"), pl.col("SITEID"), pl.col("SUBJID")], separator="-")
        return data.lazyframe.select((pl.col("USUBJID") == expected).fill_null(False).alias("usubjid_parts"))


class SV(SubjectDataset):
    DOMAIN: str = req("Domain Abbreviation", ct=["SV"])
    VISITNUM: Num = req("Visit Number", ge=0)
    VISIT: str = req("Visit Name")
    VISITDY: Optional[Num] = perm("Planned Study Day of Visit")
    EPOCH: str = exp("Epoch", ct=EPOCH_CT)
    SVPRESP: Optional[str] = perm("Pre-specified", ct=FLAG)
    SVOCCUR: Optional[str] = perm("Occurrence", ct=NY)
    SVREASOC: Optional[str] = perm("Reason for Occur Value")
    SVSTDTC: str = exp("Start Date/Time of Visit", dtc=True)
    SVENDTC: str = exp("End Date/Time of Visit", dtc=True)
    SVSTDY: Optional[Num] = perm("Study Day of Start of Visit")
    SVENDY: Optional[Num] = perm("Study Day of End of Visit")
    SVUPDES: Optional[str] = perm("Description of Unplanned Visit")

    _KEY = ("STUDYID", "USUBJID", "VISITNUM")

    class Config:
        title = "Subject Visits"
