-- PR: Procedures (sdtm.md §6), one row per prior or subsequent non-systemic anticancer
-- procedure: PRTX rows with PRTYPE SURGERY / RADIOTHERAPY / OTHER (PRCAT PRIOR ANTICANCER
-- THERAPY) and SUBTX rows with STTYPE SURGERY / RADIOTHERAPY / OTHER (PRCAT SUBSEQUENT
-- ANTICANCER THERAPY); PRSCAT = the collected type. PRSPID is 'PRTX-n' / 'SUBTX-n'.
-- PRSEQ by PRTRT, PRSTDTC, PRSPID (then SRC_FILE, SRC_ROW) within USUBJID.
-- Lineage SRC_FILE/SRC_ROW -> the stg row.
WITH records AS (
    SELECT p.STUDYID, usubjid(p.STUDYID, p.SITEID, p.SUBJID) AS USUBJID,
           'PRTX-' || p.PRSPID AS PRSPID, trim(p.PRTRT) AS PRTRT,
           'PRIOR ANTICANCER THERAPY' AS PRCAT, p.PRTYPE AS PRSCAT, upper(trim(p.PRSITE)) AS PRLOC,
           p.PRSTDAT AS PRSTDTC, p.PRENDAT AS PRENDTC, p.SRC_FILE, p.SRC_ROW
    FROM {{ source('stg', 'prtx') }} p
    WHERE p.PRTYPE IS DISTINCT FROM 'ADJUVANT SYSTEMIC'
    UNION ALL
    SELECT t.STUDYID, usubjid(t.STUDYID, t.SITEID, t.SUBJID),
           'SUBTX-' || t.STSPID, trim(t.STTRT),
           'SUBSEQUENT ANTICANCER THERAPY', t.STTYPE, CAST(NULL AS VARCHAR),
           t.STSTDAT, t.STENDAT, t.SRC_FILE, t.SRC_ROW
    FROM {{ source('stg', 'subtx') }} t
    WHERE t.STTYPE IS DISTINCT FROM 'SYSTEMIC'
)
SELECT
    r.STUDYID,
    'PR' AS DOMAIN,
    r.USUBJID,
    row_number() OVER (PARTITION BY r.USUBJID
                       ORDER BY r.PRTRT, r.PRSTDTC, r.PRSPID, r.SRC_FILE, r.SRC_ROW) AS PRSEQ,
    r.PRSPID,
    r.PRTRT,
    r.PRCAT,
    r.PRSCAT,
    r.PRLOC,
    CASE WHEN i.USUBJID IS NOT NULL THEN epoch(r.PRSTDTC, i.TRTSDT, i.TRTEND) END AS EPOCH,
    r.PRSTDTC,
    r.PRENDTC,
    study_day(r.PRSTDTC, d.RFSTDTC) AS PRSTDY,
    study_day(r.PRENDTC, d.RFSTDTC) AS PRENDY,
    r.SRC_FILE,
    r.SRC_ROW
FROM records r
JOIN {{ ref('dm') }} d ON d.USUBJID = r.USUBJID
LEFT JOIN {{ ref('int_subject_dates') }} i ON i.USUBJID = r.USUBJID
ORDER BY USUBJID, PRSEQ
