"""ADaM layer on SDTM produced elsewhere (CDISC pilot, CDISCPILOT01) and on our own SDTM.

The pilot zip is the unmodified public fixture; it is unzipped into a temporary folder once
per module and never altered. Observed on it (assertions below):
- DM 306 subjects -> ADSL 306 rows;
- ENRLFL = ITTFL = 254 (306 minus 52 screen failures: ARMCD Scrnfail, no RFSTDTC);
- SAFFL = 254: subjects with an EX record with EXDOSE > 0 or a placebo administration (the
  pilot records placebo as EXDOSE 0); the same 254 as the pilot's own ADSL safety population;
- EFFFL null for everyone (no TU domain);
- ADAE 961 rows (one per AE record), 907 with TRTEMFL = Y; ADLB 59,580 rows (LBCH + LBHE +
  LBUR); ADEX 591 rows = EX rows (record level only: no BSA/cycles in the pilot).
"""

from __future__ import annotations

import contextlib
import io
import shutil
import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.adam.build import derive_adam
from pipeline.adam.sdtm_input import SdtmInputError, read_sdtm_folder
from pipeline.cli import main

PILOT_ZIP = Path("/work/shared/fixtures/cdiscpilot01/cdiscpilot_update2.zip")
if not PILOT_ZIP.exists():  # the fixture lives beside the project in /work/shared
    PILOT_ZIP = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "cdiscpilot01" / "cdiscpilot_update2.zip"

PILOT_SUBJECTS = 306
PILOT_ENRLFL = 254
PILOT_SAFFL = 254
PILOT_AE_ROWS = 961
PILOT_TEAE = 907
PILOT_LB_ROWS = 59580


@pytest.fixture(scope="module")
def pilot_dir(tmp_path_factory) -> Path:
    if not PILOT_ZIP.exists():
        pytest.skip(f"CDISC pilot fixture not found: {PILOT_ZIP}")
    root = tmp_path_factory.mktemp("cdiscpilot")
    with zipfile.ZipFile(PILOT_ZIP) as zf:
        zf.extractall(root)
    return root / "SDTM"


@pytest.fixture(scope="module")
def pilot_run(pilot_dir, tmp_path_factory) -> tuple[Path, str]:
    """``trialwh adam --sdtm <pilot folder> --out pilot.duckdb``: (database, printed output)."""
    out = tmp_path_factory.mktemp("pilot_adam") / "pilot.duckdb"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["adam", "--sdtm", str(pilot_dir), "--out", str(out)])
    assert rc == 0
    return out, buf.getvalue()


@pytest.fixture(scope="module")
def pilot_db(pilot_run) -> Path:
    return pilot_run[0]


def _q(db: Path, sql: str):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_pilot_cli_prints_counts(pilot_run):
    out = pilot_run[1]
    assert f"ENRLFL {PILOT_ENRLFL}, ITTFL {PILOT_ENRLFL}, SAFFL {PILOT_SAFFL}, EFFFL n/a" in out
    assert f"adae   {PILOT_AE_ROWS:>8} rows" in out
    assert "contracts: every dataset conforms to schemas/adam" in out


def test_pilot_adsl_one_row_per_dm_subject(pilot_db):
    (n_dm,), = _q(pilot_db, "SELECT count(DISTINCT USUBJID) FROM sdtm.dm")
    (n_adsl, n_distinct), = _q(pilot_db, "SELECT count(*), count(DISTINCT USUBJID) FROM adam.adsl")
    assert n_dm == PILOT_SUBJECTS
    assert n_adsl == n_distinct == n_dm


def test_pilot_populations(pilot_db):
    (enrl, itt, saf, eff_nonnull), = _q(
        pilot_db,
        "SELECT count(*) FILTER (ENRLFL = 'Y'), count(*) FILTER (ITTFL = 'Y'), count(*) FILTER (SAFFL = 'Y'), "
        "count(EFFFL) FROM adam.adsl",
    )
    assert enrl == itt == PILOT_ENRLFL
    assert saf == PILOT_SAFFL
    (dosed,), = _q(pilot_db, "SELECT count(DISTINCT USUBJID) FROM sdtm.ex WHERE EXDOSE > 0 OR upper(EXTRT) LIKE '%PLACEBO%'")
    assert saf == dosed
    assert eff_nonnull == 0  # no TU: measurable disease unknown
    # every dosed subject has treatment dates; nobody else does
    (bad,), = _q(pilot_db, "SELECT count(*) FROM adam.adsl WHERE (SAFFL = 'Y') <> (TRTSDT IS NOT NULL)")
    assert bad == 0


def test_pilot_adae_adlb_adex(pilot_db):
    (n_ae,), = _q(pilot_db, "SELECT count(*) FROM sdtm.ae")
    (n_adae, n_teae), = _q(pilot_db, "SELECT count(*), count(*) FILTER (TRTEMFL = 'Y') FROM adam.adae")
    assert n_adae == n_ae == PILOT_AE_ROWS
    assert n_teae == PILOT_TEAE > 0
    (n_adlb,), = _q(pilot_db, "SELECT count(*) FROM adam.adlb")
    assert n_adlb == PILOT_LB_ROWS > 0
    cols = {r[0] for r in _q(pilot_db, "SELECT column_name FROM duckdb_columns() WHERE schema_name='adam' AND table_name='adlb'")}
    assert {"ATOXGRL", "ATOXGRH", "ABLFL", "BASE"} <= cols
    (n_ex,), = _q(pilot_db, "SELECT count(*) FROM sdtm.ex")
    (n_adex,), = _q(pilot_db, "SELECT count(*) FROM adam.adex")
    assert n_adex == n_ex


