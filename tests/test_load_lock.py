"""One load of a warehouse at a time (``pipeline.load_lock``): a second load fails at once,
says which load holds the warehouse, and touches nothing."""

import json
import os
import signal
import subprocess
import sys

import pytest

from pipeline import audit, load_lock
from pipeline.cli import load_summary_text
from pipeline.resources import WarehouseResource
from tests.conftest import load


def test_a_second_holder_is_refused_with_the_first_ones_description(tmp_path):
    path = tmp_path / "build" / load_lock.LOCK_NAME
    first = load_lock.acquire(path, "run-1")
    with pytest.raises(load_lock.WarehouseBusyError) as refused:
        load_lock.acquire(path, "run-2")  # the same process: flock excludes it too
    holder = json.loads(str(refused.value).split("running (", 1)[1].split("); nothing", 1)[0])
    assert holder["run_id"] == "run-1" and holder["pid"] == os.getpid()
    load_lock.release(first)
    second = load_lock.acquire(path, "run-2")
    assert json.loads(path.read_text())["run_id"] == "run-2"
    load_lock.release(second)


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    path = tmp_path / "build" / load_lock.LOCK_NAME
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from pipeline import load_lock; "
                               "held = load_lock.acquire(Path(sys.argv[1]), 'killed-run'); print('held', flush=True); time.sleep(600)",
         str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(load_lock.WarehouseBusyError, match='"run_id": "killed-run"'):
            load_lock.acquire(path, "next-run")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    load_lock.release(load_lock.acquire(path, "next-run"))


def test_a_load_of_a_warehouse_another_load_holds_fails_before_touching_it(exports, tmp_path):
    home = tmp_path / "wh"
    warehouse = WarehouseResource(home=str(home))
    staged = warehouse.staging_dir / "staged.json"  # what the holding load is reading
    staged.parent.mkdir(parents=True)
    staged.write_text("{}")
    held = load_lock.acquire(warehouse.build_dir / load_lock.LOCK_NAME, "holding-run")
    try:
        success, _, result = load(exports["clean"], home)
    finally:
        load_lock.release(held)
    assert not success
    summary = load_summary_text(success, warehouse, result)
    assert "the load could not start: pipeline.load_lock.WarehouseBusyError: another load of this warehouse is running" in summary
    assert '"run_id": "holding-run"' in summary
    assert staged.read_text() == "{}" and not warehouse.published_path.exists()
    assert not warehouse.working_path.exists()
    [line] = audit.read(warehouse.audit_path)
    assert line["run_id"] == result.run_id and line["status"] == audit.FAILED and line["failed_steps"] == []
    assert "WarehouseBusyError: another load of this warehouse is running" in line["run_error"]


def test_a_run_whose_duckdb_resource_fails_to_set_up_lets_the_lock_go(exports, tmp_path, monkeypatch):
    from dagster_duckdb import DuckDBResource

    def refuse(self, context):
        raise RuntimeError("cannot set up")

    released = []

    def recording_release(handle):
        released.append(handle.name)
        release(handle)

    release = load_lock.release
    monkeypatch.setattr(DuckDBResource, "setup_for_execution", refuse)
    monkeypatch.setattr(load_lock, "release", recording_release)
    home = tmp_path / "wh"
    success, _, result = load(exports["clean"], home)
    assert not success
    # released by the resource itself, not whenever the garbage collector closes the file
    assert released == [str(WarehouseResource(home=str(home)).build_dir / load_lock.LOCK_NAME)]
    assert load_summary_text(success, WarehouseResource(home=str(home)), result).endswith(
        "the load could not start: RuntimeError: cannot set up")
    lock = WarehouseResource(home=str(home)).build_dir / load_lock.LOCK_NAME
    release(load_lock.acquire(lock, "next-run"))  # free
