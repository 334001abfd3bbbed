"""ADTR — tumour burden (adam.md §7; mirrors the admiralonco ADTR template).

Input ``tr``: TR target-lesion rows — ``USUBJID, ADT (date), TRLNKID, TRTESTCD, TRSTRESN`` and
optionally ``ADY`` (else derived from ``subjects.TRTSDT`` with the no-day-0 rule) and
``TRGRPID`` (rows other than ``TARGET`` are dropped when present). Non-nodal target lesions are
measured by ``LDIAM``, nodal ones by the configured short-axis code (``trial.nodal_tr_testcd``,
``SAXIS``; admiralonco data: ``LPERP``). ``ovr`` (optional): ADRS OVR records ``USUBJID, ADT,
AVALC`` (for PDFL and the first PD). ``subjects`` (optional): ``USUBJID, TRTSDT, NACTDT``.

Everything is vectorised: group-bys for sums and baseline sets, ``cum_min().over()`` with a
``shift`` for the nadir over *earlier* assessments, window ranks for the best-change flags.
"""

from __future__ import annotations

import polars as pl

from pipeline.config import trial_config

KEYS = ["USUBJID", "ADT"]


def nodal_testcd() -> str:
    """``trial.nodal_tr_testcd`` (TR test code of nodal target lesions)."""
    return str(trial_config()["trial"].get("nodal_tr_testcd", "SAXIS"))


def target_measurements(
    tr: pl.DataFrame, subjects: pl.DataFrame | None = None, *, nodal_code: str | None = None
) -> pl.DataFrame:
    """One row per subject x assessment date x target lesion: ``USUBJID, ADT, ADY, TRLNKID,
    AVAL`` (mm) — LDIAM for non-nodal and the short axis for nodal lesions; ``AVAL`` null when
    the lesion was not measured."""
    nodal_code = nodal_testcd() if nodal_code is None else nodal_code
    t = tr
    if "TRGRPID" in t.columns:
        t = t.filter(pl.col("TRGRPID").is_null() | (pl.col("TRGRPID") == "TARGET"))
    t = t.filter(pl.col("TRTESTCD").is_in(["LDIAM", nodal_code]) & pl.col("TRLNKID").is_not_null())
    if "ADY" not in t.columns:
        if subjects is None or "TRTSDT" not in subjects.columns:
            raise ValueError("tr has no ADY: pass subjects with TRTSDT")
        t = t.join(subjects.select("USUBJID", "TRTSDT"), on="USUBJID", how="left").with_columns(
            pl.col("ADT").sub(pl.col("TRTSDT")).dt.total_days().alias("_d")
        ).with_columns(
            pl.when(pl.col("_d") >= 0).then(pl.col("_d") + 1).otherwise(pl.col("_d")).alias("ADY")
        )
    return t.select(
        "USUBJID", pl.col("ADT").cast(pl.Date), "ADY", "TRLNKID",
        pl.col("TRSTRESN").cast(pl.Float64).alias("AVAL"),
    )


def lesion_params(meas: pl.DataFrame) -> pl.DataFrame:
    """Per-lesion parameters ``LDIAM01…``: lesions numbered per subject in TRLNKID order,
    ``AVAL = TRSTRESN`` (mm)."""
    num = (
        meas.select("USUBJID", "TRLNKID").unique()
        .with_columns(pl.col("TRLNKID").rank("dense").over("USUBJID").cast(pl.Int64).alias("_n"))
    )
    return meas.join(num, on=["USUBJID", "TRLNKID"], how="left").with_columns(
        ("LDIAM" + pl.col("_n").cast(pl.String).str.zfill(2)).alias("PARAMCD")
    ).drop("_n").sort(["USUBJID", "PARAMCD", "ADT"])


def baseline_date(meas: pl.DataFrame) -> pl.DataFrame:
    """``USUBJID, BASEDT``: the last assessment date with ``ADY <= 1`` (ABLFL record)."""
    return meas.filter(pl.col("ADY") <= 1).group_by("USUBJID").agg(pl.col("ADT").max().alias("BASEDT"))


