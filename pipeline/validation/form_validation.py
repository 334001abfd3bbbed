"""Validation of one staged form: normalise, judge, and split into accepted and quarantined rows.

The steps, in order, for a raw form (every value text, with lineage):

1. duplicates: exact copies (DUP01) and conflicting re-entries of one key (DUP02) are set
   aside first, so that a superseded copy never raises findings of its own;
2. keys: SUBJID zero-padded, VISIT given as name or OID mapped to the visit name, repeat keys
   as integers; subjects absent from DM are KEY01;
3. items: each item typed by its kind in the CRF catalogue with the normalisation rules of
   crf.md §3-5 (``normalise``); what cannot be read becomes a finding (DAT01, NUM01, ...);
4. the form's Pandera model judges the typed rows (required items, code lists, ranges);
5. the form's own edit checks (``form_checks``);
6. a row with any ERROR goes to quarantine with its reasons; every other row is accepted.

Rows in = rows accepted + rows quarantined, always: nothing is dropped on the way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandera.polars as pa
import polars as pl

from pipeline.forms import FORMS, KEY_COLUMNS, LINEAGE_COLUMNS, VISITS, Form
from pipeline.validation import normalise as nz
from pipeline.validation.findings import FINDING_COLUMNS, empty_findings, make_findings
from pipeline.validation.per_value import with_per_value
from pipeline.validation.rules import ERROR
from schemas.crf import CRF_MODELS

LINEAGE_EXCLUDED_FROM_IDENTITY = set(LINEAGE_COLUMNS)
REP_COLUMNS = ("VISITREP", "FORMREP", "IGREP")
RECORD_KEY = ("SUBJID", "VISIT", "VISITREP", "FORMREP", "IGREP")

_DATE_STATUS = {
    "invalid": ("DAT01", "unparseable or impossible date"),
    "ambiguous": ("DAT01", "ambiguous day/month order"),
    "partial_not_allowed": ("DAT01", "partial date where a full date is required"),
    "out_of_range": ("DAT01", "year outside the allowed range"),
    "excel": ("DAT05", "converted from an Excel serial date"),
}
_NUMBER_STATUS = {
    "invalid": ("NUM01", "unparseable number"),
    "not_integer": ("NUM01", "integer expected"),
    "ambiguous": ("NUM02", "ambiguous number: thousands separator or decimal comma?"),
}


@dataclass(frozen=True)
class ValidationContext:
    """What validating one form needs to know beyond the form itself."""

    data_cutoff: date
    #: padded SUBJIDs in DM (a set, or a polars Series read once per form); None while validating DM
    dm_subjects: frozenset[str] | pl.Series | None = None

    def dm_subject_series(self) -> pl.Series:
        """The DM subjects as a Series, for a hashed ``is_in`` (a Python list of 100,000
        subjects would be rebuilt for every chunk)."""
        s = self.dm_subjects
        return s if isinstance(s, pl.Series) else pl.Series("s", sorted(s), dtype=pl.Utf8)


@dataclass
class FormResult:
    candidates: pl.DataFrame  # typed rows, accepted or quarantined for an ERROR (QUARANTINED flag)
    quarantine: pl.DataFrame  # raw rows + QUARANTINE_REASON
    findings: pl.DataFrame  # qa findings of this form
    rows_in: int

    @property
    def accepted(self) -> pl.DataFrame:
        """Typed rows of stg.<form>: the candidates not quarantined, without the flag (as the
        ``stg.<form>`` view selects them from ``validation.<form>``)."""
        return self.candidates.filter(~pl.col("QUARANTINED")).drop("QUARANTINED")


def _status_findings(work: pl.DataFrame, form: Form, item: str, status_col: str, table: dict) -> list[pl.DataFrame]:
    out = []
    for status, (rule, message) in table.items():
        out.append(
            make_findings(
                work,
                pl.col(status_col) == status,
                rule=rule,
                form=form.name,
                field=item,
                raw_value=pl.col(item),
                message=f"{item}: {message}",
            )
        )
    return out


def _typed_items(work: pl.DataFrame, form: Form, ctx: ValidationContext) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """Add ``<item>__t`` typed columns; return the frame and the normalisation findings.

    Each parser runs once per distinct raw value (``with_per_value``) into a struct column,
    whose fields are then taken apart: taking several fields of one parser expression would
    evaluate the parser once per field (eager polars has no common sub-expression elimination).
    """
    exprs: list[pl.Expr] = []
    status_cols: list[tuple[str, str, dict]] = []
    for it in form.items:
        col = pl.col(it.name)
        t = f"{it.name}__t"
        s = pl.col(f"{it.name}__s")
        if it.kind == "date":
            parsed = nz.parse_date(col, allow_partial=it.partial, max_year=ctx.data_cutoff.year)
            exprs += [s.struct.field("value").alias(t), s.struct.field("status").alias(f"{it.name}__st")]
            status_cols.append((it.name, f"{it.name}__st", _DATE_STATUS))
        elif it.kind == "time":
            parsed = nz.parse_time(col)
            exprs += [s.struct.field("value").alias(t), s.struct.field("status").alias(f"{it.name}__st")]
            status_cols.append((it.name, f"{it.name}__st", {"invalid": ("TIM01", "unparseable time")}))
        elif it.kind in ("int", "dec"):
            parsed = nz.parse_number(col, integer=it.kind == "int")
            value = s.struct.field("value")
            exprs += [
                (value.round(0).cast(pl.Int64) if it.kind == "int" else value).alias(t),
                s.struct.field("status").alias(f"{it.name}__st"),
                s.struct.field("unit").alias(f"{it.name}__unit"),
            ]
            status_cols.append((it.name, f"{it.name}__st", _NUMBER_STATUS))
        elif it.kind == "code":
            parsed = nz.map_code(col, it.codelist)
            exprs.append(s.alias(t))
        elif it.kind == "multi":
            parsed = nz.map_multi(col, it.codelist)
            exprs.append(s.alias(t))
        else:  # free text is kept verbatim
            exprs.append(col.alias(t))
            continue
        work = with_per_value(work, it.name, **{f"{it.name}__s": parsed})
    work = work.with_columns(exprs).drop(f"{it.name}__s" for it in form.items if f"{it.name}__s" in work.columns)
    findings = []
    for item, status_col, table in status_cols:
        findings += _status_findings(work, form, item, status_col, table)
    return work, findings


def _normalise_keys(work: pl.DataFrame) -> pl.DataFrame:
    """Keys cleaned in place; each key column is normalised once per distinct value."""
    by_name = {v.name: v.name for v in VISITS}
    by_oid = {v.oid.upper(): v.name for v in VISITS}
    visit_clean = nz.clean_code(pl.col("VISIT"))
    normalised = {
        "STUDYID": nz.clean_code(pl.col("STUDYID")),
        "SITEID": nz.pad_siteid(pl.col("SITEID")),
        "SUBJID": nz.pad_subjid(pl.col("SUBJID")),
        "VISIT": pl.coalesce(
            visit_clean.replace_strict(by_name, default=None),
            visit_clean.replace_strict(by_oid, default=None),
            visit_clean,
        ),
        **{c: pl.col(c).str.strip_chars().cast(pl.Int64, strict=False).fill_null(1) for c in REP_COLUMNS},
    }
    for column, expr in normalised.items():
        work = with_per_value(work, column, _KEY=expr).with_columns(pl.col("_KEY").alias(column)).drop("_KEY")
    return work


def _split_duplicates(work: pl.DataFrame, form: Form) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Set aside exact copies (DUP01) and superseded re-entries (DUP02).

    Returns (candidates, set_aside rows with QUARANTINE_REASON, findings). Identity of a row is
    every delivered column except lineage; the key of a record is subject, visit, repeats.
    """
    content = list(KEY_COLUMNS) + list(form.item_names)
    # a window, not group_by + join back on every content column (five times slower on LB)
    work = work.with_columns(pl.col("_ROW").min().over(content).alias("_FIRST"))
    copies = work.filter(pl.col("_ROW") != pl.col("_FIRST"))
    work = work.filter(pl.col("_ROW") == pl.col("_FIRST")).drop("_FIRST")
    first_rows = work.select("_ROW", pl.col("SRC_ROW").alias("_FIRST_SRC_ROW"))
    copies = copies.join(first_rows.rename({"_ROW": "_FIRST"}), on="_FIRST", how="left")
    dup01 = make_findings(
        copies, pl.lit(True), rule="DUP01", form=form.name, field="(row)", raw_value=pl.lit(None, pl.Utf8),
        message=pl.format("exact duplicate of row {}: this copy set aside", pl.col("_FIRST_SRC_ROW")),
    )
    copies = copies.with_columns(
        pl.format("DUP01 exact duplicate of row {}", pl.col("_FIRST_SRC_ROW")).alias("QUARANTINE_REASON")
    )

    # only keys entered more than once are ranked (a few rows in a hundred): ranking every
    # record key was the costliest step of validating LB
    contested = work.filter(pl.struct(list(RECORD_KEY)).is_duplicated())
    ranked = contested.with_columns(
        pl.struct(pl.col("LASTMOD").fill_null(""), pl.col("_ROW"))
        .rank("ordinal", descending=True)
        .over(list(RECORD_KEY))
        .alias("_RANK")
    )
    losers = ranked.filter(pl.col("_RANK") > 1).drop("_RANK")
    winners = work.filter(~pl.col("_ROW").is_in(losers["_ROW"].implode()))
    dup02 = [empty_findings({"_ROW": pl.UInt32})]
    if losers.height:
        w = ranked.filter(pl.col("_RANK") == 1).select(*RECORD_KEY, pl.col("SRC_ROW").alias("_WIN_ROW"), *[pl.col(i).alias(f"{i}__win") for i in form.item_names])
        losers = losers.join(w, on=list(RECORD_KEY), how="left", nulls_equal=True)
        for item in form.item_names:
            dup02.append(
                make_findings(
                    losers, pl.col(item).ne_missing(pl.col(f"{item}__win")), rule="DUP02", form=form.name, field=item,
                    raw_value=pl.col(item),
                    message=pl.format("re-entry superseded by row {} (value there: {})", pl.col("_WIN_ROW"), pl.col(f"{item}__win").fill_null("empty")),
                )
            )
        losers = losers.with_columns(
            pl.format("DUP02 superseded by row {} (later LASTMOD or later in file)", pl.col("_WIN_ROW")).alias("QUARANTINE_REASON")
        )
        losers = losers.select([c for c in losers.columns if not c.endswith("__win") and c != "_WIN_ROW"])
    set_aside = pl.concat([copies.drop("_FIRST", "_FIRST_SRC_ROW"), losers], how="diagonal_relaxed")
    return winners, set_aside, pl.concat([dup01, *dup02], how="diagonal_relaxed")


