"""One measured ``nightly_load`` in this process: wall time, time per layer, peak RSS.

Run as a subprocess by :mod:`benchmarks.bench` so that the peak resident set size
(``getrusage``) belongs to this load alone; the processes the load starts itself (the Great
Expectations helper) are sampled and added (:class:`RssSampler`). The layer of a step is the
asset group of what it materialised or checked (``raw`` = ingest, ``stg`` = validate, ...);
Dagster's own time between steps is reported as ``orchestration``.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import resource
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.cells import cells_by_schema

#: asset group -> benchmark layer
LAYERS = {"raw": "ingest", "stg": "validate", "sdtm": "sdtm", "adam": "adam", "endpoints": "endpoints",
          "qa": "qa", "publish": "publish"}


def step_layers(defs, entries) -> dict[str, str]:
    """step key -> layer, from the asset keys each step materialised or checked."""
    graph = defs.resolve_asset_graph()
    out: dict[str, str] = {}
    for entry in entries:
        ev = entry.dagster_event
        if ev is None or ev.step_key in out:
            continue
        key = None
        if ev.event_type_value == "ASSET_MATERIALIZATION":
            key = ev.event_specific_data.materialization.asset_key
        elif ev.event_type_value == "ASSET_CHECK_EVALUATION":
            key = ev.event_specific_data.asset_key
        if key is not None and graph.has(key):
            out[ev.step_key] = LAYERS.get(graph.get(key).group_name, graph.get(key).group_name)
    return out


def _child_pids() -> list[int]:
    """Processes this one started and that still run (the GX helper, ``pipeline.qa.gx_process``)."""
    pids = []
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/children") as fh:
                pids += [int(p) for p in fh.read().split()]
        except OSError:
            continue
    return pids


def _rss_and_cpu(pid: int | str) -> tuple[int, float]:
    """Resident pages and CPU seconds (user + system) of one process; (0, 0) once it has gone."""
    try:
        with open(f"/proc/{pid}/statm") as fh:
            pages = int(fh.read().split()[1])
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return pages, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0, 0.0


class RssSampler(threading.Thread):
    """Resident set size and CPU time of the load every ``interval`` seconds: samples
    ``(time, RSS MB, CPU seconds)``, to find the step that peaks (``getrusage`` only gives the
    overall peak) and how many of the machine's cores each step kept busy.

    The load is this process and the processes it started (the Great Expectations helper):
    their RSS is added to this process's, and so is their CPU time (a helper's CPU seconds count
    from the first sample that sees it, at most ``interval`` after it started)."""

    def __init__(self, interval: float = 0.25, cap_mb: float | None = None, on_cap=None):
        super().__init__(daemon=True)
        self.interval, self.samples, self._stop_event = interval, [], threading.Event()
        self.cap_mb, self.on_cap = cap_mb, on_cap
        self._children_cpu: dict[int, float] = {}  # the last CPU seconds seen of every child
        self.children_peak_mb = 0.0  # the most the started processes held together at one sample

    def run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop_event.is_set():
            with open("/proc/self/statm") as fh:
                pages = int(fh.read().split()[1])
            children_pages = 0
            for pid in _child_pids():
                child_pages, child_cpu = _rss_and_cpu(pid)
                children_pages += child_pages
                self._children_cpu[pid] = max(child_cpu, self._children_cpu.get(pid, 0.0))
            self.children_peak_mb = max(self.children_peak_mb, children_pages * page / 2**20)
            pages += children_pages
            self.samples.append((time.time(), pages * page / 2**20,
                                 time.process_time() + sum(self._children_cpu.values())))
            if self.cap_mb and self.samples[-1][1] > self.cap_mb and self.on_cap:
                self.on_cap(self.samples[-1][1])
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def step_windows(entries) -> dict[str, tuple[float, float]]:
    """step key -> (start, end) timestamps."""
    start: dict[str, float] = {}
    out: dict[str, tuple[float, float]] = {}
    for entry in entries:
        ev = entry.dagster_event
        if ev is None or ev.step_key is None:
            continue
        if ev.event_type_value == "STEP_START":
            start[ev.step_key] = entry.timestamp
        elif ev.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and ev.step_key in start:
            out[ev.step_key] = (start[ev.step_key], entry.timestamp)
    return out


def step_peak_rss(windows: dict[str, tuple[float, float]], samples) -> dict[str, float]:
    """step key -> highest RSS (MB) sampled while it ran."""
    return {step: max((mb for t, mb, _ in samples if a <= t <= b), default=0.0) for step, (a, b) in windows.items()}


def cpu_at(samples, t: float) -> float:
    """CPU seconds of the process at time ``t``, interpolated between the samples around it."""
    times = [s[0] for s in samples]
    i = min(max(bisect.bisect_left(times, t), 1), len(samples) - 1)
    (t0, _, c0), (t1, _, c1) = samples[i - 1], samples[i]
    return c0 if t1 == t0 else c0 + (c1 - c0) * min(max((t - t0) / (t1 - t0), 0.0), 1.0)


def step_cpu_seconds(windows: dict[str, tuple[float, float]], samples) -> dict[str, float]:
    """step key -> CPU seconds (all threads) the process used while it ran.

    Why: the machine has few cores; CPU seconds over wall seconds says whether a step kept
    them busy (then only less work makes it faster) or waited (then overlapping work would)."""
    if len(samples) < 2:
        return {}
    return {step: cpu_at(samples, b) - cpu_at(samples, a) for step, (a, b) in windows.items()}


def failures(entries) -> list[str]:
    """Failed steps (root cause) and failed ERROR checks: why a load did not publish."""
    out = []
    for entry in entries:
        ev = entry.dagster_event
        if ev is None:
            continue
        if ev.event_type_value == "STEP_FAILURE":
            err = ev.event_specific_data.error
            while err.cause is not None:
                err = err.cause
            out.append(f"{ev.step_key}: {err.message.strip().splitlines()[-1][:200]}")
        elif ev.event_type_value == "ASSET_CHECK_EVALUATION":
            data = ev.event_specific_data
            if not data.passed and data.severity.value == "ERROR":
                out.append(f"check {data.asset_key.to_user_string()}:{data.check_name}")
    return out


def measured(entries, wall: float, samples, layers: dict[str, str], children_peak_mb: float = 0.0) -> dict:
    """Seconds and CPU seconds per layer, slowest steps and their RSS, from a run's event log
    (complete or not). Peak RSS: this process's own peak (``getrusage``) plus the most its
    helper processes held (``children_peak_mb``), an upper bound of the load's peak, or the
    highest sample if that is higher."""
    windows = step_windows(entries)
    per_step = {step: b - a for step, (a, b) in windows.items()}
    per_layer: dict[str, float] = defaultdict(float)
    cpu_layer: dict[str, float] = defaultdict(float)
    for step, secs in per_step.items():
        per_layer[layers.get(step, "other")] += secs
    per_layer["orchestration"] = max(0.0, wall - sum(per_step.values()))
    for step, secs in step_cpu_seconds(windows, samples).items():
        cpu_layer[layers.get(step, "other")] += secs
    cpu = samples[-1][2] - samples[0][2] if len(samples) > 1 else 0.0
    cpu_layer["orchestration"] = max(0.0, cpu - sum(cpu_layer.values()))
    return {"wall_s": wall, "layers_s": dict(per_layer), "cpu_s": cpu, "layers_cpu_s": dict(cpu_layer),
            "top_steps_s": sorted(per_step.items(), key=lambda kv: -kv[1])[:10],
            "top_steps_rss_mb": sorted(step_peak_rss(windows, samples).items(), key=lambda kv: -kv[1])[:10],
            "peak_rss_mb": max([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 + children_peak_mb,
                                *(mb for _, mb, _ in samples)])}


def running_step(entries) -> str | None:
    """The step that started and has not finished (the in-process executor runs one at a time)."""
    finished = step_windows(entries)
    started = [e.dagster_event.step_key for e in entries
               if e.dagster_event and e.dagster_event.event_type_value == "STEP_START"]
    open_steps = [s for s in started if s not in finished]
    return open_steps[-1] if open_steps else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--export", required=True)
    ap.add_argument("--home", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--max-rss-mb", type=float, default=None,
                    help="abort the load (and report how far it got) above this resident size")
    args = ap.parse_args(argv)
    os.environ["TRIALWH_CONFIG"] = args.config  # before any pipeline import: patterns read it

    import dagster as dg

    from pipeline.cli import _ensure_dagster_home, run_load
    from pipeline.definitions import build_definitions

    _ensure_dagster_home()
    defs = build_definitions(home=args.home, export_path=args.export)
    t0 = time.perf_counter()

    def abort(rss_mb: float) -> None:
        """Over the memory cap: write how far the load got, then end the process at once."""
        instance = dg.DagsterInstance.get()
        entries = instance.all_logs(instance.get_runs(limit=1)[0].run_id)
        report = {"success": False, **measured(entries, time.perf_counter() - t0, sampler.samples, step_layers(defs, entries),
                                                sampler.children_peak_mb),
                  "failures": [f"aborted: RSS {rss_mb:,.0f} MB above the {args.max_rss_mb:,.0f} MB cap "
                               f"while running {running_step(entries)}"]}
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2)
        os._exit(3)

    sampler = RssSampler(cap_mb=args.max_rss_mb, on_cap=abort)
    sampler.start()
    success, _, result = run_load(args.export, args.home, trigger="benchmark")
    wall = time.perf_counter() - t0
    sampler.stop()
    entries = dg.DagsterInstance.get().all_logs(result.run_id)
    report = {"success": success, "failures": failures(entries),
              **measured(entries, wall, sampler.samples, step_layers(defs, entries), sampler.children_peak_mb)}
    working = Path(args.home) / "build" / "trial.duckdb"  # counted after the clock stops
    if working.exists():
        report["cells_by_schema"] = cells_by_schema(working)
    with open(args.json, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2)
    return 0 if success else 1


if __name__ == "__main__":
    sys.exit(main())
