"""The catalogue of validation rules: id, severity and what the rule means (crf.md §6).

Every finding names one of these ids. ERROR means the value is unusable: the row goes to
quarantine with its reasons and never reaches ``stg``. WARN keeps the row and flags it for a
query. NOTICE records a transformation a reviewer may want to see (e.g. an Excel serial date
that was converted). Rules beyond crf.md §6 (DAT05, NUM01, NUM02, TIM01, CODE01, REQ01, RNG01,
COD01) cover what the normalisation rules of crf.md §3-5 call "issues". XT01-XT10 are the
cross-table rules the Great Expectations suites run on SDTM and ADaM (``pipeline/qa``).
"""

from __future__ import annotations

from dataclasses import dataclass

ERROR, WARN, NOTICE = "ERROR", "WARN", "NOTICE"
SEVERITIES = (ERROR, WARN, NOTICE)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    title: str


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("KEY01", ERROR, "Subject not in DM, or SUBJID not matching the site pattern after zero-padding"),
        Rule("DUP01", WARN, "Exact duplicate row: one copy kept"),
        Rule("DUP02", WARN, "Same key with different values: the latest LASTMOD (else last in file) kept"),
        Rule("DAT01", ERROR, "Unparseable, impossible, ambiguous or out-of-range date"),
        Rule("DAT02", ERROR, "End date before start date"),
        Rule("DAT03", WARN, "Date after the data cut-off or before consent minus 5 years"),
        Rule("DAT04", WARN, "Date after death on a form not related to death"),
        Rule("DAT05", NOTICE, "Date converted from an Excel serial number"),
        Rule("VIS01", WARN, "Visit date outside its window: nominal visit kept"),
        Rule("AE01", ERROR, "AETOXGR not a CTCAE grade 1-5 after mapping"),
        Rule("AE02", WARN, "Serious AE without a seriousness criterion, or grade 5 without outcome FATAL"),
        Rule("AE03", WARN, "AEONGO inconsistent with AEENDAT"),
        Rule("COD01", WARN, "AE verbatim not in the coding dictionary and not yet coded"),
        Rule("EX01", WARN, "Dose outside 50-110% of planned without EXADJ = Y"),
        Rule("EX02", WARN, "Site BSA differs from Mosteller by more than the tolerance"),
        Rule("LB01", ERROR, "Lab unit not in the catalogue, or value outside plausibility limits"),
        Rule("LB02", WARN, "Lab normal range missing"),
        Rule("TU01", WARN, "Baseline target lesions breach RECIST limits or measurability"),
        Rule("TU02", ERROR, "Lesion appears post-baseline but not at baseline"),
        Rule("RS01", WARN, "Investigator overall response differs from the algorithmic RECIST response"),
        Rule("RS02", WARN, "SUMDIAM differs from the sum of target-lesion diameters"),
        Rule("DTH01", WARN, "Death recorded elsewhere but no DTH form, or death dates disagree"),
        Rule("NUM01", ERROR, "Unparseable number"),
        Rule("NUM02", ERROR, "Ambiguous number (single comma with three trailing digits)"),
        Rule("TIM01", WARN, "Unparseable time: value set to null"),
        Rule("CODE01", ERROR, "Value not in the controlled terminology after mapping"),
        Rule("REQ01", WARN, "Required item missing"),
        Rule("RNG01", ERROR, "Value outside its allowed range"),
        # cross-table rules of the Great Expectations suites (pipeline/qa/cross_table.py)
        Rule("XT01", ERROR, "Subject in an SDTM domain or ADaM dataset but not in DM"),
        Rule("XT02", WARN, "AE start date before informed consent"),
        Rule("XT03", WARN, "Study drug administration dated before informed consent"),
        Rule("XT04", WARN, "Study drug administration dated after death"),
        Rule("XT05", WARN, "Death date differs between DTH, disposition (DS) and ADSL"),
        Rule("XT06", WARN, "Tumour result (TR) for a lesion without a TU identification record"),
        Rule("XT07", WARN, "Overall response date differs from the scan dates of its assessment"),
        Rule("XT08", WARN, "Body weight implausibly far from the subject's median weight"),
        Rule("XT09", WARN, "Implausible distribution: median of a lab test or vital sign, or several standard units"),
        Rule("XT10", WARN, "Expected visit record missing: a scheduled visit took place without this form"),
    )
}


def severity(rule_id: str) -> str:
    return RULES[rule_id].severity
