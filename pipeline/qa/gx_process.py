"""Great Expectations in a helper process, imported while the load runs.

Why a process: importing Great Expectations took 2.5-3.5 s of a 31-subject load on this machine
(its own pydantic models, then altair, marshmallow...), the largest single cost of the small load
(issue 8). A thread cannot hide it: the import holds the interpreter lock, and so does most of a
small load. A process can. The ``gx`` resource (:func:`pipeline.resources.gx_resource`) starts
the helper when a run that validates with GX begins and its export is small
(``ops.scale.gx_helper_max_export_mb``; a large load keeps GX in its step, see there). The
helper imports GX on the other core while the run stages, validates and derives;
``qa/gx_validation`` then hands it the rule frames and waits for the results. The suites
themselves are :func:`pipeline.qa.gx_suites.run_suites`, unchanged: the helper only moves where
they run.

Exchange, one request at a time: the parent writes every frame as Arrow IPC into a new folder,
with ``request.json`` (rules, Data Docs folder, limits), and sends the folder's path as one line
on the helper's stdin. The helper runs the suites and writes ``reply.json`` into that folder (the
results, or the error and its traceback), then answers with one line on its own channel. What GX
prints goes to the helper's log, never into the exchange.

One helper per Python process: started by the first run that needs it, reused by later runs of
the same process (the test suite; the UI and the daemon start a process per run), ended when
that process exits (closing its stdin ends it, and so does the process being killed). A helper
that has died is started again on the next request; a request it cannot answer fails the step
with the tail of its log.
"""

from __future__ import annotations

import atexit
import collections
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path

import polars as pl

from pipeline.qa.gx_suites import RuleResult

_LOG_LINES = 200  # the helper's last log lines kept for an error message
#: longest wait for one answer (the suites see at most qa.gx_max_rows_per_rule rows a rule and take
#: seconds; a helper silent this long is stuck, and the step fails rather than the load hanging)
REPLY_TIMEOUT_S = 900.0
_DISTRIBUTIONS = "_distributions"


class GxHelperError(RuntimeError):
    """The helper could not run the suites; the message has its error or its log's tail."""


class GxHelper:
    """The parent's handle on the helper process (see the module)."""

    def __init__(self, command: list[str] | None = None, reply_timeout_s: float = REPLY_TIMEOUT_S) -> None:
        self.command = command or [sys.executable, "-m", "pipeline.qa.gx_process"]
        self.reply_timeout_s = reply_timeout_s
        self._proc: subprocess.Popen | None = None
        self._drainer: threading.Thread | None = None
        self._log: collections.deque[str] = collections.deque(maxlen=_LOG_LINES)
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the helper unless one is running: it begins importing GX at once."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return
            self._log.clear()
            self._proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, encoding="utf-8")
            self._drainer = threading.Thread(target=self._drain, args=(self._proc.stderr, self._log), daemon=True,
                                             name="gx-helper-log")
            self._drainer.start()

    @staticmethod
    def _drain(stream, log: collections.deque) -> None:
        for line in stream:
            log.append(line.rstrip("\n"))

    def run_suites(self, violations: dict[str, pl.DataFrame], distributions: pl.DataFrame, docs_dir: Path,
                   min_n: int, max_rows: int) -> dict[str, RuleResult]:
        """:func:`pipeline.qa.gx_suites.run_suites` in the helper: same arguments, same results."""
        self.start()
        folder = Path(tempfile.mkdtemp(prefix="trialwh-gx-"))
        try:
            for rule, frame in violations.items():
                frame.write_ipc(folder / f"{rule}.arrow")
            distributions.write_ipc(folder / f"{_DISTRIBUTIONS}.arrow")
            (folder / "request.json").write_text(json.dumps({
                "rules": list(violations), "docs_dir": str(Path(docs_dir).resolve()),
                "min_n": min_n, "max_rows": max_rows,
            }))
            with self._lock:
                proc = self._proc
                try:
                    proc.stdin.write(f"{folder}\n")
                    proc.stdin.flush()
                    ready, _, _ = select.select([proc.stdout], [], [], self.reply_timeout_s)
                    answered = proc.stdout.readline() if ready else None
                except (BrokenPipeError, OSError):
                    answered = ""
            if answered is None:
                proc.kill()
                proc.wait(timeout=30)
                raise GxHelperError(self._failure(f"the Great Expectations helper process gave no answer in "
                                                  f"{self.reply_timeout_s:g} s and was stopped"))
            if not answered:
                proc.wait(timeout=30)
                self._drainer.join(timeout=5)  # the whole log, up to the end
                raise GxHelperError(self._failure(f"the Great Expectations helper process ended (exit {proc.returncode})"))
            reply = json.loads((folder / "reply.json").read_text())
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if "error" in reply:
            raise GxHelperError(f"Great Expectations failed in its helper process:\n{reply['error']}")
        return {rule: RuleResult(rule, r["success"], r["violations"], r["observed"])
                for rule, r in reply["results"].items()}

    def _failure(self, what: str) -> str:
        tail = "\n".join(self._log) or "(nothing logged)"
        return f"{what}; its log ended with:\n{tail}"

    def close(self) -> None:
        """Close the helper's stdin: it then exits by itself (nobody waits for its teardown)."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                try:
                    self._proc.stdin.close()
                except OSError:
                    pass
            self._proc = None


_HELPER = GxHelper()
atexit.register(_HELPER.close)


def helper() -> GxHelper:
    """This process's helper (started on first use)."""
    return _HELPER


# ---------------------------------------------------------------------------------------------
# the helper's side


def _answer(folder: Path) -> None:
    """Run the request in ``folder`` and write its ``reply.json``."""
    try:
        from pipeline.qa.gx_suites import run_suites

        request = json.loads((folder / "request.json").read_text())
        violations = {rule: pl.read_ipc(folder / f"{rule}.arrow") for rule in request["rules"]}
        distributions = pl.read_ipc(folder / f"{_DISTRIBUTIONS}.arrow")
        results = run_suites(violations, distributions, Path(request["docs_dir"]), request["min_n"], request["max_rows"])
        reply = {"results": {rule: {"success": r.success, "violations": r.violations, "observed": r.observed}
                             for rule, r in results.items()}}
    except Exception:  # noqa: BLE001 - every failure goes back to the step that asked
        reply = {"error": traceback.format_exc()}
    (folder / "reply.json").write_text(json.dumps(reply))


def serve() -> None:
    """The helper's main: import GX, then answer requests until stdin closes."""
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything printed from here on goes to the log, not into the exchange
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations  # noqa: F401 - the reason this process exists: imported before it is needed

    for line in sys.stdin:
        _answer(Path(line.strip()))
        channel.write("done\n")
        channel.flush()
    channel.close()
    sys.stderr.flush()
    os._exit(0)  # nothing left to write; skip freeing GX's modules one by one


if __name__ == "__main__":
    serve()
