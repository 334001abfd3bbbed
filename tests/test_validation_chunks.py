"""Validation in subject chunks (issue 8): the same tables whatever the chunk size, and the
faster duplicate and per-value steps giving hand-checked results."""

import shutil
from datetime import date

import duckdb
import polars as pl
import pytest

from pipeline import config
from pipeline.forms import FORMS
from pipeline.validation import normalise as nz
from pipeline.privacy import identifiers
from pipeline.validation.form_tables import SUBJECT_KEY_SQL, validate_table
from pipeline.validation.form_validation import ValidationContext, validate_form
from pipeline.validation.per_value import with_per_value
from pipeline.warehouse_io import row_spans, subject_chunks
from tests.conftest import query
from tests.crf_rows import raw_frame
from tests.test_validation import DM_OK

OUTPUTS = ("stg.{t}", "validation.{t}", "quarantine.{t}", "qa.findings_{t}")


def _validate_all(con, max_rows: int, restricted_dir) -> dict[str, tuple[pl.DataFrame, object]]:
    out = {}
    for form in FORMS:
        counts = validate_table(con, form, config.data_cutoff(), max_rows=max_rows, restricted_dir=restricted_dir)
        for pattern in OUTPUTS:
            name = pattern.format(t=form.lower())
            out[name] = (pl.from_arrow(con.sql(f"SELECT * FROM {name}").to_arrow_table()), counts)
    return out


@pytest.mark.parametrize("export", ["csv", "redcap"])
def test_chunked_validation_equals_one_chunk(loaded, tmp_path, export):
    db = tmp_path / "trial.duckdb"
    shutil.copy(loaded[export].parent / "build" / "trial.duckdb", db)  # the working file
    restricted = loaded[export].parent / "restricted"  # DM's identifier items, validated from there
    con = duckdb.connect(str(db))
    # what the load's stg assets wrote
    written = {name: con.sql(f"SELECT * FROM {name}").pl() for form in ("DM", "AE", "LB") for name in
               (p.format(t=form.lower()) for p in OUTPUTS)}
    # the messy export spells subjects unpadded as well ('7' next to '007'): the case a chunk
    # key on the SUBJID text would split
    spellings = con.execute(f"""SELECT count(*) FROM (SELECT {SUBJECT_KEY_SQL} AS k FROM raw.ae
                                GROUP BY k HAVING count(DISTINCT trim(SUBJID)) > 1)""").fetchone()[0]
    assert spellings > 0
    whole = _validate_all(con, max_rows=10**9, restricted_dir=restricted)
    pieces = _validate_all(con, max_rows=25, restricted_dir=restricted)

    for name, (frame, counts) in whole.items():
        other, other_counts = pieces[name]
        table = name.split(".")[1].removeprefix("findings_")
        rows_in = con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0]
        # reconciliation, summed over chunks, per form
        assert counts.chunks == 1 and counts.reconciled and counts.rows_in == rows_in
        assert other_counts.reconciled and other_counts.rows_in == rows_in
        assert other_counts.accepted + other_counts.quarantined == rows_in
        if rows_in > 100:
            assert other_counts.chunks > 3, name
        assert frame.schema == other.schema, name
        assert frame.height == other.height, name
        if name.split(".")[0] in ("quarantine", "qa"):
            # small tables: the same rows in the same order however the trial was cut
            assert frame.equals(other), name
        else:
            assert frame.sort(frame.columns, nulls_last=True).equals(other.sort(other.columns, nulls_last=True)), name
    # one chunk reproduces what the load's stg assets wrote
    for name, frame in written.items():
        assert whole[name][0].equals(frame), name
    # and the same as validating the whole raw form in memory
    raw_lb = pl.from_arrow(con.sql("SELECT * FROM raw.lb").to_arrow_table())
    dm = con.sql("SELECT SUBJID FROM raw.dm").pl().select(nz.pad_subjid(pl.col("SUBJID")))["SUBJID"]
    in_memory = validate_form("LB", raw_lb, ValidationContext(config.data_cutoff(), frozenset(dm.drop_nulls())))
    assert in_memory.findings.equals(whole["qa.findings_lb"][0])
    assert in_memory.quarantine.equals(whole["quarantine.lb"][0])
    assert in_memory.accepted.equals(whole["stg.lb"][0])



