"""Safety summaries (endpoints.md §3): the TEAE overview and the SOC / PT table by worst
CTCAE grade, over the SAFFL population and ``TRTEMFL = Y`` records.

Subjects are counted once per category / SOC / PT (worst grade = highest ATOXGRN of the
subject's records there). When ADAE carries no CTCAE grade at all (e.g. the CDISC pilot,
AESEV only) or lacks a flag column (AEREDFL ...), the affected counts are NULL, never 0:
the data cannot say.
"""

from __future__ import annotations

import polars as pl

from pipeline.endpoints.populations import NUM, pct, population

GRADES = (1, 2, 3, 4, 5)
#: SUBSET -> record filter of the SOC/PT table variants
SOC_PT_SUBSETS = {"ALL": pl.lit(True), "GE3": pl.col("ATOXGRN") >= 3, "SAE": pl.col("ASER") == "Y"}
AE_COLUMNS = {"AREL": pl.String, "ASER": pl.String, "AEDISCFL": pl.String, "AEREDFL": pl.String, "AEINTFL": pl.String,
              "AEOUT": pl.String, "ATOXGRN": pl.Int64, "AEBODSYS": pl.String, "AEDECOD": pl.String}


def _overview_categories() -> list[tuple[str, pl.Expr, tuple[tuple[str, ...], ...]]]:
    """(CATEGORY, record condition, needs) in endpoints.md §3 order; ``needs`` lists the ADAE
    columns the count depends on, each as a tuple of alternatives (any one is enough)."""
    rel, g3, ser = pl.col("AREL") == "RELATED", pl.col("ATOXGRN") >= 3, pl.col("ASER") == "Y"
    return [
        ("Any TEAE", pl.lit(True), ()),
        ("Related TEAE", rel, (("AREL",),)),
        ("Grade >= 3 TEAE", g3, (("ATOXGRN",),)),
        ("Related grade >= 3 TEAE", rel & g3, (("AREL",), ("ATOXGRN",))),
        ("Serious TEAE", ser, (("ASER",),)),
        ("Related serious TEAE", rel & ser, (("AREL",), ("ASER",))),
        ("TEAE leading to discontinuation of any study drug", pl.col("AEDISCFL") == "Y", (("AEDISCFL",),)),
        ("TEAE leading to dose reduction", pl.col("AEREDFL") == "Y", (("AEREDFL",),)),
        ("TEAE leading to dose interruption", pl.col("AEINTFL") == "Y", (("AEINTFL",),)),
        ("Fatal TEAE", (pl.col("ATOXGRN") == 5) | (pl.col("AEOUT") == "FATAL"), (("ATOXGRN", "AEOUT"),)),
    ]


def teae_records(adae: pl.DataFrame, adsl: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, set[str]]:
    """(TEAE records of SAFFL subjects with the needed columns, SAFFL subjects, columns that
    hold information). A column is informative when present with at least one non-null value
    (ATOXGRN) or present at all (flags, where null means "no")."""
    saf = population(adsl, "SAFFL")
    present = {c for c in AE_COLUMNS if c in adae.columns}
    if "ATOXGRN" in present and adae["ATOXGRN"].null_count() == adae.height:
        present.discard("ATOXGRN")
    ae = adae.with_columns([pl.lit(None, t).alias(c) for c, t in AE_COLUMNS.items() if c not in adae.columns])
    ae = ae.with_columns(pl.col("USUBJID").cast(pl.String), pl.col("ATOXGRN").cast(pl.Int64, strict=False))
    teae = ae.filter(pl.col("TRTEMFL") == "Y").join(saf, on="USUBJID", how="semi") if "TRTEMFL" in ae.columns else ae.clear()
    return teae, saf, present


