"""CDISC ODM 1.3.2 snapshot export (crf.md §1.3), written line by line.

Each ``<ItemGroupData>`` start tag sits on its own line because the reader's SRC_ROW for ODM is
that line number. LASTMOD is carried as a standard ``AuditRecord/DateTimeStamp`` (the first child
of each ItemGroupData, on the next line). Values are written as text exactly as recorded (coded
values are the canonical or messy text, no CodeList needed); empty items are omitted. A record
whose SUBJID was rendered differently (unpadded, unknown subject) goes to a SubjectData of its
own, keyed ``SS_<SITEID><SUBJID as written>``.
"""

from __future__ import annotations

from pathlib import Path

from pipeline import forms

_ESC = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


class OdmRenderer:
    def __init__(self, out_dir: Path, ctx, manifest, prefix: str | None = None, **_):
        self.ctx, self.manifest = ctx, manifest
        self.file = f"{prefix or ctx.studyid}_ODM.xml"
        self.fh = open(out_dir / self.file, "w", encoding="utf-8", newline="\n", buffering=1 << 20)
        day = ctx.dco.isoformat()
        head = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" ODMVersion="1.3.2" FileType="Snapshot"',
            f'     FileOID="EXP-{day.replace("-", "")}" CreationDateTime="{export_time(ctx)}">',
            f' <ClinicalData StudyOID="S_{ctx.studyid}" MetaDataVersionOID="v1.0">',
        ]
        self.fh.write("\n".join(head) + "\n")
        self.line = len(head)
        self.audit = (f'<AuditRecord><UserRef UserOID="USR_SITE{ctx.siteid}"/>'
                      f'<LocationRef LocationOID="SITE_{ctx.siteid}"/><DateTimeStamp>')
        self.items = {name: [(i, f"I_{name}_{i}") for i in f.item_names] for name, f in forms.FORMS.items()}
        self.counts = {f: 0 for f in forms.FORMS}

    def write(self, recs):
        site = self.ctx.siteid
        subjects: dict[str, dict] = {}
        for r in recs:  # subject -> (visit, rep) -> form -> records, in first-seen order
            subjects.setdefault(r.subjid, {}).setdefault((r.visit, r.vrep), {}).setdefault(r.form, []).append(r)
        out = []
        line = self.line
        pending = []
        for subjid, events in subjects.items():
            out.append(f'  <SubjectData SubjectKey="{forms.subject_key(site, subjid)}">')
            out.append(f'   <SiteRef LocationOID="SITE_{site}"/>')
            for (visit, vrep), by_form in events.items():
                out.append(f'   <StudyEventData StudyEventOID="{forms.VISIT_BY_NAME[visit].oid}" '
                           f'StudyEventRepeatKey="{vrep}">')
                for form, recs_ in by_form.items():
                    out.append(f'    <FormData FormOID="F_{form}" FormRepeatKey="1">')
                    for r in recs_:
                        self.counts[form] += 1
                        out.append(f'     <ItemGroupData ItemGroupOID="IG_{form}" ItemGroupRepeatKey="{r.igrep}" '
                                   f'TransactionType="Insert">')
                        if r.defects:
                            pending.append((line + len(out), r))
                        out.append(f"      {self.audit}{r.lastmod}</DateTimeStamp></AuditRecord>")
                        v = r.v
                        for item, oid in self.items[form]:
                            val = v.get(item)
                            if val:
                                out.append(f'      <ItemData ItemOID="{oid}" Value="{val.translate(_ESC)}"/>')
                        out.append("     </ItemGroupData>")
                    out.append("    </FormData>")
                out.append("   </StudyEventData>")
            out.append("  </SubjectData>")
        self.fh.write("\n".join(out) + "\n")
        self.line = line + len(out)
        for n, r in pending:
            self.manifest.add(self.file, n, r)

    def close(self) -> list[str]:
        self.fh.write(" </ClinicalData>\n</ODM>\n")
        self.fh.close()
        return [self.file]


def export_time(ctx) -> str:
    """Export timestamp derived from the cut-off (the morning after), never the wall clock."""
    from datetime import timedelta
    return f"{(ctx.dco + timedelta(days=1)).isoformat()}T09:00:00+08:00"
