-- EX: Exposure (sdtm.md §3), one row per administered dose = per subject x drug x
-- administration day with EXOCCUR = Y and EXDOSE > 0 (planned doses not given are not in EX).
-- EXSEQ by EXSTDTC, EXTRT (then SRC_ROW) within USUBJID; lineage SRC_FILE/SRC_ROW -> stg.ex.
-- Subjects not in DM (a quarantined DM row) are left out: an SDTM subject is in DM.
WITH src AS (
    SELECT x.*,
           usubjid(x.STUDYID, x.SITEID, x.SUBJID) AS USUBJID_,
           x.EXSTDAT || coalesce('T' || x.EXSTTIM, '') AS EXSTDTC_,
           x.EXSTDAT || coalesce('T' || x.EXENTIM, '') AS EXENDTC_,
           coalesce(x.VISIT, 'CYCLE ' || x.CYCLE || ' DAY 1') AS VISIT_
    FROM {{ source('stg', 'ex') }} x
    WHERE x.EXOCCUR = 'Y' AND x.EXDOSE > 0
)
SELECT
    s.STUDYID,
    'EX' AS DOMAIN,
    s.USUBJID_ AS USUBJID,
    row_number() OVER (PARTITION BY s.USUBJID_ ORDER BY s.EXSTDTC_, s.EXTRT, s.SRC_ROW) AS EXSEQ,
    CASE WHEN s.CYCLE IS NOT NULL THEN 'CYCLE ' || s.CYCLE END AS EXGRPID,
    CAST(s.EXSPID AS VARCHAR) AS EXSPID,
    s.EXTRT,
    s.EXDOSE,
    'mg' AS EXDOSU,
    'INJECTION' AS EXDOSFRM,
    'ONCE' AS EXDOSFRQ,
    coalesce(s.EXROUTE, 'INTRAVENOUS') AS EXROUTE,
    CASE WHEN s.EXADJ = 'Y' THEN s.EXADJRS END AS EXADJ,
    CASE WHEN r.USUBJID IS NOT NULL THEN epoch(s.EXSTDTC_, r.TRTSDT, r.TRTEND) END AS EPOCH,
    visitnum(s.VISIT_) AS VISITNUM,
    s.VISIT_ AS VISIT,
    s.EXSTDTC_ AS EXSTDTC,
    s.EXENDTC_ AS EXENDTC,
    study_day(s.EXSTDTC_, d.RFSTDTC) AS EXSTDY,
    study_day(s.EXENDTC_, d.RFSTDTC) AS EXENDY,
    s.SRC_FILE,
    s.SRC_ROW
FROM src s
JOIN {{ ref('dm') }} d ON d.USUBJID = s.USUBJID_
LEFT JOIN {{ ref('int_subject_dates') }} r ON r.USUBJID = s.USUBJID_
ORDER BY USUBJID, EXSEQ