def sdiam(meas: pl.DataFrame) -> pl.DataFrame:
    """SDIAM per assessment: ``AVAL`` = sum of the measured target lesions (non-nodal LDIAM +
    nodal short axes); ``ANL01FL = 'Y'`` only if every baseline target lesion (measured at the
    baseline date) has a value at that assessment. Adds ``ABLFL = 'Y'`` on the baseline date."""
    base = baseline_date(meas)
    base_lesions = (
        meas.join(base, on="USUBJID")
        .filter((pl.col("ADT") == pl.col("BASEDT")) & pl.col("AVAL").is_not_null())
        .select("USUBJID", "TRLNKID")
        .unique()
    )
    n_base = base_lesions.group_by("USUBJID").agg(pl.len().alias("_nbase"))
    measured_base = (
        meas.filter(pl.col("AVAL").is_not_null())
        .join(base_lesions, on=["USUBJID", "TRLNKID"], how="semi")
        .group_by(KEYS).agg(pl.col("TRLNKID").n_unique().alias("_nmeas"))
    )
    return (
        meas.group_by(KEYS)
        .agg(pl.col("ADY").first(), pl.col("AVAL").sort().sum().alias("AVAL"),  # in ascending order: as adex.cumdose
             pl.col("AVAL").is_not_null().any().alias("_any"))
        .filter(pl.col("_any"))
        .join(measured_base, on=KEYS, how="left")
        .join(n_base, on="USUBJID", how="left")
        .join(base, on="USUBJID", how="left")
        .with_columns(
            pl.lit("SDIAM").alias("PARAMCD"),
            pl.when((pl.col("_nbase") > 0) & (pl.col("_nmeas").fill_null(0) == pl.col("_nbase")))
            .then(pl.lit("Y")).alias("ANL01FL"),
            pl.when(pl.col("ADT") == pl.col("BASEDT")).then(pl.lit("Y")).alias("ABLFL"),
        )
        .drop("_any", "_nmeas", "_nbase")
        .sort(KEYS)
    )


def change_from_baseline(sd: pl.DataFrame) -> pl.DataFrame:
    """``BASE`` = AVAL of the ABLFL record; ``CHG = AVAL - BASE``; ``PCHG = 100 x CHG / BASE``
    (null if BASE is 0 or missing)."""
    base = sd.filter(pl.col("ABLFL") == "Y").select("USUBJID", pl.col("AVAL").alias("BASE"))
    return sd.join(base, on="USUBJID", how="left").with_columns(
        (pl.col("AVAL") - pl.col("BASE")).alias("CHG"),
    ).with_columns(
        pl.when(pl.col("BASE") != 0).then(100.0 * pl.col("CHG") / pl.col("BASE")).alias("PCHG")
    )


def nadir(sd: pl.DataFrame) -> pl.DataFrame:
    """``NADIR`` = minimum AVAL over *earlier* ANL01FL assessments from baseline on (baseline
    included; null on the baseline itself and before it); ``CHGNAD = AVAL - NADIR``;
    ``PCHGNAD = 100 x CHGNAD / NADIR`` (null if NADIR = 0)."""
    inf = float("inf")
    eligible = (pl.col("ANL01FL") == "Y") & (pl.col("ADT") >= pl.col("BASEDT"))
    out = (
        sd.sort(KEYS)
        .with_columns(
            pl.when(eligible.fill_null(False)).then(pl.col("AVAL")).otherwise(inf)
            .cum_min().shift(1).over("USUBJID").alias("_cm")
        )
        .with_columns(
            pl.when((pl.col("_cm") < inf) & (pl.col("ADT") > pl.col("BASEDT")))
            .then(pl.col("_cm")).alias("NADIR")
        )
        .drop("_cm")
        .with_columns((pl.col("AVAL") - pl.col("NADIR")).alias("CHGNAD"))
        .with_columns(
            pl.when(pl.col("NADIR") != 0).then(100.0 * pl.col("CHGNAD") / pl.col("NADIR")).alias("PCHGNAD")
        )
    )
    return out


def first_pd_dates(ovr: pl.DataFrame) -> pl.DataFrame:
    """``USUBJID, PDDT``: first OVR = PD (with ANL01FL = Y when that column exists)."""
    o = ovr
    if "ANL01FL" in o.columns:
        o = o.filter(pl.col("ANL01FL") == "Y")
    return o.filter(pl.col("AVALC") == "PD").group_by("USUBJID").agg(pl.col("ADT").min().alias("PDDT"))


