"""Subject chunks: every row in exactly one chunk, whole subjects, ordered ranges."""

from datetime import datetime

import duckdb
import polars as pl

from pipeline.warehouse_io import (ROW_GROUP_ROWS, append_table, duckdb_settings, in_row_groups, memory_limit, read_chunk,
                                    read_chunks, row_spans, subject_chunks, write_table)


def _con():
    con = duckdb.connect()
    con.execute("CREATE TABLE a AS SELECT * FROM (VALUES ('S1', 1), ('S1', 2), ('S2', 3), (NULL, 4), ('S3', 5), ('S3', 6), ('S3', 7)) t(USUBJID, V)")
    con.execute("CREATE TABLE b AS SELECT * FROM (VALUES ('S2', 10), ('S4', 11)) t(USUBJID, V)")
    return con


def test_chunks_cover_every_row_once_and_keep_subjects_whole():
    con = _con()
    chunks = subject_chunks(con, ["a", "b"], max_rows=3)
    # key counts over both tables: NULL 1, S1 2, S2 2, S3 3, S4 1 -> [NULL,S1] [S2] [S3] [S4]
    assert [(c.lo, c.hi) for c in chunks] == [(None, "S2"), ("S2", "S3"), ("S3", "S4"), ("S4", None)]
    got = [read_chunk(con, "a", c, order_by="V")["V"].to_list() for c in chunks]
    assert got == [[1, 2, 4], [3], [5, 6, 7], []]
    assert [read_chunk(con, "b", c)["V"].to_list() for c in chunks] == [[], [10], [], [11]]



def test_chunks_whose_rows_lie_together_are_read_by_row_id_span_with_the_same_rows():
    con = _con()
    chunks = subject_chunks(con, ["a", "b"], max_rows=3)  # [NULL,S1] [S2] [S3] [S4], as above
    # a: the NULL-key row (row 3) sits between S2 and S3, apart from S1 (rows 0-1): read by key
    assert row_spans(con, "a", chunks) is None
    # b: S2 is row 0, S4 row 1; chunks without rows get an empty span
    assert row_spans(con, "b", chunks) == [(0, -1), (0, 0), (0, -1), (1, 1)]
    con.execute("CREATE TABLE c AS SELECT * FROM a ORDER BY USUBJID NULLS FIRST, V")
    assert row_spans(con, "c", chunks) == [(0, 2), (3, 3), (4, 6), (0, -1)]
    assert row_spans(con, "c", chunks[:1]) is None  # one chunk: read whole
    for table in ("a", "b", "c"):
        by_key = [read_chunk(con, table, c)["V"].to_list() for c in chunks]
        assert [f["V"].to_list() for f in read_chunks(con, table, chunks)] == by_key
    assert [f["V"].to_list() for f in read_chunks(con, "c", chunks)] == [[4, 1, 2], [3], [5, 6, 7], []]


def test_chunks_that_do_not_cover_the_table_read_only_their_own_rows():
    con = _con()
    con.execute("CREATE TABLE c AS SELECT * FROM a ORDER BY USUBJID NULLS FIRST, V")
    chunks = subject_chunks(con, ["a", "b"], max_rows=3)  # [NULL,S1] [S2] [S3] [S4]
    # the first two chunks only: S3 (rows 4-6) is after the last one's end, not part of it
    assert row_spans(con, "c", chunks[:2]) == [(0, 2), (3, 3)]
    assert [f["V"].to_list() for f in read_chunks(con, "c", chunks[:2])] == [[4, 1, 2], [3]]
    # the middle two: neither the NULL key nor S1 (before the first start) is read
    assert row_spans(con, "c", chunks[1:3]) == [(3, 3), (4, 6)]
    assert [f["V"].to_list() for f in read_chunks(con, "c", chunks[1:3])] == [[3], [5, 6, 7]]


