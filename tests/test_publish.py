"""Publishing's checkpoint of the working file: folded when a log is left, untouched otherwise."""

import subprocess
import sys
from pathlib import Path

import duckdb

from pipeline.publish import checkpoint

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
