"""Where the warehouse lives, in one place.

``WarehouseResource`` knows every path a load touches: the export it reads, the working
DuckDB file a run writes, the staging folder, and the published analyst copy. Nothing else in
the code builds these paths, so switching to another location (a test's tmp dir, a shared
drive) is one setting: ``TRIALWH_HOME`` or the resource config.

DuckDB allows one writing process per file. A run therefore only ever writes
``build/trial.duckdb``; analysts read ``trial.duckdb``, which ``publish`` replaces atomically
once a load has succeeded. No connection is opened at import or definition time.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import dagster as dg
import duckdb
from dagster._utils.backoff import backoff
from pydantic import PrivateAttr
from dagster_duckdb import DuckDBResource

from pipeline import load_lock
from pipeline.warehouse_io import duckdb_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def export_files(entry: Path) -> list[Path]:
    """The files of an export: every file under a folder (sorted), or the file itself (a zip,
    an ODM file)."""
    return sorted(p for p in entry.rglob("*") if p.is_file()) if entry.is_dir() else [entry]


def default_home() -> Path:
    return Path(os.environ.get("TRIALWH_HOME") or PROJECT_ROOT / "warehouse").resolve()


class WarehouseResource(dg.ConfigurableResource):
    """Paths of one warehouse and the export a load reads."""

    home: str = ""  # empty: TRIALWH_HOME or <project>/warehouse
    export_path: str = ""  # empty: the embedded default synthetic trial

    @property
    def root(self) -> Path:
        return Path(self.home).resolve() if self.home else default_home()

    @property
    def published_path(self) -> Path:
        return self.root / "trial.duckdb"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    @property
    def working_path(self) -> Path:
        return self.build_dir / "trial.duckdb"

    @property
    def staging_dir(self) -> Path:
        return self.build_dir / "staging"

    @property
    def state_dir(self) -> Path:
        """What must outlive the working file: the findings ledger and the load history."""
        return self.root / "state"

    @property
    def reports_dir(self) -> Path:
        """Reports for people: Data Docs (``qa/``), query listings (``queries/``), analysis
        reports (``analysis/``)."""
        return self.root / "reports"

    @property
    def analysis_reports_dir(self) -> Path:
        """The analysis report: ``<run_id>/`` per run and ``latest/`` (the last successful one)."""
        return self.reports_dir / "analysis"

    @property
    def cuts_dir(self) -> Path:
        """Data cuts: one read-only snapshot per successful load (``pipeline.cuts``)."""
        return self.root / "cuts"

    @property
    def audit_path(self) -> Path:
        """Append-only audit trail of loads (``pipeline.audit``); survives failed runs."""
        return self.state_dir / "audit.jsonl"

    @property
    def landing_dir(self) -> Path:
        """Where a new export is dropped to start a load (the landing sensor)."""
        return self.root / "landing"

    @property
    def restricted_dir(self) -> Path:
        """Direct identifiers of the subjects, owner-only (``pipeline.privacy``); never published."""
        return self.root / "restricted"

    @property
    def default_export_dir(self) -> Path:
        return self.root / "default_export"

    @property
    def export_location(self) -> Path:
        """Where the export a load reads is: the configured one, else the embedded default's
        folder (which may not be generated yet)."""
        return Path(self.export_path).expanduser() if self.export_path else self.default_export_dir

    def export_megabytes(self) -> float:
        """Size of the export a load reads, in MB (files of a folder added up); 0 for the
        embedded default before it is generated (a 31-subject trial)."""
        path = self.export_location
        if not path.exists():
            return 0.0
        return sum(p.stat().st_size for p in export_files(path)) / 2**20

    def resolved_export(self) -> Path:
        """The export to load: the configured one, else the embedded default (generated on first use)."""
        if self.export_path:
            path = self.export_location.resolve()
            if not path.exists():
                raise FileNotFoundError(f"export not found: {path}")
            return path
        from pipeline.default_export import ensure_default_export

        return ensure_default_export(self.default_export_dir)


class WarehouseDuckDB(DuckDBResource):
    """dagster-duckdb on the working file, with one DuckDB connection for the whole run.

    dagster-duckdb opens the file for every ``get_connection`` and closes it afterwards. Opening
    reads the file's whole catalogue and closing checkpoints it, about 0.1 s each time: with ~90
    steps that was a third of a trial-sized load (issue 8). The in-process executor sets this
    resource up once per run, so the file is opened on the first ``get_connection`` of the run
    (never at definition time), every step works on its own cursor of that connection, and the
    file is closed, and so checkpointed, when the run ends or when :meth:`release` is called by a
    step that must read the file from disk itself (publishing).

    The folder is created first: without it DuckDB cannot create the file, and the connection
    retries (meant for a lock held by another process) would wait minutes before failing.
    """

    _shared: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)
    _load_lock: IO[str] | None = PrivateAttr(default=None)

    def setup_for_execution(self, context) -> None:
        """Take the warehouse's load lock for the run (``pipeline.load_lock``): a second load of
        the same warehouse fails here, before any step has touched it."""
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        run_id = context.run.run_id if context.run else None
        self._load_lock = load_lock.acquire(Path(self.database).parent / load_lock.LOCK_NAME, run_id)
        try:
            super().setup_for_execution(context)
        except BaseException:  # not set up, so no teardown: the lock must not outlive this run
            load_lock.release(self._load_lock)
            self._load_lock = None
            raise

    def teardown_after_execution(self, context) -> None:
        try:
            self.release()
            super().teardown_after_execution(context)
        finally:
            if self._load_lock is not None:
                load_lock.release(self._load_lock)
                self._load_lock = None

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._shared is None:
            self._shared = backoff(
                fn=duckdb.connect, retry_on=(RuntimeError, duckdb.IOException), max_retries=10,
                kwargs={"database": self.database, "read_only": False,
                        "config": {"custom_user_agent": "dagster", **self.connection_config}},
            )
        cursor = self._shared.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    def start_fresh(self) -> None:
        """Delete the working file and its write-ahead log: the run then opens a new, empty one.

        Called by the first step of a load (``raw/export``) before anything of the run opened
        the file; a re-execution from failure skips that step and finds the tables of its
        parent run. The file is deleted under its own write lock (the POSIX lock DuckDB takes),
        so a file another process still writes is never deleted under it; the old file is not
        opened as a database (a killed run may have left it unreadable)."""
        if self._shared is not None:
            raise RuntimeError("the working file is already open in this run: start_fresh must come first")
        path = Path(self.database)
        if path.exists():
            with open(path, "r+b") as fh:
                try:
                    fcntl.lockf(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:  # the message is the root cause a data manager sees
                    raise RuntimeError(f"{path} is in use by another process ({exc.strerror})") from None
                path.unlink()
        path.with_name(path.name + ".wal").unlink(missing_ok=True)

    def release(self) -> None:
        """Close the run's connection (a checkpoint): the file on disk is then complete."""
        if self._shared is not None:
            self._shared.close()
            self._shared = None


