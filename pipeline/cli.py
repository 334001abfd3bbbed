"""``trialwh``: the data manager's command line.

- ``trialwh generate``: write a synthetic EDC export (CSV, REDCap or ODM) with its manifest.
- ``trialwh load [EXPORT]``: run the ``nightly_load`` job in-process on a folder, zip or ODM
  file (default: the embedded synthetic trial) and print what was loaded.
- ``trialwh cuts``: list the data cuts (one per successful load) with their files and lock state.
- ``trialwh lock CUT_ID``: freeze a data cut for analysis (never pruned, deleted or overwritten).
- ``trialwh adam --sdtm DIR --out FILE.duckdb``: derive ADSL/ADAE/ADLB/ADEX from an SDTM
  folder or zip (ours or external) and write them, with the endpoint tables (schema
  ``endpoints``), to a DuckDB file.
- ``trialwh findings list|accept``: the findings ledger of a warehouse; accept a finding with
  a comment (kept across loads).
"""

from __future__ import annotations

import argparse
import atexit
import os
import sys
import threading
from pathlib import Path
from typing import NoReturn

from pipeline.config import ConfigError
from pipeline.resources import PROJECT_ROOT


def _ensure_dagster_home() -> Path:
    home = Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        from pipeline.event_log import DAGSTER_YAML

        (home / "dagster.yaml").write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def cmd_generate(args: argparse.Namespace) -> int:
    from pipeline.synthetic import generate

    summary = generate(
        Path(args.out), subjects=args.subjects, seed=args.seed, fmt=args.format, mess_rate=args.mess_rate,
        config_path=args.config, cross_defects=args.cross_defects,
    )
    print(f"wrote a {args.format} export to {Path(args.out).resolve()}")
    for key, value in summary.items():
        print(f"  {key}: {value}")
    return 0


def run_load(export: str | None, home: str | None, trigger: str = "cli", log_level: str = "CRITICAL"):
    """Execute ``nightly_load`` in-process; returns (success, warehouse resource, result)."""
    import dagster as dg

    from pipeline.definitions import build_definitions

    _ensure_dagster_home()
    defs = build_definitions(home=home, export_path=export)
    job = defs.resolve_job_def("nightly_load")
    result = job.execute_in_process(
        instance=dg.DagsterInstance.get(),
        raise_on_error=False,
        tags={"trialwh/trigger": trigger},
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )
    warehouse = defs.resources["warehouse"]
    if not result.success:
        from pipeline import audit

        audit.record_failure(warehouse.audit_path, dg.DagsterInstance.get(), result.run_id, export=export)
    return result.success, warehouse, result


def load_summary_text(success: bool, warehouse, result) -> str:
    import duckdb

    from pipeline.audit import root_cause, run_error

    if not success:
        lines = ["LOAD FAILED: the published warehouse was left as it was."]
        failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        lines += [f"  {e.step_key}: {root_cause(e.event_specific_data.error)}" for e in failures]
        if not failures:
            cause = run_error(result.all_events)
            lines.append(f"  the load could not start: {cause}" if cause else
                         "  no step failed: a blocking check stopped the load (see the asset checks in the UI)")
        return "\n".join(lines)
    lines = [f"{'form':<6} {'rows in':>8} {'loaded':>8} {'quarantined':>12}"]
    con = duckdb.connect(str(warehouse.published_path), read_only=True)
    try:
        for form, n_in, n_ok, n_q in con.execute("SELECT * FROM qa.load_summary ORDER BY FORM").fetchall():
            lines.append(f"{form:<6} {n_in:>8} {n_ok:>8} {n_q:>12}")
        tot = con.execute("SELECT sum(ROWS_IN), sum(ROWS_ACCEPTED), sum(ROWS_QUARANTINED) FROM qa.load_summary").fetchone()
        lines.append(f"{'total':<6} {tot[0]:>8} {tot[1]:>8} {tot[2]:>12}")
        severities = con.execute(
            "SELECT SEVERITY, count(*) FROM qa.findings WHERE STATUS <> 'resolved' "
            "GROUP BY 1 ORDER BY array_position(['ERROR','WARN','NOTICE'], SEVERITY)"
        ).fetchall()
        lines.append("findings by severity: " + (", ".join(f"{s} {n}" for s, n in severities) or "none"))
        lines += _qa_lines(con, warehouse)
        for schema in ("sdtm", "adam", "endpoints"):
            names = con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? AND table_name NOT LIKE 'int_%' ORDER BY 1",
                [schema],
            ).fetchall()
            counts = [(n.upper(), con.execute(f"SELECT count(*) FROM {schema}.{n}").fetchone()[0]) for (n,) in names]
            if counts:
                lines.append(f"{schema}: {len(counts)} tables ({', '.join(f'{d} {n}' for d, n in counts)})")
        lines.append(f"sdtm exports (XPT, Dataset-JSON): {warehouse.root / 'exports' / 'sdtm'}")
        report = warehouse.analysis_reports_dir / "latest" / "report.html"
        if report.exists():
            lines.append(f"analysis report (tables and figures, opens offline): {report}")
        has_cut = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ops' AND table_name = 'cut'").fetchone()[0]
        if has_cut:
            (cut_id,) = con.execute("SELECT CUT_ID FROM ops.cut").fetchone()
            lines.append(f"data cut: {cut_id} (trialwh cuts lists them; trialwh lock CUT_ID freezes one)")
    finally:
        con.close()
    lines.append(f"published warehouse: {warehouse.published_path}")
    return "\n".join(lines)


