"""Data cuts: every successful load kept as an immutable, queryable snapshot.

A cut is ``cuts/<id>.duckdb`` (the published warehouse of that load, read-only) plus
``cuts/<id>.json``: the export's file hashes, the code version, the data cut-off date and the
lock flag. The JSON is written last, so a cut without one is the leftover of a killed load and
is neither listed nor compared against. Files are written next to their final name, flushed,
and renamed into place (``os.replace``), so a cut is either complete or absent.

``trialwh lock CUT_ID`` freezes a cut for analysis (the database lock of a trial): it is never
pruned, deleted or overwritten. Unlocked cuts beyond ``ops.cuts.keep_unlocked`` are pruned,
oldest first, which keeps the disk use of a nightly schedule bounded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from pipeline.resources import PROJECT_ROOT

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
SOURCE_DIRS = ("pipeline", "assets", "schemas", "dbt_like_sql")


class CutLockedError(RuntimeError):
    """Raised when something would change or delete a locked cut."""


@dataclass
class Cut:
    cut_id: str
    created_utc: str
    run_id: str
    export: str
    export_files: list[dict]
    code_version: str
    data_cutoff: str
    rows: dict = field(default_factory=dict)
    locked: bool = False
    locked_utc: str | None = None

    def path(self, cuts_dir: Path) -> Path:
        return cuts_dir / f"{self.cut_id}.duckdb"


def source_tree_hash(root: Path = PROJECT_ROOT) -> str:
    """sha256 over the pipeline's source files (path + bytes): the code version without git."""
    digest = hashlib.sha256()
    for folder in SOURCE_DIRS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".sql", ".yaml", ".yml"):
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def code_version(root: Path = PROJECT_ROOT) -> str:
    """``git describe`` of the checkout (``-dirty`` when edited) and the source-tree hash."""
    tree = source_tree_hash(root)[:12]
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"], cwd=root, capture_output=True,
            text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        from importlib.metadata import PackageNotFoundError, version

        try:
            described = version("trialwh")
        except PackageNotFoundError:
            described = "unversioned"
    return f"{described}+src.{tree}"


def new_cut_id(now: datetime, export_files: list[dict]) -> str:
    """``<UTC timestamp>-<hash of the export's file hashes>``: sorts by time, names the input."""
    digest = hashlib.sha256("".join(sorted(f["sha256"] for f in export_files)).encode()).hexdigest()
    return f"{now:%Y%m%dT%H%M%SZ}-{digest[:8]}"


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link_or_copy(src: Path, dst: Path) -> None:
    """A hard link when ``src`` and ``dst`` share a file system, else a byte copy.

    Why: the cut of a load is the very file that is then published; both are read-only and
    never written in place (a new load renames a new file over the published path), so one
    inode serves both and a snapshot of a 100,000-subject warehouse costs no copy and no
    second copy of its gigabytes on disk."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def replace_durably(src: Path, dst: Path, copy: bool) -> None:
    """Copy (or move) ``src`` to ``dst`` via a flushed temporary file and an atomic rename;
    ``copy`` keeps ``src`` (linked where possible, see :func:`_link_or_copy`)."""
    if copy:
        tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        _link_or_copy(src, tmp)
    else:
        tmp = src
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, dst)
    _fsync_dir(dst.parent)


def _write_json(path: Path, payload: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    replace_durably(tmp, path, copy=False)


def list_cuts(cuts_dir: Path) -> list[Cut]:
    """Complete cuts (snapshot and catalogue entry), oldest first."""
    cuts = []
    for entry in sorted(cuts_dir.glob("*.json")) if cuts_dir.exists() else []:
        cut = Cut(**json.loads(entry.read_text(encoding="utf-8")))
        if cut.path(cuts_dir).exists():
            cuts.append(cut)
    return sorted(cuts, key=lambda c: c.cut_id)


def latest_cut(cuts_dir: Path) -> Cut | None:
    cuts = list_cuts(cuts_dir)
    return cuts[-1] if cuts else None


def get_cut(cuts_dir: Path, cut_id: str) -> Cut:
    for cut in list_cuts(cuts_dir):
        if cut.cut_id == cut_id:
            return cut
    raise KeyError(f"no data cut {cut_id!r} in {cuts_dir}")


def save_cut(database: Path, cuts_dir: Path, cut: Cut) -> Path:
    """Snapshot ``database`` as cut ``cut`` (refusing to overwrite any existing cut)."""
    cuts_dir.mkdir(parents=True, exist_ok=True)
    target = cut.path(cuts_dir)
    if target.exists() or (cuts_dir / f"{cut.cut_id}.json").exists():
        raise CutLockedError(f"data cut {cut.cut_id} exists already; cuts are never overwritten")
    replace_durably(database, target, copy=True)
    os.chmod(target, READ_ONLY)
    _write_json(cuts_dir / f"{cut.cut_id}.json", asdict(cut))
    return target


def lock_cut(cuts_dir: Path, cut_id: str, now: datetime) -> Cut:
    """Freeze a cut for analysis: never pruned or deleted afterwards."""
    cut = get_cut(cuts_dir, cut_id)
    if not cut.locked:
        cut.locked, cut.locked_utc = True, now.isoformat()
        entry = cuts_dir / f"{cut_id}.json"
        os.chmod(entry, 0o644)
        _write_json(entry, asdict(cut))
    os.chmod(cuts_dir / f"{cut_id}.json", READ_ONLY)
    os.chmod(cut.path(cuts_dir), READ_ONLY)
    return cut


def delete_cut(cuts_dir: Path, cut_id: str) -> None:
    cut = get_cut(cuts_dir, cut_id)
    if cut.locked:
        raise CutLockedError(f"data cut {cut_id} is locked (frozen for analysis) and cannot be deleted")
    (cuts_dir / f"{cut_id}.json").unlink()  # the catalogue entry first: the cut stops existing
    cut.path(cuts_dir).unlink(missing_ok=True)


def unpublished_cuts(cuts_dir: Path, published_cut_id: str | None) -> list[Cut]:
    """Unlocked cuts newer than the published one: saved by a load killed after it catalogued
    its cut and before it renamed its file over the published path (``pipeline.publish``), so
    never seen by analysts (and that load is audited as failed, ``pipeline.dead_loads``). With
    nothing published, or a published file that names no cut, none: nothing to tell them by."""
    if published_cut_id is None:
        return []
    return [c for c in list_cuts(cuts_dir) if c.cut_id > published_cut_id and not c.locked]


def prune_cuts(cuts_dir: Path, keep_unlocked: int) -> list[str]:
    """Delete the oldest unlocked cuts beyond ``keep_unlocked``, and leftovers of killed loads."""
    for leftover in cuts_dir.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)
    listed = {c.cut_id for c in list_cuts(cuts_dir)}
    for orphan in cuts_dir.glob("*.duckdb"):
        if orphan.stem not in listed:
            orphan.unlink(missing_ok=True)
    unlocked = [c for c in list_cuts(cuts_dir) if not c.locked]
    doomed = unlocked[: max(len(unlocked) - keep_unlocked, 0)]
    for cut in doomed:
        delete_cut(cuts_dir, cut.cut_id)
    return [c.cut_id for c in doomed]