def _best_flag(cond: pl.Expr, name: str) -> pl.Expr:
    """``Y`` on the record with the smallest PCHG among ``cond`` records (ties -> earliest)."""
    ok = cond.fill_null(False) & pl.col("PCHG").is_not_null()
    is_min = ok & (pl.col("PCHG") == pl.when(ok).then(pl.col("PCHG")).min().over("USUBJID"))
    first = pl.when(is_min).then(pl.col("ADT")).min().over("USUBJID")
    return pl.when(is_min & (pl.col("ADT") == first)).then(pl.lit("Y")).alias(name)


def best_change_flags(sd: pl.DataFrame, ovr: pl.DataFrame | None = None,
                      subjects: pl.DataFrame | None = None) -> pl.DataFrame:
    """``PDFL = 'Y'`` if OVR = PD on that date. ``ANL02FL = 'Y'`` on the post-baseline ANL01FL
    record with the smallest PCHG (best % change; ties -> earliest). ``ANL03FL = 'Y'`` on the
    waterfall record: the same choice restricted to ``ADT <= first PD`` and ``ADT < NACTDT``
    (subjects without such a record get none and are footnoted)."""
    out = sd
    if ovr is not None:
        pd_dates = ovr.filter(pl.col("AVALC") == "PD").select(KEYS).unique().with_columns(
            pl.lit("Y").alias("PDFL"))
        out = out.join(pd_dates, on=KEYS, how="left").join(first_pd_dates(ovr), on="USUBJID", how="left")
    else:
        out = out.with_columns(pl.lit(None, dtype=pl.String).alias("PDFL"),
                               pl.lit(None, dtype=pl.Date).alias("PDDT"))
    if subjects is not None and "NACTDT" in subjects.columns:
        out = out.join(subjects.select("USUBJID", pl.col("NACTDT").cast(pl.Date)), on="USUBJID", how="left")
    else:
        out = out.with_columns(pl.lit(None, dtype=pl.Date).alias("NACTDT"))
    post = (pl.col("ANL01FL") == "Y") & (pl.col("ADT") > pl.col("BASEDT"))
    window = (
        (pl.col("PDDT").is_null() | (pl.col("ADT") <= pl.col("PDDT")))
        & (pl.col("NACTDT").is_null() | (pl.col("ADT") < pl.col("NACTDT")))
    )
    return out.sort(KEYS).with_columns(
        _best_flag(post, "ANL02FL"), _best_flag(post & window, "ANL03FL")
    ).drop("PDDT", "NACTDT")


#: PARAM of the SDIAM records (RECIST 1.1 target lesions: nodal short axes + others' longest)
SDIAM_PARAM = "Sum of Diameters of Target Lesions (mm)"


def adtr(
    tr: pl.DataFrame,
    ovr: pl.DataFrame | None = None,
    subjects: pl.DataFrame | None = None,
    *,
    nodal_code: str | None = None,
) -> pl.DataFrame:
    """SDIAM records with all derived columns: ``USUBJID, PARAMCD, PARAM, ADT, ADY, AVAL,
    ANL01FL, ABLFL, BASE, CHG, PCHG, NADIR, CHGNAD, PCHGNAD, PDFL, ANL02FL, ANL03FL``
    (unrounded)."""
    meas = target_measurements(tr, subjects, nodal_code=nodal_code)
    sd = nadir(change_from_baseline(sdiam(meas)))
    out = best_change_flags(sd, ovr, subjects).with_columns(pl.lit(SDIAM_PARAM).alias("PARAM"))
    return out.select(
        "USUBJID", "PARAMCD", "PARAM", "ADT", "ADY", "AVAL", "ANL01FL", "ABLFL", "BASE", "CHG", "PCHG",
        "NADIR", "CHGNAD", "PCHGNAD", "PDFL", "ANL02FL", "ANL03FL",
    ).sort(KEYS)


def waterfall_excluded(adtr_: pl.DataFrame) -> pl.DataFrame:
    """Subjects without any ANL03FL record (no post-baseline ANL01FL SDIAM in the window): the
    waterfall footnote count."""
    has = adtr_.filter(pl.col("ANL03FL") == "Y").select("USUBJID").unique()
    return adtr_.select("USUBJID").unique().join(has, on="USUBJID", how="anti").sort("USUBJID")