class GxRunner:
    """Runs the Great Expectations suites of ``qa/gx_validation``: in the helper process
    (:mod:`pipeline.qa.gx_process`) when the run started one, else in this process."""

    def __init__(self, in_helper: bool) -> None:
        self.in_helper = in_helper

    def run_suites(self, violations, distributions, docs_dir: Path, min_n: int, max_rows: int):
        """:func:`pipeline.qa.gx_suites.run_suites`, where this run runs GX."""
        if self.in_helper:
            from pipeline.qa.gx_process import helper

            return helper().run_suites(violations, distributions, docs_dir, min_n, max_rows)
        from pipeline.qa.gx_suites import run_suites

        return run_suites(violations, distributions, docs_dir, min_n, max_rows)


@dg.resource(
    required_resource_keys={"warehouse"},
    config_schema={"max_export_mb": dg.Field(float, is_required=False,
                                             description="default: ops.scale.gx_helper_max_export_mb")},
    description="Great Expectations for qa/gx_validation, in a helper process started with the run "
                "when the export is small (pipeline/qa/gx_process.py).",
)
def gx_resource(context: dg.InitResourceContext) -> GxRunner:
    """Set up when a run that validates with GX begins (a run without ``qa/gx_validation`` never
    sets it up): starts the GX helper process, which imports GX while the run's first steps work,
    if the export is at most ``max_export_mb``.

    Why a size rule: the helper saves the 2.5-3.5 s import of a trial-sized load (a tenth of it)
    but holds about 350 MB for the whole run. For a large export those seconds are nothing beside
    the load and the 350 MB would sit beside its memory peak, so GX is imported in the step, in
    this process, as it always was. The export is the run's, launch-time configuration included
    (the ``warehouse`` resource, a dependency for that reason)."""
    from pipeline import config

    limit = context.resource_config.get("max_export_mb")
    if limit is None:
        limit = float(config.ops()["scale"]["gx_helper_max_export_mb"])
    in_helper = context.resources.warehouse.export_megabytes() <= limit
    if in_helper:
        from pipeline.qa.gx_process import helper

        helper().start()
    return GxRunner(in_helper)


def build_resources(home: str | os.PathLike | None = None, export_path: str | os.PathLike | None = None) -> dict:
    """The resources of one warehouse: its paths, DuckDB (dagster-duckdb) on the working file,
    where Great Expectations runs (``gx``), and the start-of-load record of killed loads
    (``dead_loads``)."""
    from pipeline.dead_loads import dead_loads_resource

    warehouse = WarehouseResource(home=str(home or ""), export_path=str(export_path or ""))
    return {
        "warehouse": warehouse,
        "gx": gx_resource,
        "dead_loads": dead_loads_resource,
        "duckdb": WarehouseDuckDB(
            database=str(warehouse.working_path),
            connection_config={**duckdb_settings(), "preserve_insertion_order": True},
        ),
    }
