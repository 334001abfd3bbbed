"""Publishing a load: the analyst warehouse, its data cut, its change report, its audit line.

A run writes only its working file, and that file never holds a direct identifier
(``pipeline.privacy``: they stay in the staged export and the restricted store). When the whole
load has succeeded, the working file is checkpointed and copied, as a file, next to the
published path; only what publishing adds is written into the copy: the change report against
the previous cut (``qa.change_report``) and the ops tables (``ops.cut``, ``ops.audit``). The copy
is checkpointed and then

1. linked as ``cuts/<cut id>.duckdb`` and catalogued (``pipeline.cuts``),
2. renamed over ``trial.duckdb`` with ``os.replace``: an atomic swap of directory entries.

A load killed between 1 and 2 leaves a catalogued cut that was never published; the next
publish deletes it before it picks the previous cut to compare with (``cuts.unpublished_cuts``),
so the cuts stay those of loads that reached the analysts.

Why a file copy: rebuilding the warehouse table by table took 140 s of a 948 s load at 100,000
subjects; a copy costs the disk's speed. Everything in the working file comes along as it is:
tables, views and the SQL layer's macros.

An analyst holding the old file open read-only keeps reading the old inode and is never
blocked; a new connection sees either the old or the new warehouse, never a half-written one.
A failed or killed load never reaches step 2, so the published file and the earlier cuts stay
as they were (a leftover temporary file is removed by the next publish).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb

from pipeline import audit, config, cuts
from pipeline.changes import build_change_report, change_detail, change_summary
from pipeline.forms import FORMS
from pipeline.warehouse_io import duckdb_settings


@dataclass
class Published:
    path: Path
    cut: cuts.Cut
    previous_cut: str | None
    changes: int
    change_summary: list[tuple]  # (form, site, subject, new, changed, deleted)
    change_detail: list[tuple]  # the first DETAIL_ROWS rows of qa.change_report
    removed_unpublished: list[str]  # cuts of killed loads that never reached the published path


def published_cut_id(published: Path, cuts_dir: Path) -> str | None:
    """The cut the published warehouse is; None when nothing is published or it cannot be told.

    A cut is a hard link of the very file that was published (``cuts._link_or_copy``), so the cut
    sharing the published file's inode is the one, and the file is not opened: an analyst's
    connection to it in this same Python process would refuse a second one with other settings.
    Where cuts are copies (another file system), the published file's ``ops.cut`` says it,
    unless this process has the file open with other settings; then None, and publishing
    removes nothing."""
    if not published.exists():
        return None
    for cut in cuts.list_cuts(cuts_dir):
        if os.path.samefile(cut.path(cuts_dir), published):
            return cut.cut_id
    try:
        con = duckdb.connect(str(published), read_only=True, config=duckdb_settings())
    except duckdb.Error:
        return None
    try:
        return con.execute("SELECT CUT_ID FROM ops.cut").fetchone()[0]
    except duckdb.CatalogException:  # a warehouse published before data cuts existed
        return None
    finally:
        con.close()


def checkpoint(database: Path) -> None:
    """Fold the write-ahead log into the file, so it can be attached read-only and copied.

    A file without a log is left unopened: the run's connection, closed just before publishing
    (``WarehouseDuckDB.release``), has folded it already, and opening the file only to learn that
    reads its whole catalogue (0.1 s on the trial)."""
    if not Path(f"{database}.wal").exists():
        return
    con = duckdb.connect(str(database), config=duckdb_settings())
    try:
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _ops_tables(con: duckdb.DuckDBPyConnection, cut: cuts.Cut, trail: list[dict]) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS ops")
    con.execute("""CREATE TABLE ops.cut (CUT_ID VARCHAR, CREATED_UTC VARCHAR, RUN_ID VARCHAR, EXPORT VARCHAR,
                   EXPORT_FILES JSON, CODE_VERSION VARCHAR, DATA_CUTOFF DATE)""")
    con.execute("INSERT INTO ops.cut VALUES (?, ?, ?, ?, ?, ?, ?)", [
        cut.cut_id, cut.created_utc, cut.run_id, cut.export, json.dumps(cut.export_files), cut.code_version,
        cut.data_cutoff,
    ])
    con.execute("""CREATE TABLE ops.audit (RUN_ID VARCHAR, STATUS VARCHAR, TRIGGER VARCHAR, STARTED_UTC VARCHAR,
                   RECORDED_UTC VARCHAR, PUBLISHED BOOLEAN, CUT_ID VARCHAR, RECORD JSON)""")
    con.executemany("INSERT INTO ops.audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
        [r["run_id"], r["status"], r.get("trigger"), r.get("started_utc"), r.get("recorded_utc"), r.get("published"),
         r.get("cut_id"), json.dumps(r, sort_keys=True, default=str)] for r in trail
    ])


def _build(tmp: Path, working: Path, previous: cuts.Cut | None, cuts_dir: Path, cut: cuts.Cut,
           trail: list[dict]) -> tuple[int, list, list]:
    tmp.unlink(missing_ok=True)
    shutil.copyfile(working, tmp)
    con = duckdb.connect(str(tmp), config=duckdb_settings())
    try:
        current = con.execute("SELECT current_database()").fetchone()[0]
        if previous is not None:
            con.execute(f"ATTACH '{previous.path(cuts_dir)}' AS previous (READ_ONLY)")
        changes = build_change_report(con, current, "previous" if previous else None, list(FORMS))
        if previous is not None:
            con.execute("DETACH previous")
        _ops_tables(con, cut, trail)
        con.execute("CHECKPOINT")
        return changes, change_summary(con), change_detail(con)
    finally:
        con.close()


def publish_load(warehouse, instance: dg.DagsterInstance, run_id: str, staged: dict, now: datetime) -> Published:
    """Publish the working file of run ``run_id`` as the analyst warehouse and a new data cut."""
    root, published = warehouse.root, warehouse.published_path
    checkpoint(warehouse.working_path)
    for leftover in root.glob(f".{published.name}.*.tmp"):
        leftover.unlink(missing_ok=True)

    con = duckdb.connect(str(warehouse.working_path), read_only=True, config=duckdb_settings())
    try:
        rows = dict(con.execute("SELECT FORM, ROWS_ACCEPTED FROM qa.load_summary ORDER BY FORM").fetchall())
    finally:
        con.close()
    cut = cuts.Cut(
        cut_id=cuts.new_cut_id(now, staged["files"]), created_utc=now.isoformat(), run_id=run_id,
        export=staged["source"], export_files=staged["files"], code_version=cuts.code_version(),
        data_cutoff=config.data_cutoff().isoformat(), rows=rows,
    )
    unpublished = cuts.unpublished_cuts(warehouse.cuts_dir, published_cut_id(published, warehouse.cuts_dir))
    for orphan in unpublished:
        cuts.delete_cut(warehouse.cuts_dir, orphan.cut_id)
    previous = cuts.latest_cut(warehouse.cuts_dir)
    record = audit.run_record(
        instance, run_id, audit.PUBLISHED, cut_id=cut.cut_id, previous_cut_id=previous.cut_id if previous else None,
        export=cut.export, export_files=cut.export_files, code_version=cut.code_version, rows=rows,
        data_cutoff=cut.data_cutoff,
    )
    tmp = root / f".{published.name}.{os.getpid()}.tmp"
    changes, summary, detail = _build(tmp, warehouse.working_path, previous, warehouse.cuts_dir, cut,
                     [*audit.read(warehouse.audit_path), record])
    cuts.save_cut(tmp, warehouse.cuts_dir, cut)
    os.chmod(tmp, cuts.READ_ONLY)
    cuts.replace_durably(tmp, published, copy=False)
    audit.append(warehouse.audit_path, {**record, "changes": changes})
    cuts.prune_cuts(warehouse.cuts_dir, config.ops()["cuts"]["keep_unlocked"])
    return Published(published, cut, previous.cut_id if previous else None, changes, summary, detail,
                     [c.cut_id for c in unpublished])