def test_subject_ordered_form_is_read_by_row_ranges_in_the_same_order(loaded, tmp_path):
    """An export written subject by subject: each chunk is one range of row ids, and the chunked
    tables equal the one-chunk tables row for row, in order (chunk order = delivery order)."""
    db = tmp_path / "trial.duckdb"
    shutil.copy(loaded["csv"].parent / "build" / "trial.duckdb", db)
    con = duckdb.connect(str(db))
    con.execute(f"CREATE OR REPLACE TABLE raw.lb AS SELECT * FROM raw.lb ORDER BY {SUBJECT_KEY_SQL} NULLS FIRST, rowid")
    rows = con.execute("SELECT count(*) FROM raw.lb").fetchone()[0]
    chunks = subject_chunks(con, ["raw.lb"], key_sql=SUBJECT_KEY_SQL, max_rows=25)
    ranges = row_spans(con, "raw.lb", chunks, key_sql=SUBJECT_KEY_SQL)
    assert len(chunks) > 3 and ranges is not None and len(ranges) == len(chunks)
    # the ranges tile the table: 0 .. rows-1, each chunk starting after the last
    assert ranges[0][0] == 0 and ranges[-1][1] == rows - 1
    assert all(hi + 1 == lo for (_, hi), (lo, _) in zip(ranges[:-1], ranges[1:]))
    for i, (lo, hi) in enumerate(ranges):
        cond, params = chunks[i].predicate(SUBJECT_KEY_SQL)
        assert con.execute(f"SELECT count(*) FROM raw.lb WHERE {cond}", params).fetchone()[0] == hi - lo + 1

    def tables(max_rows):
        validate_table(con, "LB", config.data_cutoff(), max_rows=max_rows)
        return {p: con.sql(f"SELECT * FROM {p.format(t='lb')}").pl() for p in OUTPUTS}

    whole, pieces = tables(10**9), tables(25)
    for name, frame in whole.items():
        assert frame.height > 0 and frame.equals(pieces[name]), name

    # each subject's rows split in two parts of the file: chunks read by key range, same rows
    con.execute("CREATE OR REPLACE TABLE raw.lb AS SELECT * FROM raw.lb ORDER BY SRC_ROW % 2, rowid")
    chunks = subject_chunks(con, ["raw.lb"], key_sql=SUBJECT_KEY_SQL, max_rows=25)
    assert len(chunks) > 3 and row_spans(con, "raw.lb", chunks, key_sql=SUBJECT_KEY_SQL) is None
    whole, pieces = tables(10**9), tables(25)
    for name, frame in whole.items():
        assert frame.height > 0 and frame.sort(frame.columns, nulls_last=True).equals(
            pieces[name].sort(frame.columns, nulls_last=True)), name


def test_stg_is_a_view_of_the_accepted_rows_in_working_and_published_files(loaded):
    """stg.<form> is written once, as the not-QUARANTINED rows of validation.<form>; publishing
    recreates the views, so the analyst warehouse still has every stg table, DM without its
    direct identifiers, with the row counts of qa.load_summary."""
    published = loaded["csv"]
    working = published.parent / "build" / "trial.duckdb"
    summary = dict(query(published, "SELECT FORM, ROWS_ACCEPTED FROM qa.load_summary").iter_rows())
    assert 0 < summary["LB"] < query(published, "SELECT count(*) AS n FROM raw.lb")["n"][0]
    for db in (working, published):
        con = duckdb.connect(str(db), read_only=True)
        try:
            kinds = con.execute("SELECT table_name, table_type FROM information_schema.tables "
                                "WHERE table_schema = 'stg' ORDER BY 1").fetchall()
            assert kinds == sorted((f.lower(), "VIEW") for f in FORMS), db
            for form in FORMS:
                t = form.lower()
                stg = con.sql(f"SELECT * FROM stg.{t}").pl()
                typed = con.sql(f"SELECT * FROM validation.{t}").pl()
                assert stg.equals(typed.filter(~pl.col("QUARANTINED")).drop("QUARANTINED")), (db, t)
                assert stg.height == summary[form], (db, t)
            if db == published:
                assert not set(con.sql("SELECT * FROM stg.dm LIMIT 0").columns) & set(identifiers())
        finally:
            con.close()


CTX = ValidationContext(date(2023, 8, 27))


