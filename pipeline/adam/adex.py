"""ADEX — exposure (adam.md §4): record-level doses and subject x drug parameters.

Input ``ex`` (one row per EX administration, EXDOSE > 0 or 0): ``USUBJID, EXTRT, ACYCLE``
(cycle number), ``CYCDY1`` (study day of the cycle's day 1, TRTSDT = day 1), ``EXDOSE`` (mg),
``BSA`` (m², SUPPEX), and the dose level: ``PLDOSE`` (planned level, mg/m² per administration,
SUPPEX) or ``DOSELVL`` (0, -1, -2). ``subjects``: ``USUBJID, TRTSDT`` and optionally ``DTHDT``.

Parameters (one row per subject x drug x PARAMCD, ``AVAL``): NCYCLE, CUMDOSE, EXPDURD, ADI,
PDI, RDI, RD, NDOSRED, NDELAY. Everything is a vectorised group-by over (USUBJID, EXTRT);
NDELAY uses a window ``shift`` over the per-drug cycle starts.

Rounding: ``ADOSEMSQ`` and the sums are kept unrounded; the reported AVALs are rounded as the
spec displays them (CUMDOSE, ADI, PDI 2 dp; RDI, RD 1 dp).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from pipeline.config import data_cutoff, trial_config

BY = ["USUBJID", "EXTRT"]
PARAMS = ("NCYCLE", "CUMDOSE", "EXPDURD", "ADI", "PDI", "RDI", "RD", "NDOSRED", "NDELAY")
PARAM_LABELS = {
    "NCYCLE": "Number of Cycles With Dose > 0",
    "CUMDOSE": "Cumulative Dose (mg/m2)",
    "EXPDURD": "Exposure Duration (days)",
    "ADI": "Actual Dose Intensity (mg/m2/week)",
    "PDI": "Planned Dose Intensity (mg/m2/week)",
    "RDI": "Relative Dose Intensity (%)",
    "RD": "Relative Dose (%)",
    "NDOSRED": "Number of Cycles at a Reduced Dose Level",
    "NDELAY": "Number of Cycles Started > 3 Days Late",
}
#: ADSL variable suffix per drug (CDOSEPI, RDITMZ, …)
DRUG_SUFFIX = {"EPIRUBICIN": "EPI", "TEMOZOLOMIDE": "TMZ"}


# ---------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------
def planned_dose_intensity() -> dict[str, float]:
    """``adam.planned_dose_intensity`` (mg/m²/week per drug)."""
    return {k: float(v) for k, v in trial_config()["adam"]["planned_dose_intensity"].items()}


def planned_dose_per_cycle() -> dict[str, float]:
    """``adam.planned_dose_per_cycle`` (mg/m² per cycle per drug)."""
    return {k: float(v) for k, v in trial_config()["adam"]["planned_dose_per_cycle"].items()}


def cycle_length_days() -> int:
    """``trial.cycle_length_days`` (21)."""
    return int(trial_config()["trial"]["cycle_length_days"])


def starting_levels() -> dict[str, float]:
    """Dose level 0 per drug (mg/m² per administration): ``trial.drugs[*].levels[0]``."""
    drugs = trial_config()["trial"].get("drugs", {})
    return {k: float(v["levels"][0]) for k, v in drugs.items()}


# ---------------------------------------------------------------------------------------------
# record level
# ---------------------------------------------------------------------------------------------
def adex_records(ex: pl.DataFrame) -> pl.DataFrame:
    """Record level: ``AVAL = EXDOSE`` (mg), ``AVALU = 'mg'``, ``ADOSEMSQ = EXDOSE / BSA``
    (mg/m², unrounded), ``ACYCLE`` kept."""
    return ex.with_columns(
        pl.col("EXDOSE").cast(pl.Float64).alias("AVAL"),
        pl.lit("mg").alias("AVALU"),
        (pl.col("EXDOSE").cast(pl.Float64) / pl.col("BSA").cast(pl.Float64)).alias("ADOSEMSQ"),
    )


def _dosed(ex: pl.DataFrame) -> pl.DataFrame:
    rec = ex if "ADOSEMSQ" in ex.columns else adex_records(ex)
    return rec.filter(pl.col("EXDOSE") > 0)


# ---------------------------------------------------------------------------------------------
# subject x drug parameters (one function per rule); each returns USUBJID, EXTRT, <PARAMCD>
# ---------------------------------------------------------------------------------------------
def ncycle(ex: pl.DataFrame) -> pl.DataFrame:
    """NCYCLE: number of distinct cycles with a dose > 0 of this drug."""
    return _dosed(ex).group_by(BY).agg(pl.col("ACYCLE").n_unique().cast(pl.Float64).alias("NCYCLE"))


def cumdose(ex: pl.DataFrame) -> pl.DataFrame:
    """CUMDOSE: Σ ADOSEMSQ (mg/m²) over all administrations of this drug.

    The doses are summed in ascending order: a float sum depends on the order of its terms,
    and polars may aggregate a group in pieces that depend on the size of the frame (a subject
    chunk), which moved a rounded ADI across a .xx5 boundary at 100,000 subjects.
    """
    return _dosed(ex).group_by(BY).agg(pl.col("ADOSEMSQ").sort().sum().alias("CUMDOSE"))


def expdurd(
    ex: pl.DataFrame, subjects: pl.DataFrame, *, dco: date | None = None, cycle_days: int | None = None
) -> pl.DataFrame:
    """EXPDURD: ``min(last cycle day 1 + (cycle_days - 1), DTHDT, DCO) - TRTSDT + 1`` days,
    the last cycle being the last one with a dose > 0 of this drug (``cycle_days`` default
    ``trial.cycle_length_days`` = 21 -> "+ 20"; ``dco`` default ``trial.data_cutoff``)."""
    dco = data_cutoff() if dco is None else dco
    cycle_days = cycle_length_days() if cycle_days is None else int(cycle_days)
    subj = subjects.select(
        "USUBJID",
        pl.col("TRTSDT").cast(pl.Date),
        (pl.col("DTHDT") if "DTHDT" in subjects.columns else pl.lit(None)).cast(pl.Date).alias("DTHDT"),
    )
    last = _dosed(ex).group_by(BY).agg(pl.col("CYCDY1").max().alias("_lastdy"))
    return (
        last.join(subj, on="USUBJID", how="inner")
        .with_columns(
            pl.min_horizontal(
                pl.col("TRTSDT") + pl.duration(days=pl.col("_lastdy") - 1 + cycle_days - 1),
                pl.col("DTHDT"),
                pl.lit(dco),
            ).alias("_end")
        )
        .select(*BY, ((pl.col("_end") - pl.col("TRTSDT")).dt.total_days() + 1).cast(pl.Float64).alias("EXPDURD"))
    )


def pdi(keys: pl.DataFrame, *, planned: dict[str, float] | None = None) -> pl.DataFrame:
    """PDI: planned dose intensity per drug (``adam.planned_dose_intensity``: EPI 75/3 = 25,
    TMZ 750/3 = 250 mg/m²/week)."""
    planned = planned_dose_intensity() if planned is None else planned
    return keys.select(*BY).unique().with_columns(
        pl.col("EXTRT").replace_strict(planned, default=None, return_dtype=pl.Float64).alias("PDI")
    )


def adi(cum: pl.DataFrame, dur: pl.DataFrame) -> pl.DataFrame:
    """ADI: ``CUMDOSE / (EXPDURD / 7)`` (mg/m²/week); null if EXPDURD <= 0."""
    return cum.join(dur, on=BY, how="inner").select(
        *BY,
        pl.when(pl.col("EXPDURD") > 0)
        .then(pl.col("CUMDOSE") / (pl.col("EXPDURD") / 7.0))
        .alias("ADI"),
    )


def rdi(adi_: pl.DataFrame, pdi_: pl.DataFrame) -> pl.DataFrame:
    """RDI: ``100 x ADI / PDI`` (%)."""
    return adi_.join(pdi_, on=BY, how="inner").select(
        *BY, (100.0 * pl.col("ADI") / pl.col("PDI")).alias("RDI")
    )


def rd(cum: pl.DataFrame, ncyc: pl.DataFrame, *, planned_per_cycle: dict[str, float] | None = None) -> pl.DataFrame:
    """RD (relative dose): ``100 x CUMDOSE / (planned dose per cycle x NCYCLE)`` (%), planned
    dose per cycle from ``adam.planned_dose_per_cycle`` (EPI 75, TMZ 750 mg/m²)."""
    planned = planned_dose_per_cycle() if planned_per_cycle is None else planned_per_cycle
    return cum.join(ncyc, on=BY, how="inner").select(
        *BY,
        (
            100.0 * pl.col("CUMDOSE")
            / (pl.col("EXTRT").replace_strict(planned, default=None, return_dtype=pl.Float64)
               * pl.col("NCYCLE"))
        ).alias("RD"),
    )


def ndosred(ex: pl.DataFrame, *, start_levels: dict[str, float] | None = None) -> pl.DataFrame:
    """NDOSRED: number of cycles (dose > 0) given at a reduced level — any administration of the
    cycle with ``DOSELVL < 0`` if that column exists, else ``PLDOSE`` below the drug's level 0
    (``trial.drugs[drug].levels[0]``)."""
    d = _dosed(ex)
    if "DOSELVL" in d.columns:
        reduced = pl.col("DOSELVL") < 0
    else:
        levels = starting_levels() if start_levels is None else start_levels
        reduced = pl.col("PLDOSE") < pl.col("EXTRT").replace_strict(
            levels, default=None, return_dtype=pl.Float64
        )
    return d.group_by(BY).agg(
        pl.col("ACYCLE").filter(reduced.fill_null(False)).n_unique().cast(pl.Float64).alias("NDOSRED")
    )


def ndelay(ex: pl.DataFrame, *, cycle_days: int | None = None, tolerance_days: int = 3) -> pl.DataFrame:
    """NDELAY: cycles started more than ``tolerance_days`` (3) late, i.e. cycle day 1 >
    previous cycle's day 1 + ``cycle_days`` (21) + tolerance, over this drug's dosed cycles."""
    cycle_days = cycle_length_days() if cycle_days is None else int(cycle_days)
    starts = (
        _dosed(ex).group_by([*BY, "ACYCLE"]).agg(pl.col("CYCDY1").min())
        .sort([*BY, "ACYCLE"])
        .with_columns(pl.col("CYCDY1").shift(1).over(BY).alias("_prev"))
    )
    late = (pl.col("CYCDY1") - pl.col("_prev") - cycle_days) > tolerance_days
    return starts.group_by(BY).agg(late.fill_null(False).sum().cast(pl.Float64).alias("NDELAY"))


def exposure_params(
    ex: pl.DataFrame,
    subjects: pl.DataFrame,
    *,
    dco: date | None = None,
    cycle_days: int | None = None,
    planned_intensity: dict[str, float] | None = None,
    planned_per_cycle: dict[str, float] | None = None,
    start_levels: dict[str, float] | None = None,
    delay_tolerance_days: int = 3,
) -> pl.DataFrame:
    """All subject x drug parameters in long form: ``USUBJID, EXTRT, PARAMCD, PARAM, AVAL``
    (defaults from the trial configuration; see each parameter's function for its rule)."""
    rec = adex_records(ex)
    n = ncycle(rec)
    c = cumdose(rec)
    dur = expdurd(rec, subjects, dco=dco, cycle_days=cycle_days)
    p = pdi(n, planned=planned_intensity)
    a = adi(c, dur)
    wide = (
        n.join(c, on=BY, how="left")
        .join(dur, on=BY, how="left")
        .join(a, on=BY, how="left")
        .join(p, on=BY, how="left")
        .join(rdi(a, p), on=BY, how="left")
        .join(rd(c, n, planned_per_cycle=planned_per_cycle), on=BY, how="left")
        .join(ndosred(rec, start_levels=start_levels), on=BY, how="left")
        .join(ndelay(rec, cycle_days=cycle_days, tolerance_days=delay_tolerance_days), on=BY, how="left")
        .with_columns(
            pl.col("CUMDOSE", "ADI", "PDI").round(2),
            pl.col("RDI", "RD").round(1),
        )
    )
    return (
        wide.unpivot(index=BY, on=list(PARAMS), variable_name="PARAMCD", value_name="AVAL")
        .with_columns(pl.col("PARAMCD").replace_strict(PARAM_LABELS).alias("PARAM"))
        .select(*BY, "PARAMCD", "PARAM", "AVAL")
        .sort([*BY, "PARAMCD"])
    )


def adsl_dose_vars(params: pl.DataFrame, *, suffix: dict[str, str] | None = None) -> pl.DataFrame:
    """ADSL copies per drug: ``CDOS<sfx>`` = CUMDOSE (mg/m²), ``RDI<sfx>`` = RDI (%), e.g.
    CDOSEPI, RDIEPI, CDOSTMZ, RDITMZ; one row per subject.

    Columns: the pair of every drug of ``suffix`` (null when nobody in ``params`` got it), then
    of any other drug in ``params`` by name, so a subset of the subjects (a subject chunk)
    gets the same columns in the same order as the whole trial."""
    suffix = DRUG_SUFFIX if suffix is None else suffix
    sfx = pl.col("EXTRT").replace_strict(suffix, default=pl.col("EXTRT").str.slice(0, 3))
    sel = params.filter(pl.col("PARAMCD").is_in(["CUMDOSE", "RDI"])).with_columns(
        sfx.alias("_sfx"), (pl.col("PARAMCD").replace({"CUMDOSE": "CDOS", "RDI": "RDI"}) + sfx).alias("_var")
    )
    order = [*suffix.values(), *sorted(set(sel["_sfx"].to_list()) - set(suffix.values()))]
    wide = sel.pivot(on="_var", index="USUBJID", values="AVAL").sort("USUBJID")
    names = [f"{p}{s}" for s in order for p in ("CDOS", "RDI")]
    return wide.select("USUBJID", *[pl.col(n) if n in wide.columns else pl.lit(None, pl.Float64).alias(n) for n in names])
