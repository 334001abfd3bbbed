"""The audit trail of loads: an append-only JSON-lines file under ``<warehouse>/state``.

One line per load outcome: the run id and its Dagster tags (who or what triggered it: the
schedule, the landing sensor, the UI, the CLI), start and end, the export and its file hashes,
the code version, rows per form, the asset-check outcomes, and whether it was published (with
its data cut). The file is opened in append mode only, each record written by one ``write``
and flushed to disk, so a killed process can at worst lose its own line and never rewrites
the history. It lives outside the published warehouse so failed runs are recorded too; each
published warehouse carries a copy as ``ops.audit`` for analysts.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

FAILED, PUBLISHED = "FAILURE", "PUBLISHED"


def append(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, sort_keys=True, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat() if ts else None


def check_outcomes(instance: dg.DagsterInstance, run_id: str) -> list[dict]:
    """Every asset-check evaluation of the run: check, asset, passed, severity."""
    events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    out = []
    for event in events:
        data = event.get_dagster_event().event_specific_data
        out.append({
            "check": data.check_name,
            "asset": data.asset_key.to_user_string(),
            "passed": bool(data.passed),
            "severity": data.severity.value if data.severity else None,
        })
    return sorted(out, key=lambda c: (c["asset"], c["check"]))


def root_cause(error) -> str:
    """The user's error inside Dagster's wrapping: the message a data manager can act on."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip().splitlines()[-1] if error.message.strip() else error.cls_name


def failed_steps(instance: dg.DagsterInstance, run_id: str) -> list[dict]:
    events = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    return [{"step": e.step_key, "error": root_cause(e.get_dagster_event().event_specific_data.error)[:500]}
            for e in events]


def run_error(events) -> str | None:
    """Why a run failed outside its steps, from its RUN_FAILURE event: a resource that could not
    start (such as a warehouse another load holds). None for a run whose steps or checks failed
    (their own events say why) and for a run that did not fail."""
    for event in events:
        if event.event_type == dg.DagsterEventType.RUN_FAILURE:
            error = getattr(event.event_specific_data, "error", None)
            if error is not None:
                return root_cause(error)[:500]
    return None


def run_record(instance: dg.DagsterInstance, run_id: str, status: str, **extra) -> dict:
    """The audit line of one run, from the Dagster instance (tags, times, checks) plus ``extra``."""
    run = instance.get_run_by_id(run_id)
    stats = instance.get_run_stats(run_id)
    record = {
        "run_id": run_id,
        "job": run.job_name if run else None,
        "status": status,
        "tags": dict(run.tags) if run else {},
        "trigger": _trigger(dict(run.tags) if run else {}),
        "started_utc": _iso(stats.start_time),
        "ended_utc": _iso(stats.end_time),  # None while the run is still publishing
        "recorded_utc": datetime.now(timezone.utc).isoformat(),
        "checks": check_outcomes(instance, run_id),
        "failed_steps": failed_steps(instance, run_id),
        "run_error": run_error(e.get_dagster_event() for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)),
        "published": status == PUBLISHED,
    }
    record.update(extra)
    return record


def _trigger(tags: dict) -> str:
    """Who or what started the run, from the tags Dagster and trialwh set."""
    if "dagster/schedule_name" in tags:
        return f"schedule:{tags['dagster/schedule_name']}"
    if "dagster/sensor_name" in tags:
        return f"sensor:{tags['dagster/sensor_name']}"
    if "trialwh/trigger" in tags:
        return tags["trialwh/trigger"]
    if "user" in tags or "dagster/user" in tags:
        return f"ui:{tags.get('user') or tags.get('dagster/user')}"
    return "ui"


def record_failure(path: Path, instance: dg.DagsterInstance, run_id: str, **extra) -> bool:
    """Append the failure of ``run_id`` unless it is in the trail already (sensor and CLI both call this)."""
    if any(r["run_id"] == run_id and r["status"] == FAILED for r in read(path)):
        return False
    append(path, run_record(instance, run_id, FAILED, **extra))
    return True
