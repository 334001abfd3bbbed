-- TU: Tumor/Lesion Identification (sdtm.md §9), one row per subject x lesion (TULNKID = LESID)
-- at the visit where the lesion was identified: target (TL) and non-target (NTL) lesions at
-- their first assessment (baseline), new lesions (NL) at the first visit they appear;
-- TUTESTCD TUMIDENT, TUEVAL INVESTIGATOR. Subjects not in DM are left out.
WITH lesions AS (
    SELECT STUDYID, SITEID, SUBJID, VISIT, LESID, TULOC, TRMETHOD, TRDAT, 'TARGET' AS TUORRES, SRC_FILE, SRC_ROW
    FROM {{ source('stg', 'tl') }}
    UNION ALL
    SELECT STUDYID, SITEID, SUBJID, VISIT, LESID, TULOC, TRMETHOD, TRDAT, 'NON-TARGET', SRC_FILE, SRC_ROW
    FROM {{ source('stg', 'ntl') }}
    UNION ALL
    SELECT STUDYID, SITEID, SUBJID, VISIT, LESID, TULOC, TRMETHOD, TRDAT, 'NEW', SRC_FILE, SRC_ROW
    FROM {{ source('stg', 'nl') }}
),
identified AS (
    SELECT *, usubjid(STUDYID, SITEID, SUBJID) AS USUBJID, visitnum(VISIT) AS VISITNUM
    FROM lesions
    WHERE LESID IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY STUDYID, SITEID, SUBJID, LESID
                               ORDER BY visitnum(VISIT) NULLS LAST, TRDAT NULLS LAST, SRC_FILE, SRC_ROW) = 1
),
tu AS (
    SELECT
        l.STUDYID,
        'TU' AS DOMAIN,
        l.USUBJID,
        l.LESID AS TULNKID,
        'TUMIDENT' AS TUTESTCD,
        'Tumor Identification' AS TUTEST,
        l.TUORRES,
        l.TUORRES AS TUSTRESC,
        l.TULOC,
        l.TRMETHOD AS TUMETHOD,
        'INVESTIGATOR' AS TUEVAL,
        l.VISITNUM,
        l.VISIT,
        epoch(l.TRDAT, r.TRTSDT, r.TRTEND) AS EPOCH,
        l.TRDAT AS TUDTC,
        study_day(l.TRDAT, d.RFSTDTC) AS TUDY,
        l.SRC_FILE,
        l.SRC_ROW
    FROM identified l
    JOIN {{ ref('dm') }} d ON d.USUBJID = l.USUBJID
    LEFT JOIN {{ ref('int_subject_dates') }} r ON r.USUBJID = l.USUBJID
)
SELECT STUDYID, DOMAIN, USUBJID,
       CAST(row_number() OVER (PARTITION BY USUBJID ORDER BY TULNKID, TUEVAL, SRC_FILE, SRC_ROW) AS INTEGER) AS TUSEQ,
       TULNKID, TUTESTCD, TUTEST, TUORRES, TUSTRESC, TULOC, TUMETHOD, TUEVAL,
       VISITNUM, VISIT, EPOCH, TUDTC, TUDY, SRC_FILE, SRC_ROW
FROM tu
ORDER BY USUBJID, TUSEQ
