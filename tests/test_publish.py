"""Publishing: the working file's checkpoint (folded when a log is left, untouched otherwise)
and which cut the published file is (the next publish removes newer cuts never published)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from pipeline import cuts
from pipeline.publish import checkpoint, published_cut_id

# a writer that ends without closing its connection: its rows are only in the write-ahead log
_KILLED_WRITER = """
import os, sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE t AS SELECT range AS x FROM range(1000)")
os._exit(0)
"""


def test_a_left_write_ahead_log_is_folded_into_the_file(tmp_path):
    db = tmp_path / "working.duckdb"
    subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(db)], check=True)
    wal = Path(f"{db}.wal")
    assert wal.exists() and wal.stat().st_size > 0
    checkpoint(db)
    assert not wal.exists()
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*), sum(x) FROM t").fetchone() == (1000, 499500)
    finally:
        con.close()


def test_a_file_without_a_log_is_not_opened(tmp_path):
    db = tmp_path / "working.duckdb"
    db.write_bytes(b"not a database: opening it would fail")
    checkpoint(db)  # returns without opening (the run's connection folded the log when it closed)
    assert db.read_bytes() == b"not a database: opening it would fail"


def _warehouse_of_cut(path, cut_id):
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA ops")
        con.execute("CREATE TABLE ops.cut AS SELECT ? AS CUT_ID", [cut_id])
    finally:
        con.close()


def _cut(cut_id):
    return cuts.Cut(cut_id=cut_id, created_utc="", run_id="r", export="e", export_files=[], code_version="v",
                    data_cutoff="2023-08-27")


def test_the_published_cut_is_the_one_sharing_its_file_even_while_an_analyst_holds_it(tmp_path):
    published, cuts_dir = tmp_path / "trial.duckdb", tmp_path / "cuts"
    for cut_id in ("20261127T100000Z-aaaaaaaa", "20261127T110000Z-aaaaaaaa"):
        _warehouse_of_cut(tmp_path / "tmp.duckdb", cut_id)
        cuts.save_cut(tmp_path / "tmp.duckdb", cuts_dir, _cut(cut_id))
        os.replace(tmp_path / "tmp.duckdb", published)  # as publish_load: the cut's file is the published one
    analyst = duckdb.connect(str(published), read_only=True)  # default settings: publishing's would clash
    try:
        assert published_cut_id(published, cuts_dir) == "20261127T110000Z-aaaaaaaa"
    finally:
        analyst.close()
    assert published_cut_id(tmp_path / "absent.duckdb", cuts_dir) is None


def test_with_copied_cuts_the_published_file_names_its_cut_unless_it_cannot_be_opened(tmp_path):
    published, cuts_dir = tmp_path / "trial.duckdb", tmp_path / "cuts"
    _warehouse_of_cut(published, "20261127T110000Z-aaaaaaaa")
    cuts.save_cut(published, cuts_dir, _cut("20261127T110000Z-aaaaaaaa"))
    copy = cuts_dir / "copy.duckdb"
    shutil.copyfile(published, copy)
    os.replace(copy, _cut("20261127T110000Z-aaaaaaaa").path(cuts_dir))  # a copy, not a link
    assert published_cut_id(published, cuts_dir) == "20261127T110000Z-aaaaaaaa"
    analyst = duckdb.connect(str(published), read_only=True)
    try:
        assert published_cut_id(published, cuts_dir) is None  # cannot tell: nothing will be removed
    finally:
        analyst.close()
