"""Per-form CSV export (crf.md §1.1): one ``<FORM>.csv`` per form, written as records stream in.

Encoding, BOM and CRLF are part of the export format, not of the data, so they are the same for
clean and messy exports: UTF-8 with BOM everywhere except one form file (``generator.gb18030_form``)
that a Chinese EDC wrote in GB18030 without BOM. SRC_ROW = 1-based data record number.
"""

from __future__ import annotations

import csv
from pathlib import Path

from pipeline import forms

HEADER_KEYS = forms.KEY_COLUMNS + ("LASTMOD",)


class CsvRenderer:
    def __init__(self, out_dir: Path, ctx, manifest, gb18030_form: str = "AE", **_):
        self.ctx, self.manifest = ctx, manifest
        self.files, self.writers, self.items, self.rows, self.fhs = {}, {}, {}, {}, []
        for name, form in forms.FORMS.items():
            fname = f"{name}.csv"
            enc = "gb18030" if name == gb18030_form else "utf-8-sig"
            fh = open(out_dir / fname, "w", encoding=enc, newline="", buffering=1 << 20)
            w = csv.writer(fh, lineterminator="\r\n")
            w.writerow(HEADER_KEYS + form.item_names)
            self.fhs.append(fh)
            self.files[name], self.writers[name], self.items[name], self.rows[name] = fname, w, form.item_names, 0

    def write(self, recs):
        studyid, siteid = self.ctx.studyid, self.ctx.siteid
        for r in recs:
            f = r.form
            v = r.v
            self.writers[f].writerow([studyid, siteid, r.subjid, r.visit, r.vrep, 1, r.igrep, r.lastmod]
                                     + [v.get(i, "") for i in self.items[f]])
            n = self.rows[f] = self.rows[f] + 1
            if r.defects:
                self.manifest.add(self.files[f], n, r)

    def close(self) -> list[str]:
        for fh in self.fhs:
            fh.close()
        return list(self.files.values())
