"""Dagster processes started by the ops tests: a throw-away instance, a started tool, its stop,
and ``trialwh load`` run as its own process (killed at a chosen point by the fault tests).

Each tool runs in its own process group (``start_new_session``), so stopping it also stops the
code server and run workers it spawned, and nothing else.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.resources import PROJECT_ROOT

WORKSPACE = PROJECT_ROOT / "workspace.yaml"
LOAD_TIMEOUT_S = 300


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


def start_load(export, home, dagster_home) -> subprocess.Popen:
    """``trialwh load EXPORT --home HOME`` as its own process, as the scheduler would run it."""
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "load", str(export), "--home", str(home)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )


def kill_when(proc: subprocess.Popen, reached) -> None:
    """SIGKILL ``proc`` as soon as ``reached()`` is true; fail if the load ends first."""
    deadline = time.monotonic() + LOAD_TIMEOUT_S
    while not reached():
        if proc.poll() is not None:
            pytest.fail(f"the load ended (rc {proc.returncode}) before the kill point:\n{proc.stdout.read().decode()}")
        assert time.monotonic() < deadline, "kill point not reached in time"
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
