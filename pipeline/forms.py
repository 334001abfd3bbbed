"""The CRF catalogue: every form of the EDC export and every item on it (crf.md §2).

This is the contract between the synthetic generator (which writes these items), the
readers (which stage them losslessly as text) and validation (which types them). It
describes the *export*, nothing downstream: no SDTM or ADaM names live here.

Item kinds drive normalisation in validation:

- ``date``   full date expected (partial accepted only where ``partial`` is True)
- ``datetime`` date with optional time
- ``time``   HH:MM
- ``int`` / ``dec``  numbers (decimal comma accepted, glued units stripped)
- ``code``   a controlled value; ``codelist`` names the list in ``codelists.py``
- ``multi``  multi-select of a codelist, ``;``-separated once staged
- ``text``   free text, kept verbatim
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.config import trial as _trial

STUDYID: str = _trial()["studyid"]
SITEID: str = _trial()["siteid"]
#: SUBJID = subject number within site, zero-padded to this many digits (crf.md §8 KEY01)
SUBJID_DIGITS: int = int(_trial()["subjid_digits"])

#: key columns every staged raw table starts with (crf.md §1.1, §1.4)
KEY_COLUMNS: tuple[str, ...] = (
    "STUDYID",
    "SITEID",
    "SUBJID",
    "VISIT",
    "VISITREP",
    "FORMREP",
    "IGREP",
)
#: lineage columns every staged raw table ends with (crf.md §1.4)
LINEAGE_COLUMNS: tuple[str, ...] = ("SRC_FORMAT", "SRC_FILE", "SRC_ROW", "LASTMOD", "LOAD_TS")


@dataclass(frozen=True)
class Item:
    name: str
    kind: str  # date | datetime | time | int | dec | code | multi | text
    required: str = "N"  # Y | C | N (crf.md §2 "Req")
    codelist: str | None = None
    partial: bool = False  # partial dates allowed (kept partial, never imputed)
    label: str = ""


@dataclass(frozen=True)
class Form:
    name: str  # form code, also the CSV file stem: AE -> AE.csv
    label: str
    events: tuple[str, ...]  # visit names (see VISITS) or a log event
    repeats: str  # once | per visit | log
    items: tuple[Item, ...] = field(default_factory=tuple)

    @property
    def item_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.items)

    def item(self, name: str) -> Item:
        for it in self.items:
            if it.name == name:
                return it
        raise KeyError(f"form {self.name} has no item {name}")

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns of the staged raw table ``raw.<form>``, in order."""
        return KEY_COLUMNS + self.item_names + LINEAGE_COLUMNS


@dataclass(frozen=True)
class Visit:
    name: str  # canonical VISIT as exported in per-form CSV
    oid: str  # ODM StudyEventOID
    redcap: str  # REDCap unique event name without the arm suffix
    visitnum: float | None  # None for log events and unscheduled (derived later)


def _cycle(n: int) -> Visit:
    return Visit(f"CYCLE {n} DAY 1", f"SE_C{n}D1", f"cycle_{n}_day_1", 100 + n)


def _ta(k: int) -> Visit:
    return Visit(f"TUMOUR ASSESSMENT WEEK {6 * k}", f"SE_TAW{6 * k}", f"tumour_assessment_week_{6 * k}", 200 + k)


def _fu(k: int) -> Visit:
    return Visit(f"SURVIVAL FOLLOW-UP {k}", f"SE_FU{k}", f"survival_followup_{k}", 900 + k)


MAX_CYCLES_IN_CATALOGUE = 6
MAX_TUMOUR_ASSESSMENTS = 40  # enough weeks for any follow-up to DCO
MAX_FOLLOWUPS = 40

VISITS: tuple[Visit, ...] = (
    (Visit("SCREENING", "SE_SCREENING", "screening", 1),)
    + tuple(_cycle(n) for n in range(1, MAX_CYCLES_IN_CATALOGUE + 1))
    + (Visit("UNSCHEDULED", "SE_UNS", "unscheduled", None),)
    + tuple(_ta(k) for k in range(1, MAX_TUMOUR_ASSESSMENTS + 1))
    + (Visit("END OF TREATMENT", "SE_EOT", "end_of_treatment", 800),)
    + tuple(_fu(k) for k in range(1, MAX_FOLLOWUPS + 1))
    + (
        Visit("AELOG", "SE_AELOG", "ae_log", None),
        Visit("CMLOG", "SE_CMLOG", "cm_log", None),
        Visit("SUBTXLOG", "SE_SUBTXLOG", "subtx_log", None),
        Visit("DTHLOG", "SE_DTHLOG", "death_log", None),
        Visit("EOSLOG", "SE_EOSLOG", "eos_log", None),
    )
)
VISIT_BY_NAME = {v.name: v for v in VISITS}
VISIT_BY_OID = {v.oid: v for v in VISITS}
VISIT_BY_REDCAP = {v.redcap: v for v in VISITS}

