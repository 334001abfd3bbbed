"""Dagster processes started by the ops tests: a throw-away instance, a started tool, its stop.

Each tool runs in its own process group (``start_new_session``), so stopping it also stops the
code server and run workers it spawned, and nothing else.
"""

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from pipeline.resources import PROJECT_ROOT

WORKSPACE = PROJECT_ROOT / "workspace.yaml"


def make_dagster_home(folder: Path, extra_yaml: str = "") -> Path:
    """A fresh DAGSTER_HOME as ``trialwh`` makes one (and ``extra_yaml`` appended)."""
    from pipeline.event_log import DAGSTER_YAML

    folder.mkdir(parents=True)
    (folder / "dagster.yaml").write_text(DAGSTER_YAML + extra_yaml)
    return folder


@contextlib.contextmanager
def dagster_tool(tool: str, args: list[str], env: dict, log_path: Path):
    """Run ``.venv/bin/<tool> args`` from the project root with ``env`` added; yield the process."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name(tool)), *args], cwd=PROJECT_ROOT, env={**os.environ, **env},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            yield proc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