def teae_overview(adae: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    """``ep_teae_overview``: ORD, CATEGORY, N, n_subj, PCT, N_EVENT (n_subj / N_EVENT NULL when
    a needed ADAE column is absent or, for grades, entirely null)."""
    teae, saf, present = teae_records(adae, adsl)
    rows = []
    for i, (category, cond, needs) in enumerate(_overview_categories(), start=1):
        known = all(any(alt in present for alt in need) for need in needs)
        hits = teae.filter(cond.fill_null(False))
        rows.append({"ORD": i, "CATEGORY": category, "N": saf.height,
                     NUM: hits["USUBJID"].n_unique() if known else None, "N_EVENT": hits.height if known else None})
    out = pl.DataFrame(rows, schema={"ORD": pl.Int64, "CATEGORY": pl.String, "N": pl.Int64, NUM: pl.Int64, "N_EVENT": pl.Int64})
    return out.with_columns(pct().alias("PCT")).select("ORD", "CATEGORY", "N", NUM, "PCT", "N_EVENT")


def _grade_counts(worst: pl.DataFrame, by: list[str], graded: bool) -> pl.DataFrame:
    """Subjects per ``by`` group: n_any, n_g1..n_g5, n_ge3 (grade columns NULL if not graded)."""
    g = pl.col("WORST")
    aggs = [pl.len().cast(pl.Int64).alias("n_any")]
    aggs += [(g == k).sum().cast(pl.Int64).alias(f"n_g{k}") for k in GRADES]
    aggs.append((g >= 3).sum().cast(pl.Int64).alias("n_ge3"))
    out = worst.group_by(by).agg(aggs)
    if not graded:
        out = out.with_columns([pl.lit(None, pl.Int64).alias(c) for c in [*(f"n_g{k}" for k in GRADES), "n_ge3"]])
    return out


def teae_soc_pt(adae: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    """``ep_teae_soc_pt``: SUBSET (ALL, GE3, SAE), AEBODSYS, AEDECOD (null on SOC rows), N,
    n_any, n_g1..n_g5, n_ge3, PCT_any, PCT_ge3, SORT_SOC, SORT_PT (0 on the SOC row).

    Rule: within each subset's records, each subject counts once per SOC and once per PT at
    the worst grade; SOCs sorted by descending n_any then name, PTs within a SOC likewise.
    """
    teae, saf, present = teae_records(adae, adsl)
    graded = "ATOXGRN" in present
    parts = []
    for subset, cond in SOC_PT_SUBSETS.items():
        if subset == "GE3" and not graded or subset == "SAE" and "ASER" not in present:
            continue
        recs = teae.filter(cond.fill_null(False)).with_columns(pl.col("AEBODSYS").fill_null("UNCODED"), pl.col("AEDECOD").fill_null("UNCODED"))
        pt_worst = recs.group_by("USUBJID", "AEBODSYS", "AEDECOD").agg(pl.col("ATOXGRN").max().alias("WORST"))
        soc_worst = recs.group_by("USUBJID", "AEBODSYS").agg(pl.col("ATOXGRN").max().alias("WORST"))
        soc = _grade_counts(soc_worst, ["AEBODSYS"], graded).sort(["n_any", "AEBODSYS"], descending=[True, False]).with_row_index("SORT_SOC", offset=1)
        pt = _grade_counts(pt_worst, ["AEBODSYS", "AEDECOD"], graded).join(soc.select("AEBODSYS", "SORT_SOC"), on="AEBODSYS")
        pt = pt.sort(["SORT_SOC", "n_any", "AEDECOD"], descending=[False, True, False]).with_columns(
            pl.int_range(1, pl.len() + 1).over("SORT_SOC").alias("SORT_PT"))
        soc = soc.with_columns(pl.lit(None, pl.String).alias("AEDECOD"), pl.lit(0).alias("SORT_PT"))
        parts.append(pl.concat([soc, pt], how="diagonal_relaxed").with_columns(pl.lit(subset).alias("SUBSET")))
    cols = ["SUBSET", "AEBODSYS", "AEDECOD", "N", "n_any", *(f"n_g{k}" for k in GRADES), "n_ge3", "PCT_any", "PCT_ge3", "SORT_SOC", "SORT_PT"]
    if not parts:
        return pl.DataFrame(schema={c: (pl.String if c in ("SUBSET", "AEBODSYS", "AEDECOD") else pl.Float64 if c.startswith("PCT") else pl.Int64) for c in cols})
    order = {s: i for i, s in enumerate(SOC_PT_SUBSETS)}
    return (pl.concat(parts).with_columns(pl.lit(saf.height, pl.Int64).alias("N"))
            .with_columns(pct("n_any").alias("PCT_any"), pct("n_ge3").alias("PCT_ge3"),
                          pl.col("SORT_SOC").cast(pl.Int64), pl.col("SORT_PT").cast(pl.Int64),
                          pl.col("SUBSET").replace_strict(order).alias("_ORD"))
            .sort("_ORD", "SORT_SOC", "SORT_PT").select(cols))
