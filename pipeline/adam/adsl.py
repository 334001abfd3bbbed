"""ADSL — one row per DM subject (adam.md §1, trial.md §7), from SDTM frames.

Works on our own SDTM (schema ``sdtm``) and on SDTM produced elsewhere (e.g. the CDISC pilot):
every source beyond DM is optional and a variable whose source is absent is null (the
function docstrings say so per variable). One function per decision; :func:`derive_adsl`
chains them. Vectorised polars only.

Decisions for external SDTM (documented here once):
- ENRLDT: our DM has no ENRDAT; the enrolment date is RFICDTC (informed consent) for subjects
  with an arm (ARMCD not null and not a screen-failure / not-assigned code); when RFICDTC is
  missing (the CDISC pilot leaves it empty) RFSTDTC is used instead.
- Treatment dates: EX records with EXDOSE > 0 in whatever unit the delivery uses, or a placebo
  administration (EXTRT containing PLACEBO, which the CDISC pilot records as EXDOSE 0: a
  placebo subject was treated, and belongs to the safety population); a delivery without
  EXDOSE counts every EX record. trial.md's "≥ 1 dose > 0 mg" reads as "treatment given".
- DS: ours has DSSCAT STUDY TREATMENT / STUDY PARTICIPATION under DSCAT DISPOSITION EVENT;
  a delivery without DSSCAT (or all null) has its DISPOSITION EVENT records treated as study
  participation and EOTSTT/DCTREAS left null (no treatment-disposition records exist).
- MDIS/EFFFL: need TU; without TU both are null.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from pipeline.adam.dates import complete_date
from pipeline.adam.dates import derive_dthdt, derive_nactdt
from pipeline.adam.sdtm_input import require
from pipeline.config import data_cutoff, trial_config

DM_VARS: tuple[str, ...] = (
    "STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "RACE", "ETHNIC", "COUNTRY",
    "ARM", "ARMCD", "ACTARM", "ACTARMCD", "DTHDTC", "DTHFL",
)
#: ARMCD values that mean "no arm" (CDISC controlled terminology)
NO_ARM_CODES: frozenset[str] = frozenset({"SCRNFAIL", "NOTASSGN", "NOTENRL"})
#: ADSL treatment label per ARMCD (TRT01P/TRT01A); other arms use ARM / ACTARM as given
TRT_LABELS: dict[str, str] = {"TMZEPI": "TMZ+EPI"}
ADSL_NEEDS: dict[str, list[str]] = {"dm": ["USUBJID", "ARMCD"]}


# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------

def _dtm(col: str) -> pl.Expr:
    """Datetime of ``YYYY-MM-DDTHH:MM[:SS]`` (no time -> null)."""
    s = pl.col(col).cast(pl.Utf8)
    return (
        pl.when(s.str.contains(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"))
        .then(s.str.slice(0, 16).str.to_datetime("%Y-%m-%dT%H:%M", strict=False))
    )


def _col_or_null(df: pl.DataFrame, name: str, dtype=pl.Utf8) -> pl.Expr:
    return pl.col(name) if name in df.columns else pl.lit(None, dtype).alias(name)


def _has(sdtm: dict[str, pl.DataFrame], dom: str, *cols: str) -> bool:
    df = sdtm.get(dom)
    return df is not None and df.height > 0 and all(c in df.columns for c in cols)


def _join(adsl: pl.DataFrame, right: pl.DataFrame) -> pl.DataFrame:
    drop = [c for c in right.columns if c != "USUBJID" and c in adsl.columns]
    return adsl.drop(drop).join(right, on="USUBJID", how="left")


def _nulls(adsl: pl.DataFrame, spec: dict[str, pl.DataType]) -> pl.DataFrame:
    return adsl.with_columns([pl.lit(None, t).alias(n) for n, t in spec.items()])


# ---------------------------------------------------------------------------------------------
# one function per decision
# ---------------------------------------------------------------------------------------------
def dm_base(dm: pl.DataFrame) -> pl.DataFrame:
    """Identifiers and demographics from DM, one row per USUBJID.

    Rule: DM_VARS that exist (absent ones null); AGE as Float64; duplicates of USUBJID keep the first.
    """
    out = dm.select([_col_or_null(dm, c) for c in DM_VARS]).unique("USUBJID", keep="first", maintain_order=True)
    return out.with_columns(pl.col("AGE").cast(pl.Float64, strict=False))


def derive_agegr1(adsl: pl.DataFrame, *, cut: float | None = None, labels: list[str] | None = None) -> pl.DataFrame:
    """AGEGR1 / AGEGR1N: ``AGE < cut`` -> labels[0] (1), else labels[1] (2); null AGE -> null.

    Defaults from config ``adam.age_groups`` (cut 65, ``["<65", ">=65"]``).
    """
    cfg = trial_config()["adam"].get("age_groups", {"cut": 65, "labels": ["<65", ">=65"]})
    cut = float(cfg["cut"] if cut is None else cut)
    labels = list(cfg["labels"] if labels is None else labels)
    a = pl.col("AGE")
    return adsl.with_columns(
        pl.when(a < cut).then(pl.lit(labels[0])).when(a >= cut).then(pl.lit(labels[1])).alias("AGEGR1"),
        pl.when(a < cut).then(1).when(a >= cut).then(2).cast(pl.Int64).alias("AGEGR1N"),
    )


def _has_arm(code: str) -> pl.Expr:
    c = pl.col(code).cast(pl.Utf8)
    return c.is_not_null() & ~c.str.to_uppercase().is_in(list(NO_ARM_CODES))


def derive_trt01p(adsl: pl.DataFrame) -> pl.DataFrame:
    """TRT01P: planned treatment for subjects with an arm (ARMCD not null, not SCRNFAIL/NOTASSGN).

    Rule: ``TRT_LABELS[ARMCD]`` (TMZEPI -> ``TMZ+EPI``), else ARM; no arm -> null.
    """
    lab = pl.col("ARMCD").replace_strict(TRT_LABELS, default=pl.col("ARM"), return_dtype=pl.Utf8)
    return adsl.with_columns(pl.when(_has_arm("ARMCD")).then(lab).alias("TRT01P"))


def derive_trt01a(adsl: pl.DataFrame) -> pl.DataFrame:
    """TRT01A: actual treatment, only for dosed subjects (SAFFL = Y).

    Rule: ``TRT_LABELS[ACTARMCD]`` or ACTARM when an actual arm is recorded, else TRT01P.
    """
    act = pl.col("ACTARMCD").replace_strict(TRT_LABELS, default=pl.col("ACTARM"), return_dtype=pl.Utf8)
    act = pl.when(_has_arm("ACTARMCD")).then(act)
    return adsl.with_columns(pl.when(pl.col("SAFFL") == "Y").then(pl.coalesce(act, pl.col("TRT01P"))).alias("TRT01A"))


def derive_enrldt(adsl: pl.DataFrame, dm: pl.DataFrame) -> pl.DataFrame:
    """ENRLDT: date of RFICDTC (fallback RFSTDTC) for subjects with an arm; else null.

    Rule: our DM has no ENRDAT: a subject is enrolled when ARMCD is not null (and not a
    screen-failure code); the enrolment date is the informed-consent date RFICDTC, or RFSTDTC
    when RFICDTC is missing (external SDTM such as the CDISC pilot leaves RFICDTC empty).
    """
    src = dm.select(
        "USUBJID",
        pl.coalesce(complete_date(_col_or_null(dm, "RFICDTC")), complete_date(_col_or_null(dm, "RFSTDTC"))).alias("_ENR"),
    ).unique("USUBJID", keep="first")
    out = _join(adsl, src)
    return out.with_columns(pl.when(_has_arm("ARMCD")).then(pl.col("_ENR")).alias("ENRLDT")).drop("_ENR")


def dosed_ex(ex: pl.DataFrame) -> pl.DataFrame:
    """EX records that count as a dose: EXDOSE > 0 (any unit) or a placebo administration
    (recorded with dose 0 in placebo-controlled studies); all records if EXDOSE is absent."""
    if "EXDOSE" not in ex.columns:
        return ex
    given = pl.col("EXDOSE").cast(pl.Float64, strict=False) > 0
    if "EXTRT" in ex.columns:
        given = given | pl.col("EXTRT").cast(pl.Utf8).str.to_uppercase().str.contains("PLACEBO")
    return ex.filter(given.fill_null(False))


def derive_trt_dates(adsl: pl.DataFrame, ex: pl.DataFrame | None) -> pl.DataFrame:
    """TRTSDT/TRTSDTM, TRTEDT/TRTEDTM, TRTDURD from dosed EX records.

    Rule: TRTSDT(M) = first EXSTDTC (complete dates; datetime only when a time is recorded);
    TRTEDT(M) = last of EXENDTC, falling back to EXSTDTC when EXENDTC is missing;
    TRTDURD = TRTEDT - TRTSDT + 1. No EX -> all null.
    """
    spec = {"TRTSDT": pl.Date, "TRTSDTM": pl.Datetime("us"), "TRTEDT": pl.Date, "TRTEDTM": pl.Datetime("us")}
    if ex is None or "EXSTDTC" not in ex.columns:
        out = _nulls(adsl, spec)
    else:
        d = dosed_ex(ex)
        end = "EXENDTC" if "EXENDTC" in d.columns else "EXSTDTC"
        d = d.with_columns(
            complete_date("EXSTDTC").alias("_sd"), _dtm("EXSTDTC").alias("_sdtm"),
            pl.coalesce(complete_date(end), complete_date("EXSTDTC")).alias("_ed"),
            pl.when(complete_date(end).is_not_null()).then(_dtm(end)).otherwise(_dtm("EXSTDTC")).alias("_edtm"),
        )
        agg = d.group_by("USUBJID").agg(
            pl.col("_sd").min().alias("TRTSDT"),
            pl.col("_sdtm").filter(pl.col("_sd") == pl.col("_sd").min()).min().alias("TRTSDTM"),
            pl.col("_ed").max().alias("TRTEDT"),
            pl.col("_edtm").filter(pl.col("_ed") == pl.col("_ed").max()).max().alias("TRTEDTM"),
        )
        out = _join(adsl, agg.with_columns(pl.col("TRTSDTM", "TRTEDTM").cast(pl.Datetime("us"))))
    return out.with_columns(((pl.col("TRTEDT") - pl.col("TRTSDT")).dt.total_days() + 1).alias("TRTDURD"))


def derive_ncycle(adsl: pl.DataFrame, ex: pl.DataFrame | None) -> pl.DataFrame:
    """NCYCLE: number of distinct EXGRPID (cycle) values among dosed EX records.

    Rule: null when EX or EXGRPID is absent, or the subject has no dosed record with a cycle.
    """
    if ex is None or "EXGRPID" not in ex.columns:
        return _nulls(adsl, {"NCYCLE": pl.Int64})
    agg = (
        dosed_ex(ex).filter(pl.col("EXGRPID").is_not_null())
        .group_by("USUBJID").agg(pl.col("EXGRPID").n_unique().cast(pl.Int64).alias("NCYCLE"))
    )
    return _join(adsl, agg)


def derive_populations(adsl: pl.DataFrame, ex: pl.DataFrame | None) -> pl.DataFrame:
    """ENRLFL, ITTFL, SAFFL (trial.md §7), Y/N.

    Rule: ENRLFL = Y when ENRLDT is known; ITTFL = ENRLFL (no randomisation); SAFFL = Y when
    the subject has >= 1 EX record with EXDOSE > 0 (:func:`dosed_ex`).
    """
    dosed = [] if ex is None else dosed_ex(ex).get_column("USUBJID").unique().to_list()
    yn = lambda cond: pl.when(cond).then(pl.lit("Y")).otherwise(pl.lit("N"))  # noqa: E731
    return adsl.with_columns(
        yn(pl.col("ENRLDT").is_not_null()).alias("ENRLFL"),
        yn(pl.col("ENRLDT").is_not_null()).alias("ITTFL"),
        yn(pl.col("USUBJID").is_in(dosed)).alias("SAFFL"),
    )


def derive_mdis_efffl(adsl: pl.DataFrame, tu: pl.DataFrame | None) -> pl.DataFrame:
    """MDIS (measurable disease) and EFFFL.

    Rule: MDIS = Y if the subject has >= 1 TU record with TUSTRESC (or TUORRES) = TARGET dated
    on or before TRTSDT (the baseline tumour assessment), N otherwise; EFFFL = Y if SAFFL = Y
    and MDIS = Y, else N. Without a TU domain both are null (measurable disease unknown).
    """
    if tu is None or "TUDTC" not in tu.columns:
        return _nulls(adsl, {"MDIS": pl.Utf8, "EFFFL": pl.Utf8})
    res = pl.coalesce(_col_or_null(tu, "TUSTRESC"), _col_or_null(tu, "TUORRES")).cast(pl.Utf8).str.to_uppercase()
    tgt = tu.filter(res == "TARGET").select("USUBJID", complete_date("TUDTC").alias("_d"))
    base = (
        adsl.select("USUBJID", "TRTSDT").join(tgt, on="USUBJID", how="inner")
        .filter(pl.col("_d") <= pl.col("TRTSDT")).get_column("USUBJID").unique().to_list()
    )
    mdis = pl.when(pl.col("USUBJID").is_in(base)).then(pl.lit("Y")).otherwise(pl.lit("N"))
    return adsl.with_columns(mdis.alias("MDIS")).with_columns(
        pl.when((pl.col("SAFFL") == "Y") & (pl.col("MDIS") == "Y")).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("EFFFL")
    )


def derive_becog(adsl: pl.DataFrame, rs: pl.DataFrame | None) -> pl.DataFrame:
    """BECOG: last RS ECOG101 result dated on or before TRTSDT (numeric); null without RS/ECOG."""
    if rs is None or "RSTESTCD" not in rs.columns or "RSDTC" not in rs.columns:
        return _nulls(adsl, {"BECOG": pl.Float64})
    val = pl.coalesce(
        _col_or_null(rs, "RSSTRESN", pl.Float64).cast(pl.Float64, strict=False),
        _col_or_null(rs, "RSSTRESC").cast(pl.Float64, strict=False),
    )
    e = rs.filter(pl.col("RSTESTCD") == "ECOG101").select("USUBJID", complete_date("RSDTC").alias("_d"), val.alias("_v"))
    agg = (
        e.join(adsl.select("USUBJID", "TRTSDT"), on="USUBJID", how="inner")
        .filter((pl.col("_d") <= pl.col("TRTSDT")) & pl.col("_v").is_not_null())
        .sort("USUBJID", "_d").group_by("USUBJID").agg(pl.col("_v").last().alias("BECOG"))
    )
    return _join(adsl, agg)


def derive_disease_chars(adsl: pl.DataFrame, suppmh: pl.DataFrame | None) -> pl.DataFrame:
    """PRIMSITE, HISTGRD, DISSTAT (SUPPMH QNAMs on the primary diagnosis) and UTERFL.

    Rule: first QVAL per subject and QNAM; UTERFL = Y if PRIMSITE = UTERUS, N if PRIMSITE is
    another site, null if unknown. No SUPPMH (or none of these QNAMs) -> null.
    """
    names = ["PRIMSITE", "HISTGRD", "DISSTAT"]
    out = _nulls(adsl.drop(names, strict=False), {n: pl.Utf8 for n in names})
    if suppmh is not None and {"QNAM", "QVAL"} <= set(suppmh.columns):
        s = suppmh.filter(pl.col("QNAM").is_in(names)).select("USUBJID", "QNAM", pl.col("QVAL").cast(pl.Utf8))
        if s.height:
            wide = s.unique(["USUBJID", "QNAM"], keep="first", maintain_order=True).pivot(
                on="QNAM", index="USUBJID", values="QVAL"
            )
            out = _join(out, wide).select(out.columns)  # the same order whatever the subjects
    p = pl.col("PRIMSITE").str.to_uppercase()
    return out.with_columns(
        pl.when(p.is_null()).then(pl.lit(None, pl.Utf8)).when(p == "UTERUS").then(pl.lit("Y")).otherwise(pl.lit("N")).alias("UTERFL")
    )


def derive_baseline_vs(adsl: pl.DataFrame, vs: pl.DataFrame | None) -> pl.DataFrame:
    """HEIGHTBL, WEIGHTBL (last VS value dated <= TRTSDT) and BSABL (Mosteller, 2 dp).

    Rule: VSSTRESN of VSTESTCD HEIGHT / WEIGHT; BSABL = round(sqrt(HEIGHTBL x WEIGHTBL / 3600), 2).
    No VS or no TRTSDT -> null.
    """
    spec = {"HEIGHTBL": pl.Float64, "WEIGHTBL": pl.Float64}
    if vs is None or not {"VSTESTCD", "VSSTRESN", "VSDTC"} <= set(vs.columns):
        out = _nulls(adsl, spec)
    else:
        v = (
            vs.filter(pl.col("VSTESTCD").is_in(["HEIGHT", "WEIGHT"]) & pl.col("VSSTRESN").is_not_null())
            .select("USUBJID", "VSTESTCD", complete_date("VSDTC").alias("_d"), pl.col("VSSTRESN").cast(pl.Float64))
            .join(adsl.select("USUBJID", "TRTSDT"), on="USUBJID", how="inner")
            .filter(pl.col("_d") <= pl.col("TRTSDT"))
            .sort("USUBJID", "VSTESTCD", "_d")
            .group_by("USUBJID").agg(
                pl.col("VSSTRESN").filter(pl.col("VSTESTCD") == "HEIGHT").last().alias("HEIGHTBL"),
                pl.col("VSSTRESN").filter(pl.col("VSTESTCD") == "WEIGHT").last().alias("WEIGHTBL"),
            )
        )
        out = _join(adsl, v)
    return out.with_columns((pl.col("HEIGHTBL") * pl.col("WEIGHTBL") / 3600.0).sqrt().round(2).alias("BSABL"))


def _disposition(ds: pl.DataFrame, scat: str | None) -> pl.DataFrame:
    """Last DISPOSITION EVENT record per subject (of DSSCAT ``scat``; ``None`` = any)."""
    cond = pl.col("DSCAT").cast(pl.Utf8).str.to_uppercase() == "DISPOSITION EVENT"
    if scat is not None:
        cond = cond & (pl.col("DSSCAT").cast(pl.Utf8).str.to_uppercase() == scat)
    seq = _col_or_null(ds, "DSSEQ", pl.Float64).cast(pl.Float64, strict=False).alias("_seq")
    return (
        ds.filter(cond).select("USUBJID", pl.col("DSDECOD").cast(pl.Utf8), complete_date("DSSTDTC").alias("_d"), seq)
        .sort("USUBJID", "_d", "_seq", nulls_last=False).group_by("USUBJID").agg(pl.all().last())
    )


def _status(decod: pl.Expr, present: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    stt = (
        pl.when(~present).then(pl.lit("ONGOING"))
        .when(decod.str.to_uppercase() == "COMPLETED").then(pl.lit("COMPLETED"))
        .otherwise(pl.lit("DISCONTINUED"))
    )
    reas = pl.when(present & (decod.str.to_uppercase() != "COMPLETED")).then(decod)
    return stt, reas


def derive_disposition(adsl: pl.DataFrame, ds: pl.DataFrame | None) -> pl.DataFrame:
    """EOTSTT/DCTREAS (treatment) and EOSSTT/DCSREAS/EOSDT (study participation) from DS.

    Rule: the last DSCAT = DISPOSITION EVENT record of DSSCAT STUDY TREATMENT (EOT) / STUDY
    PARTICIPATION (EOS); status COMPLETED if DSDECOD = COMPLETED, DISCONTINUED otherwise,
    ONGOING without such a record; reason = DSDECOD when discontinued (null otherwise);
    EOSDT = DSSTDTC date of the EOS record. A DS without DSSCAT (external SDTM, e.g. the
    CDISC pilot): every DISPOSITION EVENT record is study participation and EOTSTT/DCTREAS
    stay null. No DS -> all null.
    """
    names = {"EOTSTT": pl.Utf8, "DCTREAS": pl.Utf8, "EOSSTT": pl.Utf8, "DCSREAS": pl.Utf8, "EOSDT": pl.Date}
    if ds is None or not {"DSCAT", "DSDECOD", "DSSTDTC"} <= set(ds.columns):
        return _nulls(adsl, names)
    has_scat = "DSSCAT" in ds.columns and ds.get_column("DSSCAT").drop_nulls().len() > 0
    out = adsl
    blocks = [("EOS", "STUDY PARTICIPATION" if has_scat else None, "EOSSTT", "DCSREAS")]
    if has_scat:
        blocks.append(("EOT", "STUDY TREATMENT", "EOTSTT", "DCTREAS"))
    else:
        out = _nulls(out, {"EOTSTT": pl.Utf8, "DCTREAS": pl.Utf8})
    for tag, scat, stt_name, reas_name in blocks:
        rec = _disposition(ds, scat).select(
            "USUBJID", pl.col("DSDECOD").alias(f"_{tag}"), pl.col("_d").alias(f"_{tag}D"), pl.lit(True).alias(f"_{tag}P")
        )
        out = _join(out, rec)
        stt, reas = _status(pl.col(f"_{tag}"), pl.col(f"_{tag}P").fill_null(False))
        out = out.with_columns(stt.alias(stt_name), reas.alias(reas_name))
        if tag == "EOS":
            out = out.with_columns(pl.col("_EOSD").alias("EOSDT"))
        out = out.drop(f"_{tag}", f"_{tag}D", f"_{tag}P")
    return out


#: LSTALVDT sources: domain -> (date columns, optional row filter excluding death dates)
LSTALV_SOURCES: dict[str, tuple[tuple[str, ...], pl.Expr | None]] = {
    "ex": (("EXSTDTC", "EXENDTC"), None),
    "vs": (("VSDTC",), None),
    "lb": (("LBDTC",), None),
    "tr": (("TRDTC",), None),
    "rs": (("RSDTC",), None),  # tumour response and ECOG
    "ae": (("AESTDTC", "AEENDTC"), None),
    "cm": (("CMSTDTC", "CMENDTC"), None),
    "ds": (("DSSTDTC",), pl.col("DSDECOD").cast(pl.Utf8).str.to_uppercase() != "DEATH"),
}


def derive_lstalvdt(adsl: pl.DataFrame, sdtm: dict[str, pl.DataFrame], *, dco: date) -> pl.DataFrame:
    """LSTALVDT: latest complete date at which the subject is known alive, capped at DCO.

    Rule: max over the complete dates of :data:`LSTALV_SOURCES` that exist (EX, VS, LB, TR,
    RS incl. ECOG, AE start/end, CM start/end, DS except DEATH records); an AE end date of
    an AE with AEOUT = FATAL is excluded, so it is never a death date; dates after DCO count
    as DCO (``min(max date, DCO)``). No source -> null.
    """
    pieces = []
    for dom, (cols, keep) in LSTALV_SOURCES.items():
        df = sdtm.get(dom)
        if df is None or "USUBJID" not in df.columns:
            continue
        if keep is not None and "DSDECOD" in df.columns:
            df = df.filter(keep.fill_null(True))
        for c in cols:
            if c not in df.columns:
                continue
            sub = df
            if dom == "ae" and c == "AEENDTC" and "AEOUT" in df.columns:
                sub = df.filter((pl.col("AEOUT").cast(pl.Utf8).str.to_uppercase() != "FATAL").fill_null(True))
            pieces.append(sub.select("USUBJID", complete_date(c).alias("_d")))
    if not pieces:
        return _nulls(adsl, {"LSTALVDT": pl.Date})
    agg = pl.concat(pieces).drop_nulls().group_by("USUBJID").agg(pl.col("_d").max().alias("LSTALVDT"))
    out = _join(adsl, agg)
    return out.with_columns(pl.min_horizontal(pl.col("LSTALVDT"), pl.lit(dco)).alias("LSTALVDT").cast(pl.Date))


def derive_death(adsl: pl.DataFrame) -> pl.DataFrame:
    """DTHDT / DTHDTF from DM.DTHDTC by :func:`pipeline.adam.dates.derive_dthdt` (partial
    death dates imputed with LSTALVDT inside the reported month/year)."""
    return derive_dthdt(adsl, "DTHDTC", "LSTALVDT")


def subsequent_therapy_starts(sdtm: dict[str, pl.DataFrame]) -> pl.DataFrame | None:
    """Stacked start dates (USUBJID, STDTC) of subsequent anti-cancer therapy records.

    Rule: CM with CMCAT = SUBSEQUENT ANTICANCER THERAPY (CMSTDTC) and PR with PRCAT starting
    with SUBSEQUENT (PRSTDTC); None when neither domain/category exists.
    """
    parts = []
    for dom, cat, dtc, exact in (("cm", "CMCAT", "CMSTDTC", True), ("pr", "PRCAT", "PRSTDTC", False)):
        df = sdtm.get(dom)
        if df is None or cat not in df.columns or dtc not in df.columns:
            continue
        c = pl.col(cat).cast(pl.Utf8).str.to_uppercase()
        cond = (c == "SUBSEQUENT ANTICANCER THERAPY") if exact else c.str.starts_with("SUBSEQUENT")
        parts.append(df.filter(cond.fill_null(False)).select("USUBJID", pl.col(dtc).cast(pl.Utf8).alias("STDTC")))
    return pl.concat(parts) if parts else None


def derive_nact(adsl: pl.DataFrame, sdtm: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """NACTDT via :func:`pipeline.adam.dates.derive_nactdt` over
    :func:`subsequent_therapy_starts`; null when there is no such source."""
    starts = subsequent_therapy_starts(sdtm)
    if starts is None:
        return _nulls(adsl, {"NACTDT": pl.Date})
    return derive_nactdt(starts, adsl, dtc="STDTC")


# ---------------------------------------------------------------------------------------------
# chain
# ---------------------------------------------------------------------------------------------
def derive_adsl(sdtm: dict[str, pl.DataFrame], *, dco: date | None = None) -> pl.DataFrame:
    """ADSL, one row per DM subject, from SDTM frames (keys lower-case domain names).

    Rule: :func:`dm_base` -> :func:`derive_agegr1` -> :func:`derive_trt01p` ->
    :func:`derive_enrldt` -> :func:`derive_trt_dates` -> :func:`derive_ncycle` ->
    :func:`derive_populations` -> :func:`derive_trt01a` -> :func:`derive_mdis_efffl` ->
    :func:`derive_becog` -> :func:`derive_disease_chars` -> :func:`derive_baseline_vs` ->
    :func:`derive_disposition` -> :func:`derive_lstalvdt` -> :func:`derive_death` ->
    :func:`derive_nact`. Only DM (USUBJID, ARMCD) is required; ``dco`` defaults to config
    ``trial.data_cutoff``.
    """
    require(sdtm, ADSL_NEEDS, dataset="ADSL")
    dco = data_cutoff() if dco is None else dco
    dm, ex = sdtm["dm"], sdtm.get("ex")
    if ex is not None and not {"USUBJID", "EXSTDTC"} <= set(ex.columns):
        ex = None
    adsl = dm_base(dm)
    adsl = derive_agegr1(adsl)
    adsl = derive_trt01p(adsl)
    adsl = derive_enrldt(adsl, dm)
    adsl = derive_trt_dates(adsl, ex)
    adsl = derive_ncycle(adsl, ex)
    adsl = derive_populations(adsl, ex)
    adsl = derive_trt01a(adsl)
    adsl = derive_mdis_efffl(adsl, sdtm.get("tu"))
    adsl = derive_becog(adsl, sdtm.get("rs"))
    adsl = derive_disease_chars(adsl, sdtm.get("suppmh"))
    adsl = derive_baseline_vs(adsl, sdtm.get("vs"))
    adsl = derive_disposition(adsl, sdtm.get("ds"))
    adsl = derive_lstalvdt(adsl, sdtm, dco=dco)
    adsl = derive_death(adsl)
    adsl = derive_nact(adsl, sdtm)
    return adsl
