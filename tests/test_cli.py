"""The data manager's commands: `trialwh generate` and `trialwh load` (folder, zip, ODM file, default)."""

import hashlib
import json
import shutil
import zipfile

import duckdb

from pipeline.cli import main
from pipeline.default_export import MARKER, ensure_default_export


def _digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_generate_is_byte_identical_for_the_same_seed(tmp_path, capsys):
    for run in ("a", "b"):
        assert main(["generate", "--subjects", "6", "--seed", "11", "--format", "odm", "--out", str(tmp_path / run)]) == 0
    assert "wrote a odm export" in capsys.readouterr().out
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


def test_load_prints_the_summary_and_publishes(exports, tmp_path, capsys):
    home = tmp_path / "wh"
    assert main(["load", str(exports["csv"]), "--home", str(home)]) == 0
    out = capsys.readouterr().out
    assert f"published warehouse: {home / 'trial.duckdb'}" in out
    assert "findings by severity: ERROR" in out
    con = duckdb.connect(str(home / "trial.duckdb"), read_only=True)
    try:
        n_in, n_ok, n_q = con.execute(
            "SELECT sum(ROWS_IN), sum(ROWS_ACCEPTED), sum(ROWS_QUARANTINED) FROM qa.load_summary").fetchone()
        cut_id = con.execute("SELECT CUT_ID FROM ops.cut").fetchone()[0]
    finally:
        con.close()
    assert f"total  {n_in:>8} {n_ok:>8} {n_q:>12}" in out
    report = home / "reports" / "analysis" / "latest" / "report.html"
    assert f"analysis report (tables and figures, opens offline): {report}" in out and report.exists()
    assert f"data cut: {cut_id} " in out and (home / "cuts" / f"{cut_id}.duckdb").exists()


def test_load_accepts_a_zip_and_an_odm_file(exports, tmp_path, capsys):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(exports["clean"].glob("*.csv")):
            zf.write(path, path.name)
    assert main(["load", str(archive), "--home", str(tmp_path / "wh_zip")]) == 0
    odm_file = next(exports["odm"].glob("*.xml"))
    assert main(["load", str(odm_file), "--home", str(tmp_path / "wh_odm")]) == 0
    con = duckdb.connect(str(tmp_path / "wh_zip" / "trial.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT DISTINCT SRC_FILE FROM raw.dm").fetchall() == [("export.zip!DM.csv",)]
        assert con.execute("SELECT count(*) FROM qa.findings").fetchone()[0] == 0
    finally:
        con.close()


def test_load_fails_cleanly_on_a_missing_export(tmp_path, capsys):
    assert main(["load", str(tmp_path / "nowhere"), "--home", str(tmp_path / "wh")]) == 1
    out = capsys.readouterr().out
    assert "LOAD FAILED" in out and "export not found" in out
    assert not (tmp_path / "wh" / "trial.duckdb").exists()


def test_default_export_is_generated_once(tmp_path):
    target = tmp_path / "default_export"
    ensure_default_export(target)
    marker = json.loads((target / MARKER).read_text())
    assert marker == {"subjects": 31, "seed": marker["seed"], "fmt": "csv", "mess_rate": 1.0}
    with open(target / "DM.csv", encoding="utf-8-sig") as fh:
        assert sum(1 for _ in fh) == 32  # header + 31 subjects
    stamp = (target / "DM.csv").stat().st_mtime_ns
    ensure_default_export(target)
    assert (target / "DM.csv").stat().st_mtime_ns == stamp
    shutil.rmtree(target)
