-- MH: Medical History (sdtm.md §7), one row per medical-history log entry (stg.mh, MHCAT
-- GENERAL MEDICAL HISTORY) plus one PRIMARY CANCER DIAGNOSIS row per subject from stg.dx
-- (MHTERM LEIOMYOSARCOMA, MHSTDTC = DXDAT, MHSPID 'DX'). Not MedDRA-coded in the CRF, so
-- MHDECOD/MHBODSYS are null. MHSEQ by the key MHTERM, MHSTDTC, MHSPID (then SRC_FILE, SRC_ROW)
-- within USUBJID. Lineage SRC_FILE/SRC_ROW -> the stg row.
WITH records AS (
    SELECT m.STUDYID, usubjid(m.STUDYID, m.SITEID, m.SUBJID) AS USUBJID,
           CAST(m.MHSPID AS VARCHAR) AS MHSPID, trim(m.MHTERM) AS MHTERM,
           'GENERAL MEDICAL HISTORY' AS MHCAT, m.MHSTDAT AS MHSTDTC, m.MHENDAT AS MHENDTC,
           m.MHONGO AS ONGO, m.SRC_FILE, m.SRC_ROW
    FROM {{ source('stg', 'mh') }} m
    UNION ALL
    SELECT x.STUDYID, usubjid(x.STUDYID, x.SITEID, x.SUBJID),
           'DX', 'LEIOMYOSARCOMA', 'PRIMARY CANCER DIAGNOSIS', x.DXDAT, CAST(NULL AS VARCHAR),
           CAST(NULL AS VARCHAR), x.SRC_FILE, x.SRC_ROW
    FROM {{ source('stg', 'dx') }} x
)
SELECT
    r.STUDYID,
    'MH' AS DOMAIN,
    r.USUBJID,
    row_number() OVER (PARTITION BY r.USUBJID
                       ORDER BY r.MHTERM, r.MHSTDTC, r.MHSPID, r.SRC_FILE, r.SRC_ROW) AS MHSEQ,
    r.MHSPID,
    r.MHTERM,
    CAST(NULL AS VARCHAR) AS MHDECOD,
    CAST(NULL AS VARCHAR) AS MHBODSYS,
    r.MHCAT,
    r.MHSTDTC,
    r.MHENDTC,
    CASE WHEN r.ONGO = 'Y' THEN 'ONGOING' END AS MHENRTPT,
    CASE WHEN r.ONGO = 'Y' THEN 'SCREENING' END AS MHENTPT,
    r.SRC_FILE,
    r.SRC_ROW
FROM records r
WHERE r.USUBJID IN (SELECT USUBJID FROM {{ ref('dm') }})  -- an SDTM subject is in DM
ORDER BY USUBJID, MHSEQ
