"""Simulate one subject's true course (dates, doses, labs, AEs, tumour measurements, outcome).

Everything here is *truth*: canonical values only, every date inside its visit window and on or
before the data cut-off. ``records.py`` turns a :class:`Course` into CRF rows and ``mess.py``
damages those rows; neither may change the course, which is why the course RNG is a stream of
its own, seeded from (seed, subject index) only.

Population allocation (never dosed, no measurable disease) uses fractions so that any subject
count scales; the counts in ``trial_config.yaml`` are read as "out of the default subject count".
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from pipeline import codelists, forms

from . import recist

DAY = timedelta(days=1)

#: CTCAE-grade bands used to draw a lab value consistent with an AE grade (standard units).
#: For "low" tests the band is (low, high) in absolute units; ALT bands are multiples of ULN.
NEUT_BANDS = {1: (1.5, 1.79), 2: (1.0, 1.49), 3: (0.5, 0.99), 4: (0.1, 0.49), 5: (0.05, 0.3)}
PLT_BANDS = {1: (76, 120), 2: (50, 74), 3: (25, 49), 4: (8, 24)}
HGB_BANDS = {1: (101, 109), 2: (80, 99), 3: (62, 79)}
ALT_BANDS = {1: (1.2, 2.8), 2: (3.2, 4.8), 3: (5.3, 12.0), 4: (21.0, 30.0)}

#: adult reference intervals by sex used for printed ranges and normal values (crf.md LB table)
RANGES = {
    "WBC": ((3.5, 9.5), (3.5, 9.5), 1),
    "NEUT": ((1.8, 6.3), (1.8, 6.3), 2),
    "LYM": ((1.1, 3.2), (1.1, 3.2), 2),
    "HGB": ((130, 175), (115, 150), 0),
    "PLT": ((125, 350), (125, 350), 0),
    "ALT": ((9, 50), (7, 40), 0),
    "AST": ((15, 40), (13, 35), 0),
    "BILI": ((3.4, 20.5), (3.4, 20.5), 1),
    "CREAT": ((57, 111), (41, 81), 0),
    "ALB": ((40, 55), (40, 55), 1),
    "ALP": ((45, 125), (35, 100), 0),
    "UREA": ((2.8, 7.2), (2.8, 7.2), 2),
    "SODIUM": ((137, 147), (137, 147), 0),
    "K": ((3.5, 5.3), (3.5, 5.3), 2),
}
HEMATOLOGY = tuple(t for t in codelists.CODELISTS["LBTEST"] if codelists.LAB_CATEGORY[t] == "HEMATOLOGY")
CHEMISTRY = tuple(t for t in codelists.CODELISTS["LBTEST"] if codelists.LAB_CATEGORY[t] == "CHEMISTRY")

HEME_AES = ("neutrophil count decreased", "febrile neutropenia", "platelet count decreased", "anemia", "alt increased")
#: non-haematological AEs: (onset cycle-day range, duration range in days)
NONHEME_TIMING = {
    "nausea": ((1, 3), (2, 6)),
    "vomiting": ((1, 3), (1, 4)),
    "fatigue": ((2, 7), (3, 10)),
    "mucositis oral": ((7, 12), (4, 10)),
    "constipation": ((2, 5), (2, 7)),
    "alopecia": ((14, 20), (60, 150)),
}
#: verbatim as a site writes it in English; lower-cased it is a key of AE_DICTIONARY
AE_VERBATIM = {k: ("ALT increased" if k == "alt increased" else k[0].upper() + k[1:]) for k in
               ("neutrophil count decreased", "febrile neutropenia", "platelet count decreased", "anemia",
                "alt increased", "nausea", "vomiting", "fatigue", "alopecia", "mucositis oral", "constipation")}

TULOCS_TARGET = ("LUNG", "LIVER", "LYMPH NODE", "PERITONEUM", "RETROPERITONEUM", "SOFT TISSUE", "UTERUS")
TULOCS_NONTARGET = ("LUNG", "BONE", "PERITONEUM", "LYMPH NODE", "LIVER", "SOFT TISSUE")
LOC_DETAIL = {
    "LUNG": ("right lower lobe", "left upper lobe", "right middle lobe", "left lower lobe"),
    "LIVER": ("segment VI", "segment VIII", "segment II", "segment IVa"),
    "LYMPH NODE": ("para-aortic", "right iliac", "mediastinal", "left inguinal"),
    "PERITONEUM": ("omentum", "pelvic peritoneum"),
    "RETROPERITONEUM": ("left retroperitoneum", "right retroperitoneum"),
    "SOFT TISSUE": ("abdominal wall", "right thigh", "gluteal"),
    "UTERUS": ("uterine body",),
    "BONE": ("L3 vertebra", "right iliac bone", "rib 7"),
}
SUBTX_REGIMENS = ("GEMCITABINE + DOCETAXEL", "TRABECTEDIN", "PAZOPANIB", "ERIBULIN", "ANLOTINIB")


@dataclass
class Lesion:
    lesid: str
    loc: str
    detail: str
    node: bool
    method: str
    size: int = 0  # baseline diameter (mm), TL only


@dataclass
class Assessment:
    k: int  # TUMOUR ASSESSMENT WEEK 6k
    chest: date
    abdomen: date
    tl: list  # (Lesion, diameter str, TRDIAMC, numeric or None)
    ntl: list  # (Lesion, status)
    nl: list  # Lesion
    trg: str = ""
    ntrg: str = ""
    newl: str = ""
    ovr: str = ""
    sumdiam: str = ""

    @property
    def rsdat(self) -> date:
        return max(self.chest, self.abdomen)

    def scan_date(self, loc: str) -> date:
        return self.chest if loc == "LUNG" else self.abdomen


@dataclass
class Cycle:
    n: int
    start: date
    level: int  # 0, 1, 2 = dose level 0, -1, -2
    weight: float
    bsa: float
    delayed: bool
    admin: list  # (drug, cycle day, date, given)


@dataclass
class LabDraw:
    visit: str
    vrep: int
    day: date
    time: str
    values: dict  # test -> formatted standard value


@dataclass
class AE:
    key: str  # AE_DICTIONARY key (lower-case English)
    start: date
    end: date | None
    grade: int
    serious: bool
    action: str
    outcome: str
    rel: str


@dataclass
class Course:
    idx: int
    subjid: str
    sex: str
    enrolled: bool = True
    dosed: bool = False
    measurable: bool = False
    birth: date | None = None
    age: int = 0
    height: float = 0.0
    weight: float = 0.0
    ethnic: str = ""
    icdat: date | None = None
    enrdat: date | None = None
    screen: date | None = None  # screening labs / VS / ECHO date
    d1: date | None = None
    dx: dict = field(default_factory=dict)
    mh: list = field(default_factory=list)  # (term, start, ongoing, end)
    prtx: list = field(default_factory=list)  # (type, trt, start, end, site)
    cycles: list = field(default_factory=list)
    labs: list = field(default_factory=list)  # LabDraw in date order
    vitals: list = field(default_factory=list)  # (visit, date, weight, height, ecog, sys, dia, pulse, resp, temp)
    echo: list = field(default_factory=list)  # (visit, date, lvef)
    aes: list = field(default_factory=list)
    cms: list = field(default_factory=list)  # (trt, indc, dose, unit, freq, route, start, end, decod, atc)
    tl0: list = field(default_factory=list)  # baseline target Lesions
    ntl0: list = field(default_factory=list)
    base_scan: tuple = ()  # (chest, abdomen)
    assessments: list = field(default_factory=list)
    eot: tuple | None = None  # (date, last dose, ncycles, reason)
    fu: list = field(default_factory=list)  # (k, date, status, method)
    subtx: list = field(default_factory=list)  # (type, trt, start, end)
    death: tuple | None = None  # (date, cause)
    eos: tuple | None = None  # (date, status, reason, last contact)
    # truth only
    resp_class: str = ""
    pd_date: date | None = None
    nact: date | None = None
    withdrawal: date | None = None
    last_alive: date | None = None
    bor: str = ""
    cbor: str = ""
    treatment_end_reason: str = ""

    def lab_range(self, test: str):
        m, f, _ = RANGES[test]
        return m if self.sex == "M" else f


class Context:
    """Resolved parameters shared by every subject of one run (read once from the config)."""

    def __init__(self, cfg: dict, n: int, seed: int):
        t, g = cfg["trial"], cfg["generator"]
        self.n, self.seed = n, seed
        self.studyid, self.siteid = t["studyid"], t["siteid"]
        self.dco = date.fromisoformat(t["data_cutoff"])
        self.enrol_start = date.fromisoformat(g["enrol_start"])
        self.enrol_days = (date.fromisoformat(g["enrol_end"]) - self.enrol_start).days
        self.cycle_len = t["cycle_length_days"]
        self.max_cycles = t["max_cycles"]
        self.max_delay = t["max_cycle_delay_days"]
        self.cycle_early, self.cycle_late = t["cycle_window"]["early"], t["cycle_window"]["late"]
        self.drugs = t["drugs"]
        self.anc_min = t["restart_criteria"]["anc_min"]
        self.plt_min = t["restart_criteria"]["plt_min"]
        self.ta_int = t["tumour_assessment_interval_days"]
        self.ta_win = t["tumour_assessment_window_days"]
        self.eot_after = t["eot_after_last_dose_days"]
        self.eot_win = t["eot_window_days"]
        self.fu_int = t["followup_interval_days"]
        self.fu_win = t["followup_window_days"]
        self.screen_win = t["screening_window_days"]
        btl = t["baseline_tl"]
        self.tl_max, self.tl_per_organ = btl["max_total"], btl["max_per_organ"]
        self.tl_min_nonnodal, self.tl_min_nodal = btl["min_nonnodal_mm"], btl["min_nodal_mm"]
        self.best_response = g["best_response"]
        self.pfs_rate = math.log(2) / (g["pfs_median_months"] * 30.4375)
        self.os_rate = math.log(2) / (g["os_median_months"] * 30.4375)
        self.withdrawal_rate = g["withdrawal_rate"]
        self.treatment_death_rate = g.get("treatment_death_rate", 0.0)
        self.subtx_rate = g.get("subsequent_therapy_rate", 0.6)
        self.toxicity = g["toxicity"]
        self.missed_ta = g["mess"]["missed_tumour_assessment"]  # part of the course, not a defect
        self.ne_ta = g["mess"]["ne_assessment"]
        self.width = int(t["subjid_digits"])
        if len(str(n)) > self.width:
            raise ValueError(f"{n} subjects need {len(str(n))}-digit SUBJIDs but trial.subjid_digits is "
                             f"{self.width}: generate (and load) with a --config that sets it")
        default_n = g["subjects"]
        f_never = g.get("never_dosed_fraction", g["never_dosed"] / default_n)
        f_nonmeas = g.get("no_measurable_disease_fraction", g["no_measurable_disease"] / default_n)
        k_never, k_nonmeas = round(n * f_never), round(n * f_nonmeas)
        pick = random.Random(f"{seed}:population").sample(range(n), min(n, k_never + k_nonmeas))
        self.never_dosed = frozenset(pick[:k_never])
        self.non_measurable = frozenset(pick[k_never:])

    def subjid(self, idx: int) -> str:
        return str(idx + 1).zfill(self.width)


def _u(rng, lo, hi, nd):
    v = rng.uniform(lo, hi)
    return round(v, nd) if nd else round(v)


def fmt_num(v: float, nd: int) -> str:
    """Fixed decimals as a lab prints them (no float repr noise)."""
    return f"{v:.{nd}f}" if nd else str(int(round(v)))


def mosteller(height_cm: float, weight_kg: float) -> float:
    return round(math.sqrt(height_cm * weight_kg / 3600.0) + 1e-9, 2)


class _Sim:
    """Builds one Course; split into steps only so each stays readable."""

    def __init__(self, ctx: Context, idx: int):
        self.ctx = ctx
        self.rng = random.Random(f"{ctx.seed}:{idx}")
        self.uns = 0  # unscheduled visit counter

    # -- helpers ---------------------------------------------------------------------------
    def lab_panel(self, c: Course, visit: str, vrep: int, day: date, tests, overrides=None):
        rng = self.rng
        vals = {}
        for t in tests:
            (lo, hi), nd = c.lab_range(t), RANGES[t][2]
            span = hi - lo
            vals[t] = fmt_num(rng.uniform(lo + 0.12 * span, hi - 0.15 * span), nd)
        if overrides:
            vals.update({t: v for t, v in overrides.items() if t in vals})
            if "NEUT" in overrides and "WBC" in vals:  # keep the differential adding up
                vals["WBC"] = fmt_num(float(vals["NEUT"]) + float(vals["LYM"]) + rng.uniform(0.2, 0.6), 1)
        c.labs.append(LabDraw(visit, vrep, day, f"{rng.randint(7, 10):02d}:{rng.randrange(0, 60, 5):02d}", vals))

    def low_value(self, band, nd):
        return fmt_num(self.rng.uniform(*band), nd)

    # -- course ---------------------------------------------------------------------------
    def run(self, idx: int) -> Course:
        ctx, rng = self.ctx, self.rng
        sex = "F" if rng.random() < 0.7 else "M"
        c = Course(idx=idx, subjid=ctx.subjid(idx), sex=sex)
        c.enrdat = ctx.enrol_start + rng.randint(0, ctx.enrol_days) * DAY
        c.dosed = idx not in ctx.never_dosed
        c.measurable = c.dosed and idx not in ctx.non_measurable
        c.icdat = c.enrdat - rng.randint(3, 18) * DAY
        c.age = rng.randint(28, 74)
        c.birth = date(c.icdat.year - c.age - 1, 1, 1) + rng.randint(0, 364) * DAY
        c.age = c.icdat.year - c.birth.year - ((c.icdat.month, c.icdat.day) < (c.birth.month, c.birth.day))
        c.height = round(rng.gauss(160 if sex == "F" else 171, 6), 0)
        c.weight = round(rng.gauss(60 if sex == "F" else 70, 8), 1)
        c.ethnic = "汉族" if rng.random() < 0.9 else rng.choice(("回族", "满族", "蒙古族"))
        c.d1 = c.enrdat + rng.randint(1, 5) * DAY
        c.screen = max(c.icdat, c.d1 - rng.randint(2, 10) * DAY)
        self.history(c)
        self.lesions(c)
        self.lab_panel(c, "SCREENING", 1, c.screen, HEMATOLOGY + CHEMISTRY)
        c.vitals.append(self.vital("SCREENING", c.screen, c.weight, c.height, 0))
        c.echo.append(("SCREENING", c.screen, rng.randint(55, 72)))
        if not c.dosed:
            # consented and enrolled, withdrew before the first dose (and before baseline imaging)
            c.withdrawal = c.enrdat + rng.randint(1, 10) * DAY
            c.d1 = None
            c.eos = (c.withdrawal, "DISCONTINUED", "WITHDRAWAL BY SUBJECT", c.withdrawal)
            c.tl0, c.ntl0, c.base_scan = [], [], ()
            self.finish(c)
            return c
        self.course(c)
        self.finish(c)
        return c

    def vital(self, visit, day, weight, height, ecog):
        r = self.rng
        return (visit, day, weight, height, ecog, r.randint(102, 138), r.randint(62, 88), r.randint(62, 96),
                r.randint(14, 20), round(r.uniform(36.2, 37.1), 1))

    def history(self, c: Course):
        rng = self.rng
        site = rng.choices(codelists.CODELISTS["PRIMSITE"], (40, 25, 10, 8, 5, 5, 7))[0]
        if site == "UTERUS" and c.sex == "M":
            site = "RETROPERITONEUM"
        c.dx = {"site": site, "grade": rng.choices(("1", "2", "3", "UNKNOWN"), (10, 40, 45, 5))[0],
                "date": c.icdat - rng.randint(30, 900) * DAY}
        if rng.random() < 0.7:
            trt = "Hysterectomy" if site == "UTERUS" else "Tumour resection"
            s = min(c.dx["date"] + rng.randint(7, 40) * DAY, c.icdat - DAY)
            c.prtx.append(("SURGERY", trt, s, s, site.lower()))
        if rng.random() < 0.15:
            s = c.dx["date"] + rng.randint(50, 120) * DAY
            if s < c.icdat:
                c.prtx.append(("RADIOTHERAPY", "Radiotherapy 50 Gy/25 fx", s, min(s + 35 * DAY, c.icdat - DAY), site.lower()))
        for term, p, med in (("Hypertension", 0.25, ("AMLODIPINE", "C08CA01", "5", "QD")),
                             ("Type 2 diabetes mellitus", 0.1, ("METFORMIN", "A10BA02", "500", "BID")),
                             ("Hepatitis B carrier", 0.08, None)):
            if rng.random() < p:
                s = c.icdat - rng.randint(300, 4000) * DAY
                c.mh.append((term, s, True, None))
                if med:
                    c.cms.append((med[0], term, med[2], "mg", med[3], "ORAL", max(s + 10 * DAY, c.icdat - 1400 * DAY), None, med[0], med[1]))

    def lesions(self, c: Course):
        ctx, rng = self.ctx, self.rng
        per_organ: dict[str, int] = {}
        if c.measurable:
            for i in range(rng.choices((1, 2, 3, 4, 5), (15, 30, 30, 15, 10))[0]):
                loc = rng.choice(TULOCS_TARGET)
                if per_organ.get(loc, 0) >= ctx.tl_per_organ:
                    continue
                per_organ[loc] = per_organ.get(loc, 0) + 1
                node = loc == "LYMPH NODE"
                size = rng.randint(ctx.tl_min_nodal, 40) if node else rng.randint(ctx.tl_min_nonnodal, 85)
                method = "MRI" if loc == "UTERUS" else "CT SCAN"
                c.tl0.append(Lesion(f"T{len(c.tl0) + 1:02d}", loc, rng.choice(LOC_DETAIL[loc]), node, method, size))
            n_ntl = rng.choices((0, 1, 2, 3), (35, 35, 20, 10))[0]
        else:
            n_ntl = rng.randint(1, 3)
        if c.dosed:
            for _ in range(n_ntl):
                loc = rng.choice(TULOCS_NONTARGET)
                c.ntl0.append(Lesion(f"NT{len(c.ntl0) + 1:02d}", loc, rng.choice(LOC_DETAIL[loc]), loc == "LYMPH NODE", "CT SCAN"))
        locs = {l.loc for l in c.tl0 + c.ntl0}
        mets = [m for m in codelists.CODELISTS["METSITES"] if m in locs]
        if locs & {"SOFT TISSUE", "RETROPERITONEUM"} - {c.dx["site"]}:
            mets.append("OTHER")
        c.dx["disstat"] = "METASTATIC" if mets or not c.dosed and rng.random() < 0.7 else "LOCALLY ADVANCED"
        c.dx["mets"] = mets if c.dx["disstat"] == "METASTATIC" else []
        if c.dx["disstat"] == "METASTATIC" and not c.dx["mets"]:
            c.dx["mets"] = ["LUNG"]

    def course(self, c: Course):
        ctx, rng = self.ctx, self.rng
        d1 = c.d1
        chest = max(c.icdat, d1 - rng.randint(3, ctx.screen_win - 4) * DAY)
        c.base_scan = (chest, min(d1 - DAY, chest + rng.randint(0, 2) * DAY))

        # -- outcome design: response class, progression, withdrawal, death -----------------
        if c.measurable:
            cls = rng.choices(tuple(ctx.best_response), tuple(ctx.best_response.values()))[0]
        else:
            cls = "PD" if rng.random() < 0.3 else "NCRNPD"
        c.resp_class = cls
        t_prog = int(rng.expovariate(ctx.pfs_rate)) + 1
        t_prog = {"PD": rng.randint(15, 35), "SD": max(t_prog, 50), "NCRNPD": max(t_prog, 50),
                  "PR": max(t_prog, 130), "CR": max(t_prog, 175), "NE": max(t_prog, 50)}[cls]
        wd = None
        if cls == "NE":
            wd = d1 + rng.randint(15, 35) * DAY
        elif rng.random() < ctx.withdrawal_rate:
            wd = d1 + rng.randint(30, 400) * DAY
        tox_death_cycle = rng.randint(1, 3) if rng.random() < ctx.treatment_death_rate else 0

        # tumour-assessment schedule (calendar-fixed) far enough to find the designed PD
        schedule = []
        pd_k = None
        for k in range(1, forms.MAX_TUMOUR_ASSESSMENTS + 1):
            nominal = d1 + ctx.ta_int * k * DAY
            ch = nominal + rng.randint(-(ctx.ta_win - 2), ctx.ta_win - 3) * DAY
            ab = ch + rng.randint(0, 2) * DAY
            missed = rng.random() < ctx.missed_ta
            ne = rng.random() < ctx.ne_ta
            schedule.append((k, ch, ab, missed, ne))
            if pd_k is None and not missed and max(ch, ab) >= d1 + t_prog * DAY:
                pd_k = k
                break
        pd_obs = max(schedule[-1][1], schedule[-1][2]) if pd_k else None
        os_day = int(rng.expovariate(ctx.os_rate)) + 1
        death = d1 + os_day * DAY
        if pd_obs is not None and death <= pd_obs + 14 * DAY:
            death = pd_obs + (14 + int(rng.expovariate(1 / 60.0))) * DAY
        death_cause = "PROGRESSIVE DISEASE"
        nact = pd_obs + rng.randint(14, 60) * DAY if pd_obs and rng.random() < ctx.subtx_rate else None
        if nact is not None and nact >= death:
            nact = None

        # -- treatment cycles -----------------------------------------------------------------
        plans = self.toxicity_plan(tox_death_cycle)
        c.cycles, reason = [], ""
        s, level, delayed = d1, 0, False
        treat_death = None
        aes: list[AE] = []
        pending_end: dict[str, AE] = {}
        cap_dose = min(ctx.dco, death - DAY)  # doses of a started cycle are given unless after DCO/death
        for n in range(1, ctx.max_cycles + 1):
            stop = self.stop_reason(s, pd_obs, wd, death)
            if stop:
                reason = "" if stop == "ONGOING" else stop
                break
            weight = round(c.weight * (1 + rng.uniform(-0.03, 0.02)), 1) if n > 1 else c.weight
            admin = []
            for drug, spec in ctx.drugs.items():
                for d in spec["days"]:
                    day = s + (d - 1) * DAY
                    if day <= cap_dose:
                        admin.append((drug, d, day, d == 1 or rng.random() >= 0.005))
            cyc = Cycle(n, s, level, weight, mosteller(c.height, weight), delayed, admin)
            c.cycles.append(cyc)
            visit = f"CYCLE {n} DAY 1"
            lab_day = s if n == 1 else s - rng.randint(0, 2) * DAY
            self.lab_panel(c, visit, 1, lab_day, HEMATOLOGY + CHEMISTRY)
            for ae in pending_end.values():  # the restart lab shows recovery: the episode ends there
                ae.end = lab_day
            pending_end = {}
            c.vitals.append(self.vital(visit, s, weight, None, rng.choice((0, 0, 1))))
            if n == 5:
                c.echo.append((visit, s, rng.randint(52, 70)))
            grades = {k: plans[k][n - 1] for k in plans}
            cycle_aes = self.cycle_toxicity(c, s, grades)
            aes.extend(cycle_aes)
            if grades["febrile neutropenia"] == 5:
                treat_death = next(a for a in cycle_aes if a.key == "febrile neutropenia").end
                reason = "DEATH"
                break
            # restart needs ANC/PLT recovered, else delay a week at a time (max_cycle_delay_days)
            severe = {a.key: a for a in cycle_aes
                      if a.grade >= 3 and a.key in ("neutrophil count decreased", "platelet count decreased")}
            delay = 0
            if severe and rng.random() < 0.4:
                delay = 7
                if rng.random() < 0.25:
                    delay = 14
                    if rng.random() < 0.2:
                        delay = 21  # not recovered within the allowed delay: stop for toxicity
            nominal = s + ctx.cycle_len * DAY
            for w in range(0, delay, 7):
                check = nominal + w * DAY
                if check > ctx.dco or check >= death or (wd and check > wd) or (pd_obs and check >= pd_obs):
                    break
                ov = {}
                if "neutrophil count decreased" in severe:
                    ov["NEUT"] = self.low_value((1.0, ctx.anc_min - 0.01), 2)
                if "platelet count decreased" in severe:
                    ov["PLT"] = self.low_value((75, ctx.plt_min - 1), 0)
                self.uns += 1
                self.lab_panel(c, "UNSCHEDULED", self.uns, check, HEMATOLOGY, ov)
            if delay > ctx.max_delay:
                for a in severe.values():
                    a.action = "DRUG WITHDRAWN"
                    a.end = nominal + (delay + rng.randint(1, 5)) * DAY
                reason = "ADVERSE EVENT"
                break
            for a in severe.values():
                if delay:
                    a.action = "DRUG INTERRUPTED"
            reduce = delay > 0 or grades["neutrophil count decreased"] >= 4 or any(
                a.grade >= 3 and a.key not in ("neutrophil count decreased", "anemia") for a in cycle_aes)
            if reduce and n < ctx.max_cycles:
                if level >= len(ctx.drugs["EPIRUBICIN"]["levels"]) - 1:
                    for a in cycle_aes:
                        if a.grade >= 3:
                            a.action = "DRUG WITHDRAWN"
                    reason = "ADVERSE EVENT"
                    break
                level += 1
                for a in cycle_aes:
                    if a.grade >= 3 and a.action == "DOSE NOT CHANGED":
                        a.action = "DOSE REDUCED"
            if delay:
                pending_end = dict(severe)
                s = nominal + (delay - rng.randint(0, 1)) * DAY
                delayed = True
            else:
                s = nominal + rng.randint(-ctx.cycle_early, ctx.cycle_late) * DAY
                delayed = False
        else:
            reason = "COMPLETED (6 CYCLES)"
        for ae in pending_end.values():  # never restarted: recovered within a couple of weeks
            ae.end = ae.start + rng.randint(10, 20) * DAY
        if treat_death is not None:
            death, death_cause, nact = treat_death, "ADVERSE EVENT", None
        c.treatment_end_reason = reason
        last_dose = max(day for cy in c.cycles for _, _, day, given in cy.admin if given)
        obs_end = min(ctx.dco, death - DAY, wd or ctx.dco)
        eot = None
        if reason and reason != "DEATH":
            eot_day = last_dose + (ctx.eot_after + rng.randint(-3, 3)) * DAY
            if eot_day <= ctx.dco and eot_day < death and (
                    wd is None or reason == "WITHDRAWAL BY SUBJECT" or eot_day <= wd):
                eot = eot_day
                if reason == "WITHDRAWAL BY SUBJECT":
                    wd = eot_day  # attends the EOT visit, then leaves the study
                    obs_end = min(ctx.dco, death - DAY, wd)
        c.withdrawal = wd if wd and wd <= ctx.dco and wd < death else None

        # -- tumour assessments up to PD / NACT / death / withdrawal / DCO --------------------
        self.assessments(c, schedule, pd_k, cls, obs_end, nact)
        c.pd_date = next((a.rsdat for a in c.assessments if a.ovr == "PD"), None)

        # -- AEs, EOT, follow-up, subsequent therapy, death, EOS ----------------------------
        cap = min(ctx.dco, death, wd if wd else ctx.dco)
        for a in aes:
            if a.start > cap or (a.start >= death):
                continue
            if a.grade == 5:
                a.end, a.outcome = death, "FATAL"
            elif a.end is None or a.end > cap or (a.end >= death):
                a.end, a.outcome = None, "NOT RECOVERED/NOT RESOLVED"
            c.aes.append(a)
        self.concomitant(c, aes, last_dose, cap)
        if eot:
            c.eot = (eot, last_dose, len(c.cycles), reason)
            ecog = 1 if reason != "PROGRESSIVE DISEASE" else rng.choice((1, 2))
            c.vitals.append(self.vital("END OF TREATMENT", eot, round(c.weight * 0.98, 1), None, ecog))
            self.lab_panel(c, "END OF TREATMENT", 1, eot, HEMATOLOGY + CHEMISTRY)
            c.echo.append(("END OF TREATMENT", eot, rng.randint(50, 68)))
            prev = eot
            # follow-up is scheduled from the nominal EOT day (last dose + 30), so a late or early
            # EOT visit does not move the follow-up calendar
            nominal_eot = last_dose + ctx.eot_after * DAY
            for k in range(1, forms.MAX_FOLLOWUPS + 1):
                nominal = nominal_eot + ctx.fu_int * k * DAY
                day = nominal + rng.randint(-(ctx.fu_win - 4), ctx.fu_win - 4) * DAY
                if death <= ctx.dco and death > prev and abs((death - nominal).days) <= ctx.fu_win \
                        and death <= day and (wd is None or death <= wd):
                    c.fu.append((k, death, "DEAD", "PHONE"))
                    break
                if day > obs_end:
                    break
                c.fu.append((k, day, "ALIVE", rng.choice(("CLINIC", "PHONE"))))
                prev = day
        if nact and nact <= obs_end:
            end = nact + rng.randint(60, 180) * DAY
            c.subtx.append(("SYSTEMIC", rng.choice(SUBTX_REGIMENS), nact, end if end <= obs_end else None))
            c.nact = nact
        if death <= ctx.dco and (wd is None or death <= wd):
            c.death = (death, death_cause)
        if c.death:
            c.eos = (death, "DISCONTINUED", "DEATH", None)
        elif c.withdrawal:
            c.eos = (c.withdrawal, "DISCONTINUED", "WITHDRAWAL BY SUBJECT", None)

    def stop_reason(self, s, pd_obs, wd, death):
        if pd_obs is not None and s >= pd_obs:
            return "PROGRESSIVE DISEASE"
        if wd is not None and s >= wd:
            return "WITHDRAWAL BY SUBJECT"
        if s >= death:
            return "DEATH"
        if s > self.ctx.dco:
            return "ONGOING"  # still on treatment at DCO
        return ""

    def toxicity_plan(self, death_cycle: int) -> dict[str, list[int]]:
        """Per AE type, the grade (0 = none) it reaches in each of the 6 cycles."""
        rng, n = self.rng, self.ctx.max_cycles
        plans = {}
        for key, (p_any, p_g3) in self.ctx.toxicity.items():
            plan = [0] * n
            if rng.random() < p_any:
                severe = rng.random() < (p_g3 / p_any if p_any else 0)
                c0 = 0 if rng.random() < 0.6 else rng.randint(1, 2)
                if severe:
                    g = {"neutrophil count decreased": rng.choice((3, 3, 4)),
                         "platelet count decreased": rng.choice((3, 3, 4)),
                         "alt increased": rng.choice((3, 3, 3, 4))}.get(key, 3)
                else:
                    g = 1 if key == "alopecia" or rng.random() < 0.6 else 2
                plan[c0] = g
                if key not in ("alopecia", "febrile neutropenia"):
                    for i in range(c0 + 1, n):
                        if rng.random() < 0.35:
                            plan[i] = rng.randint(1, 2)
            plans[key] = plan
        if death_cycle:
            plans["febrile neutropenia"][death_cycle - 1] = 5
        for i, g in enumerate(plans["febrile neutropenia"]):
            if g:  # febrile neutropenia needs a grade >= 3 ANC in the same cycle
                plans["neutrophil count decreased"][i] = max(plans["neutrophil count decreased"][i], 4 if g == 5 else 3)
        return plans

    def cycle_toxicity(self, c: Course, s: date, grades: dict) -> list[AE]:
        rng = self.rng
        out = []
        heme = {k: grades[k] for k in HEME_AES if grades[k]}
        if heme:
            nadir = s + rng.randint(7, 14) * DAY  # cycle day 8-15
            ov = {}
            g = heme.get("neutrophil count decreased", 0)
            if g:
                neut = self.low_value(NEUT_BANDS[g], 2)
                ov["NEUT"] = neut
            if heme.get("platelet count decreased"):
                ov["PLT"] = self.low_value(PLT_BANDS[heme["platelet count decreased"]], 0)
            if heme.get("anemia"):
                ov["HGB"] = self.low_value(HGB_BANDS[heme["anemia"]], 0)
            tests = HEMATOLOGY
            if heme.get("alt increased"):
                uln = c.lab_range("ALT")[1]
                ov["ALT"] = fmt_num(uln * rng.uniform(*ALT_BANDS[heme["alt increased"]]), 0)
                tests = HEMATOLOGY + CHEMISTRY
            self.uns += 1
            self.lab_panel(c, "UNSCHEDULED", self.uns, nadir, tests, ov)
            for key, g in heme.items():
                start = nadir
                if key == "febrile neutropenia":
                    end = nadir + rng.randint(3, 7) * DAY
                else:
                    end = nadir + rng.randint(2, 5) * DAY
                out.append(self.ae(key, start, end, g))
        for key, ((d_lo, d_hi), (l_lo, l_hi)) in NONHEME_TIMING.items():
            g = grades.get(key, 0)
            if g:
                start = s + (rng.randint(d_lo, d_hi) - 1) * DAY
                out.append(self.ae(key, start, start + rng.randint(l_lo, l_hi) * DAY, g))
        return out

    def ae(self, key, start, end, grade) -> AE:
        rng = self.rng
        serious = key == "febrile neutropenia" or grade >= 5
        rel = "PROBABLY RELATED" if key in HEME_AES or key == "alopecia" else rng.choice(
            ("POSSIBLY RELATED", "PROBABLY RELATED", "UNLIKELY RELATED"))
        return AE(key, start, end, grade, serious, "DOSE NOT CHANGED", "RECOVERED/RESOLVED", rel)

    def concomitant(self, c: Course, aes, last_dose, cap):
        rng = self.rng
        first = c.cycles[0].start
        c.cms.append(("ONDANSETRON", "Prophylaxis of nausea", "8", "mg", "BID", "INTRAVENOUS", first,
                      last_dose if last_dose <= cap else None, "ONDANSETRON", "A04AA01"))
        if rng.random() < 0.6:
            c.cms.append(("DEXAMETHASONE", "Prophylaxis of nausea", "5", "mg", "QD", "INTRAVENOUS", first,
                          min(last_dose, first + 2 * DAY) if first + 2 * DAY <= cap else None, "DEXAMETHASONE", "H02AB02"))
        severe_neut = [a for a in aes if a.key == "neutrophil count decreased" and a.grade >= 3 and a.start <= cap]
        if severe_neut:
            start = severe_neut[0].start + DAY
            end = start + rng.randint(1, 3) * DAY
            if start <= cap:
                c.cms.append(("PEGFILGRASTIM", "Neutropenia", "6", "mg", "ONCE", "SUBCUTANEOUS", start,
                              end if end <= cap else None, "PEGFILGRASTIM", "L03AA13"))

    def assessments(self, c: Course, schedule, pd_k, cls, obs_end, nact):
        rng = self.rng
        base = sum(l.size for l in c.tl0)
        nadir = base
        pr_depth = rng.uniform(0.35, 0.62)
        sd_level = rng.uniform(0.78, 1.08)
        cr_nodes = {l.lesid: rng.randint(5, 9) for l in c.tl0 if l.node}
        new_no = 0
        reached_cr = False
        for k, ch, ab, missed, ne in schedule:
            rs = max(ch, ab)
            if rs > obs_end or (nact is not None and rs >= nact):
                break
            if missed or cls == "NE" and k > 1:
                continue
            is_pd = k == pd_k
            ne = (ne or cls == "NE") and not is_pd
            # factor relative to baseline for this visit's design
            if cls == "PR":
                f = (1 - pr_depth) * rng.uniform(0.95, 1.03) if (k > 1 or rng.random() < 0.65) else 1 - pr_depth / 2
                f = min(f, 0.66) if k > 1 else f
            elif cls == "CR":
                f = rng.uniform(0.4, 0.65) if k == 1 else 0.0
            else:
                f = sd_level * rng.uniform(0.97, 1.03)
            a = Assessment(k, ch, ab, [], [], [])
            mode = ""
            if is_pd:
                mode = rng.choices(("tl", "nl", "ntl"), (60, 25, 15))[0]
                if cls == "CR" or reached_cr or not c.tl0:
                    mode = "nl" if (not c.ntl0 or rng.random() < 0.6) else "ntl"
                if mode == "ntl" and not c.ntl0:
                    mode = "tl" if c.tl0 else "nl"
                if mode == "tl":
                    f = (nadir / base if base else 1) * rng.uniform(1.25, 1.5)
            ne_lesion = rng.randrange(len(c.tl0)) if ne and c.tl0 else -1
            tl_vals = []
            for i, l in enumerate(c.tl0):
                if i == ne_lesion:
                    a.tl.append((l, "", "NOT EVALUATED", None))
                    tl_vals.append((None, l.node))
                    continue
                if f == 0.0:
                    d = cr_nodes[l.lesid] if l.node else 0
                else:
                    d = max(0, round(l.size * f * rng.uniform(0.96, 1.04)))
                    if l.node and l.lesid in cr_nodes and reached_cr:
                        d = cr_nodes[l.lesid]
                if d == 0:
                    a.tl.append((l, "0", "NOT PRESENT", 0))
                elif d < 5 and not l.node:
                    a.tl.append((l, "5", "TOO SMALL TO MEASURE", 5))
                    d = 5
                else:
                    a.tl.append((l, str(d), "MEASURED", d))
                tl_vals.append((d, l.node))
            ne_ntl = ne and not c.tl0 and bool(c.ntl0)
            for j, l in enumerate(c.ntl0):
                st = "ABSENT" if (cls == "CR" and k > 1) else "PRESENT"
                if ne_ntl and j == 0:
                    st = "NOT EVALUATED"
                if mode == "ntl" and j == 0:
                    st = "UNEQUIVOCAL PROGRESSION"
                a.ntl.append((l, st))
            if mode == "tl":
                trg, _ = recist.target_response(tl_vals, base, nadir)
                if trg != "PD":
                    mode = "nl"  # growth too small to qualify: progression shows as a new lesion
            if mode == "nl":
                for _ in range(rng.randint(1, 2)):
                    new_no += 1
                    loc = rng.choice(("LUNG", "LIVER", "BONE", "PERITONEUM"))
                    a.nl.append(Lesion(f"NEW{new_no:02d}", loc, rng.choice(LOC_DETAIL[loc]), False, "CT SCAN"))
            trg, ntrg, newl, ovr, sld = recist.assess(
                tl_vals, [st for _, st in a.ntl], bool(a.nl), base, nadir, c.measurable)
            a.trg, a.ntrg, a.newl, a.ovr = trg, ntrg, newl, ovr
            a.sumdiam = str(int(sum(v for v, _ in tl_vals if v is not None))) if c.tl0 else ""
            if sld is not None and trg != "NE":
                nadir = min(nadir, sld)
            reached_cr = reached_cr or trg == "CR"
            c.assessments.append(a)
            if ovr == "PD":
                break

    def finish(self, c: Course):
        """Truth summary: BOR / confirmed BOR and last known alive date (adam.md §2 LSTALVDT)."""
        ctx = self.ctx
        resps = [(a.rsdat, a.ovr) for a in c.assessments]
        if c.d1:
            c.bor = recist.best_overall_response(resps, c.d1, c.nact, ctx.dco)
            c.cbor = recist.confirmed_bor(resps, c.d1, c.nact, ctx.dco)
        else:
            c.bor = c.cbor = "MISSING"
        dates = [c.icdat, c.enrdat, c.screen]
        dates += [x.day for x in c.labs] + [v[1] for v in c.vitals] + [e[1] for e in c.echo]
        dates += [day for cy in c.cycles for _, _, day, given in cy.admin]
        for a in c.assessments:
            dates.append(a.rsdat)
        for a in c.aes:
            dates.append(a.end or a.start)
        for cm in c.cms:
            dates.append(cm[7] or cm[6])
        dates += [f[1] for f in c.fu if f[2] == "ALIVE"]
        if c.eot:
            dates.append(c.eot[0])
        if c.withdrawal:
            dates.append(c.withdrawal)
        death = c.death[0] if c.death else None
        ok = [d for d in dates if d is not None and d <= ctx.dco and (death is None or d < death)]
        c.last_alive = max(ok)
        if c.eos:
            c.eos = (c.eos[0], c.eos[1], c.eos[2], c.last_alive)


def simulate_subject(ctx: Context, idx: int) -> Course:
    return _Sim(ctx, idx).run(idx)
