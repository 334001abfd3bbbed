"""Edit checks that span forms, in DuckDB SQL over the ``validation`` tables (crf.md §6).

``validation.<form>`` holds every typed row of a form, including rows quarantined for an
ERROR elsewhere in the row, so a data manager gets all queries about a row in one load
rather than one at a time.

Each check is a ``Check``: the rule, the form and field it flags, and a SELECT over ``stg``
returning the flagged rows (aliased ``s``, the row of that form in ``validation``) with a ``MESSAGE``. The
wrapper adds severity, keys and lineage, and fetches the delivered text from ``raw.<form>``
through the row's lineage, so a finding shows what the site typed. All of them are WARN rules:
they flag and never remove rows.

Windows and tolerances come from the trial configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from pipeline import config
from pipeline.forms import FORMS
from pipeline.validation.findings import FINDING_COLUMNS, empty_findings
from pipeline.validation.rules import RULES

#: forms whose dates legitimately precede consent by years (history) or follow death
_HISTORY_FORMS = {"DX", "MH", "PRTX"}
_DEATH_FORMS = {"DTH", "EOS", "FU", "AE"}


@dataclass(frozen=True)
class Check:
    rule: str
    form: str
    field: str
    select: str  # SELECT s.*, <message> AS MESSAGE FROM validation.<form> s ...


def _first_dose_cte() -> str:
    return """first_dose AS (
        SELECT SUBJID, min(CAST(EXSTDAT AS DATE)) AS TRTSDT, max(CAST(EXSTDAT AS DATE)) AS TRTEDT
        FROM validation.ex WHERE EXOCCUR = 'Y' AND length(EXSTDAT) = 10 GROUP BY SUBJID)"""


def _date_items(exclude: set[str]) -> list[tuple[str, str]]:
    return [
        (f.name, i.name)
        for f in FORMS.values()
        if f.name not in exclude
        for i in f.items
        if i.kind == "date" and i.name != "BRTHDAT"
    ]


def _checks() -> list[Check]:
    t = config.trial()
    dco = t["data_cutoff"]
    lookback = int(t["consent_lookback_years"])
    ta_win = int(t["tumour_assessment_window_days"])
    eot_days, eot_win = int(t["eot_after_last_dose_days"]), int(t["eot_window_days"])
    fu_days, fu_win = int(t["followup_interval_days"]), int(t["followup_window_days"])
    bsa_tol = float(t["bsa_tolerance_m2"])
    sum_tol = float(t["sumdiam_tolerance_mm"])
    checks: list[Check] = []

    for form, item in _date_items(exclude=set()):
        # partial dates compare at their own precision: '2023-09' is after a cut-off of 2023-08-27
        checks.append(Check("DAT03", form, item, f"""
            SELECT s.*, '{item} ' || s.{item} || ' after the data cut-off {dco}' AS MESSAGE
            FROM validation.{form.lower()} s
            WHERE s.{item} NOT LIKE '%---%' AND s.{item} > substr('{dco}', 1, length(s.{item}))"""))
        if form not in _HISTORY_FORMS and form != "DM":
            checks.append(Check("DAT03", form, item, f"""
                SELECT s.*, '{item} ' || s.{item} || ' more than {lookback} years before consent' AS MESSAGE
                FROM validation.{form.lower()} s JOIN validation.dm d USING (SUBJID)
                WHERE length(d.ICDAT) = 10 AND s.{item} NOT LIKE '%---%'
                  AND s.{item} < substr(CAST(CAST(d.ICDAT AS DATE) - INTERVAL {lookback} YEAR AS VARCHAR), 1, length(s.{item}))"""))
        if form not in _DEATH_FORMS:
            checks.append(Check("DAT04", form, item, f"""
                SELECT s.*, '{item} ' || s.{item} || ' after death on ' || d.DTHDAT AS MESSAGE
                FROM validation.{form.lower()} s JOIN validation.dth d USING (SUBJID)
                WHERE s.{item} NOT LIKE '%---%' AND d.DTHDAT NOT LIKE '%---%'
                  AND substr(s.{item}, 1, least(length(s.{item}), length(d.DTHDAT)))
                    > substr(d.DTHDAT, 1, least(length(s.{item}), length(d.DTHDAT)))"""))

    checks.append(Check("VIS01", "RS", "RSDAT", f"""
        WITH {_first_dose_cte()}
        SELECT s.*, 'assessment on study day ' || (CAST(s.RSDAT AS DATE) - f.TRTSDT + 1)
               || ', nominal day ' || (7 * CAST(regexp_extract(s.VISIT, 'WEEK (\\d+)', 1) AS INT) + 1)
               || ' ± {ta_win}' AS MESSAGE
        FROM validation.rs s JOIN first_dose f USING (SUBJID)
        WHERE length(s.RSDAT) = 10
          AND abs(CAST(s.RSDAT AS DATE) - f.TRTSDT - 7 * CAST(regexp_extract(s.VISIT, 'WEEK (\\d+)', 1) AS INT)) > {ta_win}"""))
    checks.append(Check("VIS01", "EOT", "EOTDAT", f"""
        WITH {_first_dose_cte()}
        SELECT s.*, 'EOT ' || (CAST(s.EOTDAT AS DATE) - f.TRTEDT) || ' days after the last dose, expected {eot_days} ± {eot_win}' AS MESSAGE
        FROM validation.eot s JOIN first_dose f USING (SUBJID)
        WHERE length(s.EOTDAT) = 10 AND abs(CAST(s.EOTDAT AS DATE) - f.TRTEDT - {eot_days}) > {eot_win}"""))
    # follow-up is scheduled from the nominal EOT day (last dose + 30), not the EOT visit date
    checks.append(Check("VIS01", "FU", "FUDAT", f"""
        WITH {_first_dose_cte()}
        SELECT s.*, 'contact ' || (CAST(s.FUDAT AS DATE) - f.TRTEDT - {eot_days})
               || ' days after the nominal EOT day, expected '
               || ({fu_days} * CAST(regexp_extract(s.VISIT, 'FOLLOW-UP (\\d+)', 1) AS INT)) || ' ± {fu_win}' AS MESSAGE
        FROM validation.fu s JOIN first_dose f USING (SUBJID)
        WHERE length(s.FUDAT) = 10
          AND abs(CAST(s.FUDAT AS DATE) - f.TRTEDT - {eot_days}
                  - {fu_days} * CAST(regexp_extract(s.VISIT, 'FOLLOW-UP (\\d+)', 1) AS INT)) > {fu_win}"""))

    # height from screening: DM, else the screening vital signs (a quarantined DM row leaves VS)
    checks.append(Check("EX02", "EX", "BSA", f"""
        WITH height AS (
            SELECT SUBJID, coalesce(any_value(d.HEIGHT), any_value(v.HEIGHT)) AS HEIGHT
            FROM (SELECT SUBJID FROM validation.ex GROUP BY SUBJID) e
            LEFT JOIN validation.dm d USING (SUBJID)
            LEFT JOIN (SELECT SUBJID, HEIGHT FROM validation.vs WHERE VISIT = 'SCREENING' AND HEIGHT IS NOT NULL) v USING (SUBJID)
            GROUP BY SUBJID)
        SELECT s.*, 'BSA ' || s.BSA || ' vs Mosteller ' || round(sqrt(h.HEIGHT * s.WEIGHT / 3600), 2)
               || ' (height ' || h.HEIGHT || ' cm, weight ' || s.WEIGHT || ' kg)' AS MESSAGE
        FROM validation.ex s JOIN height h USING (SUBJID)
        WHERE abs(s.BSA - round(sqrt(h.HEIGHT * s.WEIGHT / 3600), 2)) > {bsa_tol} + 1e-9"""))

    checks.append(Check("RS02", "RS", "SUMDIAM", f"""
        WITH sld AS (SELECT SUBJID, VISIT, VISITREP, sum(TRDIAM) AS SLD FROM validation.tl GROUP BY ALL)
        SELECT s.*, 'SUMDIAM ' || s.SUMDIAM || ' mm vs sum of target lesions ' || l.SLD || ' mm' AS MESSAGE
        FROM validation.rs s JOIN sld l USING (SUBJID, VISIT, VISITREP)
        WHERE s.SUMDIAM IS NOT NULL AND abs(s.SUMDIAM - l.SLD) > {sum_tol} + 1e-9"""))

    checks.append(Check("RS01", "RS", "OVRLRESP", f"""
        WITH {_algorithmic_response_ctes()}
        SELECT s.*, 'investigator ' || s.OVRLRESP || ', algorithm ' || a.RESP
               || ' (target ' || a.T || ', non-target ' || a.NT || ', new lesion ' || a.N || ')' AS MESSAGE
        FROM validation.rs s JOIN overall a USING (SUBJID, VISIT, VISITREP)
        WHERE s.OVRLRESP IS DISTINCT FROM a.RESP"""))

    checks.append(Check("DTH01", "DTH", "DTHDAT", """
        SELECT s.*, 'death date ' || s.DTHDAT || ' but grade 5 AE ended ' || a.AEENDAT AS MESSAGE
        FROM validation.dth s JOIN validation.ae a USING (SUBJID)
        WHERE a.AETOXGR = '5' AND length(a.AEENDAT) = 10 AND length(s.DTHDAT) = 10 AND a.AEENDAT <> s.DTHDAT"""))
    for form, field, condition, what in (
        ("FU", "FUSTAT", "s.FUSTAT = 'DEAD'", "follow-up says DEAD"),
        ("EOS", "EOSREAS", "s.EOSREAS = 'DEATH'", "end of study reason DEATH"),
        ("AE", "AETOXGR", "s.AETOXGR = '5'", "grade 5 AE"),
    ):
        checks.append(Check("DTH01", form, field, f"""
            SELECT s.*, '{what} but no DTH form' AS MESSAGE FROM validation.{form.lower()} s
            WHERE {condition} AND s.SUBJID NOT IN (SELECT SUBJID FROM validation.dth)"""))
    return checks


def _algorithmic_response_ctes() -> str:
    """RECIST 1.1 overall response per assessment from TL/NTL/NL (adam.md §5)."""
    return """
    tl AS (  -- assessments ordered by their nominal week (calendar-fixed), robust to a bad scan date
        SELECT SUBJID, VISIT, VISITREP, LESID, NODE, TRDIAM,
               CASE WHEN VISIT = 'SCREENING' THEN 0
                    ELSE CAST(regexp_extract(VISIT, 'WEEK (\\d+)', 1) AS INT) END AS ORD
        FROM validation.tl),
    base_lesions AS (SELECT SUBJID, count(*) AS N_BASE, sum(TRDIAM) AS BASE FROM tl WHERE VISIT = 'SCREENING' GROUP BY SUBJID),
    tl_visit AS (
        SELECT t.SUBJID, t.VISIT, t.VISITREP, min(t.ORD) AS ORD, sum(t.TRDIAM) AS SLD, count(t.TRDIAM) AS N_MEASURED,
               bool_and(CASE WHEN t.NODE = 'Y' THEN t.TRDIAM < 10 ELSE t.TRDIAM = 0 END) AS ALL_GONE
        FROM tl t GROUP BY ALL),
    tl_nadir AS (
        SELECT v.*, b.BASE, b.N_BASE,
               (SELECT min(p.SLD) FROM tl_visit p
                 WHERE p.SUBJID = v.SUBJID AND p.ORD < v.ORD AND p.N_MEASURED = b.N_BASE) AS NADIR
        FROM tl_visit v JOIN base_lesions b USING (SUBJID) WHERE v.VISIT <> 'SCREENING'),
    t_resp AS (
        SELECT SUBJID, VISIT, VISITREP,
          CASE WHEN SLD >= 1.2 * NADIR AND SLD - NADIR >= 5 THEN 'PD'
               WHEN N_MEASURED < N_BASE THEN 'NE'
               WHEN ALL_GONE THEN 'CR'
               WHEN SLD <= 0.7 * BASE THEN 'PR'
               ELSE 'SD' END AS T
        FROM tl_nadir),
    nt_resp AS (
        SELECT SUBJID, VISIT, VISITREP,
          CASE WHEN bool_or(NTSTAT = 'UNEQUIVOCAL PROGRESSION') THEN 'PD'
               WHEN bool_or(NTSTAT = 'NOT EVALUATED') THEN 'NE'
               WHEN bool_and(NTSTAT = 'ABSENT') THEN 'CR'
               ELSE 'NON-CR/NON-PD' END AS NT
        FROM validation.ntl WHERE VISIT <> 'SCREENING' GROUP BY ALL),
    n_resp AS (
        SELECT SUBJID, VISIT, VISITREP, CASE WHEN bool_or(NLEQUIV = 'N') THEN 'Y' ELSE 'N' END AS N
        FROM validation.nl GROUP BY ALL),
    overall AS (
        SELECT r.SUBJID, r.VISIT, r.VISITREP,
               coalesce(t.T, 'NA') AS T, coalesce(nt.NT, 'NA') AS NT, coalesce(n.N, 'N') AS N,
          CASE WHEN coalesce(n.N, 'N') = 'Y' OR t.T = 'PD' OR nt.NT = 'PD' THEN 'PD'
               WHEN t.T = 'CR' AND coalesce(nt.NT, 'NA') IN ('CR', 'NA') THEN 'CR'
               WHEN t.T = 'CR' THEN 'PR'
               WHEN t.T IN ('PR', 'SD', 'NE') THEN t.T
               WHEN t.T IS NULL AND nt.NT IN ('CR', 'NON-CR/NON-PD', 'NE') THEN nt.NT
               ELSE 'NE' END AS RESP
        FROM validation.rs r
        LEFT JOIN t_resp t USING (SUBJID, VISIT, VISITREP)
        LEFT JOIN nt_resp nt USING (SUBJID, VISIT, VISITREP)
        LEFT JOIN n_resp n USING (SUBJID, VISIT, VISITREP))"""


def _wrapped(check: Check) -> str:
    rule = RULES[check.rule]
    return f"""
    SELECT '{check.rule}' AS RULE_ID, '{rule.severity}' AS SEVERITY, '{check.form}' AS FORM,
           f.STUDYID, f.SITEID, f.SUBJID, f.VISIT, '{check.field}' AS FIELD,
           coalesce(CAST(r.{check.field} AS VARCHAR), CAST(f.{check.field} AS VARCHAR)) AS RAW_VALUE,
           f.MESSAGE, f.SRC_FORMAT, f.SRC_FILE, CAST(f.SRC_ROW AS BIGINT) AS SRC_ROW
    FROM ({check.select}) f
    LEFT JOIN raw.{check.form.lower()} r ON r.SRC_FILE = f.SRC_FILE AND r.SRC_ROW = f.SRC_ROW"""


def cross_form_findings(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """All cross-form findings of the current stg tables, as one frame."""
    frames = [empty_findings()]
    for check in _checks():
        frames.append(pl.from_arrow(con.sql(_wrapped(check)).to_arrow_table()))
    return pl.concat(frames, how="vertical_relaxed").select(list(FINDING_COLUMNS)).unique(maintain_order=True)
