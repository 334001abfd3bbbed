"""Laboratory summaries (endpoints.md §3) from ADLB on-treatment records (``ONTRTFL = Y``) of
SAFFL subjects: CTCAE grade and normal-range shift tables (``ep_lab_shift``), worst
on-treatment grade 3-4 (``ep_lab_worst``) and the summary by visit (``ep_lab_visit``).

Grading direction per PARAMCD comes from ``trial_config.yaml`` (``endpoints.lab_directions``);
a parameter absent from ADLB simply has no rows.
"""

from __future__ import annotations

import polars as pl

from pipeline.endpoints.populations import NUM, pct, population

GRADE_BASE = ("0", "1", "2", "3", "4", "MISSING")
GRADE_POST = ("0", "1", "2", "3", "4")
NRIND_BASE = ("LOW", "NORMAL", "HIGH", "MISSING")
NRIND_POST = ("LOW", "NORMAL", "HIGH")
#: DIRECTION -> (on-treatment grade, baseline grade, worst normal-range flag) columns of ADLB
DIRECTION_COLUMNS = {"LOW": ("ATOXGRL", "BTOXGRL", "WNRLOFL"), "HIGH": ("ATOXGRH", "BTOXGRH", "WNRHIFL")}
SHIFT_SCHEMA = {"TABLE": pl.String, "PARAMCD": pl.String, "DIRECTION": pl.String, "BASE_CAT": pl.String, "POST_CAT": pl.String,
                "n": pl.Int64, "ROW_N": pl.Int64, "PCT_ROW": pl.Float64, "BASE_ORD": pl.Int64, "POST_ORD": pl.Int64}


