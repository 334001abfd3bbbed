"""Controlled terminology of the CRF and the versioned lookup of raw variants (crf.md §2, §4).

``CODELISTS[name]`` lists the canonical values. ``SYNONYMS[name]`` maps a raw variant, after
the generic clean-up of crf.md §4 (trim, collapse whitespace, full-width to ASCII, upper-case),
to its canonical value. Anything not canonical and not in the lookup is an issue, never passed
silently. Bump ``LOOKUP_VERSION`` whenever a mapping changes: it is recorded with every load.

The synthetic generator draws its "messy" variants from the same tables, so the two cannot
drift apart.
"""

from __future__ import annotations

LOOKUP_VERSION = "2026.11.1"

CODELISTS: dict[str, tuple[str, ...]] = {
    "NY": ("Y", "N"),
    "SEX": ("M", "F", "U"),
    "RACE": ("ASIAN", "WHITE", "BLACK OR AFRICAN AMERICAN", "OTHER", "UNKNOWN"),
    "IETESTCD": tuple(f"IN{n:02d}" for n in range(1, 13)) + tuple(f"EX{n:02d}" for n in range(1, 9)),
    "PRIMSITE": ("UTERUS", "RETROPERITONEUM", "EXTREMITY", "TRUNK", "GREAT VESSEL", "GI TRACT", "OTHER"),
    "HISTGRD": ("1", "2", "3", "UNKNOWN"),
    "DISSTAT": ("LOCALLY ADVANCED", "METASTATIC"),
    "METSITES": ("LUNG", "LIVER", "BONE", "PERITONEUM", "LYMPH NODE", "OTHER"),
    "PRTYPE": ("SURGERY", "RADIOTHERAPY", "ADJUVANT SYSTEMIC", "OTHER"),
    "EXTRT": ("EPIRUBICIN", "TEMOZOLOMIDE"),
    "EXDOSU": ("mg",),
    "ROUTE": ("INTRAVENOUS",),
    "EXADJRS": ("ADVERSE EVENT", "DOSING ERROR", "OTHER"),
    "LBCAT": ("HEMATOLOGY", "CHEMISTRY"),
    "LBTEST": ("WBC", "NEUT", "LYM", "HGB", "PLT", "ALT", "AST", "BILI", "CREAT", "ALB", "ALP", "UREA", "SODIUM", "K"),
    "LBSTAT": ("NOT DONE",),
    "LVEFMETH": ("ECHO", "MUGA"),
    "TOXGR": ("1", "2", "3", "4", "5"),
    "REL": ("NOT RELATED", "UNLIKELY RELATED", "POSSIBLY RELATED", "PROBABLY RELATED", "DEFINITELY RELATED"),
    "ACN": ("DOSE NOT CHANGED", "DOSE REDUCED", "DRUG INTERRUPTED", "DRUG WITHDRAWN", "NOT APPLICABLE", "UNKNOWN"),
    "OUT": (
        "RECOVERED/RESOLVED",
        "RECOVERING/RESOLVING",
        "NOT RECOVERED/NOT RESOLVED",
        "RECOVERED/RESOLVED WITH SEQUELAE",
        "FATAL",
        "UNKNOWN",
    ),
    "TULOC": ("LUNG", "LIVER", "LYMPH NODE", "PERITONEUM", "RETROPERITONEUM", "UTERUS", "BONE", "SOFT TISSUE", "OTHER"),
    "TRMETHOD": ("CT SCAN", "MRI"),
    "TRDIAMC": ("MEASURED", "TOO SMALL TO MEASURE", "NOT PRESENT", "NOT EVALUATED"),
    "NTSTAT": ("PRESENT", "ABSENT", "UNEQUIVOCAL PROGRESSION", "NOT EVALUATED"),
    "TRGRESP": ("CR", "PR", "SD", "PD", "NE", "NA"),
    "NTRGRESP": ("CR", "NON-CR/NON-PD", "PD", "NE", "NA"),
    "OVRLRESP": ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE"),
    "EOTREAS": (
        "COMPLETED (6 CYCLES)",
        "PROGRESSIVE DISEASE",
        "ADVERSE EVENT",
        "WITHDRAWAL BY SUBJECT",
        "PHYSICIAN DECISION",
        "DEATH",
        "LOST TO FOLLOW-UP",
        "OTHER",
    ),
    "STTYPE": ("SYSTEMIC", "RADIOTHERAPY", "SURGERY", "OTHER"),
    "FUSTAT": ("ALIVE", "DEAD", "LOST TO FOLLOW-UP"),
    "FUMETH": ("CLINIC", "PHONE"),
    "DTHCAUS": ("PROGRESSIVE DISEASE", "ADVERSE EVENT", "OTHER", "UNKNOWN"),
    "EOSSTAT": ("COMPLETED", "DISCONTINUED"),
    "EOSREAS": (
        "DEATH",
        "LOST TO FOLLOW-UP",
        "WITHDRAWAL BY SUBJECT",
        "STUDY TERMINATED BY SPONSOR",
        "PHYSICIAN DECISION",
        "OTHER",
    ),
}

