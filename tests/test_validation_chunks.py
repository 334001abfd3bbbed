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
from pipeline.validation.form_tables import SUBJECT_KEY_SQL, validate_table
from pipeline.validation.form_validation import ValidationContext, validate_form
from pipeline.validation.per_value import with_per_value
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