def test_reentries_ranked_only_among_their_key():
    """DUP02 winner: latest LASTMOD, a tie goes to the later row; exact copies are DUP01."""
    raw = raw_frame("DM", [
        {**DM_OK, "SUBJID": "001", "WEIGHT": "60", "LASTMOD": "2022-01-05T10:00:00"},  # 1 loses to 3
        {**DM_OK, "SUBJID": "2", "WEIGHT": "70"},  # 2: a key entered once
        {**DM_OK, "SUBJID": "1", "WEIGHT": "62", "LASTMOD": "2022-01-07T10:00:00"},  # 3 wins (latest)
        {**DM_OK, "SUBJID": "01", "WEIGHT": "61", "LASTMOD": "2022-01-07T10:00:00"},  # 4 ties 3, later row: wins
        {**DM_OK, "SUBJID": "003", "WEIGHT": "80"},  # 5 loses to 6 (no LASTMOD: later row wins)
        {**DM_OK, "SUBJID": "003", "WEIGHT": "81"},  # 6
        {**DM_OK, "SUBJID": "003", "WEIGHT": "81"},  # 7 exact copy of 6
    ])
    result = validate_form("DM", raw, CTX)
    assert result.accepted.select("SUBJID", "WEIGHT", "SRC_ROW").rows() == [
        ("002", 70.0, 2), ("001", 61.0, 4), ("003", 81.0, 6)]
    assert result.quarantine.select("SRC_ROW", "QUARANTINE_REASON").rows() == [
        (1, "DUP02 superseded by row 4 (later LASTMOD or later in file)"),
        (3, "DUP02 superseded by row 4 (later LASTMOD or later in file)"),
        (5, "DUP02 superseded by row 6 (later LASTMOD or later in file)"),
        (7, "DUP01 exact duplicate of row 6"),
    ]
    assert result.findings.select("RULE_ID", "FIELD", "RAW_VALUE", "SRC_ROW").rows() == [
        ("DUP02", "WEIGHT", "60", 1), ("DUP02", "WEIGHT", "62", 3), ("DUP02", "WEIGHT", "80", 5),
        ("DUP01", "(row)", None, 7)]


def test_per_value_parsing_keeps_rows_order_and_nulls():
    frame = pl.DataFrame({"V": ["1,5", None, "<0.5", "1,5", "abc", None, "36.8℃"], "N": range(7)})
    out = with_per_value(frame, "V", P=nz.parse_number(pl.col("V")))
    assert out["N"].to_list() == list(range(7))
    assert out["P"].struct.field("value").to_list() == [1.5, None, 0.5, 1.5, None, None, 36.8]
    assert out["P"].struct.field("status").to_list() == [None, None, None, None, "invalid", None, None]
    assert out["P"].struct.field("comparator").to_list() == [None, None, "<", None, None, None, None]
    assert out["P"].struct.field("unit").to_list() == [None, None, None, None, None, None, "℃"]


def test_lab_checks_per_value_give_hand_checked_standard_values():
    """Repeated raw results and units parse once per value; each row still gets its own."""
    base = dict(VISIT="CYCLE 1 DAY 1", LBDAT="2022-03-01", LBCAT="CHEMISTRY", LBTEST="Creatinine",
                LBORNRLO="45", LBORNRHI="84")
    raw = raw_frame("LB", [
        {**base, "SUBJID": "001", "LBORRES": "88.4", "LBORRESU": "umol/L"},
        {**base, "SUBJID": "001", "IGREP": "2", "LBORRES": "1.0", "LBORRESU": "mg/dL"},
        {**base, "SUBJID": "002", "LBORRES": "88.4", "LBORRESU": "umol/L"},
        {**base, "SUBJID": "002", "IGREP": "2", "LBORRES": "<0.5", "LBORRESU": "mg/dL"},
    ])
    result = validate_form("LB", raw, CTX)
    got = result.accepted.select("SUBJID", "LBSTRESN", "LBSTRESC", "LBSTRESU", "LBSTNRLO").rows()
    assert got == [("001", 88.4, "88.4", "umol/L", 45.0), ("001", 88.4, "88.4", "umol/L", 3978.0),
                   ("002", 88.4, "88.4", "umol/L", 45.0), ("002", None, "<44.2", "umol/L", 3978.0)]


def test_baseline_lesion_count_stays_within_one_subject():
    """TU01 counts a subject's own baseline lesions: a baseline row whose SUBJID is blank is not
    ranked among the post-baseline lesions of other subjects (which chunking would change)."""
    tl = dict(TULOC="LIVER", NODE="N", TRMETHOD="CT SCAN", TRDIAMC="MEASURED", TRDIAM="20")
    later = [{**tl, "SUBJID": "001", "VISIT": "TUMOUR ASSESSMENT WEEK 6", "LESID": f"T0{n}", "IGREP": str(n),
              "TRDAT": "2022-02-20"} for n in range(1, 7)]
    baseline = {**tl, "SUBJID": "", "VISIT": "SCREENING", "LESID": "T09", "TRDAT": "2022-01-01"}
    result = validate_form("TL", raw_frame("TL", [*later, baseline]), CTX)
    assert result.findings.filter(pl.col("SRC_ROW") == 7)["RULE_ID"].to_list() == ["KEY01"]
    assert result.findings.filter(pl.col("RULE_ID") == "TU01").is_empty()
