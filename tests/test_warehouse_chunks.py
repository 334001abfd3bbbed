"""Subject chunks: every row in exactly one chunk, whole subjects, ordered ranges."""

import duckdb
import polars as pl

from pipeline.warehouse_io import (append_table, duckdb_settings, memory_limit, read_chunk, read_chunks, row_spans,
                                    subject_chunks)


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
