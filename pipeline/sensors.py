"""Sensors: a new export in the landing folder starts a load; a failed load is audited.

``landing_sensor`` looks at ``<warehouse>/landing`` (``ops.landing`` of the trial
configuration). An entry is an export folder, a ``.zip`` or an ODM ``.xml`` file. It is
*complete* when

- nothing in it was modified during the last ``quiet_seconds`` (a copy in progress keeps
  touching its files), and
- for a folder with a manifest (``export.json``), every file the manifest lists is there.

Hidden entries (``.name``, the usual temporary name of a copy) are ignored. Each complete export
is requested once: the run key is its name plus a fingerprint of its files (path, size, mtime),
and Dagster never launches a run key twice, however many ticks see the same export.

``audit_failed_runs`` is a run-failure sensor: every failed ``nightly_load`` run, whatever
started it, gets its line in the audit trail (``pipeline.audit``).

``killed_loads`` marks failed the loads whose process died without ending its run
(``pipeline.dead_loads``), in every warehouse with a run in progress, and audits them.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import dagster as dg

from pipeline import audit, config, dead_loads
from pipeline.jobs import nightly_load
from pipeline.resources import WarehouseResource, export_files

EXPORT_SUFFIXES = (".zip", ".xml")


def _manifest_complete(entry: Path, manifest: str) -> bool:
    path = entry / manifest
    if not path.exists():
        return True  # no manifest: the quiet period alone decides
    try:
        listed = json.loads(path.read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError):
        return False  # a manifest still being written
    return all((entry / name).is_file() for name in listed)


def complete_exports(landing: Path, manifest: str, quiet_seconds: float, now: float | None = None) -> list[tuple[Path, str]]:
    """(export, fingerprint) of every complete export in ``landing``, by name."""
    now = time.time() if now is None else now
    found = []
    for entry in sorted(landing.iterdir()) if landing.is_dir() else []:
        if entry.name.startswith(".") or not (entry.is_dir() or entry.suffix.lower() in EXPORT_SUFFIXES):
            continue
        files = export_files(entry)
        if not files or (entry.is_dir() and not _manifest_complete(entry, manifest)):
            continue
        stats = [(p, p.stat()) for p in files]
        newest = max([s.st_mtime for _, s in stats] + [entry.stat().st_mtime])
        if now - newest < quiet_seconds:
            continue
        digest = hashlib.sha256()
        for path, st in stats:
            digest.update(f"{path.relative_to(landing)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        found.append((entry, digest.hexdigest()[:16]))
    return found


def _landing_sensor() -> dg.SensorDefinition:
    landing = config.ops()["landing"]

    @dg.sensor(
        name="landing_sensor", job=nightly_load, minimum_interval_seconds=landing["minimum_interval_seconds"],
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Start nightly_load when a complete export arrives in <warehouse>/landing.",
    )
    def landing_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        exports = complete_exports(warehouse.landing_dir, landing["manifest"], landing["quiet_seconds"])
        if not exports:
            return dg.SkipReason(f"no complete export in {warehouse.landing_dir}")
        return [
            dg.RunRequest(
                run_key=f"{path.name}:{fingerprint}",
                run_config={"resources": {"warehouse": {"config": {"home": warehouse.home, "export_path": str(path)}}}},
                tags={"trialwh/trigger": "landing", "trialwh/export": str(path)},
            )
            for path, fingerprint in exports
        ]

    return landing_sensor


def _run_warehouse(run: dg.DagsterRun, default: WarehouseResource) -> WarehouseResource:
    """The warehouse a run wrote to: its run config's, else the code location's."""
    chosen = (run.run_config or {}).get("resources", {}).get("warehouse", {}).get("config", {})
    return WarehouseResource(home=chosen.get("home") or default.home, export_path=chosen.get("export_path", ""))


@dg.run_failure_sensor(
    name="audit_failed_runs", monitored_jobs=[nightly_load], default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=10, description="Write every failed nightly_load run to the audit trail.",
)
def audit_failed_runs(context: dg.RunFailureSensorContext, warehouse: WarehouseResource):
    run = context.dagster_run
    target = _run_warehouse(run, warehouse)
    audit.record_failure(target.audit_path, context.instance, run.run_id,
                         export=run.tags.get("trialwh/export") or target.export_path or None,
                         failure=context.failure_event.message)
    context.log.error(f"nightly_load run {run.run_id} failed; recorded in {target.audit_path}")


def _killed_loads_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        name="killed_loads", minimum_interval_seconds=config.ops()["killed_loads_check_seconds"],
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Mark failed, and audit, loads Dagster still shows in progress whose process is gone "
                    "(killed outright); pipeline/dead_loads.py.",
    )
    def killed_loads(context: dg.SensorEvaluationContext):
        recorded = []
        for root in dead_loads.warehouses_in_progress(context.instance):
            audit_path = WarehouseResource(home=str(root)).audit_path
            recorded += dead_loads.record_dead_loads(context.instance, root, audit_path, recorded_by=dead_loads.BY_DAEMON)
        for run_id in recorded:
            context.log.warning(f"load {run_id} was killed: marked failed and recorded in its audit trail")
        return dg.SkipReason(f"killed loads recorded: {', '.join(recorded)}" if recorded else "no killed load")

    return killed_loads


def ops_sensors() -> list[dg.SensorDefinition]:
    return [_landing_sensor(), audit_failed_runs, _killed_loads_sensor()]
