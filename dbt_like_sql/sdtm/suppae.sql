-- SUPPAE: Supplemental Qualifiers for AE (sdtm.md §4), one row per AE record x qualifier with a
-- non-null value: the per-drug causality (AERELEPI, AERELTMZ) and action taken (AEACNEPI,
-- AEACNTMZ) behind AEREL/AEACN. IDVAR = AESEQ; the AE record is matched to its stg.ae row by lineage.
WITH parent AS (
    SELECT e.STUDYID, e.USUBJID, e.AESEQ, a.AERELEPI, a.AERELTMZ, a.AEACNEPI, a.AEACNTMZ
    FROM {{ ref('ae') }} e
    JOIN {{ source('stg', 'ae') }} a ON a.SRC_FILE = e.SRC_FILE AND a.SRC_ROW = e.SRC_ROW
),
q AS (
    SELECT STUDYID, USUBJID, AESEQ, 'AERELEPI' AS QNAM, 'Causality to Epirubicin' AS QLABEL, AERELEPI AS QVAL, 1 AS ORD FROM parent
    UNION ALL
    SELECT STUDYID, USUBJID, AESEQ, 'AERELTMZ', 'Causality to Temozolomide', AERELTMZ, 2 FROM parent
    UNION ALL
    SELECT STUDYID, USUBJID, AESEQ, 'AEACNEPI', 'Action Taken with Epirubicin', AEACNEPI, 3 FROM parent
    UNION ALL
    SELECT STUDYID, USUBJID, AESEQ, 'AEACNTMZ', 'Action Taken with Temozolomide', AEACNTMZ, 4 FROM parent
)
SELECT
    STUDYID,
    'AE' AS RDOMAIN,
    USUBJID,
    'AESEQ' AS IDVAR,
    CAST(AESEQ AS VARCHAR) AS IDVARVAL,
    QNAM,
    QLABEL,
    QVAL,
    'CRF' AS QORIG,
    CAST(NULL AS VARCHAR) AS QEVAL
FROM q
WHERE QVAL IS NOT NULL
ORDER BY USUBJID, AESEQ, ORD
