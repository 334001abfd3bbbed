"""Defect injection (crf.md §7) on records, and the ground-truth manifest of every defect.

Defects are applied to :class:`~.records.Record` values *before* rendering, so one defect looks
the same in every export format; only the manifest's file/row differ, and those are filled in
by the renderer that writes the row. Each defect is a tuple ``(field, class, raw, clean, rule)``
where ``rule`` is the edit check validation is expected to raise (blank = a silent variant that
validation must map back to ``clean``). A field receives at most one defect.

Course events named in crf.md §7 (missed tumour assessments, NE assessments) are not defects:
they live in ``simulate.py`` on the course RNG, so clean and messy exports share them.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta

from pipeline import codelists, forms

from .records import Record

FULLWIDTH = str.maketrans({",": "，", "(": "（", ")": "）", "<": "＜", ">": "＞", ".": "．"})
_FW_CHARS = frozenset(",()<>.")
EXCEL_EPOCH = date(1899, 12, 30)  # 1900 date system incl. the Lotus leap-year bug offset

#: plausible misspellings; none is a key of AE_DICTIONARY, so coding must fail (COD01)
AE_TYPOS = {
    "nausea": "nausia", "vomiting": "vomitting", "fatigue": "fatique", "alopecia": "alopacia",
    "constipation": "constipaton", "anemia": "anemai", "mucositis oral": "mucosistis oral",
    "neutrophil count decreased": "neutrophil count decresed", "platelet count decreased": "platelet cont decreased",
    "alt increased": "alt increasd", "febrile neutropenia": "febrile neutropena",
}
#: English verbatim key -> the Chinese verbatim of the same preferred term
AE_CHINESE = {}
for _k, (_pt, _soc) in codelists.AE_DICTIONARY.items():
    if _k.isascii():
        AE_CHINESE[_k] = next(z for z, (pt, _) in codelists.AE_DICTIONARY.items() if pt == _pt and not z.isascii())
DRUG_VARIANTS = {canon: tuple(k for k, v in codelists.SYNONYMS["EXTRT"].items() if v == canon)
                 for canon in codelists.CODELISTS["EXTRT"]}

#: coded items whose raw value may be a messy variant. Everything else coded stays canonical in
#: every export, which is what lets REDCap export those as real coded (radio/checkbox) fields.
MESSABLE_CODES = {
    "DM": ("SCRFAIL",),
    "IE": ("IEORRES",),
    "MH": ("MHONGO",),
    "EX": ("EXTRT", "EXOCCUR", "EXDOSU", "EXROUTE", "EXADJ", "EXADJRS", "EXDELAY"),
    "LB": ("LBCAT", "LBTEST"),
    "AE": tuple(i.name for i in forms.FORMS["AE"].items if i.kind == "code"),
    "CM": ("CMONGO",),
    "RS": ("TRGRESP", "NTRGRESP", "NEWLIND", "OVRLRESP"),
    "EOT": ("EOTREAS",),
}
DATE_ITEMS = {f.name: tuple(i.name for i in f.items if i.kind == "date") for f in forms.FORMS.values()}
PARTIAL_START = {"AE": "AESTDAT", "CM": "CMSTDAT", "MH": "MHSTDAT"}
CODING_COLUMNS = ("AELLT", "AEDECOD", "AEPTCD", "AEHLT", "AEHLGT", "AEBODSYS", "AESOCCD", "MEDDRAV")
RESPONSE_SWAP = {"CR": ("PR",), "PR": ("SD", "CR"), "SD": ("PR", "PD"), "PD": ("SD",), "NE": ("SD", "PR"),
                 "NON-CR/NON-PD": ("PD", "NE")}
REENTRY_FIELDS = {"LB": ("LBORRES",), "VS": ("PULSE", "SYSBP", "DIABP"), "EX": ("EXSTTIM", "EXENTIM")}


def _pretty_unit(key: str) -> str:
    return {"meq/l": "mEq/L", "iu/l": "IU/L", "10^3/ul": "10^3/uL", "g/l": "G/L"}.get(key, key[:-1] + "L")


#: test -> non-canonical spellings with factor 1 (silent unit variants)
UNIT_VARIANTS = {
    t: tuple(_pretty_unit(k) for k, f in units.items() if f == 1.0 and k != std.casefold())
    for t, (std, units) in codelists.LAB_UNITS.items()
}
MANIFEST_COLUMNS = ("file", "row", "form", "SUBJID", "VISIT", "VISITREP", "IGREP", "field", "defect_class",
                    "raw_value", "clean_value", "expected_rule")


class Messer:
    def __init__(self, mess_cfg: dict, mess_rate: float, n_subjects: int, width: int):
        self.p = {k: min(1.0, float(v) * mess_rate) for k, v in mess_cfg.items()}
        self.enabled = mess_rate > 0
        self.phantom_base = 900 if n_subjects < 900 else n_subjects + 1
        self.width = width

    # every injector returns nothing; it edits ``r.v`` and appends to ``d`` (the record's defects)
    def inject(self, recs: list[Record], rng) -> list[Record]:
        if not self.enabled:
            return recs
        out = []
        p, rnd = self.p, rng.random
        for r in recs:
            d: list = []
            r.defects = d
            v, f = r.v, r.form
            special = _FORM_INJECTORS.get(f)
            if special:
                special(self, r, d, rng)
            if r.oow and rnd() < p["visit_out_of_window"]:
                self._out_of_window(r, d, rng)
            touched = {x[0] for x in d}
            for item in DATE_ITEMS[f]:
                val = v.get(item)
                if val and len(val) == 10 and item not in touched:
                    self._date_style(r, d, item, val, rng)
            for item in MESSABLE_CODES.get(f, ()):
                val = v.get(item)
                if val and item not in touched:
                    u = rnd()
                    if u < p["code_whitespace"]:
                        raw = rng.choice((" " + val, val + " ", "  " + val + " "))
                        _set(r, d, item, raw, "code_whitespace", "")
                    elif u < p["code_whitespace"] + p["fullwidth"] and not _FW_CHARS.isdisjoint(val):
                        _set(r, d, item, val.translate(FULLWIDTH), "fullwidth", "")
            if f != "DM" and r.subj[0] == "0" and rnd() < p["subjid_unpadded"]:
                r.subjid = str(int(r.subj))
                d.append(("SUBJID", "subjid_unpadded", r.subjid, r.subj, ""))
            if f in ("LB", "VS", "EX") and rnd() < p["conflicting_reentry"]:
                stale = self._stale_copy(r, rng)
                if stale is not None:
                    out.append(stale)
            out.append(r)
            if f in ("LB", "VS") and rnd() < p["duplicate_row"]:
                dup = r.copy()
                dup.defects = [("", "duplicate_row", "", "", "DUP01")]
                out.append(dup)
            if f in ("AE", "CM") and rnd() < p["unknown_subject"]:
                ph = r.copy()
                ph.subj = ph.subjid = str(self.phantom_base + rng.randint(0, 99)).zfill(self.width)
                # the copy carries the row's other defects too; only its subject changes
                ph.defects = [x for x in d if x[0] != "SUBJID"] + [("SUBJID", "unknown_subject", ph.subjid, "", "KEY01")]
                out.append(ph)
        return out

    # -- field-level injectors ------------------------------------------------------------------
    def _date_style(self, r, d, item, val, rng):
        p = self.p
        if rng.random() < p["impossible_date"]:
            m = int(val[5:7])
            if m in (2, 4, 6, 9, 11):
                _set(r, d, item, f"{val[:8]}{30 if m == 2 else 31}", "impossible_date", "DAT01")
                return
        u = rng.random()
        acc = p["date_style_excel"]
        if u < acc:
            dt = date.fromisoformat(val)
            _set(r, d, item, str((dt - EXCEL_EPOCH).days), "date_style_excel", "DAT05")
            return
        acc += p["date_style_ddmm"]
        if u < acc:
            dt = date.fromisoformat(val)
            _set(r, d, item, f"{dt.day:02d}/{dt.month:02d}/{dt.year}", "date_style_ddmm",
                 # ambiguous only when both readings are valid and give different dates
                 "DAT01" if dt.day <= 12 and dt.day != dt.month else "")
            return
        acc += p["date_style_chinese"]
        if u < acc:
            dt = date.fromisoformat(val)
            _set(r, d, item, f"{dt.year}年{dt.month}月{dt.day}日", "date_style_chinese", "")
            return
        acc += p["date_style_slash"]
        if u < acc:
            dt = date.fromisoformat(val)
            _set(r, d, item, f"{dt.year}/{dt.month}/{dt.day}", "date_style_slash", "")

    def _partial(self, r, d, item, rng):
        val = r.v.get(item)
        if not val:
            return
        u = rng.random()
        if u < self.p["partial_date_year"]:
            _set(r, d, item, val[:4] + "-UN-UN", "partial_date_year", "", clean=val[:4])
        elif u < self.p["partial_date_year"] + self.p["partial_date_month"]:
            _set(r, d, item, val[:7] + "-UN", "partial_date_month", "", clean=val[:7])

    def _out_of_window(self, r, d, rng):
        nominal, win, lo, hi = r.oow
        item = {"RS": "RSDAT", "EOT": "EOTDAT", "FU": "FUDAT"}[r.form]
        off = timedelta(days=win + rng.randint(10, 20))
        options = [x for x in (nominal - off, nominal + off) if lo <= x <= hi]
        if options:
            _set(r, d, item, rng.choice(options).isoformat(), "visit_out_of_window", "VIS01")

    def _stale_copy(self, r: Record, rng) -> Record | None:
        """An older, since-corrected entry of the same row: one value differs, LASTMOD earlier."""
        touched = {x[0] for x in r.defects}
        fields = [x for x in REENTRY_FIELDS[r.form] if r.v.get(x) and x not in touched]
        if not fields:
            return None
        item = rng.choice(fields)
        val = r.v[item]
        if ":" in val:
            hh, mm = val.split(":")
            new = f"{(int(hh) + rng.choice((-1, 1))) % 24:02d}:{mm}"
        else:
            nd = len(val.split(".")[1]) if "." in val else 0
            x = float(val) * rng.choice((0.8, 0.85, 1.15, 1.25)) + (1 if nd == 0 else 0)
            new = f"{x:.{nd}f}"
            if new == val:
                return None
        stale = r.copy()
        stale.v[item] = new
        day = date.fromisoformat(r.lastmod[:10]) - timedelta(days=rng.randint(1, 10))
        stale.lastmod = day.isoformat() + r.lastmod[10:]
        stale.defects = [(item, "conflicting_reentry", new, val, "DUP02")]
        return stale


def _set(r: Record, d: list, item: str, raw: str, cls: str, rule: str, clean: str | None = None):
    d.append((item, cls, raw, r.v.get(item, "") if clean is None else clean, rule))
    r.v[item] = raw


def _ae(m: Messer, r, d, rng):
    p, v = m.p, r.v
    rnd = rng.random
    if rnd() < p["ae_grade_invalid"]:
        _set(r, d, "AETOXGR", rng.choice(("G7", "6")), "ae_grade_invalid", "AE01")
    locked = set()
    if v.get("AEENDAT"):
        if rnd() < p["ae_end_before_start"]:
            end = date.fromisoformat(v["AESTDAT"]) - timedelta(days=rng.randint(1, 10))
            _set(r, d, "AEENDAT", end.isoformat(), "ae_end_before_start", "DAT02")
            locked.add("AESTDAT")
        elif v.get("AEONGO") == "N" and rnd() < p["ae_ongoing_conflict"]:
            _set(r, d, "AEONGO", "Y", "ae_ongoing_conflict", "AE03")
            locked.add("AEENDAT")
    key = v["AETERM"].lower()
    u = rnd()
    if u < p["ae_typo"]:
        _set(r, d, "AETERM", AE_TYPOS[key].capitalize(), "ae_typo", "COD01")
        for col in CODING_COLUMNS:  # coding lags behind a term the dictionary does not know
            v.pop(col, None)
    elif u < p["ae_typo"] + p["ae_chinese"]:
        _set(r, d, "AETERM", AE_CHINESE[key], "ae_chinese", "")
    if "AESTDAT" not in locked:
        m._partial(r, d, "AESTDAT", rng)
    for item in locked:  # keep locked dates ISO: mark them touched without a defect
        d.append((item, None, None, None, None))


def _cm(m: Messer, r, d, rng):
    for item in ("CMSTDAT", "CMENDAT"):
        if r.v.get(item) and rng.random() < m.p["cm_date_unknown"]:
            _set(r, d, item, "UNK", "cm_date_unknown", "", clean="")
    if "CMSTDAT" not in {x[0] for x in d}:
        m._partial(r, d, "CMSTDAT", rng)


def _mh(m: Messer, r, d, rng):
    m._partial(r, d, "MHSTDAT", rng)


def _dth(m: Messer, r, d, rng):
    val = r.v["DTHDAT"]
    if rng.random() < m.p["death_day_unknown"]:
        _set(r, d, "DTHDAT", val[:7] + "-UN", "death_day_unknown", "", clean=val[:7])


def _ex(m: Messer, r, d, rng):
    v = r.v
    if rng.random() < m.p["bsa_mismatch"]:
        bsa = float(v["BSA"]) + rng.choice((-1, 1)) * rng.uniform(0.06, 0.09)
        _set(r, d, "BSA", f"{bsa:.2f}", "bsa_mismatch", "EX02")
    u = rng.random()
    if u < m.p["drug_chinese"]:
        _set(r, d, "EXTRT", rng.choice(DRUG_VARIANTS[v["EXTRT"]]), "drug_chinese", "")


def _lb(m: Messer, r, d, rng):
    p, v = m.p, r.v
    rnd = rng.random
    test = v["LBTEST"]
    hgb = False
    if rnd() < p["lab_unit_unknown"]:
        _set(r, d, "LBORRESU", "mg%", "lab_unit_unknown", "LB01")
    elif test == "HGB" and rnd() < p["hgb_gdl"]:
        hgb = True
        for item in ("LBORRES", "LBORNRLO", "LBORNRHI"):
            _set(r, d, item, f"{float(v[item]) / 10:g}", "hgb_gdl", "")
        _set(r, d, "LBORRESU", "g/dL", "hgb_gdl", "")
    elif UNIT_VARIANTS[test] and rnd() < p["lab_unit_variant"]:
        _set(r, d, "LBORRESU", rng.choice(UNIT_VARIANTS[test]), "lab_unit_variant", "")
    if not hgb:
        if rnd() < p["lab_range_missing"]:
            _set(r, d, "LBORNRLO", "", "lab_range_missing", "LB02")
            _set(r, d, "LBORNRHI", "", "lab_range_missing", "LB02")
        val = v["LBORRES"]
        if "." in val:
            u = rnd()
            if u < p["decimal_comma"]:
                _set(r, d, "LBORRES", val.replace(".", ","), "decimal_comma", "")
            elif u < p["decimal_comma"] + p["fullwidth"]:
                _set(r, d, "LBORRES", val.translate(FULLWIDTH), "fullwidth", "")


def _rs(m: Messer, r, d, rng):
    v = r.v
    if rng.random() < m.p["response_disagreement"]:
        _set(r, d, "OVRLRESP", rng.choice(RESPONSE_SWAP[v["OVRLRESP"]]), "response_disagreement", "RS01")
    if v.get("SUMDIAM") and rng.random() < m.p["sumdiam_mismatch"]:
        s = int(v["SUMDIAM"])
        off = rng.randint(3, 8)
        _set(r, d, "SUMDIAM", str(s + off if s - off < 0 or rng.random() < 0.5 else s - off), "sumdiam_mismatch", "RS02")


_FORM_INJECTORS = {"AE": _ae, "CM": _cm, "MH": _mh, "DTH": _dth, "EX": _ex, "LB": _lb, "RS": _rs}


class Manifest:
    """Streams ``_groundtruth/defects.csv``; renderers call :meth:`add` with the row they wrote."""

    def __init__(self, path):
        self.fh = open(path, "w", encoding="utf-8", newline="")
        self.w = csv.writer(self.fh, lineterminator="\n")
        self.w.writerow(MANIFEST_COLUMNS)
        self.counts: dict[str, int] = {}

    def add(self, file: str, row: int, r: Record):
        for field, cls, raw, clean, rule in r.defects:
            if cls is None:  # a lock marker, not a defect
                continue
            self.w.writerow((file, row, r.form, r.subj, r.visit, r.vrep, r.igrep, field, cls, raw, clean, rule))
            self.counts[cls] = self.counts.get(cls, 0) + 1

    def close(self):
        self.fh.close()
