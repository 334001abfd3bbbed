-- Intermediate (not an SDTM domain): one row per subject x collected visit label (VISIT as on
-- the CRF, 'UNSCHEDULED' included) x record date (VISDAT, ISO text as staged; null when the
-- record has no date), over every visit-bearing form (VS, LB, EX, ECHO, TL, NTL, NL, RS, EOT,
-- FU), with the SDTM VISITNUM/VISIT to use (sdtm.md §1). Scheduled labels map with visitnum().
-- Unscheduled records: VISITNUM = the last scheduled VISITNUM of the same subject whose visit
-- start (earliest record date of that visit, any form) is on or before the record date (ties
-- on one date: the higher VISITNUM) + 0.01*j, j = 1, 2 .. over the distinct unscheduled dates
-- in that gap in date order; VISIT = 'UNSCHEDULED ' || VISITNUM ('UNSCHEDULED 103.01'). An
-- unscheduled date before any scheduled visit counts from 0 (0.01 ..); one without a complete
-- date gets no VISITNUM. FORMS lists the forms with records on that visit/date (for SV).
WITH recs AS (
    SELECT SUBJID, VISIT, VSDAT AS VISDAT, 'VS' AS FORM FROM {{ source('stg', 'vs') }}
    UNION ALL SELECT SUBJID, VISIT, LBDAT, 'LB' FROM {{ source('stg', 'lb') }}
    UNION ALL SELECT SUBJID, VISIT, EXSTDAT, 'EX' FROM {{ source('stg', 'ex') }}
    UNION ALL SELECT SUBJID, VISIT, ECHODAT, 'ECHO' FROM {{ source('stg', 'echo') }}
    UNION ALL SELECT SUBJID, VISIT, TRDAT, 'TL' FROM {{ source('stg', 'tl') }}
    UNION ALL SELECT SUBJID, VISIT, TRDAT, 'NTL' FROM {{ source('stg', 'ntl') }}
    UNION ALL SELECT SUBJID, VISIT, TRDAT, 'NL' FROM {{ source('stg', 'nl') }}
    UNION ALL SELECT SUBJID, VISIT, RSDAT, 'RS' FROM {{ source('stg', 'rs') }}
    UNION ALL SELECT SUBJID, VISIT, EOTDAT, 'EOT' FROM {{ source('stg', 'eot') }}
    UNION ALL SELECT SUBJID, VISIT, FUDAT, 'FU' FROM {{ source('stg', 'fu') }}
),
-- the forms of a visit/date, de-duplicated and in name order: one bit per form (its position
-- in form_names, which lists every FORM of recs in name order) OR-ed per group and decoded.
-- A fixed-size aggregate that DuckDB can spill; string_agg(DISTINCT FORM ORDER BY FORM) over
-- 17 million rows at 100,000 subjects cost three times as much, and a list() aggregate ran out
-- of memory in the 1.5 GB buffer pool.
form_names AS (
    SELECT ['ECHO', 'EOT', 'EX', 'FU', 'LB', 'NL', 'NTL', 'RS', 'TL', 'VS'] AS NAMES
),
visit_dates AS (
    SELECT m.SUBJID, m.VISIT, m.VISDAT,
           array_to_string(list_filter(f.NAMES, (name, i) -> (m.MASK >> (i - 1)) & 1 = 1), ',') AS FORMS
    FROM (SELECT SUBJID, VISIT, VISDAT, bit_or(1 << (list_position(f.NAMES, FORM) - 1)) AS MASK
          FROM recs CROSS JOIN form_names f
          WHERE VISIT IS NOT NULL
          GROUP BY SUBJID, VISIT, VISDAT) m
    CROSS JOIN form_names f
),
scheduled AS (
    SELECT SUBJID, visitnum(VISIT) AS VISITNUM, min(dtc_date(VISDAT)) AS VISSTDT
    FROM visit_dates
    WHERE VISIT <> 'UNSCHEDULED' AND visitnum(VISIT) IS NOT NULL
    GROUP BY SUBJID, visitnum(VISIT)
),
unscheduled AS (
    SELECT DISTINCT SUBJID, VISDAT, dtc_date(VISDAT) AS D
    FROM visit_dates
    WHERE VISIT = 'UNSCHEDULED' AND dtc_complete(VISDAT)
),
anchored AS (
    SELECT u.SUBJID, u.VISDAT, u.D, coalesce(s.VISITNUM, 0) AS BASENUM
    FROM unscheduled u
    LEFT JOIN scheduled s ON s.SUBJID = u.SUBJID AND s.VISSTDT <= u.D
    QUALIFY row_number() OVER (PARTITION BY u.SUBJID, u.VISDAT ORDER BY s.VISSTDT DESC NULLS LAST, s.VISITNUM DESC NULLS LAST) = 1
),
numbered AS (
    SELECT SUBJID, VISDAT, 'UNSCHEDULED' AS CRFVISIT,
           round(BASENUM + 0.01 * dense_rank() OVER (PARTITION BY SUBJID, BASENUM ORDER BY D), 2) AS VISITNUM
    FROM anchored
)
SELECT v.SUBJID,
       v.VISIT AS CRFVISIT,
       v.VISDAT,
       CAST(CASE WHEN v.VISIT = 'UNSCHEDULED' THEN n.VISITNUM ELSE visitnum(v.VISIT) END AS DOUBLE) AS VISITNUM,
       CASE WHEN v.VISIT <> 'UNSCHEDULED' THEN v.VISIT
            WHEN n.VISITNUM IS NOT NULL THEN 'UNSCHEDULED ' || printf('%.2f', n.VISITNUM)
            ELSE 'UNSCHEDULED' END AS VISIT,
       v.VISIT = 'UNSCHEDULED' AS UNSCHEDFL,
       v.FORMS
FROM visit_dates v
-- equi-join on CRFVISIT (not a condition on v alone), so DuckDB hashes it instead of a nested loop
LEFT JOIN numbered n ON n.SUBJID = v.SUBJID AND n.VISDAT = v.VISDAT AND n.CRFVISIT = v.VISIT
ORDER BY v.SUBJID, VISITNUM, v.VISDAT
