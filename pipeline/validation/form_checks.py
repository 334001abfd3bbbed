"""Edit checks and unit standardisation that look at one form only (crf.md §5-6).

``run(form, work, ctx)`` receives the working frame of a form (raw item columns ``<ITEM>``,
typed ``<ITEM>__t``, number units ``<ITEM>__unit``) and returns it with standardised values
plus this form's findings. Checks that need another form (visit windows, death dates, RECIST
responses against lesions) live in ``cross_form_checks`` and run on the ``stg`` tables.
"""

from __future__ import annotations

import polars as pl

from pipeline import config
from pipeline.codelists import AE_DICTIONARY, LAB_PLAUSIBLE
from pipeline.forms import Form
from pipeline.validation import normalise as nz
from pipeline.validation.findings import make_findings
from pipeline.validation.per_value import with_per_value

_LB_DERIVED = ("LBSTRESC", "LBSTRESN", "LBSTRESU", "LBSTNRLO", "LBSTNRHI")


def derived_columns(form: Form) -> list[str]:
    """Typed columns a form's stg table carries beyond its CRF items."""
    return list(_LB_DERIVED) if form.name == "LB" else []


def _unit_of(item: str, unit_item: str | None = None) -> pl.Expr:
    glued = pl.col(f"{item}__unit")
    if unit_item is None:
        return glued
    return pl.coalesce(glued, pl.col(unit_item).str.strip_chars())


def _standardise_body_measures(work: pl.DataFrame, items: dict[str, str | None]) -> pl.DataFrame:
    converters = {"WEIGHT": nz.weight_to_kg, "HEIGHT": nz.height_to_cm, "TEMP": nz.temp_to_c}
    return work.with_columns(
        converters[item](pl.col(f"{item}__t"), _unit_of(item, unit_item)).round(2).alias(f"{item}__t")
        for item, unit_item in items.items()
        if item in converters
    )


def _partial_before(end: pl.Expr, start: pl.Expr) -> pl.Expr:
    """End before start, comparing ISO 8601 (partial) dates at their common precision."""
    n = pl.min_horizontal(end.str.len_chars(), start.str.len_chars())
    comparable = ~end.str.contains("---") & ~start.str.contains("---")
    return comparable & (end.str.slice(0, n) < start.str.slice(0, n))


def _date_order(form: Form, work: pl.DataFrame, start: str, end: str) -> pl.DataFrame:
    return make_findings(
        work, _partial_before(pl.col(f"{end}__t"), pl.col(f"{start}__t")), rule="DAT02", form=form.name, field=end,
        raw_value=pl.col(end), message=pl.format(f"{end} {{}} before {start} {{}}", pl.col(f"{end}__t"), pl.col(f"{start}__t")),
    )


def _ae(form: Form, work: pl.DataFrame):
    t = lambda c: pl.col(f"{c}__t")  # noqa: E731
    criteria = ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")
    any_criterion = pl.any_horizontal([t(c) == "Y" for c in criteria]).fill_null(False)
    verbatim = pl.col("AETERM").str.strip_chars().str.to_lowercase()
    findings = [
        _date_order(form, work, "AESTDAT", "AEENDAT"),
        make_findings(work, (t("AESER") == "Y") & ~any_criterion, rule="AE02", form=form.name, field="AESER",
                      raw_value=pl.col("AESER"), message="serious AE without a seriousness criterion"),
        make_findings(work, (t("AETOXGR") == "5") & (t("AEOUT") != "FATAL"), rule="AE02", form=form.name, field="AEOUT",
                      raw_value=pl.col("AEOUT"), message="grade 5 AE without outcome FATAL"),
        make_findings(work, (t("AEONGO") == "Y") & pl.col("AEENDAT").is_not_null(), rule="AE03", form=form.name,
                      field="AEONGO", raw_value=pl.col("AEONGO"), message="AEONGO = Y but AEENDAT present"),
        make_findings(work, (t("AEONGO") == "N") & pl.col("AEENDAT").is_null(), rule="AE03", form=form.name,
                      field="AEONGO", raw_value=pl.col("AEONGO"), message="AEONGO = N but AEENDAT missing"),
        make_findings(work, ~verbatim.is_in(list(AE_DICTIONARY)) & pl.col("AEDECOD").is_null(), rule="COD01",
                      form=form.name, field="AETERM", raw_value=pl.col("AETERM"),
                      message="verbatim term not in the coding dictionary; AE not coded"),
    ]
    return work, findings


