"""ADaM contracts (issue 4 item 4): each invariant fails on a frame that breaks it, holds on the
real derived datasets, and blocks as a Dagster asset check; the CLI refuses to write a broken
derivation."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import dagster as dg
import polars as pl

from schemas.adam import ADAM_MODELS, contract_failures
from schemas.contracts import failure_counts, validate_contract
from tests.conftest import query

D0 = date(2022, 1, 10)


def d(n: int) -> date:
    return D0 + timedelta(days=n)


def checks_failed(model, frame: pl.DataFrame) -> set[tuple[str, str]]:
    return {(c, k) for c, k, _ in failure_counts(validate_contract(model, frame)).iter_rows()}


def adsl(**over) -> pl.DataFrame:
    base = {"STUDYID": ["S"] * 3, "USUBJID": ["A", "B", "C"], "SUBJID": ["1", "2", "3"], "SITEID": ["01"] * 3,
            "ENRLFL": ["Y"] * 3, "ITTFL": ["Y"] * 3, "SAFFL": ["Y", "Y", "N"], "EFFFL": ["Y", "N", "N"],
            "MDIS": ["Y", "N", "N"], "TRTSDT": [d(0), d(0), None], "TRTEDT": [d(60), d(20), None],
            "DTHFL": [None, "Y", None], "DTHDT": [None, d(90), None], "LSTALVDT": [d(200), d(90), d(5)]}
    base.update(over)
    return pl.DataFrame(base)


def adtte(**over) -> pl.DataFrame:
    base = {"STUDYID": ["S"] * 3, "USUBJID": ["A", "B", "A"], "PARAMCD": ["PFS", "PFS", "OS"],
            "PARAM": ["Progression-Free Survival"] * 2 + ["Overall Survival"],
            "STARTDT": [d(0)] * 3, "ADT": [d(84), d(42), d(199)], "AVAL": [85, 43, 200], "CNSR": [0, 5, 1],
            "EVNTDESC": ["DISEASE PROGRESSION", "LAST ADEQUATE ASSESSMENT", "LAST KNOWN ALIVE"],
            "CNSDTDSC": [None, "LAST ADEQUATE ASSESSMENT", "LAST KNOWN ALIVE DATE"]}
    base.update(over)
    return pl.DataFrame(base)


def adrs(**over) -> pl.DataFrame:
    base = {"STUDYID": ["S"] * 4, "USUBJID": ["A", "A", "A", "A"], "PARAMCD": ["OVR", "OVR", "BOR", "CBCP"],
            "PARAM": ["Overall Response by Investigator"] * 2 + ["Best Overall Response", "CBCP"],
            "AVALC": ["PR", "PR", "PR", "Y"], "AVAL": [2, 2, 2, 1], "ADT": [d(42), d(84), d(42), d(42)],
            "ANL01FL": ["Y", "Y", None, None], "ANL02FL": ["Y", "Y", None, None]}
    base.update(over)
    return pl.DataFrame(base)


def test_valid_frames_pass():
    assert checks_failed(ADAM_MODELS["adsl"], adsl()) == set()
    assert checks_failed(ADAM_MODELS["adtte"], adtte()) == set()
    assert checks_failed(ADAM_MODELS["adrs"], adrs()) == set()


def test_adsl_one_row_per_subject_and_population_rules():
    assert ("ADSL", "unique_key") in checks_failed(ADAM_MODELS["adsl"], adsl(USUBJID=["A", "A", "C"]))
    assert ("ADSL", "safety_needs_dose") in checks_failed(ADAM_MODELS["adsl"], adsl(SAFFL=["Y", "Y", "Y"]))
    assert ("ADSL", "populations_nested") in checks_failed(ADAM_MODELS["adsl"], adsl(EFFFL=["Y", "N", "Y"]))
    assert ("ITTFL", "not_nullable") in checks_failed(ADAM_MODELS["adsl"], adsl(ITTFL=["Y", None, "Y"]))
    assert ("ADSL", "treatment_dates_ordered") in checks_failed(ADAM_MODELS["adsl"], adsl(TRTEDT=[d(60), d(-1), None]))


def test_adtte_one_per_subject_and_parameter_cnsr_and_aval():
    failed = checks_failed(ADAM_MODELS["adtte"], adtte(USUBJID=["A", "A", "A"]))
    assert ("ADTTE", "one_per_subject_and_param") in failed
    assert ("CNSR", "greater_than_or_equal_to(0)") in checks_failed(ADAM_MODELS["adtte"], adtte(CNSR=[0, -1, 1]))
    zero = adtte(AVAL=[85, 0, 200], ADT=[d(84), d(-1), d(199)])
    assert ("AVAL", "greater_than(0)") in checks_failed(ADAM_MODELS["adtte"], zero)
    assert ("ADTTE", "aval_is_days_from_start") in checks_failed(ADAM_MODELS["adtte"], adtte(AVAL=[84, 43, 200]))
    assert ("ADTTE", "censored_have_censor_date") in checks_failed(
        ADAM_MODELS["adtte"], adtte(CNSDTDSC=[None, None, "LAST KNOWN ALIVE DATE"]))
    assert ("PARAMCD", "isin(['PFS', 'PFSNC', 'OS', 'DOR', 'TTR'])") in checks_failed(
        ADAM_MODELS["adtte"], adtte(PARAMCD=["PFS", "PFS", "EFS"]))


def test_adrs_subject_level_parameters_unique_and_valued():
    # two OVR records of a subject are fine; two BOR records are not
    two_bor = adrs(PARAMCD=["OVR", "OVR", "BOR", "BOR"], AVALC=["PR", "PR", "PR", "SD"])
    assert ("ADRS", "one_per_subject_and_param") in checks_failed(ADAM_MODELS["adrs"], two_bor)
    assert ("ADRS", "avalc_domain") in checks_failed(ADAM_MODELS["adrs"], adrs(AVALC=["PR", "PR", "Y", "Y"]))
    assert ("ADRS", "avalc_domain") in checks_failed(ADAM_MODELS["adrs"], adrs(AVALC=["PR", "PR", "PR", "PR"]))


def test_adae_grade_range():
    frame = pl.DataFrame({"STUDYID": ["S"] * 2, "USUBJID": ["A", "A"], "AESEQ": [1, 2], "AEDECOD": ["Nausea"] * 2,
                          "ASTDT": [d(3), d(9)], "TRTEMFL": ["Y", "Y"], "ATOXGR": ["2", "6"], "ATOXGRN": [2, 6],
                          "AOCCPFL": ["Y", "Y"]})
    failed = checks_failed(ADAM_MODELS["adae"], frame)
    assert {("ATOXGRN", "in_range(1, 5)"), ("ADAE", "one_flagged_per_subject_pt")} <= failed
    assert any(c == "ATOXGR" and k.startswith("isin") for c, k in failed)


def _published_adam(db) -> dict[str, pl.DataFrame]:
    return {name: query(db, f"SELECT * FROM adam.{name}") for name in ADAM_MODELS}


def test_derived_datasets_conform(loaded):
    """Every dataset of the real loads (messy and clean) conforms; ADRS has BCP / CBCP / MDIS /
    DEATH once per subject and each equals its source."""
    for name in ("csv", "clean"):
        frames = _published_adam(loaded[name])
        assert contract_failures(frames) == {}
    frames = _published_adam(loaded["clean"])
    rs, adsl_ = frames["adrs"], frames["adsl"]
    per = rs.group_by("PARAMCD").agg(pl.len().alias("n"), pl.col("USUBJID").n_unique().alias("subjects"))
    counts = dict(zip(per["PARAMCD"], zip(per["n"], per["subjects"])))
    for p in ("BCP", "CBCP", "MDIS", "DEATH"):
        assert counts[p] == (adsl_.height, adsl_.height)
    assert rs["PARAM"].null_count() == 0 and rs["STUDYID"].null_count() == 0
    wide = rs.filter(pl.col("PARAMCD").is_in(["CBOR", "CBCP", "DEATH"])).pivot(on="PARAMCD", index="USUBJID", values="AVALC")
    joined = wide.join(adsl_.select("USUBJID", "DTHDT"), on="USUBJID")
    expected_cbcp = joined.select(pl.when(pl.col("CBOR").is_in(["CR", "PR"])).then(pl.lit("Y")).otherwise(pl.lit("N")))
    assert (joined["CBCP"] == expected_cbcp.to_series()).all()
    assert set(joined["CBCP"]) == {"Y", "N"}
    assert ((joined["DEATH"] == "Y") == joined["DTHDT"].is_not_null()).all()


def _duplicate_first_adsl_row(derive):
    """A derivation bug for the tests: ADSL with its first subject twice."""
    def broken(*args, **kwargs):
        frames = derive(*args, **kwargs)
        return {**frames, "adsl": pl.concat([frames["adsl"], frames["adsl"].head(1)])}
    return broken


def test_broken_adsl_blocks_as_asset_check(loaded, tmp_path, monkeypatch):
    """A derivation that gives a subject two ADSL rows fails the blocking ADSL contract, which
    names the key; the other datasets still conform."""
    import pipeline.adam.warehouse
    from assets.adam import adam_datasets
    from pipeline.resources import WarehouseDuckDB

    monkeypatch.setattr(pipeline.adam.warehouse, "derive_adam", _duplicate_first_adsl_row(pipeline.adam.warehouse.derive_adam))
    db = tmp_path / "trial.duckdb"
    shutil.copy(loaded["clean"], db)
    result = dg.materialize([adam_datasets], resources={"duckdb": WarehouseDuckDB(database=str(db))},
                            raise_on_error=False)
    evals = {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}
    contract = evals[("adsl", "contract")]
    assert not contract.passed
    assert contract.metadata["failures_by_check"].data == {"ADSL: unique_key": 2}
    assert evals[("adae", "contract")].passed
    assert all(s.blocking for s in adam_datasets.check_specs if s.name == "contract")


def test_cli_refuses_to_write_a_broken_derivation(loaded, tmp_path, capsys, monkeypatch):
    """``trialwh adam --sdtm`` whose ADSL breaks its contract exits 3, names the dataset and
    rule, and writes nothing."""
    import duckdb

    import pipeline.adam.build
    from pipeline.cli import main

    monkeypatch.setattr(pipeline.adam.build, "derive_adam", _duplicate_first_adsl_row(pipeline.adam.build.derive_adam))
    folder = tmp_path / "sdtm"
    folder.mkdir()
    con = duckdb.connect(str(loaded["clean"]), read_only=True)
    for name in ("dm", "ex", "ds", "ae"):
        con.execute(f"COPY (SELECT * FROM sdtm.{name}) TO '{folder / (name + '.parquet')}' (FORMAT parquet)")
    con.close()
    out = tmp_path / "adam.duckdb"
    assert main(["adam", "--sdtm", str(folder), "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert "ADSL.ADSL: unique_key (2 rows)" in err
    assert not out.exists()
