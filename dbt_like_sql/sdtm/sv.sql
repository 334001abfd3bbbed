-- SV: Subject Visits (sdtm.md §8), one row per subject x VISITNUM: every visit actually performed
-- (any record in VS, LB, EX, ECHO, TL, NTL, NL, RS, EOT or FU, numbered by int_visits, unscheduled
-- visits included), plus one row per missed scheduled tumour assessment (SVOCCUR = 'N').
-- SVSTDTC/SVENDTC = earliest/latest complete record date of the visit across forms; EPOCH by
-- SVSTDTC. VISITDY = planned study day: CYCLE n DAY 1 = 1 + cycle length x (n-1); TUMOUR
-- ASSESSMENT WEEK 6k = 1 + 42k; null for SCREENING (a window, not a day), END OF TREATMENT,
-- SURVIVAL FOLLOW-UP and unscheduled visits. SVUPDES (unscheduled only) names the forms
-- collected, as the CRF has no reason field. SVPRESP = 'Y' for scheduled visits. Missed
-- tumour assessments, kept simple: a subject's assessment week k is missed when no record of it
-- exists but a later assessment (k' > k) was performed, i.e. only gaps inside the subject's
-- observed assessment sequence; assessments due after the last one performed (PD, death,
-- withdrawal, data cut-off) are not listed. SVREASOC is not collected (null).
WITH performed AS (
    SELECT SUBJID, VISITNUM, any_value(VISIT) AS VISIT, bool_or(UNSCHEDFL) AS UNSCHEDFL,
           min(CASE WHEN dtc_complete(VISDAT) THEN substr(VISDAT, 1, 10) END) AS SVSTDTC,
           max(CASE WHEN dtc_complete(VISDAT) THEN substr(VISDAT, 1, 10) END) AS SVENDTC,
           -- the forms of every record of the visit, merged, deduplicated and sorted as lists:
           -- string_agg(DISTINCT FORM ORDER BY FORM) over the unnested forms took 5.3 of the
           -- model's 5.4 s at 100,000 subjects
           array_to_string(list_sort(list_distinct(flatten(list(string_split(FORMS, ','))))), ', ') AS FORMS
    FROM {{ ref('int_visits') }} WHERE VISITNUM IS NOT NULL
    GROUP BY SUBJID, VISITNUM
),
ta_done AS (
    SELECT SUBJID, CAST(VISITNUM AS INTEGER) - 200 AS K
    FROM performed WHERE VISITNUM > 200 AND VISITNUM < 300 AND NOT UNSCHEDFL
),
missed AS (
    SELECT t.SUBJID, 200.0 + k.K AS VISITNUM,
           'TUMOUR ASSESSMENT WEEK ' || CAST(6 * k.K AS VARCHAR) AS VISIT
    FROM (SELECT SUBJID, max(K) AS MAXK FROM ta_done GROUP BY SUBJID) t
    CROSS JOIN LATERAL (SELECT unnest(range(1, t.MAXK)) AS K) k
    WHERE NOT EXISTS (SELECT 1 FROM ta_done d WHERE d.SUBJID = t.SUBJID AND d.K = k.K)
),
visits AS (
    SELECT SUBJID, VISITNUM, VISIT, UNSCHEDFL, SVSTDTC, SVENDTC,
           CASE WHEN UNSCHEDFL THEN 'UNSCHEDULED VISIT: ' || FORMS END AS SVUPDES,
           CASE WHEN NOT UNSCHEDFL THEN 'Y' END AS SVPRESP,
           CASE WHEN NOT UNSCHEDFL THEN 'Y' END AS SVOCCUR
    FROM performed
    UNION ALL
    SELECT SUBJID, VISITNUM, VISIT, FALSE, NULL, NULL, NULL, 'Y', 'N' FROM missed
)
SELECT
    dm.STUDYID,
    'SV' AS DOMAIN,
    dm.USUBJID,
    CAST(v.VISITNUM AS DOUBLE) AS VISITNUM,
    v.VISIT,
    CAST(CASE WHEN v.UNSCHEDFL THEN NULL
              WHEN v.VISITNUM BETWEEN 101 AND 199 THEN 1 + {{ var('trial.cycle_length_days') }} * (v.VISITNUM - 101)
              WHEN v.VISITNUM BETWEEN 201 AND 299 THEN 1 + {{ var('trial.tumour_assessment_interval_days') }} * (v.VISITNUM - 200)
         END AS INTEGER) AS VISITDY,
    epoch(v.SVSTDTC, r.TRTSDT, r.TRTEND) AS EPOCH,
    v.SVPRESP,
    v.SVOCCUR,
    CAST(NULL AS VARCHAR) AS SVREASOC,
    v.SVSTDTC,
    v.SVENDTC,
    study_day(v.SVSTDTC, dm.RFSTDTC) AS SVSTDY,
    study_day(v.SVENDTC, dm.RFSTDTC) AS SVENDY,
    v.SVUPDES
FROM visits v
JOIN {{ ref('int_subject_dates') }} r USING (SUBJID)
JOIN {{ ref('dm') }} dm ON dm.USUBJID = r.USUBJID
ORDER BY dm.USUBJID, VISITNUM
