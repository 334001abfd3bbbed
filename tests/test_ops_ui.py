"""End-to-end through the Dagster UI server: GraphQL launch of ``nightly_load``, then a screenshot.

The webserver runs the project's workspace on a free port against a temporary instance and
warehouse. ``nightly_load`` is launched with the run config a data manager would type in the
Launchpad to load a chosen export (``resources.warehouse.config.export_path``); the test waits
for SUCCESS and checks the published warehouse and the audit trail. Headless Chromium then
renders the asset graph page (skipped, saying why, where no Chromium is installed).
"""

import json
import shutil
import socket
import struct
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline import audit
from tests.conftest import query
from tests.dagster_processes import WORKSPACE, dagster_tool, make_dagster_home

TIMEOUT_S = 300
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)

LAUNCH = """
mutation Launch($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
STATUS = 'query Status($runId: ID!) { runOrError(runId: $runId) { __typename ... on Run { status } } }'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(base: str, query_text: str, variables: dict) -> dict:
    request = urllib.request.Request(
        f"{base}/graphql", data=json.dumps({"query": query_text, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        payload = json.loads(response.read())
    assert "errors" not in payload, payload
    return payload["data"]


def _wait_until_up(base: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            data = _graphql(base, "{ repositoriesOrError { ... on RepositoryConnection { nodes { name } } } }", {})
            if data["repositoriesOrError"].get("nodes"):
                return
        except OSError:
            pass
        time.sleep(1)
    pytest.fail("the webserver did not load the workspace in time")


@pytest.fixture(scope="module")
def ui_run(exports, tmp_path_factory):
    """The webserver, and a nightly_load launched through GraphQL on the clean export."""
    tmp = tmp_path_factory.mktemp("ui")
    home = tmp / "wh"
    dagster_home = make_dagster_home(tmp / "dagster_home", (
        "run_coordinator:  # launch at once: no daemon runs here to dequeue\n"
        "  module: dagster.core.run_coordinator\n  class: DefaultRunCoordinator\n"
    ))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"DAGSTER_HOME": str(dagster_home), "TRIALWH_HOME": str(home)}
    args = ["-w", str(WORKSPACE), "-h", "127.0.0.1", "-p", str(port)]
    with dagster_tool("dagster-webserver", args, env, tmp / "webserver.log") as proc:
        _wait_until_up(base, proc, tmp / "webserver.log")
        _graphql(base, "mutation { setNuxSeen }", {})  # no first-visit community dialog over the graph
        launched = _graphql(base, LAUNCH, {"executionParams": {
            "selector": {"repositoryLocationName": "trialwh", "repositoryName": "__repository__", "jobName": "nightly_load"},
            "runConfigData": {"resources": {"warehouse": {"config": {"export_path": str(exports["clean"])}}}},
            "executionMetadata": {"tags": [{"key": "trialwh/trigger", "value": "ui"}]},
        }})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        deadline, status = time.monotonic() + TIMEOUT_S, None
        while time.monotonic() < deadline:
            status = _graphql(base, STATUS, {"runId": run_id})["runOrError"]["status"]
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                break
            time.sleep(1)
        yield {"base": base, "run_id": run_id, "status": status, "home": home, "tmp": tmp, "export": exports["clean"]}


def test_nightly_load_launched_through_graphql_succeeds(ui_run):
    assert ui_run["status"] == "SUCCESS"
    published = ui_run["home"] / "trial.duckdb"
    assert query(published, "SELECT count(*) AS n FROM adam.adsl")["n"][0] == 24
    trail = audit.read(ui_run["home"] / "state" / "audit.jsonl")
    assert [(r["run_id"], r["trigger"], r["export"]) for r in trail] == [(ui_run["run_id"], "ui", str(ui_run["export"]))]


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (looked for chromium, chromium-browser, google-chrome)")
def test_screenshot_of_the_asset_graph(ui_run):
    shot = ui_run["tmp"] / "asset_graph.png"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--virtual-time-budget=20000",
         f"--user-data-dir={ui_run['tmp'] / 'chromium-profile'}", "--window-size=1600,1000",
         f"--screenshot={shot}", f"{ui_run['base']}/asset-groups"],
        check=True, timeout=180, capture_output=True,
    )
    assert _png_size(shot) == (1600, 1000)
    assert shot.stat().st_size > 30_000, "the page rendered (almost) blank"