def safety_lab(adlb: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    """ADLB rows of SAFFL subjects with every column used here (absent ones as null)."""
    need = {"ATOXGRL": pl.String, "ATOXGRH": pl.String, "BTOXGRL": pl.String, "BTOXGRH": pl.String, "WNRLOFL": pl.String,
            "WNRHIFL": pl.String, "ANRIND": pl.String, "BNRIND": pl.String, "ONTRTFL": pl.String, "CHG": pl.Float64,
            "ANL01FL": pl.String, "AVISIT": pl.String, "AVISITN": pl.Float64}
    lb = adlb.with_columns([pl.lit(None, t).alias(c) for c, t in need.items() if c not in adlb.columns])
    return lb.with_columns(pl.col("USUBJID").cast(pl.String)).join(population(adsl, "SAFFL"), on="USUBJID", how="semi")


def _grid(keys: pl.DataFrame, base: tuple[str, ...], post: tuple[str, ...]) -> pl.DataFrame:
    cats = pl.DataFrame({"BASE_CAT": list(base), "BASE_ORD": list(range(len(base)))}).join(
        pl.DataFrame({"POST_CAT": list(post), "POST_ORD": list(range(len(post)))}), how="cross")
    return keys.join(cats, how="cross")


def _shift(per_subject: pl.DataFrame, table: str, base: tuple[str, ...], post: tuple[str, ...]) -> pl.DataFrame:
    """Full BASE_CAT x POST_CAT grid per PARAMCD x DIRECTION with subject counts (zeros kept)."""
    if per_subject.is_empty():
        return pl.DataFrame(schema=SHIFT_SCHEMA)
    counts = per_subject.group_by("PARAMCD", "DIRECTION", "BASE_CAT", "POST_CAT").agg(pl.len().cast(pl.Int64).alias("n"))
    grid = _grid(per_subject.select("PARAMCD", "DIRECTION").unique(), base, post)
    out = grid.join(counts, on=["PARAMCD", "DIRECTION", "BASE_CAT", "POST_CAT"], how="left").with_columns(pl.col("n").fill_null(0))
    out = out.with_columns(pl.col("n").sum().over("PARAMCD", "DIRECTION", "BASE_CAT").alias("ROW_N"), pl.lit(table).alias("TABLE"))
    return out.with_columns(pct("n", "ROW_N").alias("PCT_ROW")).select(list(SHIFT_SCHEMA)).cast(SHIFT_SCHEMA)


def worst_grades(lb: pl.DataFrame, directions: dict[str, list[str]]) -> pl.DataFrame:
    """One row per subject x PARAMCD x DIRECTION with >= 1 graded on-treatment record:
    BASE_CAT (baseline grade, 'MISSING' if none) and WORST (highest on-treatment grade)."""
    parts = []
    for direction, params in directions.items():
        grade, bgrade, _ = DIRECTION_COLUMNS[direction]
        recs = lb.filter(pl.col("PARAMCD").is_in(params) & (pl.col("ONTRTFL") == "Y"))
        g = pl.col(grade).cast(pl.Int64, strict=False)
        parts.append(recs.group_by("USUBJID", "PARAMCD").agg(
            g.max().alias("WORST"), pl.col(bgrade).drop_nulls().first().alias("BASE_CAT"))
            .filter(pl.col("WORST").is_not_null()).with_columns(pl.lit(direction).alias("DIRECTION")))
    return pl.concat(parts) if parts else pl.DataFrame(schema={"USUBJID": pl.String, "PARAMCD": pl.String, "WORST": pl.Int64,
                                                               "BASE_CAT": pl.String, "DIRECTION": pl.String})


def lab_shift(adlb: pl.DataFrame, adsl: pl.DataFrame, directions: dict[str, list[str]]) -> pl.DataFrame:
    """``ep_lab_shift``: TABLE ('CTCAE_GRADE' | 'NORMAL_RANGE'), PARAMCD, DIRECTION, BASE_CAT,
    POST_CAT, n, ROW_N, PCT_ROW (of the row total), BASE_ORD, POST_ORD.

    CTCAE_GRADE: baseline grade (0-4, MISSING) x worst on-treatment grade (0-4) for the
    configured PARAMCD x direction. NORMAL_RANGE: BNRIND (LOW/NORMAL/HIGH/MISSING) x ANRIND of
    the worst on-treatment record (WNRLOFL "to LOW" / WNRHIFL "to HIGH") for every PARAMCD.
    """
    lb = safety_lab(adlb, adsl)
    grades = worst_grades(lb, directions).with_columns(
        pl.col("BASE_CAT").fill_null("MISSING"), pl.col("WORST").cast(pl.String).alias("POST_CAT"))
    nr = []
    for direction, (_, _, flag) in DIRECTION_COLUMNS.items():
        nr.append(lb.filter((pl.col(flag) == "Y") & pl.col("ANRIND").is_not_null()).unique(["USUBJID", "PARAMCD"], keep="first").select(
            "USUBJID", "PARAMCD", pl.lit(direction).alias("DIRECTION"),
            pl.col("BNRIND").fill_null("MISSING").alias("BASE_CAT"), pl.col("ANRIND").alias("POST_CAT")))
    return pl.concat([_shift(grades, "CTCAE_GRADE", GRADE_BASE, GRADE_POST),
                      _shift(pl.concat(nr), "NORMAL_RANGE", NRIND_BASE, NRIND_POST)]).sort(
        "TABLE", "PARAMCD", "DIRECTION", "BASE_ORD", "POST_ORD")


def lab_worst_grade34(adlb: pl.DataFrame, adsl: pl.DataFrame, directions: dict[str, list[str]]) -> pl.DataFrame:
    """``ep_lab_worst``: PARAMCD, DIRECTION, N (subjects with a graded on-treatment value),
    n_subj (worst grade 3 or 4), PCT, n_g3, n_g4."""
    w = worst_grades(safety_lab(adlb, adsl), directions)
    out = w.group_by("PARAMCD", "DIRECTION").agg(
        pl.len().cast(pl.Int64).alias("N"), pl.col("WORST").is_in([3, 4]).sum().cast(pl.Int64).alias(NUM),
        (pl.col("WORST") == 3).sum().cast(pl.Int64).alias("n_g3"), (pl.col("WORST") == 4).sum().cast(pl.Int64).alias("n_g4"))
    return out.with_columns(pct().alias("PCT")).select("PARAMCD", "DIRECTION", "N", NUM, "PCT", "n_g3", "n_g4").sort("DIRECTION", "PARAMCD")


def lab_by_visit(adlb: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    """``ep_lab_visit``: per PARAMCD x AVISIT (scheduled visits incl. BASELINE; analysis records
    ANL01FL = Y where the flag exists) n, mean, SD, median, min, max of AVAL and of CHG."""
    lb = safety_lab(adlb, adsl)
    if lb["ANL01FL"].null_count() < lb.height:
        lb = lb.filter(pl.col("ANL01FL") == "Y")
    lb = lb.filter(pl.col("AVISIT").is_not_null() & (pl.col("AVISIT") != "UNSCHEDULED"))
    stats = []
    for var in ("AVAL", "CHG"):
        v = pl.col(var).cast(pl.Float64)
        stats += [v.count().cast(pl.Int64).alias(f"N_{var}"), v.mean().alias(f"MEAN_{var}"), v.std().alias(f"SD_{var}"),
                  v.median().alias(f"MEDIAN_{var}"), v.min().alias(f"MIN_{var}"), v.max().alias(f"MAX_{var}")]
    return lb.group_by("PARAMCD", "AVISITN", "AVISIT").agg(stats).sort("PARAMCD", "AVISITN", "AVISIT", nulls_last=True)