def _qa_lines(con, warehouse) -> list[str]:
    """Ledger statuses, the failing cross-table rules, and where Data Docs and the queries are."""
    from pipeline.qa.queries import listing_paths

    load_no, new, persisting, resolved, accepted = con.execute(
        "SELECT LOAD_NO, N_NEW, N_PERSISTING, N_RESOLVED, N_ACCEPTED FROM qa.load_history ORDER BY LOAD_NO DESC LIMIT 1"
    ).fetchone()
    failing = con.execute("SELECT RULE_ID, VIOLATIONS FROM qa.gx_results WHERE NOT SUCCESS ORDER BY 1").fetchall()
    n_queries = con.execute("SELECT count(*) FROM qa.query_listing").fetchone()[0]
    csv_path, xlsx_path = listing_paths(warehouse.reports_dir, load_no)
    return [
        f"findings ledger (load {load_no}): new {new}, persisting {persisting}, resolved {resolved}, accepted {accepted}",
        "cross-table rules (Great Expectations): " + (", ".join(f"{r} {n}" for r, n in failing) or "all pass"),
        f"data docs: {warehouse.reports_dir / 'qa' / 'index.html'}",
        f"query listing ({n_queries} open queries): {csv_path} (and .xlsx)",
    ]


def cmd_load(args: argparse.Namespace) -> int:
    if args.config:
        os.environ["TRIALWH_CONFIG"] = str(Path(args.config).resolve())
    success, warehouse, result = run_load(args.export, args.home, log_level="INFO" if args.verbose else "CRITICAL")
    print(load_summary_text(success, warehouse, result))
    print(f"run {result.run_id}: full event log in the Dagster UI (DAGSTER_HOME={os.environ['DAGSTER_HOME']})")
    return 0 if success else 1


def cmd_cuts(args: argparse.Namespace) -> int:
    from pipeline.cuts import list_cuts
    from pipeline.resources import WarehouseResource

    warehouse = WarehouseResource(home=args.home or "")
    listed = list_cuts(warehouse.cuts_dir)
    if not listed:
        print(f"no data cut yet in {warehouse.cuts_dir}")
    for cut in listed:
        lock = f"LOCKED {cut.locked_utc}" if cut.locked else "unlocked"
        print(f"{cut.cut_id}  cut-off {cut.data_cutoff}  {len(cut.export_files)} files  code {cut.code_version}  {lock}")
        print(f"    {cut.path(warehouse.cuts_dir)}  (export {cut.export})")
    return 0


