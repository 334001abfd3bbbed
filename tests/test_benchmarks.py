"""The benchmark's own arithmetic: cells per schema, the lower bound's count, the results table."""

import json

import duckdb

from benchmarks import lower_bound
from benchmarks.bench import cells_markdown, core_probe_seconds, cpu_markdown, markdown
from benchmarks.cells import cells_by_schema
from benchmarks.load_once import cpu_at, step_cpu_seconds, step_peak_rss


def test_cells_by_schema_counts_rows_times_columns_of_tables_only(tmp_path):
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA a; CREATE SCHEMA b")
    con.execute("CREATE TABLE a.t AS SELECT * FROM (VALUES (1, 'x'), (2, 'y'), (3, 'z')) v(i, s)")  # 3 x 2
    con.execute("CREATE TABLE a.u (p INT, q INT, r INT)")  # empty
    con.execute("CREATE TABLE b.t AS SELECT 1 AS c1, 2 AS c2, 3 AS c3, 4 AS c4")  # 1 x 4
    con.execute("CREATE VIEW b.v AS SELECT * FROM a.t")  # no data of its own
    con.close()
    assert cells_by_schema(db) == {"a": 6, "b": 4}


def test_lower_bound_reads_every_csv_and_counts_its_cells(tmp_path, capsys):
    (tmp_path / "ae.csv").write_text("SUBJID,AETERM,AESER\n001,Nausea,N\n002,Fatigue,\n", encoding="utf-8")
    (tmp_path / "dm.csv").write_text("SUBJID,SEX\n001,F\n", encoding="utf-8")
    assert lower_bound.main([str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["rows"], out["cells"]) == (3, 2 * 3 + 1 * 2)


def test_cells_table_states_the_ratio_to_the_lower_bound():
    result = {"subjects": 1000, "floor": {"cells": 2_000_000},
              "load": {"cells_by_schema": {"raw": 2_000_000, "sdtm": 3_000_000, "scratch": 1_000_000}}}
    row = cells_markdown([result])[-1]
    assert row.startswith("| 1,000 | 2.0 | 0.0 |")
    assert row.endswith("| 1.0 | 6.0 | 2.0 | 3.0x |")


def test_cpu_seconds_of_a_step_are_interpolated_between_samples():
    # (time, RSS MB, CPU s): 2 cores busy from t=10 to t=12, idle before and after
    samples = [(9.0, 100, 5.0), (10.0, 100, 5.0), (11.0, 120, 7.0), (12.0, 110, 9.0), (13.0, 100, 9.0)]
    got = step_cpu_seconds({"busy": (10.0, 12.0), "half": (10.5, 11.0), "idle": (12.0, 13.0), "late": (12.5, 20.0)}, samples)
    assert got == {"busy": 4.0, "half": 1.0, "idle": 0.0, "late": 0.0}
    assert cpu_at(samples, 8.0) == 5.0 and cpu_at(samples, 11.5) == 8.0
    assert step_peak_rss({"busy": (10.0, 12.0)}, samples) == {"busy": 120}


def test_cpu_table_states_cores_busy_per_size():
    result = {"subjects": 100_000, "load": {"wall_s": 100.0, "cpu_s": 172.0,
                                            "layers_cpu_s": {"ingest": 20.0, "adam": 150.0, "orchestration": 2.0}}}
    lines = cpu_markdown([result, {"subjects": 10, "load": {"error": "crashed"}}])
    assert lines[-1] == "| 100,000 | 20.0 | 0.0 | 0.0 | 0.0 | 150.0 | 0.0 | 0.0 | 0.0 | 2.0 | 172.0 | 1.72 |"
    assert len([line for line in lines if line.startswith("| 10 |")]) == 0


def test_results_table_shows_the_core_probe_beside_each_load():
    load = {"success": True, "wall_s": 50.0, "peak_rss_mb": 900.0, "layers_s": {"ingest": 5.0, "adam": 45.0}}
    result = {"subjects": 1000, "raw_mb": 24.0, "generate_s": None, "probe_s": 1.234, "load": load,
              "floor": {"rows": 200_000, "seconds": 5.0}}
    row = next(line for line in markdown([result]).splitlines() if line.startswith("| 1,000 |"))
    assert row.startswith("| 1,000 | 24 | 200,000 | reused | 1.23 | 5.0 | 0.0 |")
    assert row.endswith("| 50.0 | 900 | 5.00 | 10x |")
    header = next(line for line in markdown([result]).splitlines() if line.startswith("| subjects | raw CSV MB"))
    assert header.count("|") == row.count("|")
    assert 0 < core_probe_seconds(repeats=1) < 60


def test_the_sampler_counts_the_processes_the_load_starts():
    """A child holding 200 MB (as the GX helper holds its imports): the samples add its RSS and
    its CPU seconds to this process's."""
    import os
    import subprocess
    import sys
    import time

    from benchmarks.load_once import RssSampler

    child = subprocess.Popen([sys.executable, "-c", "import sys, time\nb = bytearray(200 * 2**20)\nb[::4096] = b'x' * len(b[::4096])\n"
                              "t = time.process_time()\nwhile time.process_time() - t < 0.5: pass\nprint('ready', flush=True)\nsys.stdin.read()"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "ready\n"
        before = time.process_time()
        sampler = RssSampler(interval=0.05)
        sampler.start()
        time.sleep(0.3)
        sampler.stop()
    finally:
        child.stdin.close()
        child.wait(timeout=30)
    with open("/proc/self/statm") as fh:
        own_mb = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    assert sampler.children_peak_mb >= 200
    assert min(mb for _, mb, _ in sampler.samples) >= own_mb + 200 - 50  # this process may shrink a little
    assert sampler.samples[0][2] - before >= 0.45  # the child's half second of CPU is in the first sample


def test_trial_table_gives_every_run_and_the_median_of_the_successful_ones():
    trial = {"subjects": 31, "runs": [
        {"probe_s": 0.41, "seconds": 24.96, "exit": 0, "error": ""},
        {"probe_s": 0.38, "seconds": 19.04, "exit": 0, "error": ""},
        {"probe_s": 0.66, "seconds": 3.2, "exit": 1, "error": "LOAD FAILED: the published warehouse was left as it was.\n"},
        {"probe_s": 0.40, "seconds": 21.0, "exit": 0, "error": ""},
    ]}
    text = markdown([], trial)
    lines = text.splitlines()
    assert "| 1 | 0.41 | 25.0 | 0 |" in lines
    assert "| 3 | 0.66 | 3.2 | 1 |" in lines
    assert "Median of 3 successful: 21.0 s." in lines  # the failed run's 3.2 s is not a load time
    assert "LOAD FAILED: the published warehouse was left as it was." in lines
    trial["runs"] = trial["runs"][:2]
    assert "Median of 2 successful: 22.0 s." in markdown([], trial).splitlines()
