"""Cross-table defects: values that are each fine on their own form but contradict another form.

The per-form edit checks cannot see these; the cross-table rules of ``pipeline.qa.cross_table``
(Great Expectations suites) must. ``generate(..., cross_defects=N)`` injects each class below
into ``N`` subjects (one defect per subject, classes in turn), after the crf.md §7 mess, on its
own random stream, so an export with and without them describes the same trial.

Every injected defect is a row of ``_groundtruth/defects.csv`` like any other, with the rule
expected to report it. A removed record (``visit_missing``) was never written: its ``file`` is
blank and its ``row`` 0.
"""

from __future__ import annotations

from datetime import date, timedelta

from .records import Record

#: class -> the cross-table rule that must report it (pipeline/qa/cross_table.py)
CROSS_CLASSES: dict[str, str] = {
    "ae_before_consent": "XT02",
    "dose_after_death": "XT04",
    "death_date_mismatch": "XT05",
    "lesion_without_tu": "XT06",
    "rs_date_mismatch": "XT07",
    "weight_jump": "XT08",
    "visit_missing": "XT10",
}


def _iso(value: str | None) -> date | None:
    if value and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _untouched(r: Record, item: str) -> bool:
    return not any(d[0] == item for d in (r.defects or []))


class CrossDefects:
    """Injects up to ``per_class`` defects of each class, one subject at a time."""

    def __init__(self, per_class: int, manifest):
        self.per_class = per_class
        self.manifest = manifest
        self.counts = {c: 0 for c in CROSS_CLASSES}

    def inject(self, recs: list[Record], rng) -> list[Record]:
        if self.per_class <= 0:
            return recs
        by_form: dict[str, list[Record]] = {}
        for r in recs:
            by_form.setdefault(r.form, []).append(r)
        if not by_form.get("DM"):
            return recs
        # the class that has the fewest defects so far goes first: classes take turns
        for cls in sorted(CROSS_CLASSES, key=lambda c: (self.counts[c], list(CROSS_CLASSES).index(c))):
            if self.counts[cls] >= self.per_class:
                continue
            out = getattr(self, "_" + cls)(recs, by_form, rng)
            if out is not None:
                self.counts[cls] += 1
                return out
        return recs

    def _mark(self, r: Record, item: str, raw: str, cls: str) -> None:
        clean = r.v.get(item, "")
        r.defects = list(r.defects or []) + [(item, cls, raw, clean, CROSS_CLASSES[cls])]
        r.v[item] = raw

    # -- one method per class: returns the subject's records, or None when it does not fit ------
    def _ae_before_consent(self, recs, by_form, rng):
        icdat = _iso(by_form["DM"][0].v.get("ICDAT"))
        aes = [r for r in by_form.get("AE", []) if _iso(r.v.get("AESTDAT")) and _untouched(r, "AESTDAT")]
        if not icdat or not aes:
            return None
        r = aes[0]
        self._mark(r, "AESTDAT", (icdat - timedelta(days=rng.randint(3, 20))).isoformat(), "ae_before_consent")
        return recs

    def _death(self, by_form) -> date | None:
        dth = by_form.get("DTH", [])
        return _iso(dth[0].v.get("DTHDAT")) if dth else None

    def _dose_after_death(self, recs, by_form, rng):
        death = self._death(by_form)
        doses = [r for r in by_form.get("EX", []) if r.v.get("EXOCCUR") == "Y" and _iso(r.v.get("EXSTDAT"))
                 and _untouched(r, "EXSTDAT")]
        if not death or not doses:
            return None
        r = doses[-1]
        self._mark(r, "EXSTDAT", (death + timedelta(days=rng.randint(1, 5))).isoformat(), "dose_after_death")
        return recs

    def _death_date_mismatch(self, recs, by_form, rng):
        death = self._death(by_form)
        eos = [r for r in by_form.get("EOS", []) if r.v.get("EOSREAS") == "DEATH" and _iso(r.v.get("EOSDAT"))
               and _untouched(r, "EOSDAT")]
        if not death or not eos:
            return None
        self._mark(eos[0], "EOSDAT", (death - timedelta(days=rng.randint(5, 15))).isoformat(), "death_date_mismatch")
        return recs

    def _lesion_without_tu(self, recs, by_form, rng):
        """The baseline row of a target lesion gets an impossible date: DAT01 quarantines it, so TU
        lacks the lesion while its later measurements reach TR."""
        tl = by_form.get("TL", [])
        later = {r.v.get("LESID") for r in tl if r.visit != "SCREENING"}
        base = [r for r in tl if r.visit == "SCREENING" and r.v.get("LESID") in later and _iso(r.v.get("TRDAT"))
                and _untouched(r, "TRDAT")]
        if not base:
            return None
        r = base[0]
        self._mark(r, "TRDAT", r.v["TRDAT"][:4] + "-02-30", "lesion_without_tu")
        return recs

    def _rs_date_mismatch(self, recs, by_form, rng):
        """The response is dated a day before the last lesion scan it evaluates."""
        for r in by_form.get("RS", []):
            scans = [_iso(x.v.get("TRDAT")) for f in ("TL", "NTL", "NL") for x in by_form.get(f, []) if x.visit == r.visit]
            if scans and all(scans) and _iso(r.v.get("RSDAT")) and _untouched(r, "RSDAT"):
                self._mark(r, "RSDAT", (max(scans) - timedelta(days=1)).isoformat(), "rs_date_mismatch")
                return recs
        return None

    def _weight_jump(self, recs, by_form, rng):
        vs = [r for r in by_form.get("VS", []) if r.visit.startswith("CYCLE") and r.v.get("WEIGHT")
              and _untouched(r, "WEIGHT")]
        if len(vs) < 2:
            return None
        r = vs[len(vs) // 2]
        self._mark(r, "WEIGHT", f"{float(r.v['WEIGHT']) * rng.choice((1.35, 1.4)):.1f}", "weight_jump")
        return recs

    def _visit_missing(self, recs, by_form, rng):
        vs = [r for r in by_form.get("VS", []) if r.visit.startswith("CYCLE") and r.visit != "CYCLE 1 DAY 1"
              and not r.defects]
        if not vs:
            return None
        gone = vs[-1]
        gone.defects = [("VSDAT", "visit_missing", "", gone.v.get("VSDAT", ""), CROSS_CLASSES["visit_missing"])]
        self.manifest.add("", 0, gone)
        return [r for r in recs if r is not gone]
