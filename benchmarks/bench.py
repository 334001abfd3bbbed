"""``make bench``: time the nightly load at 1,000, 10,000 and 100,000 synthetic subjects.

For each size it generates a CSV export (default mess rate, seed 1; reused when
``export.json`` matches), runs one full ``nightly_load`` in a fresh process (in-process
executor, no UI) with :mod:`benchmarks.load_once`, and DuckDB's plain ``read_csv`` of the same
files with :mod:`benchmarks.lower_bound`. It writes ``benchmarks/results.md``: the machine,
then per size the wall time and CPU seconds of each layer, peak RSS, the cores kept busy, the
lower bound and the ratio of the full load to it. Then it times the trial-sized load the way a
data manager runs it (:func:`trial_load`). Work files live in ``benchmarks/.work/`` (ignored
by git; large).

Subject numbers of a synthetic trial above 999 subjects need more than this trial's three
digits: each size gets a copy of the trial configuration with ``trial.subjid_digits`` widened,
used by both the generator and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import yaml

from pipeline.event_log import DAGSTER_YAML

ROOT = Path(__file__).resolve().parent
WORK = ROOT / ".work"
SEED = 1
#: end-to-end runs of the trial-sized load (``--trial-runs``); the table gives each and the median
TRIAL_RUNS = 3
LAYER_ORDER = ("ingest", "validate", "qa", "sdtm", "adam", "endpoints", "publish", "other", "orchestration")


def config_for(n: int) -> Path:
    """The trial configuration with SUBJID digits enough for ``n`` subjects."""
    from pipeline.config import DEFAULT_CONFIG_PATH

    digits = max(3, len(str(n)))
    path = WORK / f"trial_config_{digits}digits.yaml"
    cfg = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))  # rewritten: follows the shipped one
    cfg["trial"]["subjid_digits"] = digits
    path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def export_for(n: int, config: Path, reuse: bool) -> tuple[Path, float | None]:
    """Generated export of ``n`` subjects and its generation time (None when reused: only with
    ``--reuse-exports``, since an export from an older generator may lack newer CRF items)."""
    out = WORK / f"export_{n}"
    meta = out / "export.json"
    if reuse and meta.exists():
        info = json.loads(meta.read_text(encoding="utf-8"))
        if info.get("subjects") == n and info.get("seed") == SEED:
            return out, None
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    _run([sys.executable, "-m", "pipeline.cli", "generate", "--subjects", str(n), "--seed", str(SEED),
          "--out", str(out), "--config", str(config)])
    return out, time.perf_counter() - t0


def _run(cmd: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT.parent, env=env)


def core_probe_seconds(repeats: int = 3) -> float:
    """Seconds of a fixed pure-Python loop on one core (best of ``repeats``).

    Why: this machine is a virtual one whose speed changes within a day: on 2026-11-27 the same
    100,000-subject load took 367 s at 06:11 and 779 s at 07:17, and this probe read 0.38 to
    0.69 s over the next two hours. The probe, taken just before each load, is a rough gauge of
    how fast the machine was when the figures beside it were measured (one core only: it does
    not see everything that slows a two-core load)."""
    best = float("inf")
    for _ in range(repeats):
        t0, total = time.perf_counter(), 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - t0)
    return best


def fresh_dagster_home(folder: Path) -> Path:
    """``folder`` emptied, with the instance settings ``trialwh load`` writes (``dagster.yaml``)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "dagster.yaml").write_text(DAGSTER_YAML)
    return folder


def measure(n: int, reuse: bool = False, max_rss_mb: float | None = None) -> dict:
    config = config_for(n)
    export, gen_s = export_for(n, config, reuse)
    probe_s = core_probe_seconds()
    home = WORK / f"warehouse_{n}"
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "DAGSTER_HOME": str(fresh_dagster_home(WORK / "dagster_home"))}  # one per load
    out = WORK / f"load_{n}.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.load_once", "--export", str(export), "--home", str(home),
                           "--config", str(config), "--json", str(out),
                           *(["--max-rss-mb", str(max_rss_mb)] if max_rss_mb else [])], cwd=ROOT.parent, env=env,
                          capture_output=True, text=True)
    load = json.loads(out.read_text()) if out.exists() else {"success": False, "error": proc.stderr[-2000:]}
    floor = json.loads(_run([sys.executable, "-m", "benchmarks.lower_bound", str(export)]).stdout)
    raw_bytes = sum(p.stat().st_size for p in export.glob("*.csv"))
    return {"subjects": n, "generate_s": gen_s, "raw_mb": raw_bytes / 2**20, "load": load, "floor": floor,
            "probe_s": probe_s}