def test_one_chunk_when_small_and_for_an_expression_key():
    con = _con()
    assert len(subject_chunks(con, ["a"], max_rows=100)) == 1
    con.execute("CREATE TABLE raw AS SELECT * FROM (VALUES ('7'), ('007'), (' 07 '), ('8'), ('x')) t(SUBJID)")
    key = "TRY_CAST(trim(SUBJID) AS BIGINT)"
    chunks = subject_chunks(con, ["raw"], key_sql=key, max_rows=1)
    # spellings of one subject stay together; the unreadable key rides with the nulls
    assert [sorted(read_chunk(con, "raw", c, key_sql=key)["SUBJID"].to_list()) for c in chunks] == [
        ["x"], [" 07 ", "007", "7"], ["8"]]


def test_append_table_replaces_then_appends_by_name():
    con = _con()
    append_table(con, "s.t", pl.DataFrame({"A": [1], "B": ["x"]}), first=True)
    append_table(con, "s.t", pl.DataFrame({"B": ["y"], "A": [2]}), first=False)
    append_table(con, "s.t", pl.DataFrame({"A": [9]}), first=True)
    assert con.execute("SELECT * FROM s.t").fetchall() == [(9,)]


def test_memory_limit_lowers_the_buffer_pool_for_a_step_then_sets_the_loads_own():
    con = duckdb.connect(config=duckdb_settings())
    setting = "SELECT current_setting('memory_limit')"
    loads_own = con.execute(setting).fetchone()[0]
    with memory_limit(con, "100MB"):
        assert con.execute(setting).fetchone()[0] == "95.3 MiB"
    assert con.execute(setting).fetchone()[0] == loads_own
    with memory_limit(con, None):
        assert con.execute(setting).fetchone()[0] == loads_own


def test_frames_reach_duckdb_in_whole_row_groups_so_no_row_group_is_written_twice(tmp_path):
    """A frame of 8 chunks of 100,000 rows (none a multiple of a row group) is handed over as
    batches of one row group each, in order; written by two threads and checkpointed, the file
    has no freed blocks (without the realignment 5 of 19 blocks were written twice here)."""
    parts = [pl.DataFrame({"i": range(a, a + 100_000), "s": [f"x{k}" for k in range(a, a + 100_000)]})
             for a in range(0, 800_000, 100_000)]
    frame = pl.concat(parts, rechunk=False)
    arrow = in_row_groups(frame.to_arrow())
    assert [b.num_rows for b in arrow.to_batches()] == [ROW_GROUP_ROWS] * 6 + [800_000 - 6 * ROW_GROUP_ROWS]
    assert arrow["i"].to_pylist() == list(range(800_000))
    assert in_row_groups(frame.head(0).to_arrow()).num_rows == 0
    con = duckdb.connect(str(tmp_path / "w.duckdb"), config={"threads": 2})
    assert write_table(con, "main.t", frame) == 800_000
    con.execute("CHECKPOINT")
    assert con.execute("SELECT free_blocks FROM pragma_database_size()").fetchone()[0] == 0
    assert con.execute("SELECT bool_and(i = n) FROM (SELECT i, row_number() OVER () - 1 AS n FROM t)").fetchone()[0]


def test_staged_parquet_row_groups_are_duckdb_row_groups(tmp_path):
    """``write_staged`` cuts its Parquet file into row groups of ``ROW_GROUP_ROWS`` rows."""
    import pyarrow.parquet as pq

    from pipeline.forms import FORMS
    from pipeline.io._staging import write_staged

    rows = ROW_GROUP_ROWS + 1000
    form = "LB"
    lf = pl.LazyFrame({"SUBJID": [f"S{i // 40:05d}" for i in range(rows)], "SRC_ROW": range(1, rows + 1)})
    assert "SUBJID" in FORMS[form].columns
    assert write_staged(lf, form, tmp_path, src_format="csv", src_file="lb.csv", load_ts=datetime(2026, 1, 1)) == rows
    meta = pq.ParquetFile(tmp_path / f"{form}.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [ROW_GROUP_ROWS, 1000]
