-- AE: Adverse Events (sdtm.md §4), one row per AE episode (one stg.ae row; a worsening in
-- grade is a new episode). AESEQ by AESTDTC, AEDECOD, AESPID (then SRC_ROW) within USUBJID.
-- AEREL = most related of the EPI/TMZ assessments; AEACN = common action or MULTIPLE.
-- Partial dates stay partial (no imputation; no study day). Lineage SRC_FILE/SRC_ROW -> stg.ae.
-- Subjects not in DM (a quarantined DM row) are left out: an SDTM subject is in DM.
WITH src AS (
    SELECT a.*,
           usubjid(a.STUDYID, a.SITEID, a.SUBJID) AS USUBJID_,
           list_position(['NOT RELATED', 'UNLIKELY RELATED', 'POSSIBLY RELATED', 'PROBABLY RELATED',
                          'DEFINITELY RELATED'], a.AERELEPI) AS REL_EPI,
           list_position(['NOT RELATED', 'UNLIKELY RELATED', 'POSSIBLY RELATED', 'PROBABLY RELATED',
                          'DEFINITELY RELATED'], a.AERELTMZ) AS REL_TMZ
    FROM {{ source('stg', 'ae') }} a
)
SELECT
    s.STUDYID,
    'AE' AS DOMAIN,
    s.USUBJID_ AS USUBJID,
    row_number() OVER (PARTITION BY s.USUBJID_ ORDER BY s.AESTDAT, s.AEDECOD, s.AESPID, s.SRC_ROW) AS AESEQ,
    CAST(s.AESPID AS VARCHAR) AS AESPID,
    trim(s.AETERM) AS AETERM,
    s.AELLT,
    CAST(NULL AS INTEGER) AS AELLTCD,
    s.AEDECOD,
    TRY_CAST(s.AEPTCD AS INTEGER) AS AEPTCD,
    s.AEHLT,
    CAST(NULL AS INTEGER) AS AEHLTCD,
    s.AEHLGT,
    CAST(NULL AS INTEGER) AS AEHLGTCD,
    s.AEBODSYS,
    TRY_CAST(s.AESOCCD AS INTEGER) AS AEBDSYCD,
    s.AEBODSYS AS AESOC,
    TRY_CAST(s.AESOCCD AS INTEGER) AS AESOCCD,
    s.AETOXGR,
    s.AESER,
    s.AESCONG,
    s.AESDISAB,
    s.AESDTH,
    s.AESHOSP,
    s.AESLIFE,
    s.AESMIE,
    CASE WHEN s.AEACNEPI IS NULL THEN s.AEACNTMZ
         WHEN s.AEACNTMZ IS NULL OR s.AEACNEPI = s.AEACNTMZ THEN s.AEACNEPI
         ELSE 'MULTIPLE' END AS AEACN,
    CASE WHEN s.REL_EPI IS NULL AND s.REL_TMZ IS NULL THEN NULL
         WHEN coalesce(s.REL_EPI, 0) >= coalesce(s.REL_TMZ, 0) THEN s.AERELEPI
         ELSE s.AERELTMZ END AS AEREL,
    s.AEOUT,
    CASE WHEN r.USUBJID IS NOT NULL THEN epoch(s.AESTDAT, r.TRTSDT, r.TRTEND) END AS EPOCH,
    s.AESTDAT AS AESTDTC,
    s.AEENDAT AS AEENDTC,
    study_day(s.AESTDAT, d.RFSTDTC) AS AESTDY,
    study_day(s.AEENDAT, d.RFSTDTC) AS AEENDY,
    CASE WHEN s.AEONGO = 'Y' THEN 'ONGOING' END AS AEENRTPT,
    CASE WHEN s.AEONGO = 'Y' THEN 'END OF STUDY' END AS AEENTPT,
    s.SRC_FILE,
    s.SRC_ROW
FROM src s
JOIN {{ ref('dm') }} d ON d.USUBJID = s.USUBJID_
LEFT JOIN {{ ref('int_subject_dates') }} r ON r.USUBJID = s.USUBJID_
ORDER BY USUBJID, AESEQ
