"""ADTTE — time-to-event parameters (adam.md §6), admiral ``derive_param_tte`` semantics.

Every parameter is built the admiral way: a list of *event sources* and a list of *censoring
sources*, each a frame with one candidate date per subject (``USUBJID, ADT, CNSR, EVNTDESC,
CNSDTDSC, SRCDOM, SRCVAR, SRCSEQ``), combined by :func:`derive_param_tte`:

* the earliest event date wins (ties -> the first listed event source);
* without an event, the **latest** censoring date wins (ties -> the first listed source).

Because "latest censoring date wins" would pick the wrong date when several censoring rules
compete, the FDA-2018 PFS decisions are pre-filtered (one function per decision, below) so that
exactly one censoring source applies to each subject — the admiralonco ADTTE vignette warning.

Input frames
------------
``assessments``: ADRS ``PARAMCD = OVR`` records — ``USUBJID, ADT (date), AVALC, ANL01FL,
SRCSEQ``. ``subjects``: one row per subject — ``USUBJID``, ``TRTSDT`` (and/or ``ENRLDT``; the
origin ``STARTDT = coalesce(TRTSDT, ENRLDT)`` for never-dosed ITT subjects), ``DTHDT``,
``NACTDT``, ``LSTALVDT``, ``has_baseline_assessment`` (bool). Missing optional columns are
treated as null. ``crsp``: ADRS ``PARAMCD = CRSP`` — ``USUBJID, AVALC ('Y'/'N'), ADT``.

All steps are vectorised joins / group-bys; nothing loops over subjects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from pipeline.config import data_cutoff, trial_config

#: response values that make an assessment "adequate" (FDA 2018 guidance)
ADEQUATE = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD")

#: worst-first order used when several OVR records share a date (ADRS ANL01FL rule)
_WORST_RANK = {"NE": 0, "CR": 1, "PR": 2, "SD": 3, "NON-CR/NON-PD": 4, "PD": 5}

SOURCE_COLUMNS = ("USUBJID", "ADT", "CNSR", "EVNTDESC", "CNSDTDSC", "SRCDOM", "SRCVAR", "SRCSEQ")

_SOURCE_SCHEMA = {
    "USUBJID": pl.String,
    "ADT": pl.Date,
    "CNSR": pl.Int64,
    "EVNTDESC": pl.String,
    "CNSDTDSC": pl.String,
    "SRCDOM": pl.String,
    "SRCVAR": pl.String,
    "SRCSEQ": pl.Int64,
}

#: PARAMCD -> PARAM of the time-to-event parameters (adam.md §6)
TTE_PARAMS = {
    "PFS": "Progression-Free Survival",
    "PFSNC": "Progression-Free Survival (no NACT/missed-assessment censoring)",
    "OS": "Overall Survival",
    "DOR": "Duration of Response",
    "TTR": "Time to Response",
}


# ---------------------------------------------------------------------------------------------
# configuration defaults
# ---------------------------------------------------------------------------------------------
def default_gap_days() -> int:
    """``adam.missed_assessment_gap_days`` (91 = 2 x 42 + 7)."""
    return int(trial_config()["adam"]["missed_assessment_gap_days"])


def default_rules() -> str:
    """``adam.censoring_rules`` — ``'fda2018'`` (this trial) or ``'admiralonco'``."""
    return str(trial_config()["adam"]["censoring_rules"])


# ---------------------------------------------------------------------------------------------
# generic machinery
# ---------------------------------------------------------------------------------------------
def _ensure(df: pl.DataFrame, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    """Add missing optional columns as typed nulls; cast present ones (e.g. all-null columns)."""
    return df.with_columns(
        [pl.col(c).cast(t) if c in df.columns else pl.lit(None, dtype=t).alias(c)
         for c, t in columns.items()]
    )


def start_dates(subjects: pl.DataFrame) -> pl.DataFrame:
    """``USUBJID, STARTDT, STARTDOM, STARTVAR``: ``STARTDT = TRTSDT``, ``ENRLDT`` for
    never-dosed ITT subjects; ``STARTDOM/STARTVAR`` name the source of the start date (SRCDOM /
    SRCVAR of start-date censoring)."""
    s = _ensure(subjects, {"TRTSDT": pl.Date, "ENRLDT": pl.Date})
    return s.select(
        "USUBJID",
        pl.coalesce("TRTSDT", "ENRLDT").alias("STARTDT"),
        pl.lit("ADSL").alias("STARTDOM"),
        pl.when(pl.col("TRTSDT").is_not_null())
        .then(pl.lit("TRTSDT"))
        .otherwise(pl.lit("ENRLDT"))
        .alias("STARTVAR"),
    )


def make_source(
    df: pl.DataFrame,
    *,
    date_col: str,
    cnsr: int | pl.Expr,
    evntdesc: str | pl.Expr,
    cnsdtdsc: str | pl.Expr | None,
    srcdom: str | pl.Expr,
    srcvar: str | pl.Expr,
    srcseq: str | None = None,
) -> pl.DataFrame:
    """Shape a frame into an admiral ``event_source`` / ``censor_source`` (one candidate row
    per subject and date): ``USUBJID, ADT, CNSR, EVNTDESC, CNSDTDSC, SRCDOM, SRCVAR, SRCSEQ``.
    Rows with a null date are dropped (admiral ignores them too)."""

    def lit(v, dtype=pl.String):
        return v if isinstance(v, pl.Expr) else pl.lit(v, dtype=dtype)

    return df.select(
        pl.col("USUBJID").cast(pl.String),
        pl.col(date_col).cast(pl.Date).alias("ADT"),
        lit(cnsr, pl.Int64).cast(pl.Int64).alias("CNSR"),
        lit(evntdesc).alias("EVNTDESC"),
        lit(cnsdtdsc).alias("CNSDTDSC"),
        lit(srcdom).alias("SRCDOM"),
        lit(srcvar).alias("SRCVAR"),
        (pl.col(srcseq) if srcseq else pl.lit(None)).cast(pl.Int64).alias("SRCSEQ"),
    ).filter(pl.col("ADT").is_not_null())


def derive_param_tte(
    starts: pl.DataFrame,
    event_sources: Sequence[pl.DataFrame],
    censor_sources: Sequence[pl.DataFrame],
    *,
    paramcd: str,
    param: str | None = None,
) -> pl.DataFrame:
    """admiral ``derive_param_tte``: one row per subject of ``starts`` with any source row.

    Rule: per subject the earliest event date wins (ties -> first listed event source); if
    there is no event the latest censoring date wins (ties -> first listed censoring source).
    Then ``ADT = max(ADT, STARTDT)`` and ``AVAL = ADT - STARTDT + 1`` (days; admiral
    ``derive_vars_duration(add_one = TRUE)``).

    ``starts``: ``USUBJID, STARTDT``. Returns ``USUBJID, PARAMCD, PARAM, STARTDT, ADT, AVAL,
    CNSR, EVNTDESC, CNSDTDSC, SRCDOM, SRCVAR, SRCSEQ`` sorted by USUBJID.
    """

    def stack(sources: Sequence[pl.DataFrame], kind: int) -> pl.DataFrame:
        frames = [
            s.select(SOURCE_COLUMNS)
            .cast(_SOURCE_SCHEMA)
            .with_columns(pl.lit(i, dtype=pl.Int32).alias("_src"), pl.lit(kind).alias("_kind"))
            for i, s in enumerate(sources)
        ]
        if not frames:
            return pl.DataFrame(
                schema={**_SOURCE_SCHEMA, "_src": pl.Int32, "_kind": pl.Int32}
            )
        return pl.concat(frames, how="vertical")

    events = (
        stack(event_sources, 0)
        .sort(["USUBJID", "ADT", "_src"])
        .unique(subset="USUBJID", keep="first", maintain_order=True)
    )
    censors = (
        stack(censor_sources, 1)
        .sort(["USUBJID", "ADT", "_src"], descending=[False, True, False])
        .unique(subset="USUBJID", keep="first", maintain_order=True)
    )
    chosen = (
        pl.concat([events, censors], how="vertical")
        .with_columns(pl.col("_kind").cast(pl.Int32))
        .sort(["USUBJID", "_kind"])
        .unique(subset="USUBJID", keep="first", maintain_order=True)
    )
    out = (
        starts.select("USUBJID", "STARTDT")
        .join(chosen, on="USUBJID", how="inner")
        .with_columns(pl.max_horizontal("ADT", "STARTDT").alias("ADT"))
        .with_columns(
            ((pl.col("ADT") - pl.col("STARTDT")).dt.total_days() + 1).alias("AVAL"),
            pl.lit(paramcd).alias("PARAMCD"),
            pl.lit(param or paramcd).alias("PARAM"),
        )
    )
    return out.select(
        "USUBJID", "PARAMCD", "PARAM", "STARTDT", "ADT", "AVAL", "CNSR",
        "EVNTDESC", "CNSDTDSC", "SRCDOM", "SRCVAR", "SRCSEQ",
    ).sort("USUBJID")


# ---------------------------------------------------------------------------------------------
# PFS building blocks (one function per decision)
# ---------------------------------------------------------------------------------------------
def analysis_assessments(
    assessments: pl.DataFrame,
    subjects: pl.DataFrame,
    *,
    starts: pl.DataFrame | None = None,
    apply_nact: bool = True,
) -> pl.DataFrame:
    """OVR records usable for TTE, joined with ``STARTDT`` and ``NACTDT``.

    Rule (step 2): records with ``ANL01FL = 'Y'`` (ADRS: post-baseline, before NACT, <= DCO,
    worst per date) and, when ``apply_nact``, ``ADT < NACTDT`` (if NACT). With
    ``apply_nact=False`` (sensitivity PFSNC) records dropped from ANL01FL *only* because they
    are on/after NACTDT are taken back (``STARTDT <= ADT``, worst record per date kept).
    """
    starts = start_dates(subjects) if starts is None else starts
    subj = _ensure(subjects, {"NACTDT": pl.Date}).select("USUBJID", "NACTDT")
    a = _ensure(assessments, {"ANL01FL": pl.String, "SRCSEQ": pl.Int64})
    a = a.join(starts.select("USUBJID", "STARTDT"), on="USUBJID", how="inner").join(
        subj, on="USUBJID", how="left"
    )
    anl = pl.col("ANL01FL") == "Y"
    before_nact = pl.col("NACTDT").is_null() | (pl.col("ADT") < pl.col("NACTDT"))
    if apply_nact:
        a = a.filter(anl & before_nact)
    else:
        post_nact = pl.col("NACTDT").is_not_null() & (pl.col("ADT") >= pl.col("NACTDT"))
        a = a.filter(
            anl.fill_null(False)
            | (post_nact & (pl.col("ADT") >= pl.col("STARTDT")) & pl.col("ADT").is_not_null())
        )
        a = (
            a.with_columns(
                pl.col("AVALC").replace_strict(_WORST_RANK, default=0, return_dtype=pl.Int32).alias("_rank")
            )
            .sort(["USUBJID", "ADT", "_rank", "SRCSEQ"], nulls_last=True)
            .unique(subset=["USUBJID", "ADT"], keep="first", maintain_order=True)
            .drop("_rank")
        )
    return a.select("USUBJID", "ADT", "AVALC", "SRCSEQ", "STARTDT", "NACTDT")


def first_pd(records: pl.DataFrame) -> pl.DataFrame:
    """``USUBJID, PDDT, PDSEQ``: the first OVR = PD (earliest ADT, then lowest SRCSEQ)."""
    return (
        records.filter(pl.col("AVALC") == "PD")
        .sort(["USUBJID", "ADT", "SRCSEQ"], nulls_last=True)
        .unique(subset="USUBJID", keep="first", maintain_order=True)
        .select("USUBJID", pl.col("ADT").alias("PDDT"), pl.col("SRCSEQ").alias("PDSEQ"))
    )


def last_adequate_assessment(records: pl.DataFrame, pd: pl.DataFrame) -> pl.DataFrame:
    """``USUBJID, LAADT, LAASEQ`` (step 3): the last adequate *non-PD* assessment (CR, PR, SD,
    NON-CR/NON-PD) strictly before the first PD, or over all records if no PD."""
    return (
        records.filter(pl.col("AVALC").is_in(ADEQUATE) & (pl.col("AVALC") != "PD"))
        .join(pd.select("USUBJID", "PDDT"), on="USUBJID", how="left")
        .filter(pl.col("PDDT").is_null() | (pl.col("ADT") < pl.col("PDDT")))
        .sort(["USUBJID", "ADT", "SRCSEQ"], descending=[False, True, True], nulls_last=True)
        .unique(subset="USUBJID", keep="first", maintain_order=True)
        .select("USUBJID", pl.col("ADT").alias("LAADT"), pl.col("SRCSEQ").alias("LAASEQ"))
    )


def eligible_deaths(subjects: pl.DataFrame, *, apply_nact: bool, dco: date) -> pl.DataFrame:
    """``USUBJID, DTH``: ``DTHDT`` if ``<= DCO`` and, when ``apply_nact`` (step 2),
    ``DTHDT < NACTDT`` (if NACT); otherwise null."""
    s = _ensure(subjects, {"DTHDT": pl.Date, "NACTDT": pl.Date})
    ok = pl.col("DTHDT") <= pl.lit(dco)
    if apply_nact:
        ok = ok & (pl.col("NACTDT").is_null() | (pl.col("DTHDT") < pl.col("NACTDT")))
    return s.select("USUBJID", pl.when(ok).then(pl.col("DTHDT")).alias("DTH"))


def effective_nact(subjects: pl.DataFrame, *, dco: date) -> pl.DataFrame:
    """``USUBJID, NACT``: ``NACTDT`` when on or before DCO (later data are cut), else null."""
    s = _ensure(subjects, {"NACTDT": pl.Date})
    return s.select(
        "USUBJID", pl.when(pl.col("NACTDT") <= pl.lit(dco)).then(pl.col("NACTDT")).alias("NACT")
    )


def _subject_summary(
    starts: pl.DataFrame,
    records: pl.DataFrame,
    subjects: pl.DataFrame,
    *,
    apply_nact: bool,
    dco: date,
) -> pl.DataFrame:
    """Per subject: STARTDT, STARTVAR, PDDT/PDSEQ, LAADT/LAASEQ, DTH, NACT, REF, EVT, EVTGAP."""
    pd = first_pd(records)
    laa = last_adequate_assessment(records, pd)
    return (
        starts.join(pd, on="USUBJID", how="left")
        .join(laa, on="USUBJID", how="left")
        .join(eligible_deaths(subjects, apply_nact=apply_nact, dco=dco), on="USUBJID", how="left")
        .join(effective_nact(subjects, dco=dco), on="USUBJID", how="left")
        .with_columns(
            pl.coalesce("LAADT", "STARTDT").alias("REF"),
            pl.min_horizontal("PDDT", "DTH").alias("EVT"),
        )
        .with_columns((pl.col("EVT") - pl.col("REF")).dt.total_days().alias("EVTGAP"))
    )


def no_baseline_censor(s: pl.DataFrame) -> pl.DataFrame:
    """Step 1: no baseline tumour assessment -> censor at STARTDT, ``CNSR = 1``."""
    return make_source(
        s.filter(~pl.col("has_bl")),
        date_col="STARTDT", cnsr=1,
        evntdesc="NO BASELINE TUMOR ASSESSMENT", cnsdtdsc="START DATE",
        srcdom=pl.col("STARTDOM"), srcvar=pl.col("STARTVAR"),
    )


def pd_event(s: pl.DataFrame, *, gap_days: int | None) -> pl.DataFrame:
    """Step 4 event source: first PD (ADRS), kept when ``PDDT - REF <= gap_days`` (no limit if
    ``gap_days`` is None). ``CNSR = 0``."""
    keep = pl.col("has_bl") & pl.col("PDDT").is_not_null()
    if gap_days is not None:
        keep = keep & ((pl.col("PDDT") - pl.col("REF")).dt.total_days() <= gap_days)
    return make_source(
        s.filter(keep), date_col="PDDT", cnsr=0,
        evntdesc="DISEASE PROGRESSION", cnsdtdsc=None,
        srcdom="ADRS", srcvar="ADT", srcseq="PDSEQ",
    )


def death_event(s: pl.DataFrame, *, gap_days: int | None) -> pl.DataFrame:
    """Step 4 event source: death (ADSL.DTHDT, pre-filtered by step 2), kept when
    ``DTHDT - REF <= gap_days`` (no limit if None). ``CNSR = 0``."""
    keep = pl.col("has_bl") & pl.col("DTH").is_not_null()
    if gap_days is not None:
        keep = keep & ((pl.col("DTH") - pl.col("REF")).dt.total_days() <= gap_days)
    return make_source(
        s.filter(keep), date_col="DTH", cnsr=0,
        evntdesc="DEATH", cnsdtdsc=None, srcdom="ADSL", srcvar="DTHDT",
    )


def _ref_source_cols(s: pl.DataFrame) -> pl.DataFrame:
    """Source columns of the REF date: the LAA record (ADRS.ADT) or the start (ADSL)."""
    has_laa = pl.col("LAADT").is_not_null()
    return s.with_columns(
        pl.when(has_laa).then(pl.lit("ADRS")).otherwise(pl.col("STARTDOM")).alias("_dom"),
        pl.when(has_laa).then(pl.lit("ADT")).otherwise(pl.col("STARTVAR")).alias("_var"),
        pl.when(has_laa).then(pl.col("LAASEQ")).alias("_seq"),
    )


def _ref_source(s: pl.DataFrame, cnsr: pl.Expr | int, evntdesc, cnsdtdsc) -> pl.DataFrame:
    return make_source(
        _ref_source_cols(s), date_col="REF", cnsr=cnsr, evntdesc=evntdesc, cnsdtdsc=cnsdtdsc,
        srcdom=pl.col("_dom"), srcvar=pl.col("_var"), srcseq="_seq",
    )


def missed_assessments_censor(s: pl.DataFrame, *, gap_days: int) -> pl.DataFrame:
    """Step 4 censoring: an event exists but ``EVT - REF > gap_days`` -> censor at REF with
    ``CNSR = 4`` ("event after >= 2 missed assessments"), or ``CNSR = 2`` if REF = STARTDT
    (no adequate assessment before the event)."""
    sub = s.filter(pl.col("has_bl") & pl.col("EVT").is_not_null() & (pl.col("EVTGAP") > gap_days))
    no_laa = pl.col("LAADT").is_null()
    return _ref_source(
        sub,
        pl.when(no_laa).then(pl.lit(2)).otherwise(pl.lit(4)),
        pl.when(no_laa)
        .then(pl.lit("EVENT AFTER >= 2 MISSED ASSESSMENTS, NO ADEQUATE ASSESSMENT"))
        .otherwise(pl.lit("EVENT AFTER >= 2 MISSED ASSESSMENTS")),
        pl.when(no_laa).then(pl.lit("START DATE")).otherwise(pl.lit("LAST ADEQUATE ASSESSMENT")),
    )


def nact_censor(s: pl.DataFrame) -> pl.DataFrame:
    """Step 5: no (eligible) event and new anticancer therapy started -> censor at REF (last
    adequate assessment before NACT, else STARTDT), ``CNSR = 3``."""
    sub = s.filter(pl.col("has_bl") & pl.col("EVT").is_null() & pl.col("NACT").is_not_null())
    return _ref_source(
        sub, 3, "NEW ANTICANCER THERAPY",
        pl.when(pl.col("LAADT").is_null())
        .then(pl.lit("START DATE"))
        .otherwise(pl.lit("LAST ADEQUATE ASSESSMENT BEFORE NEW ANTICANCER THERAPY")),
    )


def last_assessment_censor(s: pl.DataFrame, *, only_without_nact: bool = True) -> pl.DataFrame:
    """Step 6: no event (and no NACT when ``only_without_nact``) -> censor at the last adequate
    assessment, ``CNSR = 5``."""
    keep = pl.col("has_bl") & pl.col("EVT").is_null() & pl.col("LAADT").is_not_null()
    if only_without_nact:
        keep = keep & pl.col("NACT").is_null()
    return make_source(
        s.filter(keep), date_col="LAADT", cnsr=5,
        evntdesc="LAST ADEQUATE ASSESSMENT", cnsdtdsc="LAST ADEQUATE ASSESSMENT",
        srcdom="ADRS", srcvar="ADT", srcseq="LAASEQ",
    )


def start_censor(s: pl.DataFrame, *, only_without_nact: bool = True, only_without_laa: bool = True) -> pl.DataFrame:
    """Step 6: no event, no adequate post-baseline assessment (and no NACT) -> censor at
    STARTDT, ``CNSR = 2``. With ``only_without_laa=False`` the row is offered to every subject
    (admiralonco ``rand_censor``; the latest censoring date then wins)."""
    keep = pl.col("has_bl") & pl.col("EVT").is_null()
    if only_without_laa:
        keep = keep & pl.col("LAADT").is_null()
    if only_without_nact:
        keep = keep & pl.col("NACT").is_null()
    return make_source(
        s.filter(keep), date_col="STARTDT", cnsr=2,
        evntdesc="NO ADEQUATE POST-BASELINE ASSESSMENT", cnsdtdsc="START DATE",
        srcdom=pl.col("STARTDOM"), srcvar=pl.col("STARTVAR"),
    )


# ---------------------------------------------------------------------------------------------
# parameters
# ---------------------------------------------------------------------------------------------
def _fda_sources(s: pl.DataFrame, *, gap_days: int, ignore_gap: bool, step1: bool):
    events = [pd_event(s, gap_days=None if ignore_gap else gap_days),
              death_event(s, gap_days=None if ignore_gap else gap_days)]
    censors = [nact_censor(s), last_assessment_censor(s), start_censor(s)]
    if not ignore_gap:
        censors.insert(0, missed_assessments_censor(s, gap_days=gap_days))
    if step1:
        censors.insert(0, no_baseline_censor(s))
    return events, censors


def pfs(
    assessments: pl.DataFrame,
    subjects: pl.DataFrame,
    *,
    gap_days: int | None = None,
    rules: str | None = None,
    ignore_nact_and_gap: bool = False,
    dco: date | None = None,
) -> pl.DataFrame:
    """Progression-free survival, one row per subject (``PARAMCD = 'PFS'``, or ``'PFSNC'`` when
    ``ignore_nact_and_gap``).

    Keyword arguments:

    * ``gap_days`` — missed-assessment limit G (default ``adam.missed_assessment_gap_days`` = 91).
    * ``rules`` — ``'fda2018'`` (default ``adam.censoring_rules``): steps 1–6 of adam.md §6:
      (1) no baseline assessment -> censor at STARTDT, CNSR 1; (2) only assessments with
      ``ADT < NACTDT`` and deaths with ``DTHDT < NACTDT``; (3) REF = last adequate non-PD
      assessment before first PD, else STARTDT; (4) EVT = earliest of first PD and death:
      ``EVT - REF <= G`` -> event (CNSR 0) else censor at REF (CNSR 4, or 2 if REF = STARTDT);
      (5) no EVT and NACT -> censor at REF, CNSR 3; (6) censor at LAA (CNSR 5) or STARTDT
      (CNSR 2). ``'admiralonco'``: the plain template — events first PD and death (no NACT or
      gap rules, no step 1), censoring sources last adequate assessment (CNSR 5) and STARTDT
      (CNSR 2) of which the latest wins.
    * ``ignore_nact_and_gap`` — sensitivity PFSNC: ignore rules 2 and 4 (all PD/deaths count,
      including OVR records on/after NACTDT). Rule 5 still applies literally when there is no
      event at all (censor at REF computed from all assessments, CNSR 3).
    * ``dco`` — data cut-off (default ``trial.data_cutoff``); deaths / NACT after it are ignored.

    Returns ``USUBJID, PARAMCD, PARAM, STARTDT, ADT, AVAL, CNSR, EVNTDESC, CNSDTDSC, SRCDOM,
    SRCVAR, SRCSEQ``.
    """
    gap_days = default_gap_days() if gap_days is None else int(gap_days)
    rules = default_rules() if rules is None else rules
    if rules not in ("fda2018", "admiralonco"):
        raise ValueError(f"unknown censoring rule set {rules!r} (fda2018 | admiralonco)")
    dco = data_cutoff() if dco is None else dco
    paramcd = "PFSNC" if ignore_nact_and_gap else "PFS"
    param = TTE_PARAMS["PFSNC" if ignore_nact_and_gap else "PFS"]

    if "has_baseline_assessment" not in subjects.columns:
        raise ValueError("subjects needs has_baseline_assessment (PFS step 1)")
    starts = start_dates(subjects)
    subj = _ensure(subjects, {"has_baseline_assessment": pl.Boolean})
    starts_bl = starts.join(
        subj.select("USUBJID", pl.col("has_baseline_assessment").fill_null(False).alias("has_bl")),
        on="USUBJID", how="left",
    )

    if rules == "admiralonco":
        records = analysis_assessments(assessments, subjects, starts=starts, apply_nact=True)
        s = _subject_summary(
            starts_bl.with_columns(pl.lit(True).alias("has_bl")), records, subjects,
            apply_nact=False, dco=dco,
        )
        events = [pd_event(s, gap_days=None), death_event(s, gap_days=None)]
        censors = [
            last_assessment_censor(s, only_without_nact=False),
            start_censor(s, only_without_nact=False, only_without_laa=False),
        ]
        return derive_param_tte(starts, events, censors, paramcd=paramcd, param=param)

    apply_nact = not ignore_nact_and_gap
    records = analysis_assessments(assessments, subjects, starts=starts, apply_nact=apply_nact)
    s = _subject_summary(starts_bl, records, subjects, apply_nact=apply_nact, dco=dco)
    events, censors = _fda_sources(s, gap_days=gap_days, ignore_gap=ignore_nact_and_gap, step1=True)
    return derive_param_tte(starts, events, censors, paramcd=paramcd, param=param)


def os(subjects: pl.DataFrame, *, dco: date | None = None) -> pl.DataFrame:
    """Overall survival (``PARAMCD = 'OS'``): event at ``DTHDT`` if ``DTHDT <= DCO`` (CNSR 0);
    otherwise censor at ``min(LSTALVDT, DCO)`` (CNSR 1; STARTDT if LSTALVDT is missing).
    ``DTHDT`` is expected already imputed (ADSL DTHDTF). ``dco`` defaults to
    ``trial.data_cutoff``."""
    dco = data_cutoff() if dco is None else dco
    starts = start_dates(subjects)
    s = _ensure(subjects, {"DTHDT": pl.Date, "LSTALVDT": pl.Date}).join(
        starts, on="USUBJID", how="inner"
    )
    died = pl.col("DTHDT").is_not_null() & (pl.col("DTHDT") <= pl.lit(dco))
    event = make_source(
        s.filter(died), date_col="DTHDT", cnsr=0, evntdesc="DEATH", cnsdtdsc=None,
        srcdom="ADSL", srcvar="DTHDT",
    )
    alive = s.filter(~died).with_columns(
        pl.min_horizontal(pl.coalesce("LSTALVDT", "STARTDT"), pl.lit(dco)).alias("_cdt"),
        pl.when(pl.col("LSTALVDT").is_null()).then(pl.col("STARTVAR"))
        .when(pl.col("LSTALVDT") > pl.lit(dco)).then(pl.lit("DCO"))
        .otherwise(pl.lit("LSTALVDT")).alias("_var"),
    )
    censor = make_source(
        alive, date_col="_cdt", cnsr=1, evntdesc="LAST KNOWN ALIVE",
        cnsdtdsc="LAST KNOWN ALIVE DATE", srcdom="ADSL", srcvar=pl.col("_var"),
    )
    return derive_param_tte(starts, [event], [censor], paramcd="OS", param=TTE_PARAMS["OS"])


def _crsp_starts(crsp: pl.DataFrame) -> pl.DataFrame:
    """``USUBJID, STARTDT, STARTDOM, STARTVAR`` for responders: ``CRSP AVALC = 'Y'``,
    STARTDT = its ADT (source ADRS.ADT)."""
    return (
        crsp.filter((pl.col("AVALC") == "Y") & pl.col("ADT").is_not_null())
        .select("USUBJID", pl.col("ADT").alias("STARTDT"), pl.lit("ADRS").alias("STARTDOM"),
                pl.lit("ADT").alias("STARTVAR"))
        .unique(subset="USUBJID", keep="first", maintain_order=True)
    )


def dor(
    assessments: pl.DataFrame,
    subjects: pl.DataFrame,
    crsp: pl.DataFrame,
    *,
    gap_days: int | None = None,
    rules: str | None = None,
    dco: date | None = None,
) -> pl.DataFrame:
    """Duration of response (``PARAMCD = 'DOR'``), confirmed responders only (CRSP = Y).

    STARTDT = ADT of CRSP; events / censoring exactly as PFS steps 2–6 using only assessments
    with ``ADT > STARTDT`` (REF = last adequate non-PD assessment after STARTDT, else STARTDT;
    start-date censoring sources are ADRS.ADT of CRSP). Step 1 does not apply. Keyword
    arguments as :func:`pfs` (``rules='admiralonco'``: plain PD/death events, censoring at the
    latest of LAA and STARTDT).
    """
    gap_days = default_gap_days() if gap_days is None else int(gap_days)
    rules = default_rules() if rules is None else rules
    if rules not in ("fda2018", "admiralonco"):
        raise ValueError(f"unknown censoring rule set {rules!r} (fda2018 | admiralonco)")
    dco = data_cutoff() if dco is None else dco
    starts = _crsp_starts(crsp)
    apply_nact = rules == "fda2018"
    records = analysis_assessments(assessments, subjects, starts=starts, apply_nact=True)
    records = records.filter(pl.col("ADT") > pl.col("STARTDT"))
    s = _subject_summary(
        starts.with_columns(pl.lit(True).alias("has_bl")), records, subjects,
        apply_nact=apply_nact, dco=dco,
    )
    # deaths before the response date cannot end a response
    s = s.with_columns(
        pl.when(pl.col("DTH") >= pl.col("STARTDT")).then(pl.col("DTH")).alias("DTH")
    ).with_columns(
        pl.min_horizontal("PDDT", "DTH").alias("EVT"),
    ).with_columns((pl.col("EVT") - pl.col("REF")).dt.total_days().alias("EVTGAP"))
    param = TTE_PARAMS["DOR"]
    if rules == "admiralonco":
        events = [pd_event(s, gap_days=None), death_event(s, gap_days=None)]
        censors = [last_assessment_censor(s, only_without_nact=False),
                   start_censor(s, only_without_nact=False, only_without_laa=False)]
    else:
        events, censors = _fda_sources(s, gap_days=gap_days, ignore_gap=False, step1=False)
    return derive_param_tte(starts, events, censors, paramcd="DOR", param=param)


def ttr(crsp: pl.DataFrame, subjects: pl.DataFrame) -> pl.DataFrame:
    """Time to response (``PARAMCD = 'TTR'``), confirmed responders only: ``AVAL = CRSP ADT -
    STARTDT + 1`` (STARTDT = TRTSDT, ENRLDT if never dosed), ``CNSR = 0``; summarised
    descriptively."""
    starts = start_dates(subjects)
    resp = _crsp_starts(crsp).select("USUBJID", pl.col("STARTDT").alias("RSPDT"))
    s = resp.join(starts, on="USUBJID", how="inner")
    event = make_source(
        s, date_col="RSPDT", cnsr=0, evntdesc="CONFIRMED RESPONSE", cnsdtdsc=None,
        srcdom="ADRS", srcvar="ADT",
    )
    return derive_param_tte(starts, [event], [], paramcd="TTR", param=TTE_PARAMS["TTR"])
