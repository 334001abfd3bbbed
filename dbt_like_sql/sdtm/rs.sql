-- RS: Disease Response and Clin Classification (sdtm.md §9), one row per subject x test x visit:
-- RECIST 1.1 investigator responses TRGRESP, NTRGRESP, NEWLIND, OVRLRESP per tumour assessment
-- (RS form; RSLNKGRP = TR's TRLNKGRP of the visit; RSDTC = RSDAT, else the earliest lesion scan
-- date of the visit when OVRLRESP = PD, otherwise the latest), and ECOG performance status
-- (ECOG101) per VS visit (RSEVAL null). Null responses are not tabulated.
WITH assessments AS (
    SELECT s.*, usubjid(s.STUDYID, s.SITEID, s.SUBJID) AS USUBJID, visitnum(s.VISIT) AS VISITNUM
    FROM {{ source('stg', 'rs') }} s
),
scans AS (
    SELECT USUBJID, VISITNUM,
           min(CASE WHEN dtc_complete(TRDTC) THEN substr(TRDTC, 1, 10) END) AS FIRST_SCAN,
           max(CASE WHEN dtc_complete(TRDTC) THEN substr(TRDTC, 1, 10) END) AS LAST_SCAN
    FROM {{ ref('tr') }}
    WHERE TRLNKID IS NOT NULL
    GROUP BY ALL
),
recist AS (
    SELECT a.STUDYID, a.USUBJID, a.VISITNUM, a.VISIT,
           coalesce(a.RSDAT, CASE WHEN a.OVRLRESP = 'PD' THEN c.FIRST_SCAN ELSE c.LAST_SCAN END) AS RSDTC,
           u.RSTESTCD, u.RSTEST, u.RSORRES, a.SRC_FILE, a.SRC_ROW
    FROM assessments a
    LEFT JOIN scans c USING (USUBJID, VISITNUM)
    CROSS JOIN LATERAL (VALUES
        ('TRGRESP', 'Target Response', a.TRGRESP),
        ('NTRGRESP', 'Non-target Response', a.NTRGRESP),
        ('NEWLIND', 'New Lesion Indicator', a.NEWLIND),
        ('OVRLRESP', 'Overall Response', a.OVRLRESP)
    ) AS u(RSTESTCD, RSTEST, RSORRES)
    WHERE u.RSORRES IS NOT NULL
),
results AS (
    SELECT STUDYID, USUBJID,
           'V' || CAST(VISITNUM AS VARCHAR) AS RSLNKGRP,
           RSTESTCD, RSTEST, 'RECIST 1.1' AS RSCAT,
           RSORRES, RSORRES AS RSSTRESC, CAST(NULL AS DOUBLE) AS RSSTRESN,
           'INVESTIGATOR' AS RSEVAL, VISITNUM, VISIT, RSDTC, FALSE AS PREDOSE_C1D1, SRC_FILE, SRC_ROW
    FROM recist
    UNION ALL
    SELECT STUDYID, usubjid(STUDYID, SITEID, SUBJID), NULL,
           'ECOG101', 'ECOG1-Performance Status', 'ECOG',
           CAST(ECOG AS VARCHAR), CAST(ECOG AS VARCHAR), CAST(ECOG AS DOUBLE),
           NULL, visitnum(VISIT), VISIT, VSDAT,
           -- no time is collected on VS: at CYCLE 1 DAY 1 the assessment counts as pre-dose (sdtm.md §1)
           VISIT = 'CYCLE 1 DAY 1', SRC_FILE, SRC_ROW
    FROM {{ source('stg', 'vs') }}
    WHERE ECOG IS NOT NULL
),
rs AS (
    SELECT x.STUDYID, 'RS' AS DOMAIN, x.USUBJID, x.RSLNKGRP, x.RSTESTCD, x.RSTEST, x.RSCAT,
           x.RSORRES, x.RSSTRESC, x.RSSTRESN, x.RSEVAL, x.VISITNUM, x.VISIT,
           CASE WHEN x.PREDOSE_C1D1 AND dtc_date(x.RSDTC) = r.TRTSDT THEN 'SCREENING'
                ELSE epoch(x.RSDTC, r.TRTSDT, r.TRTEND) END AS EPOCH,
           x.RSDTC,
           study_day(x.RSDTC, d.RFSTDTC) AS RSDY,
           x.SRC_FILE, x.SRC_ROW
    FROM results x
    JOIN {{ ref('dm') }} d ON d.USUBJID = x.USUBJID
    LEFT JOIN {{ ref('int_subject_dates') }} r ON r.USUBJID = x.USUBJID
)
SELECT STUDYID, DOMAIN, USUBJID,
       CAST(row_number() OVER (PARTITION BY USUBJID
                               ORDER BY RSCAT, RSTESTCD, VISITNUM, RSEVAL, SRC_FILE, SRC_ROW) AS INTEGER) AS RSSEQ,
       RSLNKGRP, RSTESTCD, RSTEST, RSCAT, RSORRES, RSSTRESC, RSSTRESN, RSEVAL,
       VISITNUM, VISIT, EPOCH, RSDTC, RSDY, SRC_FILE, SRC_ROW
FROM rs
ORDER BY USUBJID, RSSEQ
