-- TA: Trial Arms (sdtm.md §10), one row per planned element of the single arm (ARMCD x TAETORD):
-- 1 SCRN (SCREENING), 2 .. max_cycles+1 TRT (TREATMENT, one per cycle), then FU (FOLLOW-UP).
-- Arm and number of cycles from the trial configuration.
WITH elements AS (
    SELECT 1 AS TAETORD, 'SCRN' AS ETCD, 'Screening' AS ELEMENT, NULL AS TABRANCH,
           CAST(NULL AS VARCHAR) AS TATRANS, 'SCREENING' AS EPOCH
    UNION ALL
    SELECT 1 + n, 'TRT', 'Treatment cycle', NULL,
           'If progressive disease or unacceptable toxicity go to FU', 'TREATMENT'
    FROM range(1, {{ var('trial.max_cycles') }} + 1) AS c(n)
    UNION ALL
    SELECT {{ var('trial.max_cycles') }} + 2, 'FU', 'Follow-up', NULL, NULL, 'FOLLOW-UP'
)
SELECT {{ var('trial.studyid') }} AS STUDYID, 'TA' AS DOMAIN,
       {{ var('trial.armcd') }} AS ARMCD, {{ var('trial.arm') }} AS ARM,
       CAST(TAETORD AS INTEGER) AS TAETORD, ETCD, ELEMENT,
       CAST(TABRANCH AS VARCHAR) AS TABRANCH, TATRANS, EPOCH
FROM elements
ORDER BY TAETORD
