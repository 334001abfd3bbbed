"""Publishing the analyst copy of the warehouse.

A run writes only its working file. When the whole load has succeeded, the working file is
checkpointed and copied next to the published path, flushed to disk, and renamed over it with
``os.replace``: an atomic swap of directory entries. An analyst holding the old file open
read-only keeps reading the old inode and is never blocked; a new connection sees either the
old or the new warehouse, never a half-written one. A failed or killed load never reaches this
step, so the published file stays as it was.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb


def publish_atomically(working: Path, published: Path) -> Path:
    con = duckdb.connect(str(working))
    try:
        con.execute("CHECKPOINT")
    finally:
        con.close()
    published.parent.mkdir(parents=True, exist_ok=True)
    tmp = published.with_name(f".{published.name}.{os.getpid()}.tmp")
    shutil.copyfile(working, tmp)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, published)
    dir_fd = os.open(published.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return published
