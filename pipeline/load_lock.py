"""One load of a warehouse at a time: an exclusive lock on ``<warehouse>/build/load.lock``.

Why: the daemon's run queue keeps its own runs apart (``max_concurrent_runs: 1``), but a
``trialwh load`` typed by hand, a test, or a second Dagster instance on the same warehouse
does not go through that queue. Two loads of one warehouse would share the working file and the
staging folder: the second deletes the staged export the first is reading (for the 40 s a
100,000-subject export takes to stage, before the first has the DuckDB file open), or fails
half-way with DuckDB's own lock error. So every run that writes the working file takes this
lock when it starts (``pipeline.resources.WarehouseDuckDB``) and keeps it to its end; a second
one fails at once, before touching anything, saying which load holds the warehouse.

``flock`` (not ``lockf``): the lock belongs to the open file, so two runs in one Python process
exclude each other too, and closing any other handle on the file does not drop it. The kernel
drops it when the holding process dies, so a killed load never leaves a stale lock; the holder's
description in the file is only for the message.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

LOCK_NAME = "load.lock"


class WarehouseBusyError(RuntimeError):
    """Another load holds the warehouse."""


def acquire(path: Path, run_id: str | None) -> IO[str]:
    """Take the lock at ``path`` for run ``run_id`` or raise :class:`WarehouseBusyError` naming
    the load that holds it; returns the open lock file (pass it to :func:`release`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "a load that has not described itself yet"
        handle.close()
        raise WarehouseBusyError(
            f"another load of this warehouse is running ({holder}); nothing was changed: "
            "start this load when that one has ended") from None
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname(),
                             "since_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")}))
    handle.flush()
    return handle


def release(handle: IO[str]) -> None:
    """Let the next load in (the description stays: it is read only while the lock is held)."""
    fcntl.flock(handle, fcntl.LOCK_UN)
    handle.close()