def cmd_lock(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from pipeline.cuts import lock_cut
    from pipeline.resources import WarehouseResource

    warehouse = WarehouseResource(home=args.home or "")
    try:
        cut = lock_cut(warehouse.cuts_dir, args.cut_id, datetime.now(timezone.utc).replace(microsecond=0))
    except KeyError as exc:
        print(f"LOCK FAILED: {exc.args[0]}", file=sys.stderr)
        return 2
    print(f"data cut {cut.cut_id} locked at {cut.locked_utc}: {cut.path(warehouse.cuts_dir)}")
    return 0


def cmd_adam(args: argparse.Namespace) -> int:
    if args.config:
        os.environ["TRIALWH_CONFIG"] = str(Path(args.config).resolve())
    from pipeline.adam.build import derive_adam, write_adam
    from pipeline.adam.sdtm_input import SdtmInputError, read_sdtm_folder
    from pipeline.endpoints.build import derive_endpoints

    try:
        sdtm = read_sdtm_folder(args.sdtm)
        frames = derive_adam(sdtm)
    except SdtmInputError as exc:
        print(f"ADAM FAILED: {exc}", file=sys.stderr)
        return 2
    from schemas.adam import contract_failures
    from schemas.contracts import failure_counts

    broken = contract_failures(frames)
    if broken:
        print("ADAM FAILED: datasets break their contract (schemas/adam); nothing was written", file=sys.stderr)
        for name, cases in broken.items():
            for column, check, n in failure_counts(cases).iter_rows():
                print(f"  {name.upper()}.{column}: {check} ({n} rows)", file=sys.stderr)
        return 3
    tables = derive_endpoints(frames)
    write_adam(frames, args.out, sdtm=sdtm, endpoints=tables)
    for name, df in frames.items():
        line = f"{name:<6} {df.height:>8} rows"
        if name == "adsl":
            pops = [f"{fl} {(df[fl] == 'Y').sum() if df[fl].null_count() < df.height else 'n/a'}"
                    for fl in ("ENRLFL", "ITTFL", "SAFFL", "EFFFL")]
            line += "  (" + ", ".join(pops) + ")"
        print(line)
    print("contracts: every dataset conforms to schemas/adam")
    print("endpoints: " + (", ".join(f"{n} {df.height}" for n, df in tables.items()) or "none"))
    print(f"adam written to {Path(args.out).resolve()} (schemas adam, sdtm, endpoints)")
    return 0


def cmd_findings(args: argparse.Namespace) -> int:
    import polars as pl

    from pipeline.qa import ledger
    from pipeline.resources import WarehouseResource

    state = WarehouseResource(home=args.home or "").state_dir
    if args.action == "accept":
        try:
            row = ledger.accept(state, args.key, args.comment)
        except (KeyError, ValueError) as exc:
            print(f"NOT ACCEPTED: {exc.args[0]}", file=sys.stderr)
            return 2
        print(f"accepted {row['FINDING_KEY']} ({row['STATUS']}): {row['ACCEPT_COMMENT']}")
        print("kept in the ledger; the published qa.findings shows it after the next load")
        return 0
    frame = ledger.read_ledger(state)
    if not args.all:
        frame = frame.filter(pl.col("STATUS").is_in(ledger.OPEN))
    if args.rule:
        frame = frame.filter(pl.col("RULE_ID") == args.rule.upper())
    with pl.Config(tbl_rows=-1, tbl_cols=-1, fmt_str_lengths=70, tbl_width_chars=250, tbl_hide_dataframe_shape=True):
        print(frame.select("FINDING_KEY", "STATUS", "SEVERITY", "ACCEPTED", "MESSAGE"))
    print(f"{frame.height} finding(s) in {state / ledger.LEDGER_FILE}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trialwh", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write a synthetic EDC export")
    gen.add_argument("--subjects", type=int, default=None, help="number of subjects (default: trial config, 31)")
    gen.add_argument("--seed", type=int, default=None, help="random seed (default: trial config)")
    gen.add_argument("--format", choices=["csv", "redcap", "odm"], default="csv")
    gen.add_argument("--mess-rate", type=float, default=1.0, help="multiplier of crf.md §7 defect rates; 0 = clean")
    gen.add_argument("--cross-defects", type=int, default=0,
                     help="inject N defects of each cross-table class (for the QA suites; default 0)")
    gen.add_argument("--out", required=True, help="output folder")
    gen.add_argument("--config", default=None, help="trial configuration YAML (default: the shipped one)")
    gen.set_defaults(func=cmd_generate)

    load = sub.add_parser("load", help="load an export into the warehouse (default: the embedded synthetic trial)")
    load.add_argument("export", nargs="?", default=None, help="export folder, .zip or ODM .xml file")
    load.add_argument("--home", default=None, help="warehouse folder (default: $TRIALWH_HOME or ./warehouse)")
    load.add_argument("--config", default=None, help="trial configuration YAML")
    load.add_argument("--verbose", action="store_true", help="print Dagster's step log while loading")
    load.set_defaults(func=cmd_load)

    cuts = sub.add_parser("cuts", help="list the data cuts of the warehouse")
    cuts.add_argument("--home", default=None, help="warehouse folder (default: $TRIALWH_HOME or ./warehouse)")
    cuts.set_defaults(func=cmd_cuts)

    lock = sub.add_parser("lock", help="freeze a data cut for analysis (database lock)")
    lock.add_argument("cut_id", help="a cut id from 'trialwh cuts'")
    lock.add_argument("--home", default=None, help="warehouse folder (default: $TRIALWH_HOME or ./warehouse)")
    lock.set_defaults(func=cmd_lock)

    adam = sub.add_parser("adam", help="derive ADaM datasets from an SDTM folder or zip into a DuckDB file")
    adam.add_argument("--sdtm", required=True, help="SDTM folder or .zip (XPT, Dataset-JSON, parquet or CSV)")
    adam.add_argument("--out", required=True, help="output DuckDB file (schemas adam and sdtm)")
    adam.add_argument("--config", default=None, help="trial configuration YAML")
    adam.set_defaults(func=cmd_adam)

    fnd = sub.add_parser("findings", help="the findings ledger: list findings, accept one with a comment")
    home = argparse.ArgumentParser(add_help=False)
    home.add_argument("--home", default=None, help="warehouse folder (default: $TRIALWH_HOME or ./warehouse)")
    fsub = fnd.add_subparsers(dest="action", required=True)
    flist = fsub.add_parser("list", parents=[home], help="open findings (new, persisting) with their keys")
    flist.add_argument("--all", action="store_true", help="resolved findings too")
    flist.add_argument("--rule", default=None, help="only this rule, e.g. XT04")
    facc = fsub.add_parser("accept", parents=[home], help="accept a finding: no query to the site; kept across loads")
    facc.add_argument("key", help="FINDING_KEY as listed")
    facc.add_argument("--comment", required=True, help="why the finding is accepted")
    fnd.set_defaults(func=cmd_findings)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:  # a configuration to mend, not a fault of the code: its message, no traceback
        print(f"trialwh: {exc}", file=sys.stderr)
        return 2


def exit_without_teardown(code: int) -> NoReturn:
    """Finish the process with ``code`` and skip the interpreter's teardown.

    Why: a load imports about 3,000 modules (Dagster, DuckDB, polars, pandas, SciPy, matplotlib,
    Great Expectations), and letting Python free them one by one after the work is done took 2-3 s
    of a 31-subject load on this machine (issue 8), with nothing left to write.

    Nothing is lost: every file of a load is closed before ``main`` returns (DuckDB connections,
    the published copy and its cut, the audit line). Here the remaining non-daemon threads are
    joined and the ``atexit`` handlers run (logging flushes its handlers there, temporary folders
    are removed), exactly as at a normal exit; then stdout and stderr are flushed and the process
    ends. An exception out of ``main`` never gets here: it exits the normal way, with its
    traceback."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # noqa: SLF001 - the handlers of a normal exit, before the one we skip
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def entry() -> NoReturn:
    """The ``trialwh`` command (``python -m pipeline.cli`` too): :func:`main`, then a quick exit."""
    exit_without_teardown(main())


if __name__ == "__main__":
    entry()
