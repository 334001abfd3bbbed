-- SUPPTU: Supplemental Qualifiers for TU (sdtm.md §1 SUPPQUAL, §9), one row per TU record x
-- qualifier with a non-null value: TUNODE (Y/N, target lesions: lesion is a lymph node) and
-- TUEQUIV (Y/N, new lesions: equivocal new lesion), both from the identification visit's CRF
-- row; IDVAR TUSEQ.
WITH quals AS (
    SELECT usubjid(STUDYID, SITEID, SUBJID) AS USUBJID, LESID, VISIT,
           'TUNODE' AS QNAM, 'Lesion Is a Lymph Node' AS QLABEL, NODE AS QVAL
    FROM {{ source('stg', 'tl') }}
    UNION ALL
    SELECT usubjid(STUDYID, SITEID, SUBJID), LESID, VISIT,
           'TUEQUIV', 'Equivocal New Lesion', NLEQUIV
    FROM {{ source('stg', 'nl') }}
)
SELECT
    t.STUDYID,
    'TU' AS RDOMAIN,
    t.USUBJID,
    'TUSEQ' AS IDVAR,
    CAST(t.TUSEQ AS VARCHAR) AS IDVARVAL,
    q.QNAM,
    q.QLABEL,
    q.QVAL,
    'CRF' AS QORIG,
    CAST(NULL AS VARCHAR) AS QEVAL
FROM {{ ref('tu') }} t
JOIN quals q ON q.USUBJID = t.USUBJID AND q.LESID = t.TULNKID AND q.VISIT = t.VISIT
WHERE q.QVAL IS NOT NULL
  AND ((q.QNAM = 'TUNODE' AND t.TUORRES = 'TARGET') OR (q.QNAM = 'TUEQUIV' AND t.TUORRES = 'NEW'))
ORDER BY t.USUBJID, t.TUSEQ, q.QNAM