CYCLE_VISITS = tuple(f"CYCLE {n} DAY 1" for n in range(1, MAX_CYCLES_IN_CATALOGUE + 1))
TA_VISITS = tuple(v.name for v in VISITS if v.name.startswith("TUMOUR ASSESSMENT"))
FU_VISITS = tuple(v.name for v in VISITS if v.name.startswith("SURVIVAL FOLLOW-UP"))

_Y, _C, _N = "Y", "C", "N"


def _i(name, kind, req=_N, codelist=None, partial=False, label=""):
    return Item(name, kind, req, codelist, partial, label)


FORMS: dict[str, Form] = {
    f.name: f
    for f in (
        Form("DM", "Enrolment/demographics", ("SCREENING",), "once", (
            _i("ICDAT", "date", _Y, label="Informed consent date"),
            _i("ENRDAT", "date", _C, label="Enrolment date"),
            _i("SCRFAIL", "code", _Y, "NY", label="Screen failure"),
            _i("INITIALS", "text", _N, label="Subject initials (identifier: restricted store only)"),
            _i("MRN", "text", _N, label="Hospital record number (identifier: restricted store only)"),
            _i("BRTHDAT", "date", _N, partial=True, label="Birth date (identifier: restricted store only)"),
            _i("AGE", "int", _Y, label="Age at consent (years)"),
            _i("SEX", "code", _Y, "SEX", label="Sex"),
            _i("ETHNIC", "text", _N, label="Ethnicity"),
            _i("RACE", "code", _Y, "RACE", label="Race"),
            _i("HEIGHT", "dec", _Y, label="Height (cm)"),
            _i("WEIGHT", "dec", _Y, label="Weight (kg)"),
        )),
        Form("IE", "Eligibility", ("SCREENING",), "per criterion", (
            _i("IETESTCD", "code", _Y, "IETESTCD", label="Criterion"),
            _i("IEORRES", "code", _Y, "NY", label="Criterion result"),
            _i("IEDAT", "date", _Y, label="Eligibility date"),
            _i("ELIGFL", "code", _N, "NY", label="Eligible (investigator)"),
        )),
        Form("DX", "Primary diagnosis", ("SCREENING",), "once", (
            _i("DXDAT", "date", _Y, partial=True, label="Date of first diagnosis"),
            _i("PRIMSITE", "code", _Y, "PRIMSITE", label="Primary site"),
            _i("HISTGRD", "code", _Y, "HISTGRD", label="FNCLCC grade"),
            _i("DISSTAT", "code", _Y, "DISSTAT", label="Disease status"),
            _i("METSITES", "multi", _C, "METSITES", label="Metastatic sites"),
        )),
        Form("MH", "Medical history", ("SCREENING",), "log", (
            _i("MHSPID", "int", _Y, label="MH line"),
            _i("MHTERM", "text", _Y, label="Condition"),
            _i("MHSTDAT", "date", _N, partial=True, label="Start date"),
            _i("MHONGO", "code", _Y, "NY", label="Ongoing"),
            _i("MHENDAT", "date", _C, partial=True, label="End date"),
        )),
        Form("PRTX", "Prior cancer therapy", ("SCREENING",), "log", (
            _i("PRSPID", "int", _Y, label="Line"),
            _i("PRTYPE", "code", _Y, "PRTYPE", label="Therapy type"),
            _i("PRTRT", "text", _Y, label="Therapy"),
            _i("PRSTDAT", "date", _N, partial=True, label="Start date"),
            _i("PRENDAT", "date", _N, partial=True, label="End date"),
            _i("PRSITE", "text", _N, label="Site"),
        )),
        Form("EX", "Study drug administration", CYCLE_VISITS, "per drug per day", (
            _i("EXSPID", "int", _Y, label="Row id within subject"),
            _i("CYCLE", "int", _Y, label="Cycle"),
            _i("EXTRT", "code", _Y, "EXTRT", label="Study drug"),
            _i("EXDAY", "int", _Y, label="Cycle day"),
            _i("EXOCCUR", "code", _Y, "NY", label="Dose given"),
            _i("EXREASND", "text", _C, label="Reason not given"),
            _i("EXSTDAT", "date", _Y, label="Infusion date"),
            _i("EXSTTIM", "time", _N, label="Infusion start time"),
            _i("EXENTIM", "time", _N, label="Infusion end time"),
            _i("WEIGHT", "dec", _Y, label="Weight for BSA (kg)"),
            _i("BSA", "dec", _Y, label="BSA (m2)"),
            _i("EXPDOSE", "dec", _Y, label="Prescribed dose (mg/m2)"),
            _i("EXDOSE", "dec", _C, label="Dose given"),
            _i("EXDOSU", "code", _C, "EXDOSU", label="Dose unit"),
            _i("EXROUTE", "code", _Y, "ROUTE", label="Route"),
            _i("EXADJ", "code", _Y, "NY", label="Dose adjusted"),
            _i("EXADJRS", "code", _C, "EXADJRS", label="Reason for adjustment"),
            _i("EXDELAY", "code", _C, "NY", label="Cycle delayed"),
        )),
        Form("VS", "Vital signs, ECOG", ("SCREENING",) + CYCLE_VISITS + ("END OF TREATMENT",), "per visit", (
            _i("VSDAT", "date", _Y, label="Date"),
            _i("SYSBP", "dec", _N, label="Systolic BP"),
            _i("SYSBPU", "text", _N),
            _i("DIABP", "dec", _N, label="Diastolic BP"),
            _i("DIABPU", "text", _N),
            _i("PULSE", "dec", _N, label="Pulse"),
            _i("PULSEU", "text", _N),
            _i("RESP", "dec", _N, label="Respiratory rate"),
            _i("RESPU", "text", _N),
            _i("TEMP", "dec", _N, label="Temperature"),
            _i("TEMPU", "text", _N),
            _i("WEIGHT", "dec", _N, label="Weight"),
            _i("WEIGHTU", "text", _N),
            _i("HEIGHT", "dec", _N, label="Height"),
            _i("HEIGHTU", "text", _N),
            _i("ECOG", "int", _Y, label="ECOG performance status"),
        )),
        Form("LB", "Laboratory", ("SCREENING",) + CYCLE_VISITS + ("UNSCHEDULED", "END OF TREATMENT"), "per test", (
            _i("LBDAT", "date", _Y, label="Sample date"),
            _i("LBTIM", "time", _N, label="Sample time"),
            _i("LBCAT", "code", _Y, "LBCAT", label="Category"),
            _i("LBTEST", "code", _Y, "LBTEST", label="Test"),
            _i("LBORRES", "text", _C, label="Result as printed"),
            _i("LBORRESU", "text", _C, label="Unit as printed"),
            _i("LBORNRLO", "text", _C, label="Normal range low"),
            _i("LBORNRHI", "text", _C, label="Normal range high"),
            _i("LBSTAT", "code", _N, "LBSTAT", label="Not done"),
            _i("LBCLSIG", "code", _N, "NY", label="Clinically significant"),
        )),
        Form("ECHO", "LVEF", ("SCREENING", "CYCLE 5 DAY 1", "END OF TREATMENT"), "per visit", (
            _i("ECHODAT", "date", _Y, label="Date"),
            _i("LVEF", "int", _Y, label="LVEF (%)"),
            _i("LVEFMETH", "code", _Y, "LVEFMETH", label="Method"),
        )),
        Form("AE", "Adverse events", ("AELOG",), "log", (
            _i("AESPID", "int", _Y, label="AE line"),
            _i("AETERM", "text", _Y, label="Verbatim term"),
            _i("AESTDAT", "date", _Y, partial=True, label="Start date"),
            _i("AEENDAT", "date", _C, partial=True, label="End date"),
            _i("AEONGO", "code", _Y, "NY", label="Ongoing"),
            _i("AETOXGR", "code", _Y, "TOXGR", label="CTCAE grade"),
            _i("AESER", "code", _Y, "NY", label="Serious"),
            _i("AESDTH", "code", _C, "NY"),
            _i("AESLIFE", "code", _C, "NY"),
            _i("AESHOSP", "code", _C, "NY"),
            _i("AESDISAB", "code", _C, "NY"),
            _i("AESCONG", "code", _C, "NY"),
            _i("AESMIE", "code", _C, "NY"),
            _i("AERELEPI", "code", _Y, "REL", label="Related to epirubicin"),
            _i("AERELTMZ", "code", _Y, "REL", label="Related to temozolomide"),
            _i("AEACNEPI", "code", _Y, "ACN", label="Action with epirubicin"),
            _i("AEACNTMZ", "code", _Y, "ACN", label="Action with temozolomide"),
            _i("AEOUT", "code", _Y, "OUT", label="Outcome"),
            _i("AELLT", "text", _C),
            _i("AEDECOD", "text", _C, label="MedDRA PT"),
            _i("AEPTCD", "text", _C),
            _i("AEHLT", "text", _C),
            _i("AEHLGT", "text", _C),
            _i("AEBODSYS", "text", _C, label="MedDRA SOC"),
            _i("AESOCCD", "text", _C),
            _i("MEDDRAV", "text", _C),
        )),
        Form("CM", "Concomitant medications", ("CMLOG",), "log", (
            _i("CMSPID", "int", _Y),
            _i("CMTRT", "text", _Y, label="Medication"),
            _i("CMINDC", "text", _N),
            _i("CMDOSE", "dec", _N),
            _i("CMDOSU", "text", _N),
            _i("CMDOSFRQ", "text", _N),
            _i("CMROUTE", "text", _N),
            _i("CMSTDAT", "date", _N, partial=True),
            _i("CMENDAT", "date", _N, partial=True),
            _i("CMONGO", "code", _N, "NY"),
            _i("CMDECOD", "text", _C),
            _i("CMATC", "text", _C),
        )),
        Form("TL", "Target lesions", ("SCREENING",) + TA_VISITS, "per lesion", (
            _i("LESID", "text", _Y, label="Lesion id"),
            _i("TULOC", "code", _Y, "TULOC", label="Location"),
            _i("TULOCDTL", "text", _N),
            _i("NODE", "code", _Y, "NY", label="Lymph node"),
            _i("TRMETHOD", "code", _Y, "TRMETHOD"),
            _i("TRDAT", "date", _Y, label="Scan date"),
            _i("TRDIAM", "dec", _C, label="Diameter (mm)"),
            _i("TRDIAMC", "code", _C, "TRDIAMC"),
        )),
        Form("NTL", "Non-target lesions", ("SCREENING",) + TA_VISITS, "per lesion", (
            _i("LESID", "text", _Y),
            _i("TULOC", "code", _Y, "TULOC"),
            _i("TULOCDTL", "text", _N),
            _i("TRMETHOD", "code", _Y, "TRMETHOD"),
            _i("TRDAT", "date", _Y),
            _i("NTSTAT", "code", _Y, "NTSTAT"),
        )),
        Form("NL", "New lesions", TA_VISITS, "per lesion", (
            _i("LESID", "text", _Y),
            _i("TULOC", "code", _Y, "TULOC"),
            _i("TULOCDTL", "text", _N),
            _i("TRMETHOD", "code", _Y, "TRMETHOD"),
            _i("TRDAT", "date", _Y),
            _i("NLEQUIV", "code", _Y, "NY"),
        )),
        Form("RS", "Overall response (investigator)", TA_VISITS, "per assessment", (
            _i("RSDAT", "date", _Y),
            _i("TRGRESP", "code", _N, "TRGRESP"),
            _i("NTRGRESP", "code", _N, "NTRGRESP"),
            _i("NEWLIND", "code", _N, "NY"),
            _i("OVRLRESP", "code", _Y, "OVRLRESP"),
            _i("SUMDIAM", "dec", _N),
        )),
        Form("EOT", "End of treatment", ("END OF TREATMENT",), "once", (
            _i("EOTDAT", "date", _Y),
            _i("LSTDOSDT", "date", _Y),
            _i("NCYCLES", "int", _Y),
            _i("EOTREAS", "code", _Y, "EOTREAS"),
            _i("EOTREASP", "text", _C),
        )),
        Form("SUBTX", "Subsequent anticancer therapy", ("SUBTXLOG",), "log", (
            _i("STSPID", "int", _Y),
            _i("STTYPE", "code", _Y, "STTYPE"),
            _i("STTRT", "text", _Y),
            _i("STSTDAT", "date", _Y, partial=True),
            _i("STENDAT", "date", _N, partial=True),
        )),
        Form("FU", "Survival follow-up", FU_VISITS, "per contact", (
            _i("FUDAT", "date", _Y),
            _i("FUSTAT", "code", _Y, "FUSTAT"),
            _i("FUMETH", "code", _N, "FUMETH"),
        )),
        Form("DTH", "Death", ("DTHLOG",), "once", (
            _i("DTHDAT", "date", _Y, partial=True),
            _i("DTHCAUS", "code", _Y, "DTHCAUS"),
            _i("DTHCAUSP", "text", _N),
        )),
        Form("EOS", "End of study", ("EOSLOG",), "once", (
            _i("EOSDAT", "date", _Y),
            _i("EOSSTAT", "code", _Y, "EOSSTAT"),
            _i("EOSREAS", "code", _C, "EOSREAS"),
            _i("LSTCONDT", "date", _Y),
        )),
    )
}

FORM_NAMES: tuple[str, ...] = tuple(FORMS)


def parse_subject_key(key: str) -> tuple[str, str]:
    """ODM ``SubjectKey`` ``SS_101001`` -> (SITEID ``101``, SUBJID ``001``) (crf.md §1.3)."""
    body = key[3:] if key.startswith("SS_") else key
    return body[:3], body[3:]


def subject_key(siteid: str, subjid: str) -> str:
    return f"SS_{siteid}{subjid}"


def item_oid(form: str, item: str) -> str:
    return f"I_{form}_{item}"
