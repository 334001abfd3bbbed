-- SUPPMH: Supplemental Qualifiers for MH (sdtm.md §7), one row per PRIMARY CANCER DIAGNOSIS MH
-- record x qualifier with a non-null value: PRIMSITE, HISTGRD (FNCLCC), DISSTAT, METSITES
-- (';'-separated). IDVAR = MHSEQ; the MH record is matched to its stg.dx row by lineage.
WITH parent AS (
    SELECT m.STUDYID, m.USUBJID, m.MHSEQ, x.PRIMSITE, x.HISTGRD, x.DISSTAT, x.METSITES
    FROM {{ ref('mh') }} m
    JOIN {{ source('stg', 'dx') }} x ON x.SRC_FILE = m.SRC_FILE AND x.SRC_ROW = m.SRC_ROW
    WHERE m.MHCAT = 'PRIMARY CANCER DIAGNOSIS'
),
q AS (
    SELECT STUDYID, USUBJID, MHSEQ, 'PRIMSITE' AS QNAM, 'Primary Tumour Site' AS QLABEL, PRIMSITE AS QVAL, 1 AS ORD FROM parent
    UNION ALL
    SELECT STUDYID, USUBJID, MHSEQ, 'HISTGRD', 'Histological Grade (FNCLCC)', HISTGRD, 2 FROM parent
    UNION ALL
    SELECT STUDYID, USUBJID, MHSEQ, 'DISSTAT', 'Disease Status at Study Entry', DISSTAT, 3 FROM parent
    UNION ALL
    SELECT STUDYID, USUBJID, MHSEQ, 'METSITES', 'Metastatic Sites', METSITES, 4 FROM parent
)
SELECT
    STUDYID,
    'MH' AS RDOMAIN,
    USUBJID,
    'MHSEQ' AS IDVAR,
    CAST(MHSEQ AS VARCHAR) AS IDVARVAL,
    QNAM,
    QLABEL,
    CAST(QVAL AS VARCHAR) AS QVAL,
    'CRF' AS QORIG,
    CAST(NULL AS VARCHAR) AS QEVAL
FROM q
WHERE QVAL IS NOT NULL
ORDER BY USUBJID, MHSEQ, ORD