_RESPONSE = {
    "完全缓解": "CR",
    "部分缓解": "PR",
    "疾病稳定": "SD",
    "疾病进展": "PD",
    "无法评估": "NE",
    "NON-CR/NON-PD": "NON-CR/NON-PD",
    "NON CR NON PD": "NON-CR/NON-PD",
    "NON-CR NON-PD": "NON-CR/NON-PD",
    "NON CR/NON PD": "NON-CR/NON-PD",
    "NONCR/NONPD": "NON-CR/NON-PD",
}

#: raw variant (already trimmed, whitespace-collapsed, full-width folded, upper-cased) -> canonical
SYNONYMS: dict[str, dict[str, str]] = {
    "NY": {"是": "Y", "YES": "Y", "1": "Y", "否": "N", "NO": "N", "0": "N"},
    "SEX": {"男": "M", "MALE": "M", "1": "M", "女": "F", "FEMALE": "F", "2": "F", "未知": "U", "UNKNOWN": "U"},
    "RACE": {"亚洲人": "ASIAN", "ASIAN": "ASIAN"},
    "HISTGRD": {"G1": "1", "G2": "2", "G3": "3", "未知": "UNKNOWN", "UNK": "UNKNOWN"},
    "PRIMSITE": {"子宫": "UTERUS", "腹膜后": "RETROPERITONEUM", "四肢": "EXTREMITY", "躯干": "TRUNK"},
    "DISSTAT": {"局部晚期": "LOCALLY ADVANCED", "转移": "METASTATIC", "转移性": "METASTATIC"},
    "METSITES": {"肺": "LUNG", "肝": "LIVER", "骨": "BONE", "腹膜": "PERITONEUM", "淋巴结": "LYMPH NODE", "其他": "OTHER"},
    "EXTRT": {
        "表柔比星": "EPIRUBICIN",
        "盐酸表柔比星": "EPIRUBICIN",
        "EPI": "EPIRUBICIN",
        "替莫唑胺": "TEMOZOLOMIDE",
        "注射用替莫唑胺": "TEMOZOLOMIDE",
        "TMZ": "TEMOZOLOMIDE",
    },
    "EXDOSU": {"MG": "mg", "毫克": "mg"},
    "ROUTE": {"IV": "INTRAVENOUS", "静脉": "INTRAVENOUS", "静脉滴注": "INTRAVENOUS"},
    "LBCAT": {"血常规": "HEMATOLOGY", "HAEMATOLOGY": "HEMATOLOGY", "生化": "CHEMISTRY"},
    "LBTEST": {
        "白细胞": "WBC",
        "LEUKOCYTES": "WBC",
        "中性粒细胞绝对值": "NEUT",
        "NEUTROPHILS": "NEUT",
        "ANC": "NEUT",
        "淋巴细胞绝对值": "LYM",
        "LYMPHOCYTES": "LYM",
        "血红蛋白": "HGB",
        "HAEMOGLOBIN": "HGB",
        "HEMOGLOBIN": "HGB",
        "血小板": "PLT",
        "PLATELETS": "PLT",
        "谷丙转氨酶": "ALT",
        "谷草转氨酶": "AST",
        "总胆红素": "BILI",
        "TOTAL BILIRUBIN": "BILI",
        "TBIL": "BILI",
        "肌酐": "CREAT",
        "CREATININE": "CREAT",
        "白蛋白": "ALB",
        "ALBUMIN": "ALB",
        "碱性磷酸酶": "ALP",
        "ALKALINE PHOSPHATASE": "ALP",
        "尿素": "UREA",
        "BUN": "UREA",
        "钠": "SODIUM",
        "NA": "SODIUM",
        "钾": "K",
        "POTASSIUM": "K",
    },
    "LBSTAT": {"未做": "NOT DONE", "ND": "NOT DONE"},
    "TOXGR": {
        **{f"G{g}": str(g) for g in range(1, 6)},
        **{f"GRADE {g}": str(g) for g in range(1, 6)},
        **{f"{g}级": str(g) for g in range(1, 6)},
        **{r: str(g) for g, r in enumerate(("I", "II", "III", "IV", "V"), start=1)},
    },
    "REL": {
        "无关": "NOT RELATED",
        "可能无关": "UNLIKELY RELATED",
        "可能有关": "POSSIBLY RELATED",
        "很可能有关": "PROBABLY RELATED",
        "肯定有关": "DEFINITELY RELATED",
    },
    "TULOC": {"肺": "LUNG", "肝": "LIVER", "淋巴结": "LYMPH NODE", "腹膜": "PERITONEUM", "腹膜后": "RETROPERITONEUM", "子宫": "UTERUS", "骨": "BONE", "软组织": "SOFT TISSUE", "其他": "OTHER"},
    "TRMETHOD": {"CT": "CT SCAN"},
    "TRGRESP": {k: v for k, v in _RESPONSE.items() if v != "NON-CR/NON-PD"},
    "NTRGRESP": {k: v for k, v in _RESPONSE.items() if v not in ("PR", "SD")},
    "OVRLRESP": dict(_RESPONSE),
    "FUSTAT": {"存活": "ALIVE", "死亡": "DEAD", "失访": "LOST TO FOLLOW-UP"},
}