def trial_load(runs: int = TRIAL_RUNS) -> dict:
    """The trial-sized load as a data manager runs it: ``trialwh load`` on the embedded default
    export (31 subjects), end to end, each time in a new process, timed from its start to its
    exit (interpreter start, imports, the Dagster instance, the run, the summary). Issue 8 asks
    for under 20 s; the layer tables above cannot show it, as they time only the run.

    The runs share one warehouse and one Dagster home, as loads do night after night (each
    publishes a cut and compares it with the one before); both start empty, so the first run
    also creates the instance's databases. A core probe before each run says how fast the
    machine was."""
    from pipeline.default_export import ensure_default_export

    export = ensure_default_export(WORK / "export_trial")
    home = WORK / "warehouse_trial"
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "DAGSTER_HOME": str(fresh_dagster_home(WORK / "dagster_home_trial"))}
    rows = []
    for _ in range(runs):
        probe_s = core_probe_seconds()
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "load", "--home", str(home), str(export)],
                              cwd=ROOT.parent, env=env, capture_output=True, text=True)
        rows.append({"probe_s": probe_s, "seconds": time.perf_counter() - t0, "exit": proc.returncode,
                     "error": proc.stdout[-1000:] + proc.stderr[-1000:] if proc.returncode else ""})
    return {"subjects": json.loads((export / "export.json").read_text(encoding="utf-8"))["subjects"], "runs": rows}


def trial_markdown(trial: dict) -> list[str]:
    """The trial-sized section of ``results.md``: every run, then the median of the successful ones."""
    lines = ["", f"Trial-sized load: `trialwh load` on the embedded default export ({trial['subjects']} subjects), end to end",
             "in a new process (start, imports, Dagster instance, run, summary, exit); issue 8 asks for under 20 s.",
             "The runs share one warehouse and Dagster home, as nightly loads do; both start empty.", "",
             "| run | core probe | seconds | exit |", "|---:|---:|---:|---:|"]
    for i, run in enumerate(trial["runs"], 1):
        lines.append(f"| {i} | {run['probe_s']:.2f} | {run['seconds']:.1f} | {run['exit']} |")
    ok = [run["seconds"] for run in trial["runs"] if run["exit"] == 0]
    if ok:
        lines += ["", f"Median of {len(ok)} successful: {statistics.median(ok):.1f} s."]
    for i, run in enumerate(trial["runs"], 1):
        if run["exit"]:
            lines += ["", f"Run {i} FAILED:", "", "```", run["error"].strip(), "```"]
    return lines


def machine() -> str:
    mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    return f"{os.cpu_count()} cores, {mem_kb / 2**20:.1f} GiB RAM, {platform.processor() or platform.machine()}, Python {platform.python_version()}"


def markdown(results: list[dict], trial: dict | None = None) -> str:
    lines = [
        "# Benchmark: nightly load at scale",
        "",
        f"Machine: {machine()}. Written {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `make bench`",
        "(`benchmarks/bench.py`). Synthetic CSV exports, default mess rate, seed 1; one full",
        "`nightly_load` per size in a fresh process (in-process executor, no UI). Lower bound:",
        "DuckDB `read_csv` of the same form files into tables, no validation. Times in seconds. Core",
        "probe: seconds of a fixed pure-Python loop just before the load (the machine's speed then).",
        "",
        "| subjects | raw CSV MB | rows in | generate | core probe | " + " | ".join(LAYER_ORDER)
        + " | full load | peak RSS MB | lower bound | ratio |",
        "|---:|---:|---:|---:|---:|" + "---:|" * (len(LAYER_ORDER) + 4),
    ]
    for r in results:
        load, floor = r["load"], r["floor"]
        if "wall_s" not in load:
            lines.append(f"| {r['subjects']:,} | {r['raw_mb']:.0f} | {floor['rows']:,} | CRASHED: see below |" + " |" * (len(LAYER_ORDER) + 5))
            continue
        layers = [f"{load['layers_s'].get(k, 0.0):.1f}" for k in LAYER_ORDER]
        gen = "reused" if r["generate_s"] is None else f"{r['generate_s']:.1f}"
        probe = f"{r['probe_s']:.2f}" if r.get("probe_s") else ""
        lines.append(f"| {r['subjects']:,} | {r['raw_mb']:.0f} | {floor['rows']:,} | {gen} | {probe} | " + " | ".join(layers)
                     + f" | {load['wall_s']:.1f} | {load['peak_rss_mb']:.0f} | {floor['seconds']:.2f} | "
                     + (f"{load['wall_s'] / floor['seconds']:.0f}x |" if load["success"] else "FAILED |"))
    lines += cpu_markdown(results)
    lines += cells_markdown(results)
    lines += ["", "Slowest steps per size (seconds):", ""]
    for r in results:
        top = ", ".join(f"`{s}` {t:.1f}" for s, t in r["load"].get("top_steps_s", [])[:6])
        lines.append(f"- {r['subjects']:,}: {top or r['load'].get('error', '')}")
        peaks = ", ".join(f"`{s}` {mb:,.0f}" for s, mb in r["load"].get("top_steps_rss_mb", [])[:4])
        if peaks:
            lines.append(f"  - highest RSS while running (MB): {peaks}")
        for failure in r["load"].get("failures", []):
            lines.append(f"  - load FAILED: {failure}")
    if trial:
        lines += trial_markdown(trial)
    return "\n".join(lines) + "\n"


