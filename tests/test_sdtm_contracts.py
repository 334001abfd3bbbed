"""SDTM contracts: the loaded domains pass their Pandera models; broken frames fail the right check;
a failing contract blocks what is downstream of the domain."""

import dagster as dg
import polars as pl
import pytest

from tests.conftest import query

from assets.sdtm_checks import contract_check, contract_result, domain_asset_keys
from schemas.sdtm import SDTM_MODELS, dataset_label, validate_contract, variable_labels


def _domains(db) -> list[str]:
    names = query(db, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'sdtm' ORDER BY 1")
    return [n for n in names["table_name"].to_list() if not n.startswith("int_")]


@pytest.fixture(scope="module")
def dm(clean_db) -> pl.DataFrame:
    return query(clean_db, "SELECT * FROM sdtm.dm")


def test_every_loaded_domain_passes_its_model(clean_db):
    domains = _domains(clean_db)
    assert "dm" in domains
    failures = {}
    for name in domains:
        if name not in SDTM_MODELS:
            continue
        cases = validate_contract(SDTM_MODELS[name], query(clean_db, f"SELECT * FROM sdtm.{name}"))
        if cases.height:
            failures[name] = cases.head(5).to_dicts()
    assert not failures


def test_models_carry_labels_and_keys():
    for name, model in SDTM_MODELS.items():
        label = dataset_label(model)
        assert label and len(label) <= 40, name
        labels = variable_labels(model)
        assert all(0 < len(v) <= 40 and len(k) <= 8 for k, v in labels.items()), name
        assert "STUDYID" in labels
    assert variable_labels(SDTM_MODELS["dm"])["USUBJID"] == "Unique Subject Identifier"
    assert dataset_label(SDTM_MODELS["suppae"]) == "Supplemental Qualifiers for AE"


def test_every_domain_asset_with_a_model_has_a_blocking_contract():
    from pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    check_keys = {k for k in graph.asset_check_keys if k.name == "contract"}
    expected = {dg.AssetCheckKey(k, "contract") for k in domain_asset_keys() if k.path[-1] in SDTM_MODELS}
    assert expected and expected <= check_keys
    assert not any(k.asset_key.path[-1].startswith("int_") for k in check_keys)
    for key in expected:
        assert graph.get_check_spec(key).blocking


def _checks_failed(cases: pl.DataFrame) -> set[tuple[str, str]]:
    return {(c, k) for c, k in cases.select("column", "check").iter_rows()}


def test_broken_dm_fails_with_the_expected_checks(dm):
    broken = pl.concat([dm, dm.head(1)])  # duplicate subject
    row = pl.int_range(pl.len())
    broken = broken.with_columns(
        pl.when(row == 1).then(pl.lit("X")).otherwise(pl.col("SEX")).alias("SEX"),
        pl.when(row == 2).then(None).otherwise(pl.col("USUBJID")).alias("USUBJID"),
    )
    cases = validate_contract(SDTM_MODELS["dm"], broken)
    failed = _checks_failed(cases)
    assert ("DM", "unique_key") in failed
    assert ("SEX", "isin(['M', 'F', 'U'])") in failed
    assert ("USUBJID", "not_nullable") in failed
    assert cases.filter(pl.col("check") == "unique_key").height == 2  # both copies of the subject
    result = contract_result("dm", broken)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["failures"].value == cases.height


def test_missing_required_column_and_wrong_type_fail(dm):
    cases = validate_contract(SDTM_MODELS["dm"], dm.drop("COUNTRY").with_columns(pl.col("AGE").cast(pl.Utf8)))
    failed = _checks_failed(cases)
    assert ("COUNTRY", "column_in_dataframe") in failed
    assert ("AGE", "dtype('Num')") in failed


def test_non_ct_aeacn_fails(clean_db):
    ae = query(clean_db, "SELECT * FROM sdtm.ae") if "ae" in _domains(clean_db) else None
    if ae is None or ae.is_empty():
        pytest.skip("no AE table in this load")
    assert validate_contract(SDTM_MODELS["ae"], ae.with_columns(pl.lit("MULTIPLE").alias("AEACN"))).is_empty()
    broken = ae.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("DOSE DELAYED"))
                             .otherwise(pl.col("AEACN")).alias("AEACN"))
    cases = validate_contract(SDTM_MODELS["ae"], broken)
    assert cases.filter(pl.col("column") == "AEACN")["failure_case"].to_list() == ["DOSE DELAYED"]


def test_toxicity_grade_and_seq_checks():
    model = SDTM_MODELS["ae"]
    schema = model.to_schema()
    toxgr = [c for c in schema.columns["AETOXGR"].checks if "isin" in str(c)][0]
    assert "5" in str(toxgr) and "6" not in str(toxgr)
    assert any("greater_than_or_equal_to(1)" in str(c) for c in schema.columns["AESEQ"].checks)


def test_failing_contract_blocks_downstream(tmp_path, dm):
    from dagster_duckdb import DuckDBResource

    from pipeline.warehouse_io import write_table

    @dg.asset(key=["sdtm", "dm"])
    def fake_dm(duckdb: DuckDBResource):
        with duckdb.get_connection() as con:
            write_table(con, "sdtm.dm", dm.with_columns(pl.lit("X").alias("SEX")))

    @dg.asset(key=["after", "dm"], deps=[fake_dm])
    def downstream():
        return None

    result = dg.materialize(
        [fake_dm, downstream, contract_check(dg.AssetKey(["sdtm", "dm"]))],
        resources={"duckdb": DuckDBResource(database=str(tmp_path / "w.duckdb"))},
        raise_on_error=False,
    )
    evaluations = result.get_asset_check_evaluations()
    assert [e.passed for e in evaluations] == [False]
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["sdtm", "dm"]) in materialized
    assert dg.AssetKey(["after", "dm"]) not in materialized
