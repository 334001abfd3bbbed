"""Assemble the ADaM datasets from SDTM frames and write them to DuckDB.

:func:`derive_adam` produces ADSL always and ADAE / ADLB / ADEX when their SDTM domain
exists, reusing the derivation modules (:mod:`adsl`, :mod:`adae`, :mod:`adlb`, :mod:`adex`).
Records dated after the data cut-off are dropped before any derivation (adam.md preamble;
partial or missing dates are kept). :func:`write_adam` writes schema ``adam`` (and the input
SDTM to schema ``sdtm``) of a DuckDB file through arrow.

External SDTM (documented decisions):
- AE without AETOXGR (e.g. the CDISC pilot, which records AESEV only): AETOXGR is added as
  null, so ATOXGR/ATOXGRN/ASEV are null; severity is **not** mapped to a CTCAE grade.
- EX without BSA (SUPPEX) or cycle information (SUPPEX CYCLE / EXGRPID): ADEX holds the
  record level only (AVAL = EXDOSE in the delivery's unit, ADOSEMSQ null); none of the
  adam.md §4 parameters (all in mg/m² per cycle) is computable, so none is produced.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipeline.adam.adae import derive_adae
from pipeline.adam.adex import adex_records, adsl_dose_vars, exposure_params
from pipeline.adam.adlb import derive_adlb
from pipeline.adam.adrs import (AVAL_RESP, PARAM_LABELS, derive_response_parameters, flag_analysis_records,
                                 subject_status_parameters)
from pipeline.adam.adtr import adtr
from pipeline.adam import adtte
from pipeline.adam.adsl import derive_adsl
from pipeline.adam.dates import complete_date
from pipeline.adam.sdtm_input import require
from pipeline.config import data_cutoff
from pipeline.warehouse_io import write_table

#: date column used for the DCO cut per domain
DCO_DATES: dict[str, str] = {"ae": "AESTDTC", "lb": "LBDTC", "ex": "EXSTDTC",
                             "rs": "RSDTC", "tr": "TRDTC", "tu": "TUDTC"}
ADAE_NEEDS = {"ae": ["USUBJID", "AESEQ", "AESTDTC"]}
ADLB_NEEDS = {"lb": ["USUBJID", "LBTESTCD", "LBSTRESN", "LBDTC"]}
ADEX_NEEDS = {"ex": ["USUBJID", "EXTRT", "EXDOSE", "EXSTDTC"]}
ADRS_NEEDS = {"rs": ["USUBJID", "RSTESTCD", "RSSTRESC", "RSDTC"]}
ADTR_NEEDS = {"tr": ["USUBJID", "TRTESTCD", "TRSTRESN", "TRDTC", "TRLNKID"]}
SUPPEX_QNAMS = ("BSA", "PLDOSE", "CYCLE")
#: the only columns of EX / SUPPEX :func:`exposure_completeness` looks at (a chunked caller reads no more)
EXPOSURE_COLUMNS: dict[str, tuple[str, ...]] = {
    "ex": ("USUBJID", "EXSEQ", "EXDOSE", DCO_DATES["ex"], "EXGRPID", *SUPPEX_QNAMS),
    "suppex": ("USUBJID", "IDVARVAL", "QNAM", "QVAL"),
}


def cut_at_dco(df: pl.DataFrame, dtc: str, dco: date) -> pl.DataFrame:
    """Drop records whose complete date ``dtc`` is after ``dco`` (partial/missing dates kept)."""
    if dtc not in df.columns:
        return df
    d = complete_date(dtc)
    return df.filter(d.is_null() | (d <= dco))


def _with_null(df: pl.DataFrame, cols: dict[str, pl.DataType]) -> pl.DataFrame:
    return df.with_columns([pl.lit(None, t).alias(c) for c, t in cols.items() if c not in df.columns])


def ex_cycles(ex: pl.DataFrame, suppex: pl.DataFrame | None) -> pl.DataFrame:
    """EX with BSA, PLDOSE, CYCLE (SUPPEX) and ACYCLE.

    Rule: SUPPEX QNAMs BSA / PLDOSE / CYCLE matched on USUBJID and IDVARVAL = EXSEQ; ACYCLE =
    SUPPEX CYCLE, else the number in EXGRPID (``CYCLE 3`` -> 3), else null. Absent -> null
    columns, always in the order BSA, PLDOSE, CYCLE (the same columns whatever the subjects).
    """
    out = ex
    if suppex is not None and {"QNAM", "QVAL", "IDVARVAL"} <= set(suppex.columns) and "EXSEQ" in ex.columns:
        s = suppex.filter(pl.col("QNAM").is_in(list(SUPPEX_QNAMS))).select(
            "USUBJID", pl.col("IDVARVAL").cast(pl.Utf8).alias("_SEQ"), "QNAM", pl.col("QVAL").cast(pl.Float64, strict=False)
        )
        if s.height:
            wide = s.unique(["USUBJID", "_SEQ", "QNAM"], keep="first").pivot(on="QNAM", index=["USUBJID", "_SEQ"], values="QVAL")
            out = (
                out.drop([c for c in wide.columns if c in out.columns and c != "USUBJID"])
                .with_columns(pl.col("EXSEQ").cast(pl.Float64).cast(pl.Int64).cast(pl.Utf8).alias("_SEQ"))
                .join(wide, on=["USUBJID", "_SEQ"], how="left").drop("_SEQ")
            )
    out = _with_null(out, {"BSA": pl.Float64, "PLDOSE": pl.Float64, "CYCLE": pl.Float64})
    out = out.select(*[c for c in out.columns if c not in SUPPEX_QNAMS], *SUPPEX_QNAMS)
    grp = pl.col("EXGRPID").cast(pl.Utf8).str.extract(r"(\d+)", 1).cast(pl.Int64, strict=False) if "EXGRPID" in out.columns else pl.lit(None, pl.Int64)
    return out.with_columns(pl.coalesce(pl.col("CYCLE").cast(pl.Int64, strict=False), grp).alias("ACYCLE"))


def ex_analysis_input(ex: pl.DataFrame, suppex: pl.DataFrame | None, adsl: pl.DataFrame) -> pl.DataFrame:
    """EX with the columns :mod:`pipeline.adam.adex` expects: BSA, PLDOSE, CYCLE, ACYCLE
    (:func:`ex_cycles`) and CYCDY1.

    Rule: CYCDY1 = study day (TRTSDT = day 1) of the earliest EXSTDTC of the subject's cycle.
    """
    out = ex_cycles(ex, suppex).join(adsl.select("USUBJID", pl.col("TRTSDT").alias("_TRTSDT")), on="USUBJID", how="left")
    day1 = complete_date("EXSTDTC").min().over("USUBJID", "ACYCLE")
    return out.with_columns(
        pl.when(pl.col("ACYCLE").is_not_null())
        .then((day1 - pl.col("_TRTSDT")).dt.total_days() + 1)
        .cast(pl.Int64).alias("CYCDY1")
    ).drop("_TRTSDT")


def exposure_completeness(sdtm: dict[str, pl.DataFrame], *, dco: date | None = None) -> tuple[int, int]:
    """``(dosed EX records, dosed records without BSA or cycle)`` after the DCO cut.

    Why: whether ADEX gets its subject x drug parameters is one decision for the whole trial
    (:func:`exposure_params_computable`); both counts add up over subject chunks, so a chunked
    caller sums them over its chunks and passes the decision to :func:`derive_adam`.
    """
    if "ex" not in sdtm:
        return 0, 0
    dco = data_cutoff() if dco is None else dco
    ex = cut_at_dco(sdtm["ex"], DCO_DATES["ex"], dco)
    dosed = ex_cycles(ex, sdtm.get("suppex")).filter(pl.col("EXDOSE") > 0)
    complete = pl.col("BSA").is_not_null() & pl.col("ACYCLE").is_not_null()
    return dosed.height, dosed.filter(~complete).height


def exposure_params_computable(dosed: int, incomplete: int) -> bool:
    """ADEX parameters are derived when some record is dosed and every dosed record has a BSA
    and a cycle (the parameters are all in mg/m² per cycle)."""
    return dosed > 0 and incomplete == 0


def derive_adex(ex: pl.DataFrame, suppex: pl.DataFrame | None, adsl: pl.DataFrame, *, dco: date,
                computable: bool | None = None) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """ADEX = record level (one row per EX record, PARAMCD ``DOSE``) + subject x drug
    parameters when computable (:func:`exposure_params_computable`; ``computable`` None:
    decided from these frames, which must then hold the whole trial).

    Returns ``(adex, params or None)``; params are also stacked into ``adex``.
    """
    if computable is None:
        computable = exposure_params_computable(*exposure_completeness({"ex": ex, "suppex": suppex}, dco=dco))
    rec = adex_records(ex_analysis_input(ex, suppex, adsl)).with_columns(
        pl.lit("DOSE").alias("PARAMCD"), pl.lit("Dose Administered").alias("PARAM")
    )
    if not computable:
        return rec, None
    params = exposure_params(rec, adsl.select("USUBJID", "TRTSDT", "DTHDT"), dco=dco)
    return pl.concat([rec, params], how="diagonal_relaxed"), params


def ovr_records(rs: pl.DataFrame, subjects: pl.DataFrame, *, dco: date) -> pl.DataFrame:
    """ADRS ``PARAMCD = OVR`` records (adam.md §5): RS ``OVRLRESP`` (``RSEVAL = INVESTIGATOR``
    when RSEVAL exists), ``AVALC = RSSTRESC``, ``AVAL`` = ``aval_resp``, ``ADT`` = date of RSDTC,
    ``SRCSEQ = RSSEQ``; ANL01FL / ANL02FL via :func:`flag_analysis_records`."""
    r = rs.filter(pl.col("RSTESTCD") == "OVRLRESP")
    if "RSEVAL" in r.columns:
        r = r.filter(pl.col("RSEVAL").is_null() | (pl.col("RSEVAL") == "INVESTIGATOR"))
    seq = pl.col("RSSEQ").cast(pl.Int64, strict=False) if "RSSEQ" in r.columns else pl.lit(None, pl.Int64)
    ovr = r.select(
        pl.col("USUBJID").cast(pl.String),
        pl.lit("OVR").alias("PARAMCD"), pl.lit(PARAM_LABELS["OVR"]).alias("PARAM"),
        pl.col("RSSTRESC").cast(pl.String).alias("AVALC"),
        pl.col("RSSTRESC").replace_strict(AVAL_RESP, default=None, return_dtype=pl.Int64).alias("AVAL"),
        complete_date("RSDTC").alias("ADT"),
        seq.alias("SRCSEQ"),
    )
    return flag_analysis_records(ovr, subjects, dco)


def baseline_assessment(adsl: pl.DataFrame, sd: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """``USUBJID, has_baseline_assessment``: MDIS = Y, or a TU / TR record dated on or before
    the start date (TRTSDT, ENRLDT if never dosed)."""
    starts = adtte.start_dates(adsl)
    have = [adsl.filter(pl.col("MDIS") == "Y").select("USUBJID")] if "MDIS" in adsl.columns else []
    for dom, dtc in (("tu", "TUDTC"), ("tr", "TRDTC")):
        if dom in sd and dtc in sd[dom].columns:
            have.append(sd[dom].select("USUBJID", complete_date(dtc).alias("_d")).join(starts, on="USUBJID")
                        .filter(pl.col("_d") <= pl.col("STARTDT")).select("USUBJID"))
    ids = pl.concat(have).unique() if have else pl.DataFrame({"USUBJID": []}, schema={"USUBJID": pl.String})
    return adsl.select("USUBJID").with_columns(
        pl.col("USUBJID").is_in(ids["USUBJID"].cast(pl.String).implode()).alias("has_baseline_assessment"))


def derive_adam(sdtm: dict[str, pl.DataFrame], *, dco: date | None = None,
                adex_params: bool | None = None) -> dict[str, pl.DataFrame]:
    """ADSL always; ADAE if AE exists; ADLB if LB exists; ADEX if EX exists; ADRS (OVR +
    derived parameters) and ADTTE (PFS, PFSNC, OS, DOR, TTR) if RS exists; ADTR if TR exists;
    without RS, ADTTE holds OS only, and only when ADSL has a DTHDT or LSTALVDT.

    Rule: records after DCO (default config ``trial.data_cutoff``) dropped per
    :data:`DCO_DATES`; ADAE via ``derive_adae`` with SUPPAE when present; ADLB via
    ``derive_adlb``; ADEX via :func:`derive_adex`, its per-drug CDOS*/RDI* copied to ADSL
    when parameters exist. Missing variables raise :class:`SdtmInputError`.

    Every derivation looks at one subject at a time, so ``sdtm`` may hold a subset of the
    subjects (a subject chunk, :mod:`pipeline.adam.warehouse`); the one whole-trial decision,
    whether ADEX has parameters, is then passed as ``adex_params`` (None: decided from
    ``sdtm``, see :func:`exposure_completeness`).
    """
    dco = data_cutoff() if dco is None else dco
    sd = {k: (cut_at_dco(v, DCO_DATES[k], dco) if k in DCO_DATES else v) for k, v in sdtm.items()}
    adsl = derive_adsl(sd, dco=dco)
    out: dict[str, pl.DataFrame] = {}
    if "ae" in sd:
        require(sd, ADAE_NEEDS, dataset="ADAE")
        ae = _with_null(sd["ae"], {"AETOXGR": pl.Utf8, "AEENDTC": pl.Utf8})
        out["adae"] = derive_adae(ae, adsl, sd.get("suppae"))
    if "lb" in sd:
        require(sd, ADLB_NEEDS, dataset="ADLB")
        lb = _with_null(sd["lb"], {"LBSTNRLO": pl.Float64, "LBSTNRHI": pl.Float64, "LBSTRESU": pl.Utf8})
        out["adlb"] = derive_adlb(lb, adsl)
    if "ex" in sd:
        require(sd, ADEX_NEEDS, dataset="ADEX")
        adex, params = derive_adex(sd["ex"], sd.get("suppex"), adsl, dco=dco, computable=adex_params)
        out["adex"] = adex
        if params is not None and params.height:
            adsl = adsl.join(adsl_dose_vars(params), on="USUBJID", how="left")
    out.update(_efficacy(sd, adsl, dco=dco))
    frames = {"adsl": adsl, **{name: with_studyid(frame, adsl) for name, frame in out.items()}}
    return {name: by_subject(frame) for name, frame in frames.items()}


def by_subject(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` ordered by USUBJID (nulls first), each subject's records in derivation order
    (stable sort): the order the datasets have whether derived whole or by subject chunk
    (whose key ranges follow each other), e.g. ADEX: a subject's records, then its parameters.
    A frame already in that order (ADSL, ADAE, ADLB, ADRS, ADTR; not ADEX, ADTTE) is returned
    as is."""
    if frame["USUBJID"].is_sorted(nulls_last=False):
        return frame
    return frame.sort("USUBJID", nulls_last=False, maintain_order=True)


