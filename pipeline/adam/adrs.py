"""ADRS — response parameters (adam.md §5), admiralonco semantics over polars.

One function per decision, each mirroring an admiralonco function / event:

=============================================  ============================================
function                                       PARAMCD (admiralonco)
=============================================  ============================================
:func:`flag_analysis_records`                  ANL01FL / ANL02FL on OVR (ADRS vignette)
:func:`best_overall_response`                  BOR  (``derive_param_bor``)
:func:`confirmed_responses`                    helper: confirmed CR/PR records (``cbor_cr``,
                                               ``cbor_pr`` / ``crsp_y_cr``, ``crsp_y_pr``)
:func:`confirmed_best_overall_response`        CBOR (``derive_param_confirmed_bor``)
:func:`confirmed_response`                     CRSP (``derive_param_confirmed_resp``)
:func:`response`                               RSP  (``derive_param_response``)
:func:`first_progression`                      PD   (``derive_extreme_records``, first PD)
:func:`clinical_benefit`                       CB   (``derive_param_clinbenefit``, window 35)
:func:`clinical_benefit_24`                    CB24 (same, window 161)
:func:`last_assessment`                        LSTA (last disease assessment)
:func:`best_response_flag`                     BCP / CBCP (BOR / CBOR in CR, PR)
:func:`subject_status_parameters`              MDIS (measurable disease), DEATH
=============================================  ============================================

Every record carries ``PARAM`` from :data:`PARAM_LABELS` (the admiralonco ADRS template's
wording), so an analyst never has to decode a PARAMCD.

Input frames
------------
``ovr``: OVR records — ``USUBJID``, ``ADT`` (``pl.Date``), ``AVALC`` in CR / PR / SD /
NON-CR/NON-PD / PD / NE. The parameter functions expect the ``ANL01FL`` / ``ANL02FL`` columns
added by :func:`flag_analysis_records` (``'Y'`` or null).
``subjects``: one row per subject — ``USUBJID``, ``TRTSDT`` (the reference date column,
``adam.reference_date``), optional ``NACTDT``. Every subject of ``subjects`` gets exactly one
output row.

Output of every parameter function: ``USUBJID, PARAMCD, AVALC, AVAL, ADT`` sorted by USUBJID.
``AVAL`` is admiralonco ``aval_resp`` for BOR / CBOR / LSTA (CR 1, PR 2, SD 3, NON-CR/NON-PD 4,
PD 5, NE 6, MISSING 7) and 1 / 0 for the Y / N parameters. ``ADT`` is null for MISSING and N.

Rule choices are keyword arguments; ``None`` means the ``adam:`` value of ``trial_config.yaml``
(read at call time, so ``TRIALWH_CONFIG`` is honoured). Everything is vectorised (joins and
group-bys); the confirmation logic is a per-subject self-join of the (few) OVR records, not a
Python loop, so 100,000 subjects run in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from pipeline.config import trial_config

#: admiralonco ``aval_resp``
AVAL_RESP = {"CR": 1, "PR": 2, "SD": 3, "NON-CR/NON-PD": 4, "PD": 5, "NE": 6, "MISSING": 7}

#: best-first order for BOR / CBOR (CR, PR, SD, NON-CR/NON-PD, PD, NE, MISSING)
BEST_ORDER = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE", "MISSING")

#: ANL01FL "worst on its date": higher = worse (NE < CR < PR < SD < NON-CR/NON-PD < PD);
#: any other value ranks 0 (admiralonco ADRS vignette ``worst_resp``)
WORST_RANK = {"NE": 1, "CR": 2, "PR": 3, "SD": 4, "NON-CR/NON-PD": 5, "PD": 6}

RESPONSES = tuple(WORST_RANK)

#: PARAMCD -> PARAM (admiralonco ADRS template wording; "by Investigator": RSEVAL)
PARAM_LABELS = {
    "OVR": "Overall Response by Investigator",
    "PD": "Disease Progression by Investigator",
    "RSP": "Response by Investigator (confirmation not required)",
    "CRSP": "Confirmed Response by Investigator",
    "BOR": "Best Overall Response by Investigator (confirmation not required)",
    "CBOR": "Best Confirmed Overall Response by Investigator",
    "BCP": "Best Overall Response of CR/PR by Investigator (confirmation not required)",
    "CBCP": "Best Confirmed Overall Response of CR/PR by Investigator",
    "CB": "Clinical Benefit by Investigator (disease control)",
    "CB24": "Clinical Benefit of at least 24 Weeks by Investigator",
    "LSTA": "Last Disease Assessment by Investigator",
    "MDIS": "Measurable Disease at Baseline by Investigator",
    "DEATH": "Death",
}
#: parameters with exactly one record per subject (every one but OVR)
SUBJECT_LEVEL_PARAMS = tuple(p for p in PARAM_LABELS if p != "OVR")
OUTPUT_COLUMNS = ("USUBJID", "PARAMCD", "AVALC", "AVAL", "ADT")
_OUTPUT_SCHEMA = {"USUBJID": pl.String, "PARAMCD": pl.String, "AVALC": pl.String,
                  "AVAL": pl.Int64, "ADT": pl.Date}


# ---------------------------------------------------------------------------------------------
# configuration defaults
# ---------------------------------------------------------------------------------------------
def _adam(key: str):
    return trial_config()["adam"][key]


def _or(value, key: str):
    """``value`` unless None, else ``trial_config()['adam'][key]``."""
    return _adam(key) if value is None else value


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _ensure(df: pl.DataFrame, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    """Add missing optional columns as typed nulls; cast present ones."""
    return df.with_columns(
        [pl.col(c).cast(t) if c in df.columns else pl.lit(None, dtype=t).alias(c)
         for c, t in columns.items()]
    )


def _subject_ids(subjects: pl.DataFrame) -> pl.DataFrame:
    return subjects.select(pl.col("USUBJID").cast(pl.String)).unique(maintain_order=True)


def _analysis_records(ovr: pl.DataFrame, flag: str, subjects: pl.DataFrame | None = None,
                      reference_date: str | None = None) -> pl.DataFrame:
    """OVR records with ``flag = 'Y'`` (``USUBJID, ADT, AVALC`` [+ ``REFDT``]), by subject/date."""
    if flag not in ovr.columns:
        raise ValueError(f"OVR frame lacks {flag}; run flag_analysis_records() first")
    recs = (ovr.filter(pl.col(flag) == "Y")
            .select(pl.col("USUBJID").cast(pl.String), pl.col("ADT").cast(pl.Date),
                    pl.col("AVALC").cast(pl.String))
            .sort("USUBJID", "ADT"))
    if subjects is not None:
        ref = subjects.select(pl.col("USUBJID").cast(pl.String),
                              pl.col(reference_date).cast(pl.Date).alias("REFDT"))
        recs = recs.join(ref, on="USUBJID", how="left")
    return recs


def _best_per_subject(candidates: pl.DataFrame, subjects: pl.DataFrame,
                      paramcd: str) -> pl.DataFrame:
    """Best candidate (``BEST_ORDER``, ties -> earliest ADT) per subject; none -> MISSING."""
    order = {v: i for i, v in enumerate(BEST_ORDER)}
    best = (candidates
            .with_columns(pl.col("AVALC").replace_strict(order, default=len(order))
                          .alias("_ord"))
            .sort("USUBJID", "_ord", "ADT")
            .unique(subset="USUBJID", keep="first", maintain_order=True)
            .select("USUBJID", "AVALC", "ADT"))
    out = (_subject_ids(subjects).join(best, on="USUBJID", how="left")
           .with_columns(pl.col("AVALC").fill_null("MISSING")))
    return _finish(out, paramcd, aval=pl.col("AVALC").replace_strict(AVAL_RESP, default=None,
                                                                      return_dtype=pl.Int64))


def _flag_per_subject(events: pl.DataFrame, subjects: pl.DataFrame,
                      paramcd: str, mode: str = "first") -> pl.DataFrame:
    """``Y`` (ADT = first / last event date) when a subject has an event row, else ``N``."""
    agg = pl.col("ADT").min() if mode == "first" else pl.col("ADT").max()
    hit = events.group_by("USUBJID").agg(agg.alias("ADT"))
    out = (_subject_ids(subjects).join(hit, on="USUBJID", how="left")
           .with_columns(pl.when(pl.col("ADT").is_not_null()).then(pl.lit("Y"))
                         .otherwise(pl.lit("N")).alias("AVALC")))
    return _finish(out, paramcd, aval=(pl.col("AVALC") == "Y").cast(pl.Int64))


def _finish(df: pl.DataFrame, paramcd: str, aval: pl.Expr) -> pl.DataFrame:
    return (df.with_columns(pl.lit(paramcd).alias("PARAMCD"), aval.alias("AVAL"))
            .select([pl.col(c).cast(t) for c, t in _OUTPUT_SCHEMA.items()])
            .sort("USUBJID"))


def _days(n: int) -> pl.Expr:
    return pl.duration(days=n)


# ---------------------------------------------------------------------------------------------
# ANL01FL / ANL02FL
# ---------------------------------------------------------------------------------------------
def flag_analysis_records(ovr: pl.DataFrame, subjects: pl.DataFrame, dco: date | None, *,
                          reference_date: str | None = None) -> pl.DataFrame:
    """Add ``ANL01FL`` and ``ANL02FL`` (``'Y'`` or null) to the OVR records.

    Rule (adam.md §5, admiralonco ADRS vignette):

    * ``ANL01FL = 'Y'`` when ``ADT >= TRTSDT`` (baseline excluded), ``ADT < NACTDT`` (when the
      subject has one), ``ADT <= dco`` (when ``dco`` is not None), and the record is the worst
      on its date — worst order NE < CR < PR < SD < NON-CR/NON-PD < PD (PD worst; NE loses to
      any real response). Records with the same AVALC on one date: the first in input order.
    * ``ANL02FL = 'Y'`` when ``ANL01FL = 'Y'`` and ``ADT <=`` the subject's first ANL01FL PD.

    Arguments: ``dco`` the data cut-off date (None = no cut-off); ``reference_date`` the
    subject column compared with ADT (default ``adam.reference_date`` = ``TRTSDT``).
    Subjects without a reference date get no flagged records.

    Example (TRTSDT 2022-01-10): 2022-01-05 SD -> none (baseline); 2022-02-21 NE and
    2022-02-21 PR -> PR flagged; 2022-04-04 PD -> ANL01 + ANL02; 2022-05-16 CR -> ANL01 only.
    """
    reference_date = _or(reference_date, "reference_date")
    subj = _ensure(subjects, {"NACTDT": pl.Date}).select(
        pl.col("USUBJID").cast(pl.String), pl.col(reference_date).cast(pl.Date).alias("_REFDT"),
        pl.col("NACTDT").alias("_NACTDT"))
    df = (ovr.with_columns(pl.col("USUBJID").cast(pl.String))
          .drop([c for c in ("ANL01FL", "ANL02FL") if c in ovr.columns])
          .with_row_index("_row")
          .join(subj, on="USUBJID", how="left"))
    window = (pl.col("ADT").is_not_null() & pl.col("_REFDT").is_not_null()
              & (pl.col("ADT") >= pl.col("_REFDT"))
              & (pl.col("_NACTDT").is_null() | (pl.col("ADT") < pl.col("_NACTDT"))))
    if dco is not None:
        window = window & (pl.col("ADT") <= pl.lit(dco, dtype=pl.Date))
    rank = pl.col("AVALC").replace_strict(WORST_RANK, default=0, return_dtype=pl.Int64)
    anl01_rows = (df.filter(window).with_columns(rank.alias("_rank"))
                  .sort(["USUBJID", "ADT", "_rank", "_row"], descending=[False, False, True, False])
                  .unique(subset=["USUBJID", "ADT"], keep="first", maintain_order=True)
                  .select("_row"))
    df = df.with_columns(pl.col("_row").is_in(anl01_rows["_row"].implode()).alias("_anl01"))
    first_pd = (df.filter(pl.col("_anl01") & (pl.col("AVALC") == "PD"))
                .group_by("USUBJID").agg(pl.col("ADT").min().alias("_PDDT")))
    df = df.join(first_pd, on="USUBJID", how="left")
    anl02 = pl.col("_anl01") & (pl.col("_PDDT").is_null() | (pl.col("ADT") <= pl.col("_PDDT")))
    y = pl.lit("Y", dtype=pl.String)
    return (df.with_columns(pl.when(pl.col("_anl01")).then(y).alias("ANL01FL"),
                            pl.when(anl02).then(y).alias("ANL02FL"))
            .sort("_row")
            .drop("_row", "_REFDT", "_NACTDT", "_anl01", "_PDDT"))


# ---------------------------------------------------------------------------------------------
# BOR
# ---------------------------------------------------------------------------------------------
def best_overall_response(ovr: pl.DataFrame, subjects: pl.DataFrame, *,
                          ref_start_window: int | None = None,
                          reference_date: str | None = None,
                          paramcd: str = "BOR") -> pl.DataFrame:
    """Best overall response, unconfirmed (admiralonco ``derive_param_bor``).

    Rule: ANL02FL records (up to the first PD). CR, PR, PD always count; SD and NON-CR/NON-PD
    count only when ``ADT >= reference_date + ref_start_window`` days, earlier ones become NE.
    Best by CR, PR, SD, NON-CR/NON-PD, PD, NE; ties -> earliest ADT (ADT of that record).
    No records -> MISSING (AVAL 7, ADT null). Other AVALC values are ignored
    (``missing_as_ne = FALSE``).

    Arguments: ``ref_start_window`` (default ``adam.ref_start_window_days`` = 35),
    ``reference_date`` (default ``adam.reference_date`` = TRTSDT), ``paramcd``.

    Example (TRTSDT day 1): day 30 SD, day 78 PD -> PD at day 78 (SD before day 36 is NE).
    """
    window = int(_or(ref_start_window, "ref_start_window_days"))
    reference_date = _or(reference_date, "reference_date")
    recs = _analysis_records(ovr, "ANL02FL", subjects, reference_date)
    early = pl.col("ADT") < pl.col("REFDT") + _days(window)
    cand = (recs.filter(pl.col("AVALC").is_in(RESPONSES))
            .with_columns(pl.when(pl.col("AVALC").is_in(["SD", "NON-CR/NON-PD"])
                                  & early.fill_null(True))
                          .then(pl.lit("NE")).otherwise(pl.col("AVALC")).alias("AVALC")))
    return _best_per_subject(cand, subjects, paramcd)


# ---------------------------------------------------------------------------------------------
# confirmation (the one place the record sequence matters)
# ---------------------------------------------------------------------------------------------
def confirmed_responses(records: pl.DataFrame, *, ref_confirm: int | None = None,
                        max_nr_ne: int | None = None,
                        accept_sd: bool | None = None) -> pl.DataFrame:
    """Confirmed CR / PR records: ``USUBJID, ADT, AVALC ('CR'|'PR'), CNFDT`` (confirming date).

    ``records``: ANL02FL OVR records (``USUBJID, ADT, AVALC``; one per date, up to first PD).
    Rule (admiralonco ``cbor_cr`` / ``cbor_pr``, ``filter_joined(join_type = 'after')``):

    * a **CR** is confirmed by the *first* later CR with ``ADT_j >= ADT + ref_confirm`` days;
      every record after the CR up to and including that confirmation must be CR or NE, with at
      most ``max_nr_ne`` NE;
    * a **PR** is confirmed by the *first* later CR or PR with ``ADT_j >= ADT + ref_confirm``;
      every record in that span must be CR, PR, SD or NE, with ``<= max_nr_ne`` NE,
      ``<= (1 if accept_sd else 0)`` SD, and no PR after a CR (first CR later than last PR).
      AVALC stays PR even when a CR confirms it.

    A CR/PR without a confirming record is not confirmed (the first confirming record is the
    only one examined — a failing span is not rescued by a later one).

    Implementation: self-join of each subject's CR/PR records with its later records
    (``O(records²)`` per subject, a handful), then one group-by — no Python loop.

    Arguments: ``ref_confirm`` (default ``adam.ref_confirm_days`` = 28), ``max_nr_ne``
    (``adam.max_nr_ne`` = 1), ``accept_sd`` (``adam.accept_sd`` = False).

    Example: day 43 CR, 64 NE, 85 CR -> CR at day 43 confirmed (CNFDT day 85); with a second NE
    at day 75 it is not.
    """
    ref_confirm = int(_or(ref_confirm, "ref_confirm_days"))
    max_nr_ne = int(_or(max_nr_ne, "max_nr_ne"))
    max_nr_sd = 1 if bool(_or(accept_sd, "accept_sd")) else 0
    recs = records.select(pl.col("USUBJID").cast(pl.String), pl.col("ADT").cast(pl.Date),
                          pl.col("AVALC").cast(pl.String))
    left = recs.filter(pl.col("AVALC").is_in(["CR", "PR"]))
    right = recs.rename({"ADT": "ADT_j", "AVALC": "AVALC_j"})
    is_cr = pl.col("AVALC") == "CR"
    confirms = (pl.when(is_cr).then(pl.col("AVALC_j") == "CR")
                .otherwise(pl.col("AVALC_j").is_in(["CR", "PR"]))
                & (pl.col("ADT_j") >= pl.col("ADT") + _days(ref_confirm)))
    allowed = (pl.when(is_cr).then(pl.col("AVALC_j").is_in(["CR", "NE"]))
               .otherwise(pl.col("AVALC_j").is_in(["CR", "PR", "SD", "NE"]))).fill_null(False)
    pairs = (left.join(right, on="USUBJID", how="inner")
             .filter(pl.col("ADT_j") > pl.col("ADT"))
             .with_columns(pl.when(confirms).then(pl.col("ADT_j"))
                           .min().over("USUBJID", "ADT").alias("CNFDT"))
             .filter(pl.col("CNFDT").is_not_null() & (pl.col("ADT_j") <= pl.col("CNFDT"))))
    span = pairs.group_by("USUBJID", "ADT", "AVALC").agg(
        pl.col("CNFDT").first(),
        (~allowed).sum().alias("n_bad"),
        (pl.col("AVALC_j") == "NE").sum().alias("n_ne"),
        (pl.col("AVALC_j") == "SD").sum().alias("n_sd"),
        pl.col("ADT_j").filter(pl.col("AVALC_j") == "CR").min().alias("first_cr"),
        pl.col("ADT_j").filter(pl.col("AVALC_j") == "PR").max().alias("last_pr"),
    )
    ok = ((pl.col("n_bad") == 0) & (pl.col("n_ne") <= max_nr_ne)
          & (is_cr | ((pl.col("n_sd") <= max_nr_sd)
                      & (pl.col("first_cr").is_null() | pl.col("last_pr").is_null()
                         | (pl.col("first_cr") > pl.col("last_pr"))))))
    return (span.filter(ok).select("USUBJID", "ADT", "AVALC", "CNFDT").sort("USUBJID", "ADT"))


def confirmed_best_overall_response(ovr: pl.DataFrame, subjects: pl.DataFrame, *,
                                    ref_start_window: int | None = None,
                                    ref_confirm: int | None = None,
                                    max_nr_ne: int | None = None,
                                    accept_sd: bool | None = None,
                                    reference_date: str | None = None,
                                    paramcd: str = "CBOR") -> pl.DataFrame:
    """Confirmed best overall response (admiralonco ``derive_param_confirmed_bor``).

    Rule: ANL02FL records (up to the first PD). Candidates:
    CR / PR = confirmed per :func:`confirmed_responses`; SD = any CR/PR/SD with
    ``ADT >= reference_date + ref_start_window``; NON-CR/NON-PD = NON-CR/NON-PD in that window;
    PD = any PD; NE = any NE, or CR/PR/SD/NON-CR/NON-PD before the window. Best by CR, PR, SD,
    NON-CR/NON-PD, PD, NE, MISSING; ties -> earliest ADT. No records -> MISSING
    (``missing_as_ne = FALSE``).

    Arguments: ``ref_start_window`` (``adam.ref_start_window_days`` = 35), ``ref_confirm``
    (``adam.ref_confirm_days`` = 28), ``max_nr_ne`` (``adam.max_nr_ne`` = 1), ``accept_sd``
    (``adam.accept_sd`` = False), ``reference_date`` (``adam.reference_date`` = TRTSDT).

    Example: day 43 PR, 85 SD, 127 PR, 169 PD -> SD at day 43 (PR at day 127 with an SD between
    is not a confirmation); with ``accept_sd=True`` -> PR at day 43.
    """
    window = int(_or(ref_start_window, "ref_start_window_days"))
    reference_date = _or(reference_date, "reference_date")
    recs = _analysis_records(ovr, "ANL02FL", subjects, reference_date)
    recs = recs.filter(pl.col("AVALC").is_in(RESPONSES))
    confirmed = confirmed_responses(recs, ref_confirm=ref_confirm, max_nr_ne=max_nr_ne,
                                    accept_sd=accept_sd).select("USUBJID", "ADT", "AVALC")
    in_window = (pl.col("ADT") >= pl.col("REFDT") + _days(window)).fill_null(False)
    a = pl.col("AVALC")
    other = (recs.with_columns(
        pl.when(a.is_in(["CR", "PR", "SD"]) & in_window).then(pl.lit("SD"))
        .when((a == "NON-CR/NON-PD") & in_window).then(pl.lit("NON-CR/NON-PD"))
        .when(a == "PD").then(pl.lit("PD"))
        .otherwise(pl.lit("NE")).alias("AVALC"))
        .select("USUBJID", "ADT", "AVALC"))
    return _best_per_subject(pl.concat([confirmed, other]), subjects, paramcd)


def confirmed_response(ovr: pl.DataFrame, subjects: pl.DataFrame, *,
                       ref_confirm: int | None = None, max_nr_ne: int | None = None,
                       accept_sd: bool | None = None, paramcd: str = "CRSP") -> pl.DataFrame:
    """Confirmed response (admiralonco ``derive_param_confirmed_resp``).

    Rule: ``Y`` when the subject has a confirmed CR or PR (:func:`confirmed_responses` on the
    ANL02FL records); ``ADT`` = the first CR/PR of the earliest confirmed pair (not the
    confirming date). Otherwise ``N`` with ADT null.

    Arguments: ``ref_confirm`` (``adam.ref_confirm_days`` = 28), ``max_nr_ne``
    (``adam.max_nr_ne`` = 1), ``accept_sd`` (``adam.accept_sd`` = False).

    Example: day 43 PR, 85 PR, 127 PD -> Y, ADT = day 43.
    """
    recs = _analysis_records(ovr, "ANL02FL")
    confirmed = confirmed_responses(recs, ref_confirm=ref_confirm, max_nr_ne=max_nr_ne,
                                    accept_sd=accept_sd)
    return _flag_per_subject(confirmed, subjects, paramcd)


# ---------------------------------------------------------------------------------------------
# simple Y/N parameters
# ---------------------------------------------------------------------------------------------
def response(ovr: pl.DataFrame, subjects: pl.DataFrame, *,
             response_values: Sequence[str] = ("CR", "PR"),
             paramcd: str = "RSP") -> pl.DataFrame:
    """Response, unconfirmed (admiralonco ``derive_param_response``).

    Rule: ``Y`` when an ANL02FL record (up to first PD) has AVALC in ``response_values``;
    ``ADT`` = the first such record. Otherwise ``N``.

    Arguments: ``response_values`` (default CR, PR).

    Example: day 43 SD, 85 PR -> Y at day 85; day 43 SD, 85 PD, 127 PR -> N.
    """
    recs = _analysis_records(ovr, "ANL02FL")
    return _flag_per_subject(recs.filter(pl.col("AVALC").is_in(list(response_values))),
                             subjects, paramcd)


def first_progression(ovr: pl.DataFrame, subjects: pl.DataFrame, *,
                      paramcd: str = "PD") -> pl.DataFrame:
    """Disease progression (``derive_extreme_records``, first PD, ``exist_flag``).

    Rule: ``Y`` with ADT = the first ANL01FL record with AVALC = PD; otherwise ``N``.

    Example: day 43 SD, 85 PD, 127 PD -> Y at day 85.
    """
    recs = _analysis_records(ovr, "ANL01FL")
    return _flag_per_subject(recs.filter(pl.col("AVALC") == "PD"), subjects, paramcd)


def clinical_benefit(ovr: pl.DataFrame, subjects: pl.DataFrame,
                     crsp: pl.DataFrame | None = None, *,
                     ref_start_window: int | None = None,
                     reference_date: str | None = None,
                     clinben_vals: Sequence[str] = ("CR", "PR", "SD", "NON-CR/NON-PD"),
                     paramcd: str = "CB") -> pl.DataFrame:
    """Clinical benefit / disease control (admiralonco ``derive_param_clinbenefit``).

    Rule: ``Y`` when the subject is a confirmed responder (``source_resp`` = ``crsp`` rows with
    AVALC = Y; ADT = CRSP ADT) **or** has an ANL02FL record (up to and including the first PD,
    ``source_pd``) with AVALC in ``clinben_vals`` and ``ADT >= reference_date +
    ref_start_window``; ADT = the earliest of those dates. Otherwise ``N``.

    Arguments: ``crsp`` the CRSP frame (``USUBJID, AVALC, ADT``; None -> derived by
    :func:`confirmed_response` with config defaults), ``ref_start_window``
    (``adam.ref_start_window_days`` = 35; CB24 uses 161, see :func:`clinical_benefit_24`),
    ``reference_date`` (``adam.reference_date`` = TRTSDT), ``clinben_vals``, ``paramcd``.

    Example (TRTSDT day 1): day 36 SD (ADT - TRTSDT = 35) -> Y at day 36; day 30 SD, day 78 PD
    -> N.
    """
    window = int(_or(ref_start_window, "ref_start_window_days"))
    reference_date = _or(reference_date, "reference_date")
    if crsp is None:
        crsp = confirmed_response(ovr, subjects)
    resp = (crsp.filter(pl.col("AVALC") == "Y")
            .select(pl.col("USUBJID").cast(pl.String), pl.col("ADT").cast(pl.Date)))
    recs = _analysis_records(ovr, "ANL02FL", subjects, reference_date)
    benefit = (recs.filter(pl.col("AVALC").is_in(list(clinben_vals))
                           & (pl.col("ADT") >= pl.col("REFDT") + _days(window)).fill_null(False))
               .select("USUBJID", "ADT"))
    return _flag_per_subject(pl.concat([resp, benefit]), subjects, paramcd)


def clinical_benefit_24(ovr: pl.DataFrame, subjects: pl.DataFrame,
                        crsp: pl.DataFrame | None = None, *,
                        ref_start_window: int | None = None,
                        reference_date: str | None = None,
                        clinben_vals: Sequence[str] = ("CR", "PR", "SD", "NON-CR/NON-PD"),
                        paramcd: str = "CB24") -> pl.DataFrame:
    """Clinical benefit rate at 24 weeks: :func:`clinical_benefit` with
    ``ref_start_window`` default ``adam.cb24_start_window_days`` (161 = 24 weeks - 7 days).

    Rule: confirmed responder, or a CR/PR/SD/NON-CR/NON-PD at ``ADT - TRTSDT >= 161`` (study
    day >= 162) with no PD before it.

    Example: day 162 SD -> Y; day 161 SD, day 200 PD -> N.
    """
    window = int(_or(ref_start_window, "cb24_start_window_days"))
    return clinical_benefit(ovr, subjects, crsp, ref_start_window=window,
                            reference_date=reference_date, clinben_vals=clinben_vals,
                            paramcd=paramcd)


def last_assessment(ovr: pl.DataFrame, subjects: pl.DataFrame, *,
                    paramcd: str = "LSTA") -> pl.DataFrame:
    """Last disease assessment (admiralonco ``LSTA``, ``derive_extreme_records`` mode last).

    Rule: the last ANL01FL OVR record (any value): AVALC = its response, AVAL = ``aval_resp``,
    ADT = its date. Subjects without ANL01FL records -> MISSING (AVAL 7, ADT null).

    Example: day 43 SD, 85 NE -> NE at day 85.
    """
    recs = _analysis_records(ovr, "ANL01FL")
    last = recs.sort("USUBJID", "ADT").unique(subset="USUBJID", keep="last", maintain_order=True)
    out = (_subject_ids(subjects).join(last, on="USUBJID", how="left")
           .with_columns(pl.col("AVALC").fill_null("MISSING")))
    return _finish(out, paramcd, aval=pl.col("AVALC").replace_strict(
        AVAL_RESP, default=None, return_dtype=pl.Int64))


def best_response_flag(best: pl.DataFrame, paramcd: str) -> pl.DataFrame:
    """BCP from BOR, CBCP from CBOR (adam.md §5: ``BOR / CBOR in {CR, PR}``).

    Rule: AVALC = Y when the best response is CR or PR, with ADT = its date; else N with ADT
    null (MISSING and NE included: they stay non-responders in the denominator).

    Example: CBOR PR on 2022-04-15 -> CBCP Y, ADT 2022-04-15; CBOR SD -> CBCP N.
    """
    hit = best.filter(pl.col("AVALC").is_in(["CR", "PR"])).select("USUBJID", "ADT")
    return _flag_per_subject(hit, best.select("USUBJID"), paramcd)


def subject_status_parameters(adsl: pl.DataFrame) -> pl.DataFrame:
    """MDIS and DEATH, one record per ADSL subject (adam.md §5, last row of the table).

    Rule: MDIS AVALC = ADSL.MDIS (Y / N; null when TU is absent and measurable disease is
    unknown), ADT null; DEATH AVALC = Y with ADT = DTHDT when ADSL has a death date, else N.

    Example: MDIS Y, DTHDT 2022-11-12 -> MDIS Y; DEATH Y on 2022-11-12.
    """
    subj = adsl.select(pl.col("USUBJID").cast(pl.String),
                       (pl.col("MDIS") if "MDIS" in adsl.columns else pl.lit(None)).cast(pl.String).alias("AVALC"),
                       (pl.col("DTHDT") if "DTHDT" in adsl.columns else pl.lit(None)).cast(pl.Date).alias("DTHDT"))
    mdis = _finish(subj.select("USUBJID", "AVALC", pl.lit(None, pl.Date).alias("ADT")), "MDIS",
                   aval=pl.col("AVALC").replace_strict({"Y": 1, "N": 0}, default=None, return_dtype=pl.Int64))
    death = _flag_per_subject(subj.filter(pl.col("DTHDT").is_not_null()).select("USUBJID", pl.col("DTHDT").alias("ADT")),
                              subj, "DEATH")
    return with_param_labels(pl.concat([mdis, death]))


def with_param_labels(params: pl.DataFrame) -> pl.DataFrame:
    """Add ``PARAM`` (after ``PARAMCD``) from :data:`PARAM_LABELS`."""
    return params.with_columns(pl.col("PARAMCD").replace_strict(PARAM_LABELS, default=None, return_dtype=pl.String)
                               .alias("PARAM")).select("USUBJID", "PARAMCD", "PARAM", *OUTPUT_COLUMNS[2:])


def derive_response_parameters(ovr: pl.DataFrame, subjects: pl.DataFrame,
                               dco: date | None) -> pl.DataFrame:
    """All response parameters with config defaults, stacked: PD, RSP, CRSP, BOR, CBOR, BCP,
    CBCP, CB, CB24, LSTA (``USUBJID, PARAMCD, PARAM, AVALC, AVAL, ADT``). ``ovr`` may be
    unflagged. MDIS and DEATH come from ADSL: :func:`subject_status_parameters`.
    """
    flagged = flag_analysis_records(ovr, subjects, dco)
    crsp = confirmed_response(flagged, subjects)
    bor = best_overall_response(flagged, subjects)
    cbor = confirmed_best_overall_response(flagged, subjects)
    return with_param_labels(pl.concat([
        first_progression(flagged, subjects),
        response(flagged, subjects),
        crsp,
        bor,
        cbor,
        best_response_flag(bor, "BCP"),
        best_response_flag(cbor, "CBCP"),
        clinical_benefit(flagged, subjects, crsp),
        clinical_benefit_24(flagged, subjects, crsp),
        last_assessment(flagged, subjects),
    ]))
