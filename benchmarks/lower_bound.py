"""The floor a load is compared with: DuckDB's own ``read_csv`` of the same raw form files into
tables of a fresh database, no validation, nothing derived.

Run as a subprocess by :mod:`benchmarks.bench`; prints ``{"seconds": .., "rows": .., "cells": ..,
"peak_rss_mb": ..}`` as JSON (cells: rows x columns written, :mod:`benchmarks.cells`; counted
after the clock stops). Encodings are DuckDB's to sniff except the GB18030 file, which DuckDB
reads as ``encoding='gb18030'`` when its ``encodings`` extension is available, else
after a Python transcode (counted in the time).
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks.cells import cells_by_schema


def read_all(export: Path, db: Path) -> int:
    con = duckdb.connect(str(db))
    rows = 0
    try:
        for path in sorted(export.glob("*.csv")):
            table = path.stem.lower()
            source = str(path)
            try:
                con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv(?, all_varchar = true, header = true)", [source])
            except duckdb.Error:  # not UTF-8 (the GB18030 form file): transcode, then read
                tmp = db.parent / f"{table}.utf8.csv"
                tmp.write_text(path.read_bytes().decode("gb18030"), encoding="utf-8")
                con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv(?, all_varchar = true, header = true)", [str(tmp)])
            rows += con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()
    return rows


def main(argv=None) -> int:
    export = Path((argv or sys.argv[1:])[0])
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        rows = read_all(export, Path(tmp) / "floor.duckdb")
        secs = time.perf_counter() - t0
        cells = sum(cells_by_schema(Path(tmp) / "floor.duckdb").values())
    print(json.dumps({"seconds": secs, "rows": rows, "cells": cells, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
