"""Tests of the synthetic EDC export generator (pipeline/synthetic).

The RECIST and edit-check logic here is re-implemented independently of the generator on
purpose: the tests read only the exported files, as the pipeline will.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from pipeline import codelists, config, forms
from pipeline.synthetic import generate

DCO = config.data_cutoff()
T = config.trial()
GB_FORM = config.generator().get("gb18030_form", "AE")


def read_form(d: Path, form: str) -> list[dict]:
    enc = "gb18030" if form == GB_FORM else "utf-8-sig"
    with open(d / f"{form}.csv", encoding=enc, newline="") as fh:
        return list(csv.DictReader(fh))


def read_manifest(d: Path) -> list[dict]:
    with open(d / "_groundtruth" / "defects.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def digest(d: Path) -> dict[str, str]:
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("clean")
    generate(d, mess_rate=0)
    return d


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("messy")
    generate(d)
    return d


def d_(s: str) -> date:
    return date.fromisoformat(s)


# -- determinism ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "redcap", "odm"])
def test_byte_identical_same_seed(tmp_path, fmt):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, subjects=12, seed=7, fmt=fmt, mess_rate=2.0)
    generate(b, subjects=12, seed=7, fmt=fmt, mess_rate=2.0)
    generate(c, subjects=12, seed=8, fmt=fmt, mess_rate=2.0)
    da, db, dc = digest(a), digest(b), digest(c)
    assert da == db
    assert da != dc


def test_format_invariants(messy):
    raw = (messy / "LB.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    gb = (messy / f"{GB_FORM}.csv").read_bytes()
    assert not gb.startswith(b"\xef\xbb\xbf")
    gb.decode("gb18030")
    for name, form in forms.FORMS.items():
        with open(messy / f"{name}.csv", encoding="gb18030" if name == GB_FORM else "utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh))
        assert header == list(forms.KEY_COLUMNS) + ["LASTMOD"] + list(form.item_names)
    assert (messy / "export.json").exists()


# -- clean export -----------------------------------------------------------------------------

def test_clean_has_no_defects_and_only_canonical_values(clean):
    assert read_manifest(clean) == []
    for name, form in forms.FORMS.items():
        for row in read_form(clean, name):
            assert re.fullmatch(r"\d{3}", row["SUBJID"])
            assert row["VISIT"] in forms.VISIT_BY_NAME
            for it in form.items:
                val = row[it.name]
                if not val:
                    continue
                assert val == val.strip()
                if it.kind == "code":
                    assert val in codelists.CODELISTS[it.codelist], (name, it.name, val)
                elif it.kind == "multi":
                    assert all(x in codelists.CODELISTS[it.codelist] for x in val.split(";"))
                elif it.kind == "date":
                    assert d_(val) <= DCO, (name, it.name, val)


def test_default_population(clean):
    dm = read_form(clean, "DM")
    assert len(dm) == 31 and all(r["ENRDAT"] for r in dm)
    dosed = {r["SUBJID"] for r in read_form(clean, "EX") if r["EXOCCUR"] == "Y" and float(r["EXDOSE"]) > 0}
    assert len(dosed) == 30
    tl = {r["SUBJID"] for r in read_form(clean, "TL") if r["VISIT"] == "SCREENING"}
    assert len(tl) == 28 and tl <= dosed


def _ae_period(ae):
    return d_(ae["AESTDAT"]), d_(ae["AEENDAT"]) if ae["AEENDAT"] else DCO


def test_labs_match_ae_grades(clean):
    labs: dict[tuple, list] = {}
    for r in read_form(clean, "LB"):
        labs.setdefault((r["SUBJID"], r["LBTEST"]), []).append((d_(r["LBDAT"]), float(r["LBORRES"]), r))
    checks = {  # AE key -> (test, grade -> predicate on (value, row))
        "neutrophil count decreased": ("NEUT", {3: lambda v, r: 0.5 <= v < 1.0, 4: lambda v, r: v < 0.5}),
        "febrile neutropenia": ("NEUT", {3: lambda v, r: v < 1.0, 5: lambda v, r: v < 1.0}),
        "platelet count decreased": ("PLT", {1: lambda v, r: 75 <= v < float(r["LBORNRLO"]), 2: lambda v, r: 50 <= v < 75,
                                             3: lambda v, r: 25 <= v < 50, 4: lambda v, r: v < 25}),
        "anemia": ("HGB", {1: lambda v, r: 100 <= v < float(r["LBORNRLO"]), 2: lambda v, r: 80 <= v < 100,
                           3: lambda v, r: v < 80}),
        "alt increased": ("ALT", {1: lambda v, r: 1 < v / float(r["LBORNRHI"]) <= 3, 2: lambda v, r: 3 < v / float(r["LBORNRHI"]) <= 5,
                                  3: lambda v, r: 5 < v / float(r["LBORNRHI"]) <= 20, 4: lambda v, r: v / float(r["LBORNRHI"]) > 20}),
    }
    seen = 0
    for ae in read_form(clean, "AE"):
        key = ae["AETERM"].lower()
        if key not in checks:
            continue
        test, preds = checks[key]
        grade = int(ae["AETOXGR"])
        if grade not in preds:
            continue
        lo, hi = _ae_period(ae)
        rows = [(v, r) for day, v, r in labs.get((ae["SUBJID"], test), []) if lo <= day <= hi]
        assert any(preds[grade](v, r) for v, r in rows), (ae["SUBJID"], key, grade, rows)
        seen += 1
    assert seen > 10


def test_clean_edit_checks(clean):
    dm = {r["SUBJID"]: r for r in read_form(clean, "DM")}
    ae = read_form(clean, "AE")
    for r in ae:
        assert r["AETERM"].lower() in codelists.AE_DICTIONARY
        assert (r["AEDECOD"], r["AEBODSYS"]) == codelists.AE_DICTIONARY[r["AETERM"].lower()]
        assert (r["AEONGO"] == "Y") == (r["AEENDAT"] == "")
        if r["AEENDAT"]:
            assert d_(r["AEENDAT"]) >= d_(r["AESTDAT"])
        if r["AESER"] == "Y":
            assert any(r[c] == "Y" for c in ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE"))
        if r["AETOXGR"] == "5":
            assert r["AEOUT"] == "FATAL"
    tol = T["dose_tolerance"]
    for r in read_form(clean, "EX"):
        h, w = float(dm[r["SUBJID"]]["HEIGHT"]), float(r["WEIGHT"])
        assert abs(float(r["BSA"]) - math.sqrt(h * w / 3600)) <= T["bsa_tolerance_m2"]
        if r["EXOCCUR"] == "Y" and r["EXADJ"] != "Y":
            ratio = float(r["EXDOSE"]) / (float(r["EXPDOSE"]) * float(r["BSA"]))
            assert tol["low"] <= ratio <= tol["high"]
    for r in read_form(clean, "LB"):
        assert r["LBORNRLO"] and r["LBORNRHI"] and r["LBORRESU"] == codelists.LAB_UNITS[r["LBTEST"]][0]
    # deaths consistent across DTH / EOS / FU / AE grade 5; nothing dated after death elsewhere
    death = {r["SUBJID"]: r["DTHDAT"] for r in read_form(clean, "DTH")}
    for r in read_form(clean, "EOS"):
        if r["EOSREAS"] == "DEATH":
            assert death[r["SUBJID"]] == r["EOSDAT"]
    for r in read_form(clean, "FU"):
        if r["FUSTAT"] == "DEAD":
            assert death[r["SUBJID"]] == r["FUDAT"]
    for r in ae:
        if r["AETOXGR"] == "5":
            assert death[r["SUBJID"]] == r["AEENDAT"]
    for name, form in forms.FORMS.items():
        if name in ("DTH", "EOS"):
            continue
        dates = [it.name for it in form.items if it.kind == "date"]
        for r in read_form(clean, name):
            if r["SUBJID"] not in death or (name == "FU" and r["FUSTAT"] == "DEAD") or (name == "AE" and r["AETOXGR"] == "5"):
                continue
            for it in dates:
                if r[it]:
                    assert d_(r[it]) < d_(death[r["SUBJID"]]), (name, it, r)


def test_visit_windows_and_baseline_lesions(clean):
    first = {}
    for r in read_form(clean, "EX"):
        first[r["SUBJID"]] = min(first.get(r["SUBJID"], date.max), d_(r["EXSTDAT"]))
    win = T["tumour_assessment_window_days"]
    for r in read_form(clean, "RS"):
        k = int(r["VISIT"].rsplit(" ", 1)[1]) // 6
        nominal = first[r["SUBJID"]] + timedelta(days=T["tumour_assessment_interval_days"] * k)
        assert abs((d_(r["RSDAT"]) - nominal).days) <= win
    eot = {}
    for r in read_form(clean, "EOT"):
        nominal = d_(r["LSTDOSDT"]) + timedelta(days=T["eot_after_last_dose_days"])
        assert abs((d_(r["EOTDAT"]) - nominal).days) <= T["eot_window_days"]
        eot[r["SUBJID"]] = d_(r["EOTDAT"])
    for r in read_form(clean, "FU"):
        k = int(r["VISIT"].rsplit(" ", 1)[1])
        nominal = eot[r["SUBJID"]] + timedelta(days=T["followup_interval_days"] * k)
        assert abs((d_(r["FUDAT"]) - nominal).days) <= T["followup_window_days"]
    # cycles: C(n) D1 within -1/+3 of previous D1 + 21, or a delay of at most 14 days
    d1 = {}
    for r in read_form(clean, "EX"):
        if r["EXDAY"] == "1":
            d1.setdefault(r["SUBJID"], {})[int(r["CYCLE"])] = (d_(r["EXSTDAT"]), r["EXDELAY"])
    for cycles in d1.values():
        for n in range(2, max(cycles) + 1):
            gap = (cycles[n][0] - cycles[n - 1][0]).days - T["cycle_length_days"]
            late = T["max_cycle_delay_days"] if cycles[n][1] == "Y" else T["cycle_window"]["late"]
            assert -T["cycle_window"]["early"] <= gap <= late
    bl = T["baseline_tl"]
    by_subj: dict[str, list] = {}
    for r in read_form(clean, "TL"):
        if r["VISIT"] == "SCREENING":
            by_subj.setdefault(r["SUBJID"], []).append(r)
    for rows in by_subj.values():
        assert len(rows) <= bl["max_total"]
        organs = [r["TULOC"] for r in rows]
        assert max(organs.count(o) for o in organs) <= bl["max_per_organ"]
        for r in rows:
            assert float(r["TRDIAM"]) >= (bl["min_nodal_mm"] if r["NODE"] == "Y" else bl["min_nonnodal_mm"])


def _recist(tl_rows, ntl_rows, nl_rows, base, nadir, measurable):
    """adam.md §5, written again from the spec (no generator code)."""
    if tl_rows:
        vals = [(float(r["TRDIAM"]) if r["TRDIAM"] else None, r["NODE"] == "Y") for r in tl_rows]
        known = [v for v, _ in vals if v is not None]
        s = sum(known)
        prog = s >= 1.2 * nadir and s - nadir >= 5
        if len(known) < len(vals):
            t = "PD" if prog else "NE"
        elif prog:
            t = "PD"
        elif all(v < 10 if node else v == 0 for v, node in vals):
            t = "CR"
        elif s <= 0.7 * base:
            t = "PR"
        else:
            t = "SD"
    else:
        t, s = "NA", None
    st = [r["NTSTAT"] for r in ntl_rows]
    nt = ("NA" if not st else "PD" if "UNEQUIVOCAL PROGRESSION" in st else "NE" if "NOT EVALUATED" in st
          else "CR" if all(x == "ABSENT" for x in st) else "NON-CR/NON-PD")
    new = any(r["NLEQUIV"] == "N" for r in nl_rows)
    if new or "PD" in (t, nt):
        o = "PD"
    elif not measurable:
        o = {"CR": "CR", "NON-CR/NON-PD": "NON-CR/NON-PD"}.get(nt, "NE")
    elif t == "CR":
        o = "CR" if nt in ("CR", "NA") else "PR"
    else:
        o = {"PR": "PR", "SD": "SD"}.get(t, "NE")
    return t, nt, o, (s if t not in ("NE",) and tl_rows and all(r["TRDIAM"] for r in tl_rows) else None)


def test_rs_matches_independent_recist(clean):
    group = lambda form: {(r["SUBJID"], r["VISIT"]): [] for r in read_form(clean, form)}  # noqa: E731
    lesions = {}
    for form in ("TL", "NTL", "NL"):
        g = group(form)
        for r in read_form(clean, form):
            g[(r["SUBJID"], r["VISIT"])].append(r)
        lesions[form] = g
    rs_by_subj: dict[str, list] = {}
    for r in read_form(clean, "RS"):
        rs_by_subj.setdefault(r["SUBJID"], []).append(r)
    n = 0
    for subj, rows in rs_by_subj.items():
        base_rows = lesions["TL"].get((subj, "SCREENING"), [])
        base = sum(float(r["TRDIAM"]) for r in base_rows)
        nadir = base
        for r in sorted(rows, key=lambda r: r["RSDAT"]):
            key = (subj, r["VISIT"])
            tl = lesions["TL"].get(key, [])
            t, nt, o, s = _recist(tl, lesions["NTL"].get(key, []), lesions["NL"].get(key, []), base, nadir, bool(base_rows))
            assert (r["TRGRESP"], r["NTRGRESP"], r["OVRLRESP"]) == (t, nt, o), (subj, r)
            if tl:
                assert float(r["SUMDIAM"]) == sum(float(x["TRDIAM"]) for x in tl if x["TRDIAM"])
            if s is not None:
                nadir = min(nadir, s)
            n += 1
    assert n > 30


# -- messy export ------------------------------------------------------------------------------

_EXCEL0 = date(1899, 12, 30)


def norm_date(s: str) -> str:
    s = s.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        return s
    if re.fullmatch(r"\d{5}", s):
        return (_EXCEL0 + timedelta(days=int(s))).isoformat()
    m = re.fullmatch(r"(\d{4})/(\d{1,2})/(\d{1,2})", s) or re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日", s)
    if m:
        return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    m = re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})", s)
    if m:
        return date(int(m[3]), int(m[2]), int(m[1])).isoformat()
    return s


def test_clean_and_messy_describe_the_same_course(clean, messy):
    """Undo every manifest row on the messy export: the result must be the clean export exactly.

    This proves both that the course is the same and that the manifest is complete and exact.
    """
    man = read_manifest(messy)
    assert man
    extra = {(m["file"], int(m["row"])) for m in man
             if m["defect_class"] in ("duplicate_row", "conflicting_reentry", "unknown_subject")}
    fixes: dict[tuple, list] = {}
    for m in man:
        fixes.setdefault((m["file"], int(m["row"])), []).append(m)
    for name in forms.FORMS:
        c_rows = read_form(clean, name)
        m_rows = []
        for i, r in enumerate(read_form(messy, name), 1):
            if (f"{name}.csv", i) in extra:
                continue
            m_rows.append((i, r))
        assert len(c_rows) == len(m_rows), name
        for c, (i, r) in zip(c_rows, m_rows, strict=True):
            r = dict(r)
            for m in fixes.get((f"{name}.csv", i), []):
                assert r[m["field"]] == m["raw_value"]
                cls = m["defect_class"]
                if cls in ("partial_date_month", "partial_date_year", "death_day_unknown"):
                    assert c[m["field"]].startswith(m["clean_value"]) and len(m["clean_value"]) in (4, 7)
                    r[m["field"]] = c[m["field"]]
                elif cls == "cm_date_unknown":
                    assert m["clean_value"] == "" and m["raw_value"] == "UNK"
                    r[m["field"]] = c[m["field"]]
                else:
                    r[m["field"]] = m["clean_value"]
                if cls == "ae_typo":  # coding lags: MedDRA columns blank on that row
                    for col in ("AELLT", "AEDECOD", "AEBODSYS", "MEDDRAV"):
                        assert r[col] == ""
                        r[col] = c[col]
            assert r == c, (name, i)


def _check_manifest_points_at_raw(d: Path, man: list[dict], reader):
    assert man, "messy export should have defects"
    for m in man:
        got = reader(m)
        assert got == m["raw_value"], (m, got)


def test_manifest_points_at_raw_values_csv(messy):
    man = read_manifest(messy)
    classes = {m["defect_class"] for m in man}
    assert {"date_style_slash", "code_whitespace", "duplicate_row", "subjid_unpadded", "visit_out_of_window",
            "conflicting_reentry", "lab_unit_variant", "ae_chinese"} <= classes
    cache = {}

    def reader(m):
        form = m["file"][:-4]
        if form not in cache:
            cache[form] = read_form(messy, form)
        rows = cache[form]
        row = rows[int(m["row"]) - 1]
        assert row["VISIT"] == m["VISIT"] and row["IGREP"] == m["IGREP"]
        if m["defect_class"] == "duplicate_row":
            assert row == rows[int(m["row"]) - 2]
            return ""
        if m["defect_class"] == "conflicting_reentry":
            assert rows[int(m["row"])]["LASTMOD"] > row["LASTMOD"]
        return row[m["field"]]

    _check_manifest_points_at_raw(messy, man, reader)
    for m in man:  # silent variants must normalise back; the rest must name a rule
        if m["defect_class"] in ("date_style_slash", "date_style_chinese"):
            assert norm_date(m["raw_value"]) == m["clean_value"] and m["expected_rule"] == ""
        if m["defect_class"] == "date_style_ddmm":
            dd, mm = int(m["raw_value"][:2]), int(m["raw_value"][3:5])
            assert (m["expected_rule"] == "") == (dd > 12 or dd == mm)  # ambiguous only if readings differ


def test_manifest_points_at_raw_values_redcap_and_odm(tmp_path):
    rc, odm = tmp_path / "rc", tmp_path / "odm"
    generate(rc, subjects=15, seed=3, fmt="redcap", mess_rate=2.0)
    generate(odm, subjects=15, seed=3, fmt="odm", mess_rate=2.0)
    man_rc, man_odm = read_manifest(rc), read_manifest(odm)
    strip = lambda man: [{k: v for k, v in m.items() if k not in ("file", "row")} for m in man]  # noqa: E731
    assert sorted(map(str, strip(man_rc))) == sorted(map(str, strip(man_odm)))

    with open(rc / "NCT05204524_REDCap.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(rc / "NCT05204524_DataDictionary.csv", encoding="utf-8", newline="") as fh:
        ddict = {r["Variable / Field Name"]: r for r in csv.DictReader(fh)}

    def rc_reader(m):
        row = rows[int(m["row"]) - 1]
        if m["field"] == "SUBJID":
            return row["record_id"].split("-", 1)[1]
        if m["field"] == "":
            return ""
        return row[f"{m['form']}_{m['field']}".lower()]

    _check_manifest_points_at_raw(rc, man_rc, rc_reader)
    assert ddict["dm_sex"]["Field Type"] == "radio" and ddict["dm_sex"]["Choices, Calculations, OR Slider Labels"].startswith("1, M")
    assert ddict["ae_aetoxgr"]["Field Type"] == "text"
    assert any(r["dx_metsites___1"] in ("0", "1") and r["dx_metsites___1"] for r in rows)

    lines = (odm / "NCT05204524_ODM.xml").read_text(encoding="utf-8").split("\n")
    import xml.etree.ElementTree as ET
    ET.fromstring("\n".join(lines))  # well-formed

    def odm_reader(m):
        i = int(m["row"]) - 1
        assert f'ItemGroupOID="IG_{m["form"]}" ItemGroupRepeatKey="{m["IGREP"]}"' in lines[i]
        if m["field"] == "SUBJID":
            j = i
            while "<SubjectData" not in lines[j]:
                j -= 1
            return forms.parse_subject_key(re.search(r'SubjectKey="([^"]+)"', lines[j])[1])[1]
        if m["field"] == "":
            return ""
        j = i + 1
        while "</ItemGroupData>" not in lines[j]:
            hit = re.search(rf'ItemOID="I_{m["form"]}_{m["field"]}" Value="([^"]*)"', lines[j])
            if hit:
                import html
                return html.unescape(hit[1])
            j += 1
        return ""

    _check_manifest_points_at_raw(odm, man_odm, odm_reader)


def test_subject_numbers_follow_the_configured_width(tmp_path, monkeypatch):
    """Three digits in this trial: a 1,000-subject export needs a configuration with more, and
    the generator says so instead of writing SUBJIDs every check would reject."""
    import yaml

    with pytest.raises(ValueError, match="1000 subjects need 4-digit SUBJIDs"):
        generate(tmp_path / "x", subjects=1000, seed=1, fmt="csv", mess_rate=0.0)
    cfg = config.trial_config()
    wide = {**cfg, "trial": {**cfg["trial"], "subjid_digits": 4}}
    path = tmp_path / "wide.yaml"
    path.write_text(yaml.safe_dump(wide))
    monkeypatch.setenv("TRIALWH_CONFIG", str(path))
    generate(tmp_path / "w", subjects=3, seed=1, fmt="csv", mess_rate=0.0)
    with open(tmp_path / "w" / "DM.csv", encoding="utf-8-sig", newline="") as fh:
        assert [r["SUBJID"] for r in csv.DictReader(fh)] == ["0001", "0002", "0003"]
