"""Great Expectations in its helper process (``pipeline.qa.gx_process``): the same results as
in-process, and every way the helper can fail ends the request with a message that says why."""

import sys

import polars as pl
import pytest

from pipeline.qa.gx_process import GxHelper, GxHelperError
from pipeline.qa.gx_suites import SHOWN, run_suites


@pytest.fixture(scope="module")
def helper():
    """One helper for the tests of this module (each start imports GX: seconds)."""
    shared = GxHelper()
    yield shared
    shared.close()


def _violations(n: int) -> pl.DataFrame:
    return pl.DataFrame({c: [f"{c.lower()}{i}" for i in range(n)] for c in SHOWN})


def _distributions() -> pl.DataFrame:
    """XT09's frame: one lab test inside its band, one far above it (position 1.6)."""
    return pl.DataFrame({"PARAMCD": ["HGB", "ALT"], "POS": [0.4, 1.6], "N_UNITS": [1, 1], "N": [40, 40]})


def test_the_helper_answers_as_the_suites_do_in_process(helper, tmp_path):
    """Rule XT04 with 5 violating rows and a cap of 2, XT01 with none, XT09 with one test out of
    its band: the helper's results equal the in-process ones, and it writes the Data Docs."""
    violations = {"XT01": _violations(0), "XT04": _violations(5), "XT09": _violations(1)}
    expected = run_suites(violations, _distributions(), tmp_path / "here", min_n=20, max_rows=2)
    got = helper.run_suites(violations, _distributions(), tmp_path / "there", min_n=20, max_rows=2)
    again = helper.run_suites({"XT01": _violations(0)}, _distributions(), tmp_path / "again", min_n=20, max_rows=2)
    assert got == expected
    assert (got["XT01"].success, got["XT04"].success, got["XT09"].success) == (True, False, False)
    assert got["XT04"].violations == 5
    assert got["XT04"].observed["expect_table_row_count_to_equal"]["observed_value"] == 2
    pages = [p.read_text(encoding="utf-8") for p in (tmp_path / "there").rglob("*.html")]
    assert any("5 violating rows; GX validated the first 2" in page for page in pages)
    assert again == {"XT01": expected["XT01"]}  # one helper answers request after request


def test_an_error_in_the_suites_comes_back_with_its_traceback(helper, tmp_path):
    with pytest.raises(GxHelperError, match="(?s)failed in its helper process.*ColumnNotFoundError: unable to find column \"SITEID\""):
        helper.run_suites({"XT04": pl.DataFrame({"X": [1]})}, _distributions(), tmp_path, min_n=20, max_rows=2)
    assert helper.run_suites({"XT01": _violations(0)}, _distributions(), tmp_path, min_n=20, max_rows=2)["XT01"].success


def test_a_helper_that_dies_fails_the_request_with_its_log(tmp_path):
    died = GxHelper([sys.executable, "-c", "import sys; sys.stdin.readline(); print('out of memory', file=sys.stderr); sys.exit(3)"])
    with pytest.raises(GxHelperError, match="(?s)helper process ended \\(exit 3\\).*out of memory"):
        died.run_suites({"XT01": _violations(0)}, _distributions(), tmp_path, min_n=20, max_rows=2)


def test_a_silent_helper_is_stopped_after_the_timeout(tmp_path):
    stuck = GxHelper([sys.executable, "-c", "import sys, time; sys.stdin.readline(); time.sleep(60)"],
                     reply_timeout_s=1)
    with pytest.raises(GxHelperError, match="gave no answer in 1 s and was stopped"):
        stuck.run_suites({"XT01": _violations(0)}, _distributions(), tmp_path, min_n=20, max_rows=2)
    assert stuck._proc.poll() is not None  # noqa: SLF001 - the stuck process is gone


def test_a_helper_that_died_between_runs_is_started_again(helper, tmp_path):
    helper.start()
    dead = helper._proc  # noqa: SLF001
    dead.kill()  # as an OOM killer would
    dead.wait()
    got = helper.run_suites({"XT01": _violations(0)}, _distributions(), tmp_path, min_n=20, max_rows=2)
    assert got["XT01"].success and helper._proc is not dead  # noqa: SLF001 - a new process answered


def test_the_gx_resource_starts_the_helper_for_small_exports_only(tmp_path):
    """The export the run loads, launch-time configuration included, decides: up to
    ``max_export_mb`` the run's GX goes to the helper, above it GX stays in the step."""
    import dagster as dg

    from pipeline.resources import GxRunner, build_resources

    export = tmp_path / "export"
    export.mkdir()
    (export / "AE.csv").write_bytes(b"x" * 3 * 2**20)
    (export / "DM.csv").write_bytes(b"x" * 2**20)
    seen = []

    @dg.asset
    def probe(gx: dg.ResourceParam[GxRunner]):
        seen.append(gx.in_helper)

    job = dg.Definitions(assets=[probe], resources=build_resources(tmp_path / "home"),
                         jobs=[dg.define_asset_job("j")]).resolve_job_def("j")
    for limit in (4.0, 3.9):
        result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), run_config={"resources": {
            "warehouse": {"config": {"export_path": str(export)}}, "gx": {"config": {"max_export_mb": limit}}}})
        assert result.success
    assert seen == [True, False]  # 4 MB of export: within 4.0, above 3.9
