"""Course -> CRF records carrying canonical values (the clean export).

A :class:`Record` is one item-group row of one form: keys, LASTMOD and a dict item -> text.
Rendering reads nothing else, so a defect injected here by ``mess.py`` shows up identically in
the per-form CSV, REDCap and ODM exports. LASTMOD is derived from the record's own dates (entry
lag of a few days, capped at the cut-off), never from the wall clock.
"""

from __future__ import annotations

import hashlib
from datetime import date

from pipeline import codelists

from .simulate import AE_VERBATIM, DAY, Context, Course, fmt_num

_EXDOSU = codelists.CODELISTS["EXDOSU"][0]
_ROUTE = codelists.CODELISTS["ROUTE"][0]
VS_UNITS = {"SYSBPU": "mmHg", "DIABPU": "mmHg", "PULSEU": "beats/min", "RESPU": "breaths/min",
            "TEMPU": "C", "WEIGHTU": "kg", "HEIGHTU": "cm"}
MEDDRA_VERSION = "26.0"


class Record:
    """One item-group row. ``subj`` is the canonical SUBJID, ``subjid`` the one rendered."""

    __slots__ = ("form", "subj", "subjid", "visit", "vrep", "igrep", "lastmod", "v", "defects", "oow")

    def __init__(self, form, subj, visit, vrep, igrep, lastmod, v, oow=None):
        self.form, self.subj, self.subjid = form, subj, subj
        self.visit, self.vrep, self.igrep = visit, vrep, igrep
        self.lastmod, self.v = lastmod, v
        self.defects = None  # list of (field, class, raw, clean, rule) once messed
        self.oow = oow  # (nominal, window, lo, hi) dates for visit_out_of_window, or None

    def copy(self) -> "Record":
        r = Record(self.form, self.subj, self.visit, self.vrep, self.igrep, self.lastmod, dict(self.v))
        r.subjid = self.subjid
        return r


def iso(d: date | None) -> str:
    return d.isoformat() if d else ""


class _Builder:
    def __init__(self, ctx: Context, c: Course, rng):
        self.ctx, self.c, self.rng = ctx, c, rng
        self.out: list[Record] = []
        self.dco = ctx.dco

    def stamp(self, d: date) -> str:
        """LASTMOD: the day data were entered (0-5 days after the record's date), never past DCO."""
        rng = self.rng
        day = min(d + rng.randint(0, 5) * DAY, self.dco)
        return f"{day.isoformat()}T{rng.randint(8, 18):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"

    def add(self, form, visit, vrep, rows, when: date, oow=None):
        """Append one record per item dict in ``rows`` (IGREP 1..n), one LASTMOD per form visit."""
        lm = self.stamp(when)
        subj = self.c.subjid
        for i, v in enumerate(rows, 1):
            self.out.append(Record(form, subj, visit, vrep, i, lm, v, oow))


def build_records(ctx: Context, c: Course, rng) -> list[Record]:
    """Every CRF record of one subject, grouped by visit in chronological order."""
    b = _Builder(ctx, c, rng)
    _screening(b, c)
    labs = {(x.visit, x.vrep): x for x in c.labs}
    vitals = {v[0]: v for v in c.vitals}
    echo = {e[0]: e for e in c.echo}
    uns = sorted((x for x in c.labs if x.visit == "UNSCHEDULED"), key=lambda x: x.vrep)
    ui = 0
    tas = list(c.assessments)
    ti = 0
    spid = 0
    for cy in c.cycles:
        # unscheduled labs and assessments dated before this cycle come first
        while ui < len(uns) and uns[ui].day < cy.start:
            _lab(b, uns[ui])
            ui += 1
        while ti < len(tas) and tas[ti].rsdat < cy.start:
            _ta(b, c, tas[ti])
            ti += 1
        visit = f"CYCLE {cy.n} DAY 1"
        rows = []
        for drug, day_no, day, given in cy.admin:
            spid += 1
            pdose = ctx.drugs[drug]["levels"][cy.level]
            v = {"EXSPID": str(spid), "CYCLE": str(cy.n), "EXTRT": drug, "EXDAY": str(day_no),
                 "EXOCCUR": "Y" if given else "N", "EXSTDAT": iso(day), "WEIGHT": fmt_num(cy.weight, 1),
                 "BSA": f"{cy.bsa:.2f}", "EXPDOSE": str(pdose), "EXROUTE": _ROUTE,
                 "EXADJ": "Y" if cy.level else "N"}
            if given:
                h = 9 if drug == "EPIRUBICIN" else 10
                v["EXSTTIM"] = f"{h:02d}:{rng.randrange(0, 30, 5):02d}"
                end_h = h if drug == "EPIRUBICIN" else h + 1  # EPI short infusion, TMZ over 90 min
                v["EXENTIM"] = f"{end_h:02d}:{rng.randrange(30, 60, 5):02d}"
                v["EXDOSE"] = fmt_num(pdose * cy.bsa, 1)
                v["EXDOSU"] = _EXDOSU
            else:
                v["EXREASND"] = "Patient refused"
            if cy.level:
                v["EXADJRS"] = "ADVERSE EVENT"
            if day_no == 1:
                v["EXDELAY"] = "Y" if cy.delayed else "N"
            rows.append(v)
        b.add("EX", visit, 1, rows, max(r[2] for r in cy.admin))
        _vs(b, vitals[visit])
        _lab(b, labs[(visit, 1)])
        if visit in echo:
            _echo(b, echo[visit])
    while ui < len(uns):
        _lab(b, uns[ui])
        ui += 1
    eot_done = False
    for a in tas[ti:]:
        if c.eot and not eot_done and a.rsdat > c.eot[0]:
            _eot(b, c, vitals, labs, echo)
            eot_done = True
        _ta(b, c, a)
    if c.eot and not eot_done:
        _eot(b, c, vitals, labs, echo)
    _followup(b, c)
    _logs(b, c)
    return b.out