def _ex(form: Form, work: pl.DataFrame):
    tol = config.trial()["dose_tolerance"]
    work = _standardise_body_measures(work, {"WEIGHT": None})
    planned = pl.col("EXPDOSE__t") * pl.col("BSA__t")
    outside = (pl.col("EXDOSE__t") > tol["high"] * planned) | (pl.col("EXDOSE__t") < tol["low"] * planned)
    return work, [
        make_findings(
            work, (pl.col("EXOCCUR__t") == "Y") & outside & (pl.col("EXADJ__t") != "Y"), rule="EX01", form=form.name,
            field="EXDOSE", raw_value=pl.col("EXDOSE"),
            message=pl.format("dose {} outside {}-{}% of planned {} without EXADJ = Y", pl.col("EXDOSE__t"),
                              pl.lit(int(tol["low"] * 100)), pl.lit(int(tol["high"] * 100)), planned.round(1)),
        )
    ]


def _lb(form: Form, work: pl.DataFrame):
    # parsed once per distinct raw value, and the result struct once (not once per field)
    work = with_per_value(work, "LBORRES", _res=nz.parse_number(pl.col("LBORRES")))
    work = with_per_value(work, "LBORNRLO", _lo=nz.parse_number(pl.col("LBORNRLO")).struct.field("value"))
    work = with_per_value(work, "LBORNRHI", _hi=nz.parse_number(pl.col("LBORNRHI")).struct.field("value"))
    work = with_per_value(work, "LBORRESU", _ukey=nz.lab_unit_key(pl.col("LBORRESU")))
    result = pl.col("_res")
    test = pl.col("LBTEST__t")
    work = work.with_columns(
        result.struct.field("value").alias("_val"),
        result.struct.field("comparator").alias("_cmp"),
        result.struct.field("status").alias("_st"),
        nz.lab_factor(test, pl.col("_ukey")).alias("_factor"),
        nz.lab_std_unit(test).alias("LBSTRESU__t"),
    ).drop("_res", "_ukey")
    std = (pl.col("_val") * pl.col("_factor")).round(4)
    limits_lo = test.replace_strict({k: v[0] for k, v in LAB_PLAUSIBLE.items()}, default=None, return_dtype=pl.Float64)
    limits_hi = test.replace_strict({k: v[1] for k, v in LAB_PLAUSIBLE.items()}, default=None, return_dtype=pl.Float64)
    not_done = (pl.col("_st") == "not_done") | (pl.col("LBSTAT__t") == "NOT DONE")
    work = work.with_columns(
        pl.when(not_done).then(pl.lit("NOT DONE")).otherwise(pl.col("LBSTAT__t")).alias("LBSTAT__t"),
        pl.when(pl.col("_cmp").is_null()).then(std).alias("LBSTRESN__t"),
        pl.when(not_done).then(None)
        .when(pl.col("_cmp").is_not_null()).then(pl.concat_str(pl.col("_cmp"), std.cast(pl.Utf8)))
        .otherwise(std.cast(pl.Utf8)).alias("LBSTRESC__t"),
        (pl.col("_lo") * pl.col("_factor")).round(4).alias("LBSTNRLO__t"),
        (pl.col("_hi") * pl.col("_factor")).round(4).alias("LBSTNRHI__t"),
    )
    has_value = pl.col("_val").is_not_null()
    findings = [
        make_findings(work, pl.col("_st").is_in(["invalid", "ambiguous"]), rule="NUM01", form=form.name, field="LBORRES",
                      raw_value=pl.col("LBORRES"), message="lab result is not a number"),
        make_findings(work, has_value & pl.col("_factor").is_null(), rule="LB01", form=form.name, field="LBORRESU",
                      raw_value=pl.col("LBORRESU"),
                      message=pl.format("unit not in the catalogue for {}", test)),
        make_findings(work, has_value & ((std < limits_lo) | (std > limits_hi)), rule="LB01", form=form.name,
                      field="LBORRES", raw_value=pl.col("LBORRES"),
                      message=pl.format("{} {} {} outside plausibility limits", test, std, pl.col("LBSTRESU__t"))),
        *[
            make_findings(work, has_value & pl.col(bound).is_null(), rule="LB02", form=form.name, field=bound,
                          raw_value=pl.col(bound), message=f"{bound} missing: LBNRIND cannot be derived")
            for bound in ("LBORNRLO", "LBORNRHI")
        ],
    ]
    return work.drop("_val", "_cmp", "_st", "_factor", "_lo", "_hi"), findings


