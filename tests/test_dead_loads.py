"""Loads killed outright: the next load of the warehouse, or the daemon's ``killed_loads``
sensor, marks them failed and audits them (the sensor under a real daemon: test_ops_daemon.py)."""

import os
import socket
import subprocess
import sys

import dagster as dg

from pipeline import audit
from pipeline.dead_loads import (HOST_TAG, PID_TAG, STARTED_TAG, WAREHOUSE_TAG, process_gone, process_tags,
                                 record_dead_loads, warehouses_in_progress)
from tests.dagster_processes import LOAD_TIMEOUT_S, kill_when, make_dagster_home, start_load


def _ended_process_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_tags_name_this_process_and_tell_when_it_is_gone(tmp_path):
    tags = process_tags(tmp_path)
    assert tags[PID_TAG] == str(os.getpid()) and tags[HOST_TAG] == socket.gethostname()
    assert tags[WAREHOUSE_TAG] == str(tmp_path)
    assert not process_gone(tags)  # this very process
    assert process_gone({**tags, PID_TAG: str(_ended_process_pid())})
    assert process_gone({**tags, STARTED_TAG: "12.00"})  # the pid now belongs to another process
    assert not process_gone({**tags, STARTED_TAG: ""})  # no start time recorded: a live pid is taken as the run's
    assert not process_gone({**tags, PID_TAG: str(_ended_process_pid()), HOST_TAG: "another-host"})
    assert not process_gone({WAREHOUSE_TAG: str(tmp_path)})  # a run from before these tags


def test_only_dead_in_progress_runs_of_this_warehouse_are_recorded(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    root, other_root = tmp_path / "wh", tmp_path / "other"
    gone = str(_ended_process_pid())

    def run(status, root_, pid, run_id):
        tags = {**process_tags(root_), PID_TAG: pid}
        instance.add_run(dg.DagsterRun(job_name="nightly_load", run_id=run_id, status=status, tags=tags))

    run(dg.DagsterRunStatus.STARTED, root, gone, "killed-run")
    run(dg.DagsterRunStatus.STARTED, root, str(os.getpid()), "running-run")
    run(dg.DagsterRunStatus.FAILURE, root, gone, "failed-run")
    run(dg.DagsterRunStatus.STARTED, other_root, gone, "other-warehouse-run")
    audit_path = root / "state" / "audit.jsonl"
    assert record_dead_loads(instance, root, audit_path) == ["killed-run"]
    assert instance.get_run_by_id("killed-run").status == dg.DagsterRunStatus.FAILURE
    assert instance.get_run_by_id("running-run").status == dg.DagsterRunStatus.STARTED
    assert instance.get_run_by_id("other-warehouse-run").status == dg.DagsterRunStatus.STARTED
    [line] = audit.read(audit_path)
    assert line["run_id"] == "killed-run" and line["status"] == audit.FAILED
    assert f"pid {gone} on {socket.gethostname()}" in line["reason"] and "killed" in line["reason"]
    assert record_dead_loads(instance, root, audit_path) == []  # once only
    assert len(audit.read(audit_path)) == 1


def test_the_daemon_sensor_records_killed_loads_of_every_warehouse(tmp_path):
    from pipeline.sensors import ops_sensors

    [killed_loads] = [s for s in ops_sensors() if s.name == "killed_loads"]
    assert killed_loads.default_status == dg.DefaultSensorStatus.RUNNING
    instance = dg.DagsterInstance.ephemeral()
    root_a, root_b = (tmp_path / name for name in ("a", "b"))
    gone = str(_ended_process_pid())
    for run_id, root, pid, status in [("killed-a", root_a, gone, dg.DagsterRunStatus.STARTED),
                                      ("killed-b", root_b, gone, dg.DagsterRunStatus.STARTING),
                                      ("running-b", root_b, str(os.getpid()), dg.DagsterRunStatus.STARTED)]:
        instance.add_run(dg.DagsterRun(job_name="nightly_load", run_id=run_id, status=status,
                                       tags={**process_tags(root), PID_TAG: pid}))
    instance.add_run(dg.DagsterRun(job_name="nightly_load", run_id="untagged", status=dg.DagsterRunStatus.STARTED))
    assert warehouses_in_progress(instance) == [root_a, root_b]

    skip = killed_loads(dg.build_sensor_context(instance=instance))
    assert skip.skip_message == "killed loads recorded: killed-a, killed-b"
    status = {r.run_id: r.status for r in instance.get_runs()}
    assert status == {"killed-a": dg.DagsterRunStatus.FAILURE, "killed-b": dg.DagsterRunStatus.FAILURE,
                      "running-b": dg.DagsterRunStatus.STARTED, "untagged": dg.DagsterRunStatus.STARTED}
    for run_id, root in [("killed-a", root_a), ("killed-b", root_b)]:
        [line] = audit.read(root / "state" / "audit.jsonl")
        assert line["run_id"] == run_id and line["status"] == audit.FAILED
        assert line["reason"].endswith(f"pid {gone} on {socket.gethostname()}) ended without finishing it (killed); "
                                       "recorded by the daemon's killed_loads sensor")
    assert killed_loads(dg.build_sensor_context(instance=instance)).skip_message == "no killed load"
    assert len(audit.read(root_a / "state" / "audit.jsonl")) == 1


def test_the_next_load_records_a_load_killed_while_staging(exports, tmp_path, monkeypatch):
    home, dagster_home = tmp_path / "wh", make_dagster_home(tmp_path / "dagster_home")
    staged = home / "build" / "staging" / "staged.json"
    killed = start_load(exports["clean"], home, dagster_home)
    kill_when(killed, staged.exists)
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))  # the event log's dagster.yaml reads it
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    [run] = instance.get_runs()
    assert run.status == dg.DagsterRunStatus.STARTED and run.tags[PID_TAG] == str(killed.pid)
    assert not audit.read(home / "state" / "audit.jsonl")  # the killed process wrote no line

    nxt = start_load(exports["clean"], home, dagster_home)
    output, _ = nxt.communicate(timeout=LOAD_TIMEOUT_S)
    assert nxt.returncode == 0, output.decode()
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    [failure] = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert f"pid {killed.pid}" in failure.message
    trail = audit.read(home / "state" / "audit.jsonl")
    assert [(r["run_id"] == run.run_id, r["status"]) for r in trail] == [(True, audit.FAILED), (False, audit.PUBLISHED)]
    assert f"pid {killed.pid}" in trail[0]["reason"] and trail[0]["tags"][WAREHOUSE_TAG] == str(home.resolve())
