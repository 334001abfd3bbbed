"""Loads whose process died: recorded as failed by the next load of the same warehouse, or
sooner by the daemon (``pipeline.sensors.killed_loads``).

Why: a load killed outright (the kernel's out-of-memory killer, ``kill -9``, a machine that went
down) cannot mark its own run failed. Dagster then shows the run as in progress for ever, and the
audit trail (``pipeline.audit``) has no line for it: the one outcome a regulator asks about that
no record would show.

So every load tags its run, when it starts, with the process running it: host, pid, and the
process's start time (a pid is reused after a while; with its start time it names one process)
and the warehouse it loads. At the same moment it looks for earlier runs of the same warehouse
that Dagster still has in progress, whose process no longer exists; each is marked failed in
Dagster, with the reason, and its failure is appended to the audit trail
(:func:`pipeline.audit.record_failure`, which never writes a run twice: the failure sensor of the
daemon may see the same run).

Runs of another host are left alone (their process cannot be checked from here), and so are runs
of another warehouse (their own next load records them, in their own audit trail).

Where the daemon runs (``make daemon``, or the UI's ``dagster dev``), its ``killed_loads`` sensor
does the same every ``ops.killed_loads_check_seconds`` for every warehouse with a run in progress,
so a killed load shows as failed within a minute, not at the next night's load.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import dagster as dg
import psutil

from pipeline import audit

HOST_TAG, PID_TAG, STARTED_TAG, WAREHOUSE_TAG = "trialwh/host", "trialwh/pid", "trialwh/process_started", "trialwh/warehouse"
#: run states in which the run's own process is the one to end it
IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def _process_started(pid: int) -> str | None:
    """The start time of process ``pid`` as a tag value; None when there is no such process."""
    try:
        return f"{psutil.Process(pid).create_time():.2f}"
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def process_tags(warehouse_root: Path) -> dict[str, str]:
    """The tags that name this process and the warehouse it loads."""
    pid = os.getpid()
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(pid), STARTED_TAG: _process_started(pid) or "",
            WAREHOUSE_TAG: str(warehouse_root)}


def process_gone(tags: dict[str, str]) -> bool:
    """True when the tags name a process of this host that no longer runs (its pid is free, or
    now another process's); False when it runs, or when the tags cannot tell (another host, a run
    started before these tags existed)."""
    if tags.get(HOST_TAG) != socket.gethostname() or not tags.get(PID_TAG, "").isdigit():
        return False
    started = _process_started(int(tags[PID_TAG]))
    if started is None:
        return True  # no process has that pid now
    recorded = tags.get(STARTED_TAG)
    return bool(recorded) and started != recorded  # without a recorded start time, the pid's owner is assumed the same


#: who records a dead load, as its reason says: the next load (the resource below) or the daemon
BY_NEXT_LOAD, BY_DAEMON = "the next load of the warehouse", "the daemon's killed_loads sensor"


def record_dead_loads(instance: dg.DagsterInstance, warehouse_root: Path, audit_path: Path,
                      current_run_id: str | None = None, recorded_by: str = BY_NEXT_LOAD) -> list[str]:
    """Mark failed, in Dagster and in the audit trail, every run of this warehouse still in
    progress whose process is gone; return their run ids."""
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS, tags={WAREHOUSE_TAG: str(warehouse_root)}))
    dead = []
    for run in runs:
        if run.run_id == current_run_id or not process_gone(dict(run.tags)):
            continue
        reason = (f"the process running this load (pid {run.tags[PID_TAG]} on {run.tags[HOST_TAG]}) ended "
                  f"without finishing it (killed); recorded by {recorded_by}")
        instance.report_run_failed(run, message=reason)
        audit.record_failure(audit_path, instance, run.run_id, reason=reason)
        dead.append(run.run_id)
    return dead


def warehouses_in_progress(instance: dg.DagsterInstance) -> list[Path]:
    """The warehouses (tag ``trialwh/warehouse``) of the runs Dagster has in progress."""
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS))
    return sorted({Path(run.tags[WAREHOUSE_TAG]) for run in runs if run.tags.get(WAREHOUSE_TAG)})


@dg.resource(
    required_resource_keys={"warehouse"},
    description="At the start of a load: tags the run with its process and records earlier loads of the "
                "warehouse whose process died (pipeline/dead_loads.py).",
)
def dead_loads_resource(context: dg.InitResourceContext) -> list[str]:
    """Set up when a load starts (the first and the last step of every load require it, so a
    re-execution from failure sets it up too); its value is the run ids it recorded."""
    warehouse = context.resources.warehouse
    context.instance.add_run_tags(context.run.run_id, process_tags(warehouse.root))
    dead = record_dead_loads(context.instance, warehouse.root, warehouse.audit_path, context.run.run_id)
    for run_id in dead:
        context.log.warning(f"earlier load {run_id} was killed: marked failed and recorded in the audit trail")
    return dead