#: AE verbatim (lower-cased, trimmed) -> (MedDRA PT, SOC): the synthetic mini-dictionary of crf.md §2
AE_DICTIONARY: dict[str, tuple[str, str]] = {}
_GI = "Gastrointestinal disorders"
_GEN = "General disorders and administration site conditions"
_INV = "Investigations"
_BLOOD = "Blood and lymphatic system disorders"
for _terms, _pt, _soc in (
    (("nausea", "恶心"), "Nausea", _GI),
    (("vomiting", "呕吐"), "Vomiting", _GI),
    (("constipation", "便秘"), "Constipation", _GI),
    (("mucositis oral", "口腔黏膜炎"), "Stomatitis", _GI),
    (("fatigue", "乏力"), "Fatigue", _GEN),
    (("alopecia", "脱发"), "Alopecia", "Skin and subcutaneous tissue disorders"),
    (("neutrophil count decreased", "中性粒细胞计数降低"), "Neutrophil count decreased", _INV),
    (("platelet count decreased", "血小板计数降低"), "Platelet count decreased", _INV),
    (("alt increased", "丙氨酸氨基转移酶升高"), "Alanine aminotransferase increased", _INV),
    (("anemia", "贫血"), "Anaemia", _BLOOD),
    (("febrile neutropenia", "发热性中性粒细胞减少"), "Febrile neutropenia", _BLOOD),
):
    for _t in _terms:
        AE_DICTIONARY[_t] = (_pt, _soc)

#: lab test -> (standard unit, {accepted raw unit (as written, case-folded) -> factor to standard})
_COUNT_UNITS = {"10^9/l": 1.0, "×10⁹/l": 1.0, "x10^9/l": 1.0, "10*9/l": 1.0, "g/l": 1.0, "10^3/ul": 1.0, "/mm3": 0.001, "/ul": 0.001}
_ENZYME_UNITS = {"u/l": 1.0, "iu/l": 1.0, "µkat/l": 60.0, "ukat/l": 60.0}
LAB_UNITS: dict[str, tuple[str, dict[str, float]]] = {
    "WBC": ("10^9/L", _COUNT_UNITS),
    "NEUT": ("10^9/L", _COUNT_UNITS),
    "LYM": ("10^9/L", _COUNT_UNITS),
    "PLT": ("10^9/L", _COUNT_UNITS),
    "HGB": ("g/L", {"g/l": 1.0, "g/dl": 10.0, "mmol/l": 16.11}),
    "ALT": ("U/L", _ENZYME_UNITS),
    "AST": ("U/L", _ENZYME_UNITS),
    "ALP": ("U/L", _ENZYME_UNITS),
    "BILI": ("umol/L", {"µmol/l": 1.0, "umol/l": 1.0, "mg/dl": 17.1}),
    "CREAT": ("umol/L", {"µmol/l": 1.0, "umol/l": 1.0, "mg/dl": 88.4}),
    "ALB": ("g/L", {"g/l": 1.0, "g/dl": 10.0}),
    "UREA": ("mmol/L", {"mmol/l": 1.0, "mg/dl": 0.357}),
    "SODIUM": ("mmol/L", {"mmol/l": 1.0, "meq/l": 1.0}),
    "K": ("mmol/L", {"mmol/l": 1.0, "meq/l": 1.0}),
}

#: LBCAT of each test
LAB_CATEGORY: dict[str, str] = {
    **{t: "HEMATOLOGY" for t in ("WBC", "NEUT", "LYM", "HGB", "PLT")},
    **{t: "CHEMISTRY" for t in ("ALT", "AST", "BILI", "CREAT", "ALB", "ALP", "UREA", "SODIUM", "K")},
}

#: plausibility limits in standard units (LB01): a value outside is unusable, not just abnormal
LAB_PLAUSIBLE: dict[str, tuple[float, float]] = {
    "WBC": (0.0, 500.0),
    "NEUT": (0.0, 100.0),
    "LYM": (0.0, 100.0),
    "HGB": (20.0, 250.0),
    "PLT": (0.0, 3000.0),
    "ALT": (0.0, 10000.0),
    "AST": (0.0, 10000.0),
    "ALP": (0.0, 10000.0),
    "BILI": (0.0, 1000.0),
    "CREAT": (5.0, 3000.0),
    "ALB": (5.0, 80.0),
    "UREA": (0.2, 100.0),
    "SODIUM": (90.0, 200.0),
    "K": (1.0, 10.0),
}


def canonical_code(codelist: str, cleaned: str) -> str | None:
    """Canonical value for an already cleaned raw code, or None when it is unmapped."""
    if cleaned in CODELISTS[codelist]:
        return cleaned
    return SYNONYMS.get(codelist, {}).get(cleaned)
