"""The landing sensor under a real ``dagster-daemon``: one complete export, exactly one run.

The daemon runs the project's workspace against a temporary instance and warehouse, with a
trial configuration whose landing quiet period and sensor interval are short. A half-copied
export (its manifest lists a file that is not there yet) must not start anything; once the
file arrives, exactly one ``nightly_load`` run starts and succeeds, and later ticks that still
see the export start nothing more. The run's audit line names the sensor as its trigger.
A ``trialwh load`` killed outright while the daemon runs is marked failed and audited by the
daemon's ``killed_loads`` sensor, without waiting for the next load.
"""

import os
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

from pipeline import audit
from pipeline.config import DEFAULT_CONFIG_PATH
from pipeline.dead_loads import PID_TAG
from tests.dagster_processes import WORKSPACE, dagster_tool, kill_when, make_dagster_home, start_load

RUN_TIMEOUT_S = 300
HELD_BACK = "LB.csv"  # the file still "being copied"


def _fast_config(path: Path) -> Path:
    cfg = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    cfg["ops"]["landing"].update(quiet_seconds=2, minimum_interval_seconds=1)
    cfg["ops"]["killed_loads_check_seconds"] = 1
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def daemon(tmp_path, monkeypatch):
    dagster_home = make_dagster_home(tmp_path / "dagster_home")
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))  # the event log's dagster.yaml reads it
    home = tmp_path / "wh"
    env = {"DAGSTER_HOME": str(dagster_home), "TRIALWH_HOME": str(home),
           "TRIALWH_CONFIG": str(_fast_config(tmp_path / "trial_config.yaml"))}
    # create the instance's SQLite storage before the daemon's processes race to create it
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    instance.get_runs()
    instance.all_instigator_state()
    log = tmp_path / "daemon.log"
    try:
        with dagster_tool("dagster-daemon", ["run", "-w", str(WORKSPACE)], env, log) as proc:
            yield {"home": home, "instance": instance, "proc": proc, "log": log}
    finally:
        instance.dispose()


def _landing_ticks(instance) -> int:
    """Evaluations of the landing sensor so far (every tick is stored with its status)."""
    total = 0
    for state in instance.all_instigator_state():
        if state.name == "landing_sensor":
            total += len(instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1000))
    return total


def _wait(condition, what: str, daemon, timeout=RUN_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while not condition():
        if daemon["proc"].poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what}: not reached\n{daemon['log'].read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)


def test_an_export_dropped_in_the_landing_folder_starts_exactly_one_run(exports, daemon):
    instance, landing = daemon["instance"], daemon["home"] / "landing"
    export = landing / "export_20230827"
    shutil.copytree(exports["clean"], export, ignore=shutil.ignore_patterns(HELD_BACK))
    long_ago = time.time() - 3600  # quiet for an hour: only the missing file keeps it incomplete
    for path in [export, *export.rglob("*")]:
        os.utime(path, (long_ago, long_ago))

    _wait(lambda: _landing_ticks(instance) >= 3, "three landing sensor ticks", daemon, timeout=120)
    assert instance.get_runs() == [], "a half-copied export started a run"

    shutil.copy2(exports["clean"] / HELD_BACK, export / HELD_BACK)
    _wait(lambda: any(r.status == dg.DagsterRunStatus.SUCCESS for r in instance.get_runs())
          or any(r.is_failure for r in instance.get_runs()), "a finished run", daemon)
    ticks = _landing_ticks(instance)
    _wait(lambda: _landing_ticks(instance) >= ticks + 3, "three more ticks", daemon, timeout=60)

    runs = instance.get_runs()
    assert len(runs) == 1
    run = runs[0]
    assert run.job_name == "nightly_load" and run.status == dg.DagsterRunStatus.SUCCESS
    assert run.tags["trialwh/trigger"] == "landing" and run.tags["dagster/sensor_name"] == "landing_sensor"
    trail = audit.read(daemon["home"] / "state" / "audit.jsonl")
    assert [(r["run_id"], r["status"], r["trigger"]) for r in trail] == [(run.run_id, "PUBLISHED", "sensor:landing_sensor")]
    assert trail[0]["export"] == str(export)
    assert (daemon["home"] / "trial.duckdb").exists()


def test_the_daemon_records_a_load_killed_outright(exports, daemon, tmp_path):
    instance, home = daemon["instance"], daemon["home"]
    killed = start_load(exports["clean"], home, tmp_path / "dagster_home")
    kill_when(killed, (home / "build" / "staging" / "staged.json").exists)
    [run] = instance.get_runs()
    assert run.tags[PID_TAG] == str(killed.pid)

    _wait(lambda: instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE,
          "the killed run marked failed", daemon, timeout=120)
    [failure] = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert f"pid {killed.pid}" in failure.message and "recorded by the daemon's killed_loads sensor" in failure.message
    _wait(lambda: audit.read(home / "state" / "audit.jsonl"), "the audit line", daemon, timeout=60)
    [line] = audit.read(home / "state" / "audit.jsonl")
    assert line["run_id"] == run.run_id and line["status"] == audit.FAILED
    assert "recorded by the daemon's killed_loads sensor" in line["reason"]
