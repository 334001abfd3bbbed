"""Hand-made staged raw rows for validation tests (the shape every reader produces)."""

import polars as pl

from pipeline.forms import FORMS

BASE = dict(STUDYID="NCT05204524", SITEID="101", VISITREP="1", FORMREP="1", IGREP="1", SRC_FORMAT="csv")


def raw_frame(form: str, rows: list[dict]) -> pl.DataFrame:
    cols = FORMS[form].columns
    filled = [{**BASE, "SRC_FILE": f"{form}.csv", "SRC_ROW": str(n), **r} for n, r in enumerate(rows, start=1)]
    df = pl.DataFrame({c: [r.get(c) for r in filled] for c in cols}, schema={c: pl.Utf8 for c in cols})
    return df.with_columns(pl.col("SRC_ROW").cast(pl.Int64), pl.col("LOAD_TS").cast(pl.Datetime("us", "UTC")))
