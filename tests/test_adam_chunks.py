"""The ADaM layer derived by subject chunk: the same tables as in one piece, and contracts
whose failures in any chunk are reported by one merged check."""

import shutil

import dagster as dg
import duckdb
import polars as pl
import pytest
import yaml

import pipeline.adam.warehouse as adam_warehouse
from assets.adam import SDTM_KEYS, adam_datasets
from assets.contracts import contract_result, table_contract_result
from pipeline.adam.build import derive_adam
from pipeline.adam.warehouse import adam_chunk_rows, split_domains
from pipeline.config import DEFAULT_CONFIG_PATH
from pipeline.resources import WarehouseResource, build_resources
from pipeline.warehouse_io import ChunkedTable, read_table, subject_chunks, write_table
from schemas.adam import ADAM_MODELS
from schemas.sdtm import SDTM_MODELS

SMALL_CHUNK_ROWS = 1000  # 24-subject export: ~10 chunks of 2-3 subjects


def _materialise_adam(loaded_db, home, monkeypatch, rows: int | None):
    """Run the ``adam_datasets`` multi-asset on a copy of a loaded warehouse; ``rows``: the
    ADaM chunk size, set as ``ops.scale.adam_chunk_rows`` in a copy of the trial configuration
    (None: the shipped one). Returns the working file, the run and the chunks derived."""
    warehouse = WarehouseResource(home=str(home))
    warehouse.build_dir.mkdir(parents=True)
    shutil.copyfile(loaded_db, warehouse.working_path)
    con = duckdb.connect(str(warehouse.working_path))
    con.execute("DROP SCHEMA adam CASCADE")  # what the run writes must come from this run
    con.close()
    derived = []
    with monkeypatch.context() as m:
        if rows is not None:
            cfg = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
            cfg["ops"]["scale"]["adam_chunk_rows"] = rows
            (home / "trial_config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
            m.setenv("TRIALWH_CONFIG", str(home / "trial_config.yaml"))

        def counted(sdtm, **kw):  # DM subjects of each chunk derived
            derived.append(sdtm["dm"].height)
            return derive_adam(sdtm, **kw)

        m.setattr(adam_warehouse, "derive_adam", counted)
        result = dg.materialize([adam_datasets], resources=build_resources(home))
    assert result.success
    return warehouse.working_path, result, derived


def _adam_tables(db) -> dict[str, tuple[list, pl.DataFrame]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'adam' ORDER BY 1").fetchall()]
        return {n: ([(c[0], c[1]) for c in con.execute(f"DESCRIBE adam.{n}").fetchall()], read_table(con, f"adam.{n}"))
                for n in names}
    finally:
        con.close()


def _chunk_count(db, rows: int) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        subject, _ = split_domains(con, [k.path[-1] for k in SDTM_KEYS])
        return len(subject_chunks(con, [f"sdtm.{d}" for d in subject], max_rows=rows))
    finally:
        con.close()


def test_adam_tables_are_the_same_in_one_chunk_and_in_many(loaded, tmp_path, monkeypatch):
    one_db, one, one_chunks = _materialise_adam(loaded["csv"], tmp_path / "one", monkeypatch, None)
    many_db, many, many_chunks = _materialise_adam(loaded["csv"], tmp_path / "many", monkeypatch, SMALL_CHUNK_ROWS)
    assert _chunk_count(one_db, adam_chunk_rows()) == 1 and len(one_chunks) == 1
    # ops.scale.adam_chunk_rows is what cuts the chunks (not ops.scale.chunk_rows, left at its default)
    assert len(many_chunks) == _chunk_count(many_db, SMALL_CHUNK_ROWS) >= 8
    dm = duckdb.connect(str(one_db), read_only=True)
    assert sum(many_chunks) == one_chunks[0] == dm.execute("SELECT count(*) FROM sdtm.dm").fetchone()[0] > 20
    dm.close()  # every DM subject derived in exactly one chunk
    a, b = _adam_tables(one_db), _adam_tables(many_db)
    assert sorted(a) == sorted(ADAM_MODELS)
    for name in ADAM_MODELS:
        assert a[name][0] == b[name][0], f"adam.{name}: column names/types differ"
        assert a[name][1].height > 0
        assert a[name][1].equals(b[name][1]), f"adam.{name}: rows or their order differ"
    # the whole-trial derivation in memory (what `trialwh adam --sdtm` runs) gives the same records
    con = duckdb.connect(str(one_db), read_only=True)
    sdtm = {k.path[-1]: read_table(con, f"sdtm.{k.path[-1]}") for k in SDTM_KEYS}
    con.close()
    for name, frame in derive_adam(sdtm).items():
        assert frame.with_columns(pl.col(pl.Null).cast(pl.Utf8)).equals(a[name][1]), name
    # every check passes in both runs, and the row counts are those of the tables
    for result, tables in ((one, a), (many, b)):
        evaluations = result.get_asset_check_evaluations()
        assert len(evaluations) == 1 + 2 * len(ADAM_MODELS) - 1
        assert all(e.passed for e in evaluations)
        contracts = {e.asset_key.path[-1]: e.metadata for e in evaluations if e.check_name == "contract"}
        assert {n: m["rows"].value for n, m in contracts.items()} == {n: t[1].height for n, t in tables.items()}
        counts = {m.asset_key.path[-1]: m.metadata["dagster/row_count"].value
                  for m in result.asset_materializations_for_node("adam_datasets")}
        assert counts == {n: t[1].height for n, t in tables.items()}


def test_chunked_table_takes_its_schema_from_the_first_chunk_with_rows():
    con = duckdb.connect()
    t = ChunkedTable(con, "adam.x")
    empty = pl.DataFrame({"USUBJID": [], "V": [], "D": []}, schema={"USUBJID": pl.Utf8, "V": pl.Null, "D": pl.Null})
    assert t.append(empty).is_empty()
    assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'x'").fetchone() == (0,)
    t.append(pl.DataFrame({"USUBJID": ["S1"], "V": [1.5], "D": [None]}))  # D all null: text
    out = t.append(pl.DataFrame({"D": ["x"], "USUBJID": ["S2"], "V": [None]}))  # other order, V null-typed
    assert out.columns == ["USUBJID", "V", "D"] and out.schema["V"] == pl.Float64
    t.append(pl.DataFrame({"USUBJID": ["S3"], "V": [2]}))  # integer V, no D
    assert t.close() == 3
    assert con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'x' "
                       "ORDER BY ordinal_position").fetchall() == [("USUBJID", "VARCHAR"), ("V", "DOUBLE"), ("D", "VARCHAR")]
    assert con.execute("SELECT * FROM adam.x").fetchall() == [("S1", 1.5, None), ("S2", None, "x"), ("S3", 2.0, None)]
    with pytest.raises(ValueError, match="columns the table lacks"):
        t.append(pl.DataFrame({"USUBJID": ["S4"], "NEW": [1]}))
    # no chunk with rows: the table is still created, empty
    e = ChunkedTable(con, "adam.y")
    e.append(empty)
    assert e.close() == 0
    assert con.execute("SELECT count(*) FROM adam.y").fetchone() == (0,)



def test_chunked_table_writes_whole_row_groups_and_keeps_every_row_in_order():
    """Chunks are held until they fill a row group; each insert but the last ends on a row
    group boundary, and every row lands once, in order."""
    con = duckdb.connect()
    inserts: list[int] = []
    t = ChunkedTable(con, "s.t", row_group_rows=4)
    real = t._write

    def counting(*, whole_row_groups):
        before = con.execute("SELECT count(*) FROM s.t").fetchone()[0] if t._created else 0
        real(whole_row_groups=whole_row_groups)
        inserts.append(con.execute("SELECT count(*) FROM s.t").fetchone()[0] - before)

    t._write = counting
    for lo, n in ((0, 3), (3, 3), (6, 0), (6, 7), (13, 2)):  # 15 rows in chunks of 3, 3, 0, 7, 2
        t.append(pl.DataFrame({"I": list(range(lo, lo + n))}, schema={"I": pl.Int64}))
    assert inserts == [4, 8]  # 6 rows -> one group of 4 (2 wait); 2 + 7 -> two groups (1 waits)
    assert t.close() == 15
    assert inserts == [4, 8, 3]  # the remainder at close
    assert [r[0] for r in con.execute("SELECT I FROM s.t").fetchall()] == list(range(15))

@pytest.fixture()
def dm_db(loaded, tmp_path):
    """A warehouse whose DM breaks its contract in its last subject only (SEX X) and repeats
    that subject (a duplicate key), plus a first-subject failure."""
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute(f"ATTACH '{loaded['clean']}' AS src (READ_ONLY)")
    con.execute("CREATE SCHEMA sdtm")
    con.execute("CREATE TABLE sdtm.dm AS SELECT * FROM src.sdtm.dm ORDER BY USUBJID")
    last, first = con.execute("SELECT max(USUBJID), min(USUBJID) FROM sdtm.dm").fetchone()
    con.execute("UPDATE sdtm.dm SET SEX = 'X' WHERE USUBJID = ?", [last])
    con.execute("UPDATE sdtm.dm SET RACE = 'MARTIAN' WHERE USUBJID = ?", [first])
    con.execute("INSERT INTO sdtm.dm SELECT * FROM sdtm.dm WHERE USUBJID = ?", [last])
    frame = read_table(con, "sdtm.dm")
    con.close()
    return db, frame, last


def test_contract_failure_in_a_later_chunk_is_reported_by_the_merged_check(dm_db):
    db, frame, _ = dm_db
    con = duckdb.connect(str(db))
    assert len(subject_chunks(con, ["sdtm.dm"], max_rows=3)) >= 5
    merged = table_contract_result(con, SDTM_MODELS["dm"], "sdtm.dm", max_rows=3).metadata
    con.close()
    whole = contract_result(SDTM_MODELS["dm"], frame).metadata
    rows = frame.height
    # SEX X twice (rows rows-2 and rows-1 of the table: the last chunk), its duplicated key
    # twice, RACE once (row 0: the first chunk)
    by_check = {k.split("(")[0]: n for k, n in merged["failures_by_check"].value.items()}
    assert by_check == {"SEX: isin": 2, "RACE: isin": 1, "DM: unique_key": 2}
    assert merged["failures"].value == whole["failures"].value == 5
    assert merged["failures_by_check"].value == whole["failures_by_check"].value and merged["rows"].value == rows
    examples = merged["examples"].value
    for line in ("| RACE | `isin", "| MARTIAN | 0 |", "| SEX | `isin", f"| X | {rows - 2} |", f"| X | {rows - 1} |",
                 f"`unique_key` | {{\"STUDYID\":\"NCT05204524\",\"DOMAIN\":\"DM\",\"USUBJID\":\"NCT0520452 | {rows - 1} |"):
        assert line in examples, line
    assert merged["failures_table"].value == whole["failures_table"].value


def test_schema_level_failure_is_counted_once_over_chunks(dm_db):
    db, frame, _ = dm_db
    con = duckdb.connect(str(db))
    con.execute("ALTER TABLE sdtm.dm DROP COLUMN COUNTRY")
    merged = table_contract_result(con, SDTM_MODELS["dm"], "sdtm.dm", max_rows=3).metadata
    con.close()
    whole = contract_result(SDTM_MODELS["dm"], frame.drop("COUNTRY")).metadata
    assert merged["failures_by_check"].value["COUNTRY: column_in_dataframe"] == 1
    assert merged["failures_by_check"].value == whole["failures_by_check"].value


def test_trial_level_domain_is_validated_whole(loaded, tmp_path):
    db = tmp_path / "ts.duckdb"
    con = duckdb.connect(str(db))
    con.execute(f"ATTACH '{loaded['clean']}' AS src (READ_ONLY)")
    write_table(con, "sdtm.ts", pl.from_arrow(con.sql("SELECT * FROM src.sdtm.ts").to_arrow_table()))
    merged = table_contract_result(con, SDTM_MODELS["ts"], "sdtm.ts", max_rows=1).metadata
    con.close()
    assert merged["rows"].value > 1 and merged["failures"].value == 0