def _identifiers(seed: int, c: Course) -> dict[str, str]:
    """Initials and hospital record number: hashed from seed and subject, so no random draw moves."""
    digest = hashlib.sha256(f"{seed}:{c.subjid}:identifiers".encode()).digest()
    initials = "".join(chr(ord("A") + digest[i] % 26) for i in range(2))
    return {"INITIALS": initials, "MRN": f"H{int.from_bytes(digest[2:8], 'big') % 10**8:08d}"}


def _screening(b: _Builder, c: Course):
    v = {"ICDAT": iso(c.icdat), "ENRDAT": iso(c.enrdat), "SCRFAIL": "N", **_identifiers(b.ctx.seed, c), "BRTHDAT": iso(c.birth),
         "AGE": str(c.age), "SEX": c.sex, "ETHNIC": c.ethnic, "RACE": "ASIAN",
         "HEIGHT": fmt_num(c.height, 0), "WEIGHT": fmt_num(c.weight, 1)}
    b.add("DM", "SCREENING", 1, [v], c.enrdat)
    ie_day = iso(c.enrdat)
    rows = [{"IETESTCD": t, "IEORRES": "Y" if t.startswith("IN") else "N", "IEDAT": ie_day}
            for t in codelists.CODELISTS["IETESTCD"]]
    rows[-1]["ELIGFL"] = "Y"
    b.add("IE", "SCREENING", 1, rows, c.enrdat)
    dx = {"DXDAT": iso(c.dx["date"]), "PRIMSITE": c.dx["site"], "HISTGRD": c.dx["grade"],
          "DISSTAT": c.dx["disstat"]}
    if c.dx["mets"]:
        dx["METSITES"] = ";".join(c.dx["mets"])
    b.add("DX", "SCREENING", 1, [dx], c.icdat)
    if c.mh:
        b.add("MH", "SCREENING", 1, [
            {"MHSPID": str(i), "MHTERM": t, "MHSTDAT": iso(s), "MHONGO": "Y" if ongo else "N", "MHENDAT": iso(e)}
            for i, (t, s, ongo, e) in enumerate(c.mh, 1)], c.icdat)
    if c.prtx:
        b.add("PRTX", "SCREENING", 1, [
            {"PRSPID": str(i), "PRTYPE": ty, "PRTRT": trt, "PRSTDAT": iso(s), "PRENDAT": iso(e), "PRSITE": site}
            for i, (ty, trt, s, e, site) in enumerate(c.prtx, 1)], c.icdat)
    vit = next(v for v in c.vitals if v[0] == "SCREENING")
    _vs(b, vit)
    _lab(b, next(x for x in c.labs if x.visit == "SCREENING"))
    _echo(b, next(e for e in c.echo if e[0] == "SCREENING"))
    if c.base_scan:
        chest, abd = c.base_scan
        sc = lambda loc: iso(chest if loc == "LUNG" else abd)  # noqa: E731
        if c.tl0:
            b.add("TL", "SCREENING", 1, [
                {"LESID": les.lesid, "TULOC": les.loc, "TULOCDTL": les.detail, "NODE": "Y" if les.node else "N",
                 "TRMETHOD": les.method, "TRDAT": sc(les.loc), "TRDIAM": str(les.size), "TRDIAMC": "MEASURED"}
                for les in c.tl0], max(chest, abd))
        if c.ntl0:
            b.add("NTL", "SCREENING", 1, [
                {"LESID": les.lesid, "TULOC": les.loc, "TULOCDTL": les.detail, "TRMETHOD": les.method,
                 "TRDAT": sc(les.loc), "NTSTAT": "PRESENT"} for les in c.ntl0], max(chest, abd))


