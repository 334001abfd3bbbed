"""RECIST 1.1 overall response and best-response derivations used by the generator.

The generator records the investigator's response as exactly what adam.md §5 computes from the
lesion rows it writes, so clean data never trips RS01. The same module derives the ground
truth BOR / confirmed BOR (adam.md §5 rules) written to ``_groundtruth/subjects.csv``; tests
check it against an independent implementation, not against this one.
"""

from __future__ import annotations

from datetime import date

# worst-first order used nowhere else; best-first orders for BOR picking (adam.md §5)
_BOR_ORDER = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE")
_CBOR_ORDER = _BOR_ORDER + ("MISSING",)


def target_response(tl: list[tuple[float | None, bool]], base: float, nadir: float) -> tuple[str, float | None]:
    """Target response and SLD for lesions ``(diameter or None, nodal)``; ``('NA', None)`` if none."""
    if not tl:
        return "NA", None
    measured = [d for d, _ in tl if d is not None]
    sld = sum(measured)
    pd = sld >= 1.2 * nadir and sld - nadir >= 5
    if len(measured) < len(tl):
        # a missing lesion makes the target NE unless the measured ones alone already give PD
        return ("PD" if pd else "NE"), None
    if pd:
        return "PD", sld
    if all((d < 10) if nodal else (d == 0) for d, nodal in tl):
        return "CR", sld
    if sld <= 0.7 * base:
        return "PR", sld
    return "SD", sld


def nontarget_response(statuses: list[str]) -> str:
    if not statuses:
        return "NA"
    if "UNEQUIVOCAL PROGRESSION" in statuses:
        return "PD"
    if "NOT EVALUATED" in statuses:
        return "NE"
    if all(s == "ABSENT" for s in statuses):
        return "CR"
    return "NON-CR/NON-PD"


def overall_response(trg: str, ntrg: str, new: bool, measurable: bool) -> str:
    """Combine target / non-target / new-lesion responses (adam.md §5 table)."""
    if new or trg == "PD" or ntrg == "PD":
        return "PD"
    if not measurable:
        return {"CR": "CR", "NON-CR/NON-PD": "NON-CR/NON-PD"}.get(ntrg, "NE")
    if trg == "CR":
        return "CR" if ntrg in ("CR", "NA") else "PR"
    return {"PR": "PR", "SD": "SD"}.get(trg, "NE")


def assess(tl, ntl_statuses, new, base, nadir, measurable):
    """One assessment: (TRGRESP, NTRGRESP, NEWLIND, OVRLRESP, SLD or None)."""
    trg, sld = target_response(tl, base, nadir)
    ntrg = nontarget_response(ntl_statuses)
    return trg, ntrg, ("Y" if new else "N"), overall_response(trg, ntrg, new, measurable), sld


def _analysable(resps: list[tuple[date, str]], trtsdt: date, nactdt: date | None, dco: date):
    """ANL02FL records: on/after TRTSDT, before NACT, up to DCO, up to and including first PD."""
    out = []
    for adt, r in sorted(resps):
        if adt < trtsdt or adt > dco or (nactdt is not None and adt >= nactdt):
            continue
        out.append((adt, r))
        if r == "PD":
            break
    return out


def best_overall_response(resps, trtsdt, nactdt, dco, window: int = 35) -> str:
    recs = _analysable(resps, trtsdt, nactdt, dco)
    if not recs:
        return "MISSING"
    cand = []
    for adt, r in recs:
        if r in ("SD", "NON-CR/NON-PD") and (adt - trtsdt).days < window:
            r = "NE"
        cand.append(r)
    return min(cand, key=_BOR_ORDER.index)


def confirmed_bor(resps, trtsdt, nactdt, dco, window: int = 35, confirm: int = 28, max_ne: int = 1) -> str:
    """Confirmed BOR with accept_sd = FALSE (adam.md §5, derive_param_confirmed_bor)."""
    recs = _analysable(resps, trtsdt, nactdt, dco)
    if not recs:
        return "MISSING"
    cand = []
    for i, (adt, r) in enumerate(recs):
        if r in ("CR", "PR"):
            if r == "CR" and _confirmed(recs, i, ("CR",), ("CR", "NE"), confirm, max_ne):
                cand.append("CR")
                continue
            if _confirmed(recs, i, ("CR", "PR"), ("CR", "PR", "NE"), confirm, max_ne, no_pr_after_cr=True):
                cand.append("PR")
                continue
        if r in ("CR", "PR", "SD", "NON-CR/NON-PD"):
            early = (adt - trtsdt).days < window
            cand.append("NE" if early else ("NON-CR/NON-PD" if r == "NON-CR/NON-PD" else "SD"))
        elif r in ("PD", "NE"):
            cand.append(r)
    return min(cand, key=_CBOR_ORDER.index) if cand else "MISSING"


def _confirmed(recs, i, confirmers, allowed, confirm, max_ne, no_pr_after_cr=False) -> bool:
    adt0 = recs[i][0]
    for j in range(i + 1, len(recs)):
        adt, r = recs[j]
        if r in confirmers and (adt - adt0).days >= confirm:
            span = [x for _, x in recs[i + 1 : j + 1]]
            if any(x not in allowed for x in span) or span.count("NE") > max_ne:
                return False
            if no_pr_after_cr:
                seq = [recs[i][1]] + span
                if "CR" in seq and "PR" in seq[seq.index("CR"):]:
                    return False
            return True
    return False
