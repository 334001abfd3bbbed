"""Fault tolerance of a load run as a separate ``trialwh load`` process, as the scheduler would.

A load is killed with SIGKILL twice (while staging the export, and while building the file to
publish); each time the published warehouse and the earlier cuts stay byte-identical. The next
load then runs while an analyst holds a read-only connection on the published warehouse and
queries it throughout: both finish without a lock error, and the load publishes a new cut.
"""

import hashlib
import threading
import time

import duckdb
import pytest

from pipeline import cuts
from tests.conftest import load
from tests.dagster_processes import LOAD_TIMEOUT_S, kill_when, make_dagster_home, start_load


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _state(home) -> dict:
    """What a killed load must not change: the published file and every cut (file and entry)."""
    cuts_dir = home / "cuts"
    return {
        "published": _digest(home / "trial.duckdb"),
        "cuts": {p.name: _digest(p) for p in sorted(cuts_dir.iterdir()) if not p.name.startswith(".")},
    }


@pytest.fixture(scope="module")
def warehouse_home(exports, tmp_path_factory):
    home = tmp_path_factory.mktemp("wh_faults")
    assert load(exports["clean"], home)[0]
    return home


@pytest.fixture
def dagster_home(tmp_path):
    return make_dagster_home(tmp_path / "dagster_home")


def test_load_killed_while_staging_leaves_the_warehouse_unchanged(exports, warehouse_home, dagster_home):
    before = _state(warehouse_home)
    started = time.time()
    staged = warehouse_home / "build" / "staging" / "staged.json"
    proc = start_load(exports["csv"], warehouse_home, dagster_home)
    kill_when(proc, lambda: staged.exists() and staged.stat().st_mtime >= started)
    assert _state(warehouse_home) == before


def test_load_killed_while_publishing_leaves_the_warehouse_unchanged(exports, warehouse_home, dagster_home):
    before = _state(warehouse_home)
    proc = start_load(exports["csv"], warehouse_home, dagster_home)
    kill_when(proc, lambda: any(warehouse_home.glob(".trial.duckdb.*.tmp")))
    assert _state(warehouse_home) == before
    assert list(warehouse_home.glob(".trial.duckdb.*.tmp")), "the killed publish left its temporary file"


def test_next_load_succeeds_while_an_analyst_reads(exports, warehouse_home, dagster_home):
    """A read-only analyst connection held across a full load: neither side sees a lock error."""
    published = warehouse_home / "trial.duckdb"
    cuts_before = [c.cut_id for c in cuts.list_cuts(warehouse_home / "cuts")]
    analyst = duckdb.connect(str(published), read_only=True)
    seen, errors, stop = set(), [], threading.Event()

    def read_continuously():
        try:
            while not stop.is_set():
                seen.add(analyst.execute("SELECT (SELECT CUT_ID FROM ops.cut), count(*) FROM adam.adsl").fetchone())
                time.sleep(0.05)
        except Exception as exc:  # noqa: BLE001 - any error of the reader fails the test
            errors.append(exc)

    reader = threading.Thread(target=read_continuously)
    reader.start()
    try:
        proc = start_load(exports["csv"], warehouse_home, dagster_home)
        output, _ = proc.communicate(timeout=LOAD_TIMEOUT_S)
    finally:
        stop.set()
        reader.join()
        analyst.close()
    assert proc.returncode == 0, output.decode()
    assert not errors
    assert seen == {(cuts_before[-1], 24)}  # the analyst kept reading the cut it opened
    after = [c.cut_id for c in cuts.list_cuts(warehouse_home / "cuts")]
    assert after[:-1] == cuts_before and len(after) == len(cuts_before) + 1
    fresh = duckdb.connect(str(published), read_only=True)
    try:
        assert fresh.execute("SELECT CUT_ID FROM ops.cut").fetchone()[0] == after[-1]
        assert fresh.execute("SELECT count(*) FROM qa.findings").fetchone()[0] > 0  # the messy export now
    finally:
        fresh.close()
    assert not list(warehouse_home.glob(".trial.duckdb.*.tmp")), "the leftover of the killed publish was removed"