def _vs(b: _Builder, vit):
    visit, day, weight, height, ecog, sysbp, diabp, pulse, resp, temp = vit
    v = {"VSDAT": iso(day), "SYSBP": str(sysbp), "DIABP": str(diabp), "PULSE": str(pulse),
         "RESP": str(resp), "TEMP": f"{temp:.1f}", "WEIGHT": fmt_num(weight, 1), "ECOG": str(ecog)}
    if height:
        v["HEIGHT"] = fmt_num(height, 0)
    for unit_item, unit in VS_UNITS.items():
        if unit_item[:-1] in v:
            v[unit_item] = unit
    b.add("VS", visit, 1, [v], day)


def _lab(b: _Builder, lab):
    c = b.c
    day, t = iso(lab.day), lab.time
    rows = []
    for test, value in lab.values.items():
        lo, hi = c.lab_range(test)
        rows.append({"LBDAT": day, "LBTIM": t, "LBCAT": codelists.LAB_CATEGORY[test], "LBTEST": test,
                     "LBORRES": value, "LBORRESU": codelists.LAB_UNITS[test][0],
                     "LBORNRLO": f"{lo:g}", "LBORNRHI": f"{hi:g}"})
    b.add("LB", lab.visit, lab.vrep, rows, lab.day)


def _echo(b: _Builder, e):
    visit, day, lvef = e
    b.add("ECHO", visit, 1, [{"ECHODAT": iso(day), "LVEF": str(lvef), "LVEFMETH": "ECHO"}], day)


def _ta(b: _Builder, c: Course, a):
    ctx = b.ctx
    visit = f"TUMOUR ASSESSMENT WEEK {6 * a.k}"
    if a.tl:
        b.add("TL", visit, 1, [
            {"LESID": les.lesid, "TULOC": les.loc, "TULOCDTL": les.detail, "NODE": "Y" if les.node else "N",
             "TRMETHOD": les.method, "TRDAT": iso(a.scan_date(les.loc)), "TRDIAM": diam, "TRDIAMC": cat}
            for les, diam, cat, _ in a.tl], a.rsdat)
    if a.ntl:
        b.add("NTL", visit, 1, [
            {"LESID": les.lesid, "TULOC": les.loc, "TULOCDTL": les.detail, "TRMETHOD": les.method,
             "TRDAT": iso(a.scan_date(les.loc)), "NTSTAT": st} for les, st in a.ntl], a.rsdat)
    if a.nl:
        b.add("NL", visit, 1, [
            {"LESID": les.lesid, "TULOC": les.loc, "TULOCDTL": les.detail, "TRMETHOD": les.method,
             "TRDAT": iso(a.scan_date(les.loc)), "NLEQUIV": "N"} for les in a.nl], a.rsdat)
    v = {"RSDAT": iso(a.rsdat), "TRGRESP": a.trg, "NTRGRESP": a.ntrg, "NEWLIND": a.newl,
         "OVRLRESP": a.ovr, "SUMDIAM": a.sumdiam}
    # safe range for an out-of-window shift: keep order with neighbours, after day 1, before the end
    idx = c.assessments.index(a)
    lo = c.assessments[idx - 1].rsdat + DAY if idx else c.d1 + DAY
    hi = c.assessments[idx + 1].rsdat - DAY if idx + 1 < len(c.assessments) else _end(ctx, c)
    if c.nact:
        hi = min(hi, c.nact - DAY)
    nominal = c.d1 + ctx.ta_int * a.k * DAY
    b.add("RS", visit, 1, [v], a.rsdat, oow=(nominal, ctx.ta_win, lo, hi))