def with_studyid(frame: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    """``STUDYID`` on every record (from ADSL where absent or null, e.g. the subject-level
    parameters stacked under ADEX's record level), as every ADaM dataset carries it."""
    out = frame.with_columns(pl.col("USUBJID").cast(pl.String))
    if "STUDYID" not in frame.columns or frame["STUDYID"].null_count():  # else nothing to fill: no join
        ids = adsl.select(pl.col("USUBJID").cast(pl.String), pl.col("STUDYID").alias("_STUDYID"))
        own = [pl.col("STUDYID")] if "STUDYID" in frame.columns else []
        out = out.join(ids, on="USUBJID", how="left").with_columns(pl.coalesce(*own, pl.col("_STUDYID")).alias("STUDYID"))
    return out.select("STUDYID", *[c for c in frame.columns if c != "STUDYID"])


def _efficacy(sd: dict[str, pl.DataFrame], adsl: pl.DataFrame, *, dco: date) -> dict[str, pl.DataFrame]:
    """ADRS / ADTTE / ADTR (adam.md §5-§7). TTE subjects: ADSL subjects with a start date."""
    out: dict[str, pl.DataFrame] = {}
    rsp_subj = adsl.select("USUBJID", "TRTSDT", "NACTDT")
    tte_cols = [c for c in ("USUBJID", "TRTSDT", "ENRLDT", "DTHDT", "NACTDT", "LSTALVDT") if c in adsl.columns]
    tte_subj = adsl.select(tte_cols).filter(pl.coalesce(
        [pl.col(c) for c in ("TRTSDT", "ENRLDT") if c in tte_cols] or [pl.lit(None, pl.Date)]).is_not_null())
    ovr = None
    if "rs" in sd:
        require(sd, ADRS_NEEDS, dataset="ADRS")
        ovr = ovr_records(sd["rs"], rsp_subj, dco=dco)
        params = derive_response_parameters(ovr, rsp_subj, dco)
        out["adrs"] = pl.concat([ovr, params, subject_status_parameters(adsl)], how="diagonal_relaxed").sort("USUBJID", "PARAMCD", "ADT", nulls_last=True)
        crsp = params.filter(pl.col("PARAMCD") == "CRSP")
        subj = tte_subj.join(baseline_assessment(adsl, sd), on="USUBJID", how="left")
        out["adtte"] = pl.concat([
            adtte.pfs(ovr, subj, dco=dco),
            adtte.pfs(ovr, subj, dco=dco, ignore_nact_and_gap=True),
            adtte.os(subj, dco=dco),
            adtte.dor(ovr, subj, crsp, dco=dco),
            adtte.ttr(crsp, subj),
        ], how="diagonal_relaxed")
    elif tte_subj.height and any(c in tte_subj.columns and tte_subj[c].null_count() < tte_subj.height
                                 for c in ("DTHDT", "LSTALVDT")):
        out["adtte"] = adtte.os(tte_subj, dco=dco)
    if "tr" in sd:
        require(sd, ADTR_NEEDS, dataset="ADTR")
        tr = sd["tr"].with_columns(pl.col("USUBJID").cast(pl.String), complete_date("TRDTC").alias("ADT"))
        out["adtr"] = adtr(tr, ovr, rsp_subj)
    return out


def write_adam(frames: dict[str, pl.DataFrame], duckdb_path: str | Path, *, sdtm: dict[str, pl.DataFrame] | None = None,
               endpoints: dict[str, pl.DataFrame] | None = None) -> dict[str, int]:
    """Write ``frames`` to schema ``adam`` (``sdtm`` frames to schema ``sdtm``, ``endpoints``
    frames to schema ``endpoints``, which is emptied first) of a DuckDB file (created if absent;
    tables replaced with CREATE OR REPLACE via arrow). Returns ``{"adam.<name>": rows, ...}``."""
    path = Path(duckdb_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    con = duckdb.connect(str(path))
    try:
        if endpoints is not None:  # derived as a whole: no table of an earlier run may survive
            con.execute("DROP SCHEMA IF EXISTS endpoints CASCADE")
        for schema, group in (("sdtm", sdtm or {}), ("adam", frames), ("endpoints", endpoints or {})):
            for name, df in group.items():
                counts[f"{schema}.{name}"] = write_table(con, f"{schema}.{name}", df)
    finally:
        con.close()
    return counts
