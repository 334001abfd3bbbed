"""The generator's cross-table defect option: off by default, one defect per class per subject,
recorded in the manifest, and the rest of the export untouched."""

import csv
import filecmp

from pipeline.synthetic import generate
from pipeline.synthetic.cross_defects import CROSS_CLASSES


def _manifest(folder):
    with open(folder / "_groundtruth" / "defects.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_default_export_has_no_cross_table_defects(tmp_path):
    summary = generate(tmp_path, subjects=12, seed=3, mess_rate=1.0)
    assert not set(summary["defects"]) & set(CROSS_CLASSES)
    assert not [d for d in _manifest(tmp_path) if d["expected_rule"].startswith("XT")]


def test_cross_defects_are_in_the_manifest_one_subject_each(tmp_path):
    plain, crossed = tmp_path / "plain", tmp_path / "crossed"
    generate(plain, subjects=24, seed=7, mess_rate=0.0)
    summary = generate(crossed, subjects=24, seed=7, mess_rate=0.0, cross_defects=1)
    assert summary["defects"] == {c: 1 for c in CROSS_CLASSES}
    rows = _manifest(crossed)
    assert sorted((d["defect_class"], d["expected_rule"]) for d in rows) == sorted(CROSS_CLASSES.items())
    assert len({d["SUBJID"] for d in rows}) == len(CROSS_CLASSES)  # one subject per defect
    # forms without a defect are byte-identical to the export without them
    touched = {f"{d['form']}.csv" for d in rows}
    for name in ("DM.csv", "LB.csv", "CM.csv", "IE.csv"):
        assert name not in touched and filecmp.cmp(plain / name, crossed / name, shallow=False)
    removed = next(d for d in rows if d["defect_class"] == "visit_missing")
    assert (removed["file"], removed["row"], removed["form"]) == ("", "0", "VS")
    weight = next(d for d in rows if d["defect_class"] == "weight_jump")
    with open(crossed / weight["file"], encoding="utf-8-sig") as fh:
        line = list(csv.DictReader(fh))[int(weight["row"]) - 1]
    assert line["WEIGHT"] == weight["raw_value"] and abs(float(weight["raw_value"]) / float(weight["clean_value"]) - 1) > 0.3