def _end(ctx, c: Course) -> date:
    """Last day any visit may carry: DCO, the day before death, withdrawal."""
    end = ctx.dco
    if c.death:
        end = min(end, c.death[0] - DAY)
    if c.withdrawal:
        end = min(end, c.withdrawal)
    return end


def _eot(b: _Builder, c: Course, vitals, labs, echo):
    ctx = b.ctx
    day, last, ncyc, reason = c.eot
    hi = _end(ctx, c)
    if c.fu:
        hi = min(hi, c.fu[0][1] - DAY)
    b.add("EOT", "END OF TREATMENT", 1, [{"EOTDAT": iso(day), "LSTDOSDT": iso(last), "NCYCLES": str(ncyc),
                                          "EOTREAS": reason}], day,
          oow=(last + ctx.eot_after * DAY, ctx.eot_win, last + DAY, hi))
    _vs(b, vitals["END OF TREATMENT"])
    _lab(b, labs[("END OF TREATMENT", 1)])
    _echo(b, echo["END OF TREATMENT"])


def _followup(b: _Builder, c: Course):
    ctx = b.ctx
    for i, (k, day, status, meth) in enumerate(c.fu):
        oow = None
        if status == "ALIVE":
            lo = (c.fu[i - 1][1] if i else c.eot[0]) + DAY
            hi = c.fu[i + 1][1] - DAY if i + 1 < len(c.fu) else _end(ctx, c)
            oow = (c.eot[0] + ctx.fu_int * k * DAY, ctx.fu_win, lo, hi)
        b.add("FU", f"SURVIVAL FOLLOW-UP {k}", 1, [{"FUDAT": iso(day), "FUSTAT": status, "FUMETH": meth}], day, oow)


def _logs(b: _Builder, c: Course):
    if c.aes:
        rows = []
        for i, a in enumerate(sorted(c.aes, key=lambda a: (a.start, a.key)), 1):
            pt, soc = codelists.AE_DICTIONARY[a.key]
            v = {"AESPID": str(i), "AETERM": AE_VERBATIM[a.key], "AESTDAT": iso(a.start), "AEENDAT": iso(a.end),
                 "AEONGO": "N" if a.end else "Y", "AETOXGR": str(a.grade), "AESER": "Y" if a.serious else "N",
                 "AERELEPI": a.rel, "AERELTMZ": a.rel,
                 "AEACNEPI": "NOT APPLICABLE" if a.grade == 5 else a.action,
                 "AEACNTMZ": "NOT APPLICABLE" if a.grade == 5 else a.action,
                 "AEOUT": a.outcome, "AELLT": pt, "AEDECOD": pt, "AEBODSYS": soc, "MEDDRAV": MEDDRA_VERSION}
            if a.serious:
                for crit in ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE"):
                    v[crit] = "N"
                v["AESHOSP"] = "Y"
                if a.grade == 5:
                    v["AESDTH"] = "Y"
            rows.append(v)
        # each AE line is entered (and stamped) on its own
        for v in rows:
            b.add("AE", "AELOG", 1, [v], date.fromisoformat(v["AEENDAT"] or v["AESTDAT"]))
            b.out[-1].igrep = int(v["AESPID"])
    for i, cm in enumerate(c.cms, 1):
        trt, indc, dose, unit, freq, route, s, e, decod, atc = cm
        v = {"CMSPID": str(i), "CMTRT": trt, "CMINDC": indc, "CMDOSE": dose, "CMDOSU": unit, "CMDOSFRQ": freq,
             "CMROUTE": route, "CMSTDAT": iso(s), "CMENDAT": iso(e), "CMONGO": "N" if e else "Y",
             "CMDECOD": decod, "CMATC": atc}
        b.add("CM", "CMLOG", 1, [v], e or s)
        b.out[-1].igrep = i
    for i, (ty, trt, s, e) in enumerate(c.subtx, 1):
        b.add("SUBTX", "SUBTXLOG", 1, [{"STSPID": str(i), "STTYPE": ty, "STTRT": trt, "STSTDAT": iso(s),
                                        "STENDAT": iso(e)}], e or s)
        b.out[-1].igrep = i
    if c.death:
        b.add("DTH", "DTHLOG", 1, [{"DTHDAT": iso(c.death[0]), "DTHCAUS": c.death[1]}], c.death[0])
    if c.eos:
        d, stat, reas, lst = c.eos
        b.add("EOS", "EOSLOG", 1, [{"EOSDAT": iso(d), "EOSSTAT": stat, "EOSREAS": reas, "LSTCONDT": iso(lst)}], d)


