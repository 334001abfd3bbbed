"""REDCap flat export (crf.md §1.2) plus its data dictionary.

Naming: record_id = ``SITEID-SUBJID``; event = ``Visit.redcap + "_arm_1"`` (unscheduled visit k
-> ``unscheduled_{k}_arm_1``); instrument = form lower-case; field = ``f"{form}_{item}".lower()``.
Forms that can hold several rows per event are repeating instruments (instance = IGREP); the
others share one row per record/event. A second row for the same record/event/non-repeating
form (duplicate or stale re-entry) gets a row of its own holding only that form.

Coded fields: an item listed in ``mess.MESSABLE_CODES`` may carry a messy variant, so it is a
``text`` field exporting the value itself; every other coded item is a ``radio`` field exporting
its 1-based position in the codelist (dictionary ``"1, Y | 2, N"``), and DX.METSITES is a
``checkbox`` (``dx_metsites___k`` 0/1). LASTMOD goes to a hidden text field ``<form>_lastmod``
per instrument. SRC_ROW = 1-based data row number.
"""

from __future__ import annotations

import csv
from pathlib import Path

from pipeline import codelists, forms

from .mess import MESSABLE_CODES

REPEATING = ("IE", "MH", "PRTX", "EX", "LB", "AE", "CM", "TL", "NTL", "NL", "SUBTX")
DICT_COLUMNS = (
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
)


def field_name(form: str, item: str) -> str:
    return f"{form}_{item}".lower()


def field_type(form: str, item: forms.Item) -> str:
    if item.kind == "multi":
        return "checkbox"
    if item.kind == "code" and item.name not in MESSABLE_CODES.get(form, ()):
        return "radio"
    return "text"


def event_name(visit: str, vrep: int) -> str:
    if visit == "UNSCHEDULED":
        return f"unscheduled_{vrep}_arm_1"
    return forms.VISIT_BY_NAME[visit].redcap + "_arm_1"


class RedcapRenderer:
    def __init__(self, out_dir: Path, ctx, manifest, prefix: str | None = None, **_):
        self.ctx, self.manifest = ctx, manifest
        prefix = prefix or ctx.studyid
        self.data_file, self.dict_file = f"{prefix}_REDCap.csv", f"{prefix}_DataDictionary.csv"
        cols = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]
        dict_rows = [("record_id", "dm", "", "text", "Record ID (SITEID-SUBJID)") + ("",) * 13]
        self.slot: dict[str, list] = {}  # form -> [(item, column index, kind, choice map)]
        self.meta: dict[str, tuple[int, int]] = {}  # form -> (lastmod col, complete col)
        for name, form in forms.FORMS.items():
            inst = name.lower()
            slots = []
            for it in form.items:
                ftype = field_type(name, it)
                fname = field_name(name, it.name)
                label = it.label or it.name
                choices = ""
                if ftype in ("radio", "checkbox"):
                    values = codelists.CODELISTS[it.codelist]
                    choices = " | ".join(f"{k}, {val}" for k, val in enumerate(values, 1))
                    cmap = {val: str(k) for k, val in enumerate(values, 1)}
                else:
                    cmap = None
                if ftype == "checkbox":
                    slots.append((it.name, len(cols), "checkbox", cmap))
                    cols += [f"{fname}___{k}" for k in range(1, len(cmap) + 1)]
                else:
                    slots.append((it.name, len(cols), ftype, cmap))
                    cols.append(fname)
                dict_rows.append((fname, inst, "", ftype, label, choices, it.name) + ("",) * 11)
            dict_rows.append((f"{inst}_lastmod", inst, "", "text", "Last modified", "", "LASTMOD")
                             + ("",) * 10 + ("@HIDDEN",))
            self.meta[name] = (len(cols), len(cols) + 1)
            cols += [f"{inst}_lastmod", f"{inst}_complete"]
            self.slot[name] = slots
        self.ncols = len(cols)
        with open(out_dir / self.dict_file, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\r\n")
            w.writerow(DICT_COLUMNS)
            w.writerows(dict_rows)
        self.fh = open(out_dir / self.data_file, "w", encoding="utf-8", newline="", buffering=1 << 20)
        self.w = csv.writer(self.fh, lineterminator="\r\n")
        self.w.writerow(cols)
        self.row = 0
        self.counts = {f: 0 for f in forms.FORMS}

    def _fill(self, row: list, r):
        v = r.v
        for item, col, kind, cmap in self.slot[r.form]:
            val = v.get(item, "")
            if kind == "checkbox":
                chosen = set(val.split(";")) if val else set()
                for k, code in enumerate(cmap, 0):
                    row[col + k] = "1" if code in chosen else "0"
            elif val:
                row[col] = cmap.get(val, val) if cmap else val
        lm, comp = self.meta[r.form]
        row[lm], row[comp] = r.lastmod, "2"

    def write(self, recs):
        site = self.ctx.siteid
        rows: list[tuple[list, list]] = []  # (cells, records placed)
        shared: dict[tuple, int] = {}  # (record_id, event) -> index of its latest shared row
        for r in recs:
            self.counts[r.form] += 1
            rid = f"{site}-{r.subjid}"
            ev = event_name(r.visit, r.vrep)
            if r.form in REPEATING:
                cells = [""] * self.ncols
                cells[0], cells[1], cells[2], cells[3] = rid, ev, r.form.lower(), str(r.igrep)
                self._fill(cells, r)
                rows.append((cells, [r]))
                continue
            i = shared.get((rid, ev))
            if i is None or any(x.form == r.form for x in rows[i][1]):
                cells = [""] * self.ncols
                cells[0], cells[1] = rid, ev
                rows.append((cells, []))
                i = shared[(rid, ev)] = len(rows) - 1
            self._fill(rows[i][0], r)
            rows[i][1].append(r)
        for cells, placed in rows:
            self.w.writerow(cells)
            self.row += 1
            for r in placed:
                if r.defects:
                    self.manifest.add(self.data_file, self.row, r)

    def close(self) -> list[str]:
        self.fh.close()
        return [self.data_file, self.dict_file]