def _tumour_lesions(form: Form, work: pl.DataFrame):
    findings = []
    if form.name == "TL":
        diam = nz.length_to_mm(pl.col("TRDIAM__t"), pl.col("TRDIAM__unit"))
        work = work.with_columns(
            pl.when(diam.is_not_null()).then(diam)
            .when(pl.col("TRDIAMC__t") == "TOO SMALL TO MEASURE").then(pl.lit(5.0))
            .when(pl.col("TRDIAMC__t") == "NOT PRESENT").then(pl.lit(0.0))
            .otherwise(None).round(1).alias("TRDIAM__t")
        )
        limits = config.trial()["baseline_tl"]
        base = pl.col("VISIT") == "SCREENING"
        nodal = pl.col("NODE__t") == "Y"
        order = pl.col("LESID").str.strip_chars()
        # ranked within one subject's baseline (subject and baseline flag as the partition): a
        # partition of ``when(base).then(SUBJID)`` put the baseline rows of an unreadable
        # SUBJID together with every post-baseline row of the form, across subjects
        ranked = work.with_columns(
            order.rank("dense").over(["SUBJID", base]).alias("_n"),
            order.rank("dense").over(["SUBJID", base, "TULOC__t"]).alias("_per_organ"),
        )
        findings += [
            make_findings(ranked, base & (pl.col("_n") > limits["max_total"]), rule="TU01", form=form.name, field="LESID",
                          raw_value=pl.col("LESID"), message=f"more than {limits['max_total']} baseline target lesions"),
            make_findings(ranked, base & (pl.col("_per_organ") > limits["max_per_organ"]), rule="TU01", form=form.name,
                          field="TULOC", raw_value=pl.col("TULOC"),
                          message=f"more than {limits['max_per_organ']} baseline target lesions in one organ"),
            make_findings(ranked, base & ~nodal & (pl.col("TRDIAM__t") < limits["min_nonnodal_mm"]), rule="TU01",
                          form=form.name, field="TRDIAM", raw_value=pl.col("TRDIAM"),
                          message=f"non-nodal target lesion below {limits['min_nonnodal_mm']} mm at baseline"),
            make_findings(ranked, base & nodal & (pl.col("TRDIAM__t") < limits["min_nodal_mm"]), rule="TU01",
                          form=form.name, field="TRDIAM", raw_value=pl.col("TRDIAM"),
                          message=f"nodal target lesion short axis below {limits['min_nodal_mm']} mm at baseline"),
        ]
    lesion = pl.col("LESID").str.strip_chars().str.to_uppercase()
    baseline = work.filter(pl.col("VISIT") == "SCREENING").select("SUBJID", lesion.alias("_L")).unique()
    post = work.with_columns(lesion.alias("_L")).join(baseline.with_columns(pl.lit(True).alias("_atbase")),
                                                       on=["SUBJID", "_L"], how="left")
    findings.append(
        make_findings(post, (pl.col("VISIT") != "SCREENING") & pl.col("_atbase").is_null(), rule="TU02", form=form.name,
                      field="LESID", raw_value=pl.col("LESID"), message="lesion not identified at baseline")
    )
    return work, findings


def _dated_log(start: str, end: str):
    def check(form: Form, work: pl.DataFrame):
        return work, [_date_order(form, work, start, end)]

    return check


def _body(items: dict[str, str | None]):
    def check(form: Form, work: pl.DataFrame):
        return _standardise_body_measures(work, items), []

    return check


_CHECKS = {
    "AE": _ae,
    "EX": _ex,
    "LB": _lb,
    "TL": _tumour_lesions,
    "NTL": _tumour_lesions,
    "CM": _dated_log("CMSTDAT", "CMENDAT"),
    "MH": _dated_log("MHSTDAT", "MHENDAT"),
    "DM": _body({"HEIGHT": None, "WEIGHT": None}),
    "VS": _body({"HEIGHT": "HEIGHTU", "WEIGHT": "WEIGHTU", "TEMP": "TEMPU"}),
}


def run(form: Form, work: pl.DataFrame, ctx) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    check = _CHECKS.get(form.name)
    if check is None:
        return work, []
    return check(form, work)
