"""Synthetic EDC export generator for NCT05204524 (trial.md §8, crf.md §1-7).

``generate()`` simulates one subject at a time (``simulate``), turns the course into CRF records
with canonical values (``records``), optionally damages them (``mess``) and streams them to the
chosen export format (``render_csv`` / ``render_redcap`` / ``render_odm``), so memory does not
grow with the number of subjects. Ground truth goes to ``<out>/_groundtruth/``:
``subjects.csv`` (one row per subject, the simulated truth) and ``defects.csv`` (every injected
defect with the file/row/field where it was written and the edit check expected to catch it).
``cross_defects=N`` adds N defects of each cross-table class (``cross_defects.py``) for the QA
suites; the default export has none.

Determinism: all randomness comes from ``random.Random`` streams seeded by strings built from
(seed, subject index[, purpose]); timestamps derive from simulated dates. The course and record
streams do not depend on ``mess_rate``, so a clean and a messy export of one seed describe the
same trial; only the mess stream differs.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from pipeline import config

from .cross_defects import CrossDefects
from .mess import Manifest, Messer
from .records import build_records
from .render_csv import CsvRenderer
from .render_odm import OdmRenderer, export_time
from .render_redcap import RedcapRenderer
from .simulate import Context, simulate_subject

__all__ = ["generate"]

RENDERERS = {"csv": CsvRenderer, "redcap": RedcapRenderer, "odm": OdmRenderer}
EDC = {"name": "TrialWH SynthEDC", "version": "1.0.0"}
TRUTH_COLUMNS = (
    "SUBJID", "enrolled", "dosed", "measurable", "first_dose_date", "bor", "cbor", "response_class",
    "first_pd_date", "death_date", "death_cause", "last_known_alive_date", "nact_date", "withdrawal_date",
    "n_cycles", "treatment_end_reason",
)


def _yn(b: bool) -> str:
    return "Y" if b else "N"


def _truth_row(c) -> tuple:
    iso = lambda d: d.isoformat() if d else ""  # noqa: E731
    return (c.subjid, _yn(c.enrolled), _yn(c.dosed), _yn(c.measurable), iso(c.d1), c.bor, c.cbor, c.resp_class,
            iso(c.pd_date), iso(c.death[0]) if c.death else "", c.death[1] if c.death else "",
            iso(c.last_alive), iso(c.nact), iso(c.withdrawal), len(c.cycles), c.treatment_end_reason)


def generate(out_dir: Path, *, subjects: int | None = None, seed: int | None = None, fmt: str = "csv",
             mess_rate: float = 1.0, config_path=None, cross_defects: int = 0) -> dict:
    """Write one synthetic export of ``fmt`` (csv | redcap | odm) into ``out_dir``; return a summary."""
    if fmt not in RENDERERS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {sorted(RENDERERS)}")
    if mess_rate < 0:
        raise ValueError("mess_rate must be >= 0")
    cfg = config.trial_config(config_path)
    gen = cfg["generator"]
    n = gen["subjects"] if subjects is None else int(subjects)
    seed = gen["seed"] if seed is None else int(seed)
    ctx = Context(cfg, n, seed)
    out = Path(out_dir)
    gt = out / "_groundtruth"
    gt.mkdir(parents=True, exist_ok=True)

    manifest = Manifest(gt / "defects.csv")
    messer = Messer(gen["mess"], mess_rate, n, ctx.width)
    crosser = CrossDefects(int(cross_defects), manifest)
    renderer = RENDERERS[fmt](out, ctx, manifest, gb18030_form=gen.get("gb18030_form", "AE"))
    with open(gt / "subjects.csv", "w", encoding="utf-8", newline="") as tfh:
        truth = csv.writer(tfh, lineterminator="\n")
        truth.writerow(TRUTH_COLUMNS)
        for i in range(n):
            course = simulate_subject(ctx, i)
            recs = build_records(ctx, course, random.Random(f"{seed}:{i}:records"))
            recs = messer.inject(recs, random.Random(f"{seed}:{i}:mess"))
            recs = crosser.inject(recs, random.Random(f"{seed}:{i}:cross"))
            renderer.write(recs)
            truth.writerow(_truth_row(course))
    files = renderer.close()
    manifest.close()

    rows = dict(renderer.rows) if fmt == "csv" else dict(renderer.counts)
    files.append("export.json")
    export = {
        "export_time": export_time(ctx),
        "edc": EDC,
        "study": ctx.studyid,
        "site": ctx.siteid,
        "format": fmt,
        "data_cutoff": ctx.dco.isoformat(),
        "subjects": n,
        "seed": seed,
        "mess_rate": mess_rate,
        "cross_defects": int(cross_defects),
        "files": files,
    }
    (out / "export.json").write_text(json.dumps(export, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return {
        "format": fmt,
        "subjects": n,
        "seed": seed,
        "rows": rows,
        "defects": dict(sorted(manifest.counts.items())),
        "files": files + ["_groundtruth/subjects.csv", "_groundtruth/defects.csv"],
    }