def test_pilot_efficacy_is_os_only(pilot_db):
    """No RS / TR / TU in the pilot: no ADRS / ADTR; ADTTE (if any) holds OS only, one row per
    subject with a start date, AVAL > 0."""
    tables = {r[0] for r in _q(pilot_db, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'adam'")}
    assert not {"adrs", "adtr"} & tables
    if "adtte" in tables:
        (params, n, n_subj, aval_min, bad_cnsr), = _q(
            pilot_db, "SELECT string_agg(DISTINCT PARAMCD, ','), count(*), count(DISTINCT USUBJID), min(AVAL), "
                      "count(*) FILTER (CNSR IS NULL OR CNSR < 0) FROM adam.adtte")
        assert params == "OS" and n == n_subj and aval_min > 0 and bad_cnsr == 0


def test_pilot_missing_dm_names_dm(pilot_dir, tmp_path, capsys):
    folder = tmp_path / "no_dm"
    folder.mkdir()
    for name in ("ae.xpt", "ex.xpt", "ds.xpt", "suppae.xpt"):  # a delivery without dm.xpt
        shutil.copy(pilot_dir / name, folder / name)
    with pytest.raises(SdtmInputError, match=r"ADSL needs SDTM domain DM"):
        derive_adam(read_sdtm_folder(folder))
    assert main(["adam", "--sdtm", str(folder), "--out", str(tmp_path / "x.duckdb")]) == 2
    assert "DM" in capsys.readouterr().err


def test_reader_splits_and_zip(pilot_dir):
    sdtm = read_sdtm_folder(PILOT_ZIP)
    assert "lb" in sdtm and "lbch" not in sdtm and "supplb" in sdtm
    assert sdtm["lb"].height == PILOT_LB_ROWS
    assert sdtm["ts"].height > 0  # WINDOWS-1252 byte read
    assert sdtm["dm"]["RFICDTC"].null_count() == PILOT_SUBJECTS  # empty XPT text -> null


def _read_sdtm_schema(db: Path) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'sdtm' AND table_name NOT LIKE 'int_%'"
        ).fetchall()]
        return {n.lower(): pl.from_arrow(con.sql(f"SELECT * FROM sdtm.{n}").to_arrow_table()) for n in names}
    finally:
        con.close()


def test_synthetic_sdtm(loaded):
    db = loaded["clean"]
    sdtm = _read_sdtm_schema(db)
    frames = derive_adam(sdtm)
    adsl, adae = frames["adsl"], frames["adae"]
    assert adsl.height == sdtm["dm"].height == adsl["USUBJID"].n_unique()
    (with_ex,), = _q(db, "SELECT count(DISTINCT USUBJID) FROM sdtm.ex WHERE EXDOSE > 0")
    assert (adsl["SAFFL"] == "Y").sum() == with_ex
    (with_tl,), = _q(
        db,
        "SELECT count(DISTINCT t.USUBJID) FROM sdtm.tu t "
        "JOIN (SELECT USUBJID, min(substr(EXSTDTC, 1, 10)) AS first_dose FROM sdtm.ex WHERE EXDOSE > 0 GROUP BY 1) e "
        "USING (USUBJID) WHERE t.TUSTRESC = 'TARGET' AND substr(t.TUDTC, 1, 10) <= e.first_dose",
    )
    assert (adsl["EFFFL"] == "Y").sum() == with_tl > 0
    # worst AE grade in sdtm.ae -> ATOXGRN on that subject's AOCCFL record
    (subj, worst), = _q(
        db,
        "SELECT USUBJID, max(TRY_CAST(AETOXGR AS INTEGER)) g FROM sdtm.ae GROUP BY 1 ORDER BY g DESC, USUBJID LIMIT 1",
    )
    rec = adae.filter((pl.col("USUBJID") == subj) & (pl.col("AOCCFL") == "Y"))
    assert rec.height == 1
    assert rec["ATOXGRN"][0] == worst
    # one AOCCFL per subject with a TEAE; ADEX parameters copied to ADSL
    assert adae.filter(pl.col("AOCCFL") == "Y")["USUBJID"].n_unique() == adae.filter(pl.col("AOCCFL") == "Y").height
    assert {"CDOSEPI", "RDITMZ"} <= set(adsl.columns)
    assert frames["adex"].filter(pl.col("PARAMCD") == "DOSE").height == sdtm["ex"].height


def test_pilot_hgb_graded_in_g_per_litre(pilot_db):
    """The pilot reports HGB in mmol/L; CTCAE's thresholds are g/L: grade 3 (< 80 g/L) only where
    the converted value is below it (an independent recount on SDTM LB), not for every subject."""
    (adlb_g3,), = _q(pilot_db, "SELECT count(DISTINCT USUBJID) FROM adam.adlb WHERE PARAMCD = 'HGB' AND ATOXGRL IN ('3', '4')")
    (sdtm_g3,), = _q(pilot_db, "SELECT count(DISTINCT USUBJID) FROM sdtm.lb WHERE LBTESTCD = 'HGB' "
                               "AND LBSTRESU = 'mmol/L' AND LBSTRESN * 16.11 < 80")
    (graded,), = _q(pilot_db, "SELECT count(DISTINCT USUBJID) FROM adam.adlb WHERE PARAMCD = 'HGB' AND ATOXGRL IS NOT NULL")
    assert adlb_g3 == sdtm_g3
    assert graded > 200 and adlb_g3 < graded // 10
