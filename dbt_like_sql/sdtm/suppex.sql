-- SUPPEX: Supplemental Qualifiers for EX (sdtm.md §3), one row per EX record x qualifier with a
-- non-null value: BSA (m2 used for the dose), PLDOSE (planned dose level, mg/m2), CYCLE
-- (cycle number). IDVAR = EXSEQ; the EX record is matched to its stg.ex row by lineage.
WITH parent AS (
    SELECT e.STUDYID, e.USUBJID, e.EXSEQ, x.BSA, x.EXPDOSE, x.CYCLE
    FROM {{ ref('ex') }} e
    JOIN {{ source('stg', 'ex') }} x ON x.SRC_FILE = e.SRC_FILE AND x.SRC_ROW = e.SRC_ROW
),
q AS (
    SELECT STUDYID, USUBJID, EXSEQ, 'BSA' AS QNAM, 'Body Surface Area (m2)' AS QLABEL, BSA AS V, 1 AS ORD FROM parent
    UNION ALL
    SELECT STUDYID, USUBJID, EXSEQ, 'PLDOSE', 'Planned Dose Level (mg/m2)', EXPDOSE, 2 FROM parent
    UNION ALL
    SELECT STUDYID, USUBJID, EXSEQ, 'CYCLE', 'Cycle Number', CAST(CYCLE AS DOUBLE), 3 FROM parent
)
SELECT
    STUDYID,
    'EX' AS RDOMAIN,
    USUBJID,
    'EXSEQ' AS IDVAR,
    CAST(EXSEQ AS VARCHAR) AS IDVARVAL,
    QNAM,
    QLABEL,
    CASE WHEN V = trunc(V) THEN CAST(CAST(V AS BIGINT) AS VARCHAR) ELSE CAST(V AS VARCHAR) END AS QVAL,
    'CRF' AS QORIG,
    CAST(NULL AS VARCHAR) AS QEVAL
FROM q
WHERE V IS NOT NULL
ORDER BY USUBJID, EXSEQ, ORD
