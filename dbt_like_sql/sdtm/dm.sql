-- DM: Demographics, one row per subject (screen failures included) (sdtm.md §2).
-- BRTHDTC is left out on purpose: the birth date is an identifier kept in the restricted store;
-- AGE (years at consent) is what analyses use.
WITH dth AS (SELECT SUBJID, min(DTHDAT) AS DTHDTC FROM {{ source('stg', 'dth') }} GROUP BY SUBJID),
eos AS (SELECT SUBJID, max(EOSDAT) AS EOSDAT, max(LSTCONDT) AS LSTCONDT FROM {{ source('stg', 'eos') }} GROUP BY SUBJID),
screening_date AS (SELECT SUBJID, min(VSDAT) AS DMDTC FROM {{ source('stg', 'vs') }} WHERE VISIT = 'SCREENING' GROUP BY SUBJID)
SELECT
    d.STUDYID,
    'DM' AS DOMAIN,
    r.USUBJID,
    d.SUBJID,
    d.SITEID,
    r.RFXSTDTC AS RFSTDTC,
    r.RFXENDTC AS RFENDTC,
    r.RFXSTDTC,
    r.RFXENDTC,
    d.ICDAT AS RFICDTC,
    nullif(greatest(coalesce(e.EOSDAT, ''), coalesce(e.LSTCONDT, ''), coalesce(t.DTHDTC, '')), '') AS RFPENDTC,
    t.DTHDTC,
    CASE WHEN t.DTHDTC IS NOT NULL THEN 'Y' END AS DTHFL,
    d.AGE,
    'YEARS' AS AGEU,
    d.SEX,
    d.RACE,
    'NOT HISPANIC OR LATINO' AS ETHNIC,
    CASE WHEN d.ENRDAT IS NOT NULL AND d.SCRFAIL = 'N' THEN {{ var('trial.armcd') }} END AS ARMCD,
    CASE WHEN d.ENRDAT IS NOT NULL AND d.SCRFAIL = 'N' THEN {{ var('trial.arm') }} END AS ARM,
    CASE WHEN r.RFXSTDTC IS NOT NULL THEN {{ var('trial.armcd') }} END AS ACTARMCD,
    CASE WHEN r.RFXSTDTC IS NOT NULL THEN {{ var('trial.arm') }} END AS ACTARM,
    CASE WHEN d.SCRFAIL = 'Y' OR d.ENRDAT IS NULL THEN 'SCREEN FAILURE'
         WHEN r.RFXSTDTC IS NULL THEN 'ASSIGNED, NOT TREATED' END AS ARMNRS,
    'CHN' AS COUNTRY,
    s.DMDTC,
    study_day(s.DMDTC, r.RFXSTDTC) AS DMDY,
    d.SRC_FILE,
    d.SRC_ROW
FROM {{ source('stg', 'dm') }} d
JOIN {{ ref('int_subject_dates') }} r USING (SUBJID)
LEFT JOIN dth t USING (SUBJID)
LEFT JOIN eos e USING (SUBJID)
LEFT JOIN screening_date s USING (SUBJID)
ORDER BY r.USUBJID