def _pandera_findings(typed: pl.DataFrame, work: pl.DataFrame, form: Form) -> pl.DataFrame:
    """Run the form's Pandera model; map every failure case to a finding under its rule."""
    model = CRF_MODELS[form.name]
    schema = model.to_schema()
    try:
        model.validate(typed, lazy=True)
        return empty_findings({"_ROW": pl.UInt32})
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    cases = cases.filter(pl.col("index").is_not_null() & pl.col("column").is_not_null())
    if cases.is_empty():
        return empty_findings({"_ROW": pl.UInt32})
    rows = []
    for (column, check), grp in cases.group_by(["column", "check"], maintain_order=True):
        meta = schema.columns[column].metadata or {}
        if check == "not_nullable":
            rule = "KEY01" if column in KEY_COLUMNS else "REQ01"
            message = f"{column}: required value missing"
        else:
            rule = meta.get("rule", "CODE01")
            message = f"{column}: failed {check}"
        idx = grp.select(pl.col("index").cast(pl.UInt32).alias("_POS"))
        hit = work.with_row_index("_POS").join(idx, on="_POS", how="semi")
        raw_col = column if column in work.columns else f"{column}__t"
        rows.append(
            make_findings(
                hit, pl.lit(True), rule=rule, form=form.name, field=column,
                raw_value=pl.col(raw_col).cast(pl.Utf8), message=message,
            )
        )
    return pl.concat(rows, how="diagonal_relaxed")


