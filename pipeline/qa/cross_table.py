"""Cross-table rules XT01-XT10: what the per-table Pandera contracts and per-form edit checks
cannot see, computed in DuckDB SQL over SDTM and ADaM so they scale to 100,000 subjects.

Each :class:`CrossRule` is a SELECT returning only the violating rows (usually none), with the
columns ``STUDYID, SITEID, SUBJID, VISIT, VALUE, RECORD, MESSAGE, SRC_FILE, SRC_ROW``.
:func:`cross_table_findings` wraps them into finding rows (``FINDING_COLUMNS`` + ``RECORD``):
the delivered text comes from ``raw.<form>`` and the normalised visit from
``validation.<form>`` through the SDTM row's lineage, so a query shows what the site typed.

``RECORD`` is set by rules whose finding is not one CRF row (a lesion, a missing visit, a
distribution); for the others the ledger derives it from the CRF row the lineage points to.

Overlaps with the edit checks, by design of the rules, are small: XT02/XT03 leave dates more
than the consent look-back before consent to DAT03; AE grade 5 against DTH is DTH01's. A dose
after a DTH-form death is also a DAT04 finding at staging (DAT04 looks at any date, XT04 at
doses against the death date the SDTM carries).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from pipeline import config
from pipeline.validation.findings import FINDING_COLUMNS
from pipeline.validation.rules import RULES

#: the columns of ``qa.findings_gx``: a finding row plus the record key of rules not tied to one row
GX_FINDING_COLUMNS: dict[str, pl.DataType] = {**FINDING_COLUMNS, "RECORD": pl.Utf8}

#: the suite (Data Docs page) each rule belongs to
SUITES = {"cross_table": ("XT01", "XT02", "XT03", "XT04", "XT05", "XT06", "XT07"),
          "plausibility": ("XT08", "XT09"), "completeness": ("XT10",)}


@dataclass(frozen=True)
class CrossRule:
    rule: str
    form: str | None  # CRF form a query goes to (None: not one form)
    field: str | None
    select: str

    @property
    def severity(self) -> str:
        return RULES[self.rule].severity

    @property
    def title(self) -> str:
        return RULES[self.rule].title


def _shared_prefix_cmp(a: str, op: str, b: str) -> str:
    """Compare two ISO 8601 (possibly partial) dates at the precision both have."""
    n = f"least(10, length({a}), length({b}))"
    return f"({a} NOT LIKE '%---%' AND {b} NOT LIKE '%---%' AND substr({a}, 1, {n}) {op} substr({b}, 1, {n}))"


_SUBJECT = "d.STUDYID, d.SITEID, d.SUBJID"


def _before_consent(rule: str, domain: str, form: str, field: str, dtc: str, what: str) -> CrossRule:
    lookback = int(config.trial()["consent_lookback_years"])
    return CrossRule(rule, form, field, f"""
        SELECT {_SUBJECT}, NULL AS VISIT, x.{dtc} AS VALUE, NULL AS RECORD,
               '{what} ' || x.{dtc} || ' before informed consent on ' || d.RFICDTC AS MESSAGE, x.SRC_FILE, x.SRC_ROW
        FROM sdtm.{domain} x JOIN sdtm.dm d USING (USUBJID)
        WHERE {_shared_prefix_cmp(f'x.{dtc}', '<', 'd.RFICDTC')}
          -- more than the look-back before consent is DAT03's
          AND NOT {_shared_prefix_cmp(f'x.{dtc}', '<', f"CAST(CAST(d.RFICDTC AS DATE) - INTERVAL {lookback} YEAR AS VARCHAR)")}""")


def _subject_not_in_dm(tables: list[tuple[str, str]]) -> CrossRule:
    parts = " UNION ALL ".join(
        f"SELECT DISTINCT USUBJID, '{s}.{t}' AS TBL FROM {s}.{t}" for s, t in tables) or \
        "SELECT NULL::VARCHAR AS USUBJID, NULL::VARCHAR AS TBL WHERE false"
    return CrossRule("XT01", None, "USUBJID", f"""
        SELECT regexp_extract(x.USUBJID, '^(.*)-([^-]+)-([^-]+)$', 1) AS STUDYID,
               regexp_extract(x.USUBJID, '^(.*)-([^-]+)-([^-]+)$', 2) AS SITEID,
               regexp_extract(x.USUBJID, '^(.*)-([^-]+)-([^-]+)$', 3) AS SUBJID,
               NULL AS VISIT, x.USUBJID AS VALUE, upper(x.TBL) AS RECORD,
               'USUBJID ' || x.USUBJID || ' in ' || upper(x.TBL) || ' but not in DM' AS MESSAGE,
               NULL AS SRC_FILE, NULL AS SRC_ROW
        FROM ({parts}) x WHERE x.USUBJID NOT IN (SELECT USUBJID FROM sdtm.dm)""")


def rules(con: duckdb.DuckDBPyConnection) -> list[CrossRule]:
    """The rules, with the tables present in this warehouse (a missing ADaM dataset is skipped)."""
    q = config.trial_config().get("qa", {})
    tables = con.execute(
        """SELECT table_schema, table_name FROM information_schema.columns
           WHERE table_schema IN ('sdtm', 'adam') AND column_name = 'USUBJID'
             AND NOT (table_schema = 'sdtm' AND table_name IN ('dm')) AND table_name NOT LIKE 'int_%'
           ORDER BY 1, 2""").fetchall()
    forms = q["completeness_forms"]
    expected = " UNION ALL ".join(
        f"""SELECT s.USUBJID, s.VISIT, '{f}' AS FORM FROM scheduled s
            WHERE NOT EXISTS (SELECT 1 FROM sdtm.{f.lower()} x WHERE x.USUBJID = s.USUBJID AND x.VISIT = s.VISIT)"""
        for f in forms)
    has_adsl = ("adam", "adsl") in tables
    return [
        _subject_not_in_dm(tables),
        _before_consent("XT02", "ae", "AE", "AESTDAT", "AESTDTC", "AE start"),
        _before_consent("XT03", "ex", "EX", "EXSTDAT", "EXSTDTC", "administration"),
        CrossRule("XT04", "EX", "EXSTDAT", f"""
            SELECT {_SUBJECT}, x.VISIT, x.EXSTDTC AS VALUE, NULL AS RECORD,
                   x.EXTRT || ' administered on ' || x.EXSTDTC || ', after death on ' || d.DTHDTC AS MESSAGE,
                   x.SRC_FILE, x.SRC_ROW
            FROM sdtm.ex x JOIN sdtm.dm d USING (USUBJID)
            WHERE d.DTHDTC IS NOT NULL AND {_shared_prefix_cmp('x.EXSTDTC', '>', 'd.DTHDTC')}"""),
        CrossRule("XT05", "EOS", "EOSDAT", f"""
            SELECT {_SUBJECT}, NULL AS VISIT, x.DSSTDTC AS VALUE, NULL AS RECORD,
                   'end of study for DEATH on ' || x.DSSTDTC || ' but the death date (DTH) is ' || d.DTHDTC AS MESSAGE,
                   x.SRC_FILE, x.SRC_ROW
            FROM sdtm.ds x JOIN sdtm.dm d USING (USUBJID)
            WHERE x.DSDECOD = 'DEATH' AND x.DSSCAT = 'STUDY PARTICIPATION' AND d.DTHDTC IS NOT NULL
              AND {_shared_prefix_cmp('x.DSSTDTC', '<>', 'd.DTHDTC')}"""
            + ("" if not has_adsl else f"""
            UNION ALL
            SELECT {_SUBJECT}, NULL, CAST(a.DTHDT AS VARCHAR), 'ADSL|DTHDT',
                   'ADSL death date ' || coalesce(CAST(a.DTHDT AS VARCHAR), 'missing') || ' (DTHFL '
                   || coalesce(a.DTHFL, 'null') || ') but DM death date ' || coalesce(d.DTHDTC, 'missing'),
                   NULL, NULL
            FROM adam.adsl a JOIN sdtm.dm d USING (USUBJID)
            WHERE (a.DTHDT IS NULL) <> (d.DTHDTC IS NULL)
               OR (a.DTHDT IS NOT NULL AND d.DTHDTC NOT LIKE '%---%'
                   AND substr(CAST(a.DTHDT AS VARCHAR), 1, length(d.DTHDTC)) <> d.DTHDTC)""")),
        # TU is built from every lesion row, so a lesion lacks TU only through a pipeline fault; the
        # usual defect is a baseline (target / non-target) row rejected at staging, which leaves the
        # lesion identified at a later visit
        CrossRule("XT06", "TL", "LESID", f"""
            SELECT {_SUBJECT}, 'SCREENING' AS VISIT, x.TRLNKID AS VALUE, 'LESION|' || x.TRLNKID AS RECORD,
                   'lesion ' || x.TRLNKID || ' measured at ' || x.N || ' visit(s) from ' || x.FIRST_DTC || CASE
                     WHEN u.USUBJID IS NULL THEN ' but has no identification (TU) record'
                     ELSE ' but its ' || lower(u.TUORRES) || ' identification (TU) is at ' || u.VISIT
                          || ', not baseline: its baseline row is missing or was rejected' END AS MESSAGE,
                   x.SRC_FILE, x.SRC_ROW
            FROM (SELECT USUBJID, TRLNKID, count(DISTINCT VISIT) AS N, min(TRDTC) AS FIRST_DTC,
                         arg_min(SRC_FILE, VISITNUM) AS SRC_FILE, arg_min(SRC_ROW, VISITNUM) AS SRC_ROW
                  FROM sdtm.tr WHERE TRLNKID IS NOT NULL GROUP BY ALL) x
            JOIN sdtm.dm d USING (USUBJID)
            LEFT JOIN sdtm.tu u ON u.USUBJID = x.USUBJID AND u.TULNKID = x.TRLNKID
            WHERE u.USUBJID IS NULL OR (u.TUORRES IN ('TARGET', 'NON-TARGET') AND u.VISIT <> 'SCREENING')"""),
        # the response is dated on the last scan of the assessment; scans of one visit may be a few days apart
        CrossRule("XT07", "RS", "RSDAT", f"""
            WITH scans AS (SELECT USUBJID, VISIT, max(TRDTC) AS LAST_SCAN, min(TRDTC) AS FIRST_SCAN
                           FROM sdtm.tr WHERE TRLNKID IS NOT NULL AND length(TRDTC) >= 10 GROUP BY ALL)
            SELECT {_SUBJECT}, x.VISIT, x.RSDTC AS VALUE, NULL AS RECORD,
                   'response dated ' || x.RSDTC || ' but the lesion scans of this assessment are dated '
                   || s.FIRST_SCAN || ' to ' || s.LAST_SCAN AS MESSAGE, x.SRC_FILE, x.SRC_ROW
            FROM sdtm.rs x JOIN scans s USING (USUBJID, VISIT) JOIN sdtm.dm d USING (USUBJID)
            WHERE x.RSTESTCD = 'OVRLRESP' AND length(x.RSDTC) >= 10
              AND (CAST(substr(x.RSDTC, 1, 10) AS DATE) < CAST(substr(s.LAST_SCAN, 1, 10) AS DATE)
                   OR CAST(substr(x.RSDTC, 1, 10) AS DATE)
                      > CAST(substr(s.LAST_SCAN, 1, 10) AS DATE) + {int(q['rs_scan_tolerance_days'])})"""),
        CrossRule("XT08", "VS", "WEIGHT", f"""
            WITH w AS (SELECT USUBJID, VISIT, VSSTRESN, SRC_FILE, SRC_ROW,
                              median(VSSTRESN) OVER (PARTITION BY USUBJID) AS MED,
                              count(VSSTRESN) OVER (PARTITION BY USUBJID) AS N
                       FROM sdtm.vs WHERE VSTESTCD = 'WEIGHT' AND VSSTRESN IS NOT NULL)
            SELECT {_SUBJECT}, x.VISIT, CAST(x.VSSTRESN AS VARCHAR) AS VALUE, NULL AS RECORD,
                   'weight ' || x.VSSTRESN || ' kg vs the subject''s median ' || x.MED || ' kg' AS MESSAGE,
                   x.SRC_FILE, x.SRC_ROW
            FROM w x JOIN sdtm.dm d USING (USUBJID)
            WHERE x.N >= {int(q['weight_min_records'])}
              AND abs(x.VSSTRESN / x.MED - 1) > {float(q['weight_deviation_fraction'])}"""),
        CrossRule("XT09", None, None, f"""
            {distribution_sql()}
            SELECT NULL AS STUDYID, NULL AS SITEID, NULL AS SUBJID, NULL AS VISIT, CAST(MED AS VARCHAR) AS VALUE,
                   RECORD, MESSAGE, NULL AS SRC_FILE, NULL AS SRC_ROW
            FROM distributions WHERE NOT OK"""),
        CrossRule("XT10", None, None, f"""
            WITH scheduled AS (
                SELECT USUBJID, VISIT FROM sdtm.sv
                WHERE SVOCCUR = 'Y' AND (VISIT IN ('SCREENING', 'END OF TREATMENT') OR VISIT LIKE 'CYCLE % DAY 1')),
            missing AS ({expected})
            SELECT {_SUBJECT}, m.VISIT, NULL AS VALUE, m.FORM || '|' || m.VISIT AS RECORD,
                   'visit ' || m.VISIT || ' took place but has no ' || m.FORM || ' record' AS MESSAGE,
                   NULL AS SRC_FILE, NULL AS SRC_ROW
            FROM missing m JOIN sdtm.dm d USING (USUBJID)"""),
    ]


def distribution_sql() -> str:
    """CTE ``distributions``: one row per lab test x standard unit and per vital sign, with its
    median, the band the median must fall in, ``POS`` (0..1 inside the band) and ``OK``."""
    q = config.trial_config()["qa"]
    lo_f, hi_f = q["lab_median_range_factor"]["low"], q["lab_median_range_factor"]["high"]
    min_n = int(q["distribution_min_n"])
    vs_ranges = " UNION ALL ".join(
        f"SELECT '{k}' AS VSTESTCD, {lo} AS LO, {hi} AS HI" for k, (lo, hi) in q["vital_sign_median_range"].items())
    return f"""
        WITH lab_units AS (
            SELECT LBTESTCD, LBSTRESU, count(LBSTRESN) AS N, median(LBSTRESN) AS MED,
                   {lo_f} * median(LBSTNRLO) AS LO, {hi_f} * median(LBSTNRHI) AS HI
            FROM sdtm.lb WHERE LBSTRESN IS NOT NULL GROUP BY LBTESTCD, LBSTRESU),
        lab AS (SELECT *, count(*) OVER (PARTITION BY LBTESTCD) AS N_UNITS FROM lab_units),
        vs AS (
            SELECT v.VSTESTCD, v.VSSTRESU, count(*) AS N, median(v.VSSTRESN) AS MED, r.LO, r.HI
            FROM sdtm.vs v JOIN ({vs_ranges}) r USING (VSTESTCD) WHERE v.VSSTRESN IS NOT NULL GROUP BY ALL),
        distributions AS (
            SELECT 'LB|' || LBTESTCD || '|' || coalesce(LBSTRESU, '') AS RECORD, N, MED, LO, HI,
                   (MED - LO) / nullif(HI - LO, 0) AS POS, N_UNITS,
                   CASE WHEN N_UNITS > 1 THEN 'lab test ' || LBTESTCD || ' has ' || N_UNITS || ' standard units'
                        ELSE 'median ' || LBTESTCD || ' ' || round(MED, 3) || ' ' || coalesce(LBSTRESU, '')
                             || ' outside ' || round(LO, 3) || '-' || round(HI, 3) || ' (n=' || N || ')' END AS MESSAGE,
                   N_UNITS = 1 AND (N < {min_n} OR LO IS NULL OR MED BETWEEN LO AND HI) AS OK
            FROM lab
            UNION ALL
            SELECT 'VS|' || VSTESTCD || '|' || coalesce(VSSTRESU, ''), N, MED, LO, HI, (MED - LO) / nullif(HI - LO, 0), 1,
                   'median ' || VSTESTCD || ' ' || round(MED, 3) || ' ' || coalesce(VSSTRESU, '') || ' outside '
                   || LO || '-' || HI || ' (n=' || N || ')',
                   N < {min_n} OR MED BETWEEN LO AND HI
            FROM vs)"""


def _wrapped(rule: CrossRule) -> str:
    """The rule's rows as finding rows: severity, form, and the delivered text through lineage."""
    if rule.form and rule.field:
        raw_value = f"coalesce(CAST(r.{rule.field} AS VARCHAR), f.VALUE)"
        visit = "coalesce(f.VISIT, v.VISIT)"
        joins = f"""
        LEFT JOIN raw.{rule.form.lower()} r ON r.SRC_FILE = f.SRC_FILE AND r.SRC_ROW = f.SRC_ROW
        LEFT JOIN validation.{rule.form.lower()} v ON v.SRC_FILE = f.SRC_FILE AND v.SRC_ROW = f.SRC_ROW"""
    else:
        raw_value, visit, joins = "f.VALUE", "f.VISIT", ""
    return f"""
    SELECT '{rule.rule}' AS RULE_ID, '{rule.severity}' AS SEVERITY,
           {f"'{rule.form}'" if rule.form else "split_part(f.RECORD, '|', 1)"} AS FORM,
           CAST(f.STUDYID AS VARCHAR) AS STUDYID, CAST(f.SITEID AS VARCHAR) AS SITEID,
           CAST(f.SUBJID AS VARCHAR) AS SUBJID, CAST({visit} AS VARCHAR) AS VISIT,
           {f"'{rule.field}'" if rule.field else "NULL"} AS FIELD, CAST({raw_value} AS VARCHAR) AS RAW_VALUE,
           f.MESSAGE, {"r.SRC_FORMAT" if rule.form and rule.field else "NULL"} AS SRC_FORMAT,
           CAST(f.SRC_FILE AS VARCHAR) AS SRC_FILE, CAST(f.SRC_ROW AS BIGINT) AS SRC_ROW,
           CAST(f.RECORD AS VARCHAR) AS RECORD
    FROM ({rule.select}) f {joins}"""


def violations(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    """Finding rows of every rule (``GX_FINDING_COLUMNS``), by rule id; empty frames for clean rules."""
    out = {}
    for rule in rules(con):
        frame = pl.from_arrow(con.sql(_wrapped(rule) + " ORDER BY SITEID, SUBJID, SRC_FILE, SRC_ROW, RECORD").to_arrow_table())
        out[rule.rule] = frame.cast({k: v for k, v in GX_FINDING_COLUMNS.items()}).select(list(GX_FINDING_COLUMNS))
    return out


def distribution_frame(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The per-test medians of XT09 (small: one row per lab test/unit and vital sign) for GX."""
    return pl.from_arrow(con.sql(distribution_sql() + " SELECT RECORD, N, MED, LO, HI, POS, N_UNITS, OK FROM distributions ORDER BY RECORD")
                         .to_arrow_table())
