-- DS: Disposition (sdtm.md §8), one row per subject x disposition record: the informed-consent
-- milestone (stg.dm ICDAT), screen failure (stg.dm SCRFAIL = Y), end of treatment (stg.eot) and
-- end of study (stg.eos). EPOCH is fixed per record type (§8 table). DSSEQ is chronological:
-- DSSTDTC, then the key DSCAT, DSSCAT, DSDECOD, then SRC_FILE/SRC_ROW, within USUBJID.
-- Unique key: USUBJID, DSCAT, DSSCAT, DSDECOD. Lineage SRC_FILE/SRC_ROW -> the stg row.
WITH ie_date AS (
    SELECT SUBJID, max(IEDAT) AS IEDAT FROM {{ source('stg', 'ie') }} GROUP BY SUBJID
),
records AS (
    SELECT m.STUDYID, usubjid(m.STUDYID, m.SITEID, m.SUBJID) AS USUBJID,
           'INFORMED CONSENT OBTAINED' AS DSTERM, 'INFORMED CONSENT OBTAINED' AS DSDECOD,
           'PROTOCOL MILESTONE' AS DSCAT, CAST(NULL AS VARCHAR) AS DSSCAT, 'SCREENING' AS EPOCH,
           m.ICDAT AS DSSTDTC, m.SRC_FILE, m.SRC_ROW
    FROM {{ source('stg', 'dm') }} m
    WHERE m.ICDAT IS NOT NULL
    UNION ALL
    SELECT m.STUDYID, usubjid(m.STUDYID, m.SITEID, m.SUBJID),
           'SCREEN FAILURE', 'SCREEN FAILURE', 'DISPOSITION EVENT', 'STUDY TREATMENT', 'SCREENING',
           coalesce(d.DMDTC, i.IEDAT, m.ICDAT), m.SRC_FILE, m.SRC_ROW
    FROM {{ source('stg', 'dm') }} m
    LEFT JOIN {{ ref('dm') }} d ON d.USUBJID = usubjid(m.STUDYID, m.SITEID, m.SUBJID)
    LEFT JOIN ie_date i ON i.SUBJID = m.SUBJID
    WHERE m.SCRFAIL = 'Y'
    UNION ALL
    SELECT e.STUDYID, usubjid(e.STUDYID, e.SITEID, e.SUBJID),
           CASE WHEN e.EOTREAS = 'OTHER' AND e.EOTREASP IS NOT NULL THEN trim(e.EOTREASP)
                ELSE coalesce(e.EOTREAS, 'OTHER') END,
           CASE WHEN e.EOTREAS LIKE 'COMPLETED%' THEN 'COMPLETED'
                WHEN e.EOTREAS IN ('PROGRESSIVE DISEASE', 'ADVERSE EVENT', 'WITHDRAWAL BY SUBJECT',
                                   'PHYSICIAN DECISION', 'DEATH', 'LOST TO FOLLOW-UP') THEN e.EOTREAS
                ELSE 'OTHER' END,
           'DISPOSITION EVENT', 'STUDY TREATMENT', 'TREATMENT',
           e.EOTDAT, e.SRC_FILE, e.SRC_ROW
    FROM {{ source('stg', 'eot') }} e
    UNION ALL
    SELECT s.STUDYID, usubjid(s.STUDYID, s.SITEID, s.SUBJID),
           CASE WHEN s.EOSSTAT = 'COMPLETED' THEN 'COMPLETED' ELSE coalesce(s.EOSREAS, s.EOSSTAT, 'OTHER') END,
           CASE WHEN s.EOSSTAT = 'COMPLETED' THEN 'COMPLETED' ELSE coalesce(s.EOSREAS, 'OTHER') END,
           'DISPOSITION EVENT', 'STUDY PARTICIPATION', 'FOLLOW-UP',
           s.EOSDAT, s.SRC_FILE, s.SRC_ROW
    FROM {{ source('stg', 'eos') }} s
)
SELECT
    r.STUDYID,
    'DS' AS DOMAIN,
    r.USUBJID,
    row_number() OVER (PARTITION BY r.USUBJID
                       ORDER BY r.DSSTDTC NULLS LAST, r.DSCAT, r.DSSCAT NULLS FIRST, r.DSDECOD, r.SRC_FILE, r.SRC_ROW) AS DSSEQ,
    r.DSTERM,
    r.DSDECOD,
    r.DSCAT,
    r.DSSCAT,
    r.EPOCH,
    r.DSSTDTC AS DSDTC,
    r.DSSTDTC,
    study_day(r.DSSTDTC, d.RFSTDTC) AS DSSTDY,
    r.SRC_FILE,
    r.SRC_ROW
FROM records r
JOIN {{ ref('dm') }} d ON d.USUBJID = r.USUBJID
ORDER BY USUBJID, DSSEQ