def validate_form(form_name: str, raw: pl.DataFrame, ctx: ValidationContext) -> FormResult:
    """Validate a whole raw form; outputs in delivery order, without the row link."""
    result = validate_rows(form_name, raw.with_row_index("_ROW"), ctx)
    return FormResult(
        candidates=result.candidates.drop("_ROW"),
        quarantine=result.quarantine.drop("_ROW"),
        findings=result.findings.drop("_ROW", "_SEQ"),
        rows_in=result.rows_in,
    )


def validate_rows(form_name: str, raw: pl.DataFrame, ctx: ValidationContext) -> FormResult:
    """Validate raw rows carrying ``_ROW``, their position in the delivered table.

    The rows must hold whole subjects (every spelling of a SUBJID): duplicates, record keys and
    the per-subject edit checks never look beyond one subject, so a trial can be validated in
    subject chunks (``pipeline.validation.form_tables``). ``_ROW`` orders the rows ("first copy",
    "later in file") and links findings to rows; every output keeps it, and the findings also
    carry ``_SEQ``, their rank in the order SRC_ROW, RULE_ID, FIELD, _ROW, so that outputs of
    several chunks can be put back into one deterministic order.
    """
    from pipeline.validation import form_checks

    form = FORMS[form_name]
    rows_in = raw.height
    raw = raw.with_columns(pl.col("_ROW").cast(pl.UInt32))
    work = raw
    raw_keys = work.select("_ROW", *[pl.col(k).alias(f"{k}__raw") for k in KEY_COLUMNS])
    work = _normalise_keys(work)
    work, set_aside, dup_findings = _split_duplicates(work, form)
    work, norm_findings = _typed_items(work, form, ctx)
    work = work.join(raw_keys, on="_ROW", how="left")

    findings = [dup_findings, *norm_findings]
    if ctx.dm_subjects is not None:
        findings.append(
            make_findings(
                work, ~pl.col("SUBJID").is_in(ctx.dm_subject_series().implode()), rule="KEY01", form=form.name,
                field="SUBJID", raw_value=pl.col("SUBJID__raw"), message="subject not in DM",
            )
        )
    work, extra = form_checks.run(form, work, ctx)
    findings += extra

    typed = work.select(
        *KEY_COLUMNS,
        *[pl.col(f"{i}__t").alias(i) for i in form.item_names],
        *[pl.col(f"{d}__t").alias(d) for d in form_checks.derived_columns(form)],
    )
    pandera = _pandera_findings(typed, work, form)
    # a value already reported by normalisation is not reported again as missing
    reported = pl.concat([f.select("_ROW", "FIELD") for f in findings if f.height], how="vertical_relaxed") if any(
        f.height for f in findings
    ) else pl.DataFrame(schema={"_ROW": pl.UInt32, "FIELD": pl.Utf8})
    pandera = pandera.join(reported, on=["_ROW", "FIELD"], how="anti")
    findings.append(pandera)
    all_findings = pl.concat([f.with_columns(pl.col("_ROW").cast(pl.UInt32)) for f in findings], how="diagonal_relaxed")

    errors = (
        all_findings.filter(pl.col("SEVERITY") == ERROR)
        .group_by("_ROW")
        .agg(pl.format("{} {}", "RULE_ID", "MESSAGE").sort().str.join("; ").alias("QUARANTINE_REASON"))
    )
    typed_all = pl.concat([typed, work.select("_ROW", *LINEAGE_COLUMNS)], how="horizontal")
    candidates = typed_all.with_columns(pl.col("_ROW").is_in(errors["_ROW"].implode()).alias("QUARANTINED"))
    quarantined_rows = raw.join(errors, on="_ROW", how="inner")
    set_aside_raw = raw.join(set_aside.select("_ROW", "QUARANTINE_REASON"), on="_ROW", how="inner")
    quarantine = pl.concat([quarantined_rows, set_aside_raw], how="vertical_relaxed").sort("_ROW")
    result = FormResult(
        candidates=candidates.sort("_ROW"),
        quarantine=quarantine,
        findings=all_findings.select(*FINDING_COLUMNS, "_ROW")
        .sort("SRC_ROW", "RULE_ID", "FIELD", "_ROW", maintain_order=True)
        .with_row_index("_SEQ"),
        rows_in=rows_in,
    )
    accepted = result.candidates.height - int(result.candidates["QUARANTINED"].sum())
    if accepted + quarantine.height != rows_in:
        raise AssertionError(
            f"{form_name}: {rows_in} rows in but {accepted} accepted + {quarantine.height} quarantined"
        )
    return result
