-- TR: Tumor/Lesion Results (sdtm.md §9), one row per subject x lesion x assessment visit, plus
-- one investigator SUMDIAM row per assessment (RS form SUMDIAM; TRLNKID null, TRGRPID TARGET).
-- Target lesions: LDIAM (non-nodal) or the configured nodal code (trial.nodal_tr_testcd, SAXIS)
-- in mm (TOO SMALL TO MEASURE = 5, NOT PRESENT = 0; NOT EVALUATED -> TRSTAT NOT DONE).
-- Non-target and new lesions: TUMSTATE. TRLNKGRP = 'V' || VISITNUM links to RS; TREVAL INVESTIGATOR.
WITH target AS (
    SELECT STUDYID, SITEID, SUBJID, VISIT, LESID AS TRLNKID, 'TARGET' AS TRGRPID,
           CASE WHEN NODE = 'Y' THEN {{ var('trial.nodal_tr_testcd') }} ELSE 'LDIAM' END AS TRTESTCD,
           CASE WHEN NODE = 'Y' THEN CASE {{ var('trial.nodal_tr_testcd') }}
                                         WHEN 'LPERP' THEN 'Longest Perpendicular'
                                         ELSE 'Short Axis' END
                ELSE 'Longest Diameter' END AS TRTEST,
           CASE WHEN TRDIAMC = 'NOT EVALUATED' THEN NULL ELSE TRDIAM END AS DIAM,
           CASE WHEN TRDIAMC = 'NOT EVALUATED' OR (TRDIAM IS NULL AND TRDIAMC IS NULL) THEN 'NOT DONE' END AS TRSTAT,
           CASE WHEN TRDIAMC = 'NOT EVALUATED' THEN 'NOT EVALUATED' END AS TRREASND,
           TRMETHOD, TRDAT AS TRDTC, SRC_FILE, SRC_ROW
    FROM {{ source('stg', 'tl') }}
),
measured AS (
    SELECT * EXCLUDE (DIAM),
           CASE WHEN DIAM = trunc(DIAM) THEN CAST(CAST(DIAM AS BIGINT) AS VARCHAR) ELSE CAST(DIAM AS VARCHAR) END AS TRORRES,
           CASE WHEN DIAM IS NOT NULL THEN 'mm' END AS TRORRESU,
           CAST(DIAM AS DOUBLE) AS TRSTRESN
    FROM target
),
states AS (
    SELECT STUDYID, SITEID, SUBJID, VISIT, LESID AS TRLNKID, 'NON-TARGET' AS TRGRPID,
           NTSTAT AS TRORRES, TRMETHOD, TRDAT AS TRDTC, SRC_FILE, SRC_ROW
    FROM {{ source('stg', 'ntl') }}
    UNION ALL
    -- a new lesion on the NL form is present; an equivocal one (NLEQUIV = Y) is recorded as EQUIVOCAL
    SELECT STUDYID, SITEID, SUBJID, VISIT, LESID, 'NEW',
           CASE WHEN NLEQUIV = 'Y' THEN 'EQUIVOCAL' ELSE 'PRESENT' END,
           TRMETHOD, TRDAT, SRC_FILE, SRC_ROW
    FROM {{ source('stg', 'nl') }}
),
-- scan dates and method of each visit's target lesions, for the investigator sum
target_visit AS (
    SELECT STUDYID, SITEID, SUBJID, VISIT,
           min(CASE WHEN dtc_complete(TRDTC) THEN substr(TRDTC, 1, 10) END) AS FIRST_SCAN,
           max(CASE WHEN dtc_complete(TRDTC) THEN substr(TRDTC, 1, 10) END) AS LAST_SCAN,
           CASE WHEN count(DISTINCT TRMETHOD) = 1 THEN min(TRMETHOD) END AS TRMETHOD
    FROM target
    GROUP BY ALL
),
sums AS (
    SELECT s.STUDYID, s.SITEID, s.SUBJID, s.VISIT, CAST(NULL AS VARCHAR) AS TRLNKID, 'TARGET' AS TRGRPID,
           'SUMDIAM' AS TRTESTCD, 'Sum of Diameters' AS TRTEST,
           CASE WHEN s.SUMDIAM = trunc(s.SUMDIAM) THEN CAST(CAST(s.SUMDIAM AS BIGINT) AS VARCHAR)
                ELSE CAST(s.SUMDIAM AS VARCHAR) END AS TRORRES,
           'mm' AS TRORRESU, CAST(s.SUMDIAM AS DOUBLE) AS TRSTRESN,
           CAST(NULL AS VARCHAR) AS TRSTAT, CAST(NULL AS VARCHAR) AS TRREASND,
           v.TRMETHOD,
           -- same date rule as RSDTC (sdtm.md §9): RSDAT, else earliest scan if PD, else latest
           coalesce(s.RSDAT, CASE WHEN s.OVRLRESP = 'PD' THEN v.FIRST_SCAN ELSE v.LAST_SCAN END) AS TRDTC,
           s.SRC_FILE, s.SRC_ROW
    FROM {{ source('stg', 'rs') }} s
    LEFT JOIN target_visit v USING (STUDYID, SITEID, SUBJID, VISIT)
    WHERE s.SUMDIAM IS NOT NULL
),
results AS (
    SELECT STUDYID, SITEID, SUBJID, VISIT, TRLNKID, TRGRPID, TRTESTCD, TRTEST,
           TRORRES, TRORRESU, TRORRES AS TRSTRESC, TRSTRESN, TRORRESU AS TRSTRESU,
           TRSTAT, TRREASND, TRMETHOD, TRDTC, SRC_FILE, SRC_ROW
    FROM measured
    UNION ALL
    SELECT STUDYID, SITEID, SUBJID, VISIT, TRLNKID, TRGRPID, 'TUMSTATE', 'Tumor State',
           TRORRES, NULL, TRORRES, NULL, NULL,
           CASE WHEN TRORRES IS NULL THEN 'NOT DONE' END, NULL, TRMETHOD, TRDTC, SRC_FILE, SRC_ROW
    FROM states
    UNION ALL
    SELECT STUDYID, SITEID, SUBJID, VISIT, TRLNKID, TRGRPID, TRTESTCD, TRTEST,
           TRORRES, TRORRESU, TRORRES, TRSTRESN, TRORRESU,
           TRSTAT, TRREASND, TRMETHOD, TRDTC, SRC_FILE, SRC_ROW
    FROM sums
),
tr AS (
    SELECT
        x.STUDYID,
        'TR' AS DOMAIN,
        usubjid(x.STUDYID, x.SITEID, x.SUBJID) AS USUBJID,
        x.TRGRPID,
        x.TRLNKID,
        'V' || CAST(visitnum(x.VISIT) AS VARCHAR) AS TRLNKGRP,
        x.TRTESTCD,
        x.TRTEST,
        x.TRORRES,
        x.TRORRESU,
        x.TRSTRESC,
        x.TRSTRESN,
        x.TRSTRESU,
        x.TRSTAT,
        x.TRREASND,
        x.TRMETHOD,
        'INVESTIGATOR' AS TREVAL,
        visitnum(x.VISIT) AS VISITNUM,
        x.VISIT,
        epoch(x.TRDTC, r.TRTSDT, r.TRTEND) AS EPOCH,
        x.TRDTC,
        study_day(x.TRDTC, d.RFSTDTC) AS TRDY,
        x.SRC_FILE,
        x.SRC_ROW
    FROM results x
    JOIN {{ ref('dm') }} d ON d.USUBJID = usubjid(x.STUDYID, x.SITEID, x.SUBJID)
    LEFT JOIN {{ ref('int_subject_dates') }} r ON r.USUBJID = d.USUBJID
)
SELECT STUDYID, DOMAIN, USUBJID,
       CAST(row_number() OVER (PARTITION BY USUBJID
                               ORDER BY TRLNKID NULLS LAST, TRGRPID, TRTESTCD, VISITNUM, TREVAL, SRC_FILE, SRC_ROW)
            AS INTEGER) AS TRSEQ,
       TRGRPID, TRLNKID, TRLNKGRP, TRTESTCD, TRTEST, TRORRES, TRORRESU, TRSTRESC, TRSTRESN, TRSTRESU,
       TRSTAT, TRREASND, TRMETHOD, TREVAL, VISITNUM, VISIT, EPOCH, TRDTC, TRDY, SRC_FILE, SRC_ROW
FROM tr
ORDER BY USUBJID, TRSEQ