def cpu_markdown(results: list[dict]) -> list[str]:
    """CPU seconds per layer (all threads of the load's process) and the cores kept busy over
    the full load (CPU seconds / wall seconds): near the core count, a layer gets faster only
    by doing less work; well below it, by overlapping work."""
    rows = [r for r in results if r["load"].get("cpu_s")]
    if not rows:
        return []
    lines = ["", f"CPU seconds per layer (all threads), and the cores the full load kept busy (of {os.cpu_count()}):", "",
             "| subjects | " + " | ".join(LAYER_ORDER) + " | full load | cores busy |",
             "|---:|" + "---:|" * (len(LAYER_ORDER) + 2)]
    for r in rows:
        load = r["load"]
        lines.append(f"| {r['subjects']:,} | " + " | ".join(f"{load['layers_cpu_s'].get(k, 0.0):.1f}" for k in LAYER_ORDER)
                     + f" | {load['cpu_s']:.1f} | {load['cpu_s'] / load['wall_s']:.2f} |")
    return lines


CELL_SCHEMAS = ("raw", "validation", "stg", "quarantine", "qa", "sdtm", "adam", "endpoints", "ops")


def cells_markdown(results: list[dict]) -> list[str]:
    """Data written, in million cells (rows x columns) per schema of the working warehouse,
    against the cells of the lower bound (:mod:`benchmarks.cells` says why)."""
    rows = [r for r in results if r["load"].get("cells_by_schema") and r["floor"].get("cells")]
    if not rows:
        return []
    lines = ["", "Data each load writes, in million cells (rows x columns) per schema of the working warehouse",
             "(tables only; views hold no data), against the cells the lower bound writes:", "",
             "| subjects | " + " | ".join(CELL_SCHEMAS) + " | other | total | lower bound | ratio |",
             "|---:|" + "---:|" * (len(CELL_SCHEMAS) + 4)]
    for r in rows:
        cells, floor = r["load"]["cells_by_schema"], r["floor"]["cells"]
        other = sum(v for k, v in cells.items() if k not in CELL_SCHEMAS)
        total = sum(cells.values())
        lines.append(f"| {r['subjects']:,} | " + " | ".join(f"{cells.get(k, 0) / 1e6:,.1f}" for k in CELL_SCHEMAS)
                     + f" | {other / 1e6:,.1f} | {total / 1e6:,.1f} | {floor / 1e6:,.1f} | {total / floor:.1f}x |")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000, 10_000, 100_000])
    ap.add_argument("--trial-runs", type=int, default=TRIAL_RUNS,
                    help="end-to-end runs of the trial-sized load after the sizes (0: none)")
    ap.add_argument("--out", default=str(ROOT / "results.md"))
    ap.add_argument("--reuse-exports", action="store_true", help="keep exports generated by an earlier run")
    ap.add_argument("--max-rss-gb", type=float, default=16.0,
                    help="abort a load above this resident size and report how far it got (machine safety)")
    args = ap.parse_args(argv)
    WORK.mkdir(exist_ok=True)
    results = []
    for n in args.sizes:
        print(f"benchmark: {n:,} subjects ...", flush=True)
        results.append(measure(n, args.reuse_exports, args.max_rss_gb * 1024))
        Path(args.out).write_text(markdown(results), encoding="utf-8")  # partial results survive a crash
        load = results[-1]["load"]
        print(f"  full load {load.get('wall_s', float('nan')):.1f} s, peak RSS {load.get('peak_rss_mb', float('nan')):.0f} MB, "
              f"lower bound {results[-1]['floor']['seconds']:.2f} s", flush=True)
    if args.trial_runs:
        print(f"trial-sized load: {args.trial_runs} runs of trialwh load ...", flush=True)
        trial = trial_load(args.trial_runs)
        Path(args.out).write_text(markdown(results, trial), encoding="utf-8")
        print("  " + ", ".join(f"{r['seconds']:.1f} s" for r in trial["runs"]), flush=True)
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
