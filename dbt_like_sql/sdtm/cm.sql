-- CM: Concomitant/Prior/Subsequent Medications (sdtm.md §6), one row per medication record:
-- CM log rows (CMCAT CONCOMITANT MEDICATION), PRTX rows with PRTYPE ADJUVANT SYSTEMIC (PRIOR
-- ANTICANCER THERAPY) and SUBTX rows with STTYPE SYSTEMIC (SUBSEQUENT ANTICANCER THERAPY).
-- CMSPID is the CM line number, or 'PRTX-n' / 'SUBTX-n' so it stays unique across sources.
-- CMSEQ by the key CMTRT, CMSTDTC, CMSPID (then SRC_FILE, SRC_ROW) within USUBJID.
-- Lineage SRC_FILE/SRC_ROW -> the stg row.
WITH records AS (
    SELECT c.STUDYID, usubjid(c.STUDYID, c.SITEID, c.SUBJID) AS USUBJID,
           CAST(c.CMSPID AS VARCHAR) AS CMSPID, trim(c.CMTRT) AS CMTRT, c.CMDECOD,
           'CONCOMITANT MEDICATION' AS CMCAT, c.CMINDC, c.CMDOSE, c.CMDOSU, c.CMDOSFRQ, c.CMROUTE,
           c.CMSTDAT AS CMSTDTC, c.CMENDAT AS CMENDTC, c.CMONGO AS ONGO, c.SRC_FILE, c.SRC_ROW
    FROM {{ source('stg', 'cm') }} c
    UNION ALL
    SELECT p.STUDYID, usubjid(p.STUDYID, p.SITEID, p.SUBJID),
           'PRTX-' || p.PRSPID, trim(p.PRTRT), CAST(NULL AS VARCHAR),
           'PRIOR ANTICANCER THERAPY', NULL, NULL, NULL, NULL, NULL,
           p.PRSTDAT, p.PRENDAT, NULL, p.SRC_FILE, p.SRC_ROW
    FROM {{ source('stg', 'prtx') }} p
    WHERE p.PRTYPE = 'ADJUVANT SYSTEMIC'
    UNION ALL
    SELECT t.STUDYID, usubjid(t.STUDYID, t.SITEID, t.SUBJID),
           'SUBTX-' || t.STSPID, trim(t.STTRT), CAST(NULL AS VARCHAR),
           'SUBSEQUENT ANTICANCER THERAPY', NULL, NULL, NULL, NULL, NULL,
           t.STSTDAT, t.STENDAT, NULL, t.SRC_FILE, t.SRC_ROW
    FROM {{ source('stg', 'subtx') }} t
    WHERE t.STTYPE = 'SYSTEMIC'
)
SELECT
    r.STUDYID,
    'CM' AS DOMAIN,
    r.USUBJID,
    row_number() OVER (PARTITION BY r.USUBJID
                       ORDER BY r.CMTRT, r.CMSTDTC, r.CMSPID, r.SRC_FILE, r.SRC_ROW) AS CMSEQ,
    r.CMSPID,
    r.CMTRT,
    r.CMDECOD,
    r.CMCAT,
    r.CMINDC,
    r.CMDOSE,
    r.CMDOSU,
    r.CMDOSFRQ,
    r.CMROUTE,
    CASE WHEN i.USUBJID IS NOT NULL THEN epoch(r.CMSTDTC, i.TRTSDT, i.TRTEND) END AS EPOCH,
    r.CMSTDTC,
    r.CMENDTC,
    study_day(r.CMSTDTC, d.RFSTDTC) AS CMSTDY,
    study_day(r.CMENDTC, d.RFSTDTC) AS CMENDY,
    CASE WHEN r.ONGO = 'Y' THEN 'ONGOING' END AS CMENRTPT,
    CASE WHEN r.ONGO = 'Y' THEN 'END OF STUDY' END AS CMENTPT,
    r.SRC_FILE,
    r.SRC_ROW
FROM records r
JOIN {{ ref('dm') }} d ON d.USUBJID = r.USUBJID
LEFT JOIN {{ ref('int_subject_dates') }} i ON i.USUBJID = r.USUBJID
ORDER BY USUBJID, CMSEQ
