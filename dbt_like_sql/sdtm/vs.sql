-- VS: Vital Signs (sdtm.md §5), one row per subject x test x visit: the VS form unpivoted to
-- SYSBP, DIABP, PULSE, RESP, TEMP, WEIGHT, HEIGHT (a null item gives no row; ECOG goes to RS),
-- plus BSA derived by Mosteller = round(sqrt(HEIGHT x WEIGHT / 3600), 2) at every visit with a
-- weight, height from the screening visit (VSORRES null, VSORIG DERIVED, lineage of the VS row
-- that carries the weight). Staged values are already in standard units (sdtm.md §1), so
-- VSORRES = VSSTRESC = the staged value as text. VSLOBXFL = 'Y' on the last non-missing value
-- per subject and test dated before the first-dose day or on it (VS has no time, so a
-- first-dose-day value counts as pre-dose, EPOCH SCREENING). VSSEQ sorts VSTESTCD, VSDTC,
-- SRC_ROW. Key: USUBJID, VSTESTCD, VISITNUM, VSDTC. Lineage SRC_FILE, SRC_ROW.
WITH long AS (
    SELECT STUDYID, SUBJID, VISIT, VSDAT, SRC_FILE, SRC_ROW, VSTESTCD, item.v AS VSSTRESN, item.u AS VSORRESU
    FROM (
        SELECT STUDYID, SUBJID, VISIT, VSDAT, SRC_FILE, SRC_ROW,
               {'v': SYSBP, 'u': SYSBPU} AS SYSBP, {'v': DIABP, 'u': DIABPU} AS DIABP,
               {'v': PULSE, 'u': PULSEU} AS PULSE, {'v': RESP, 'u': RESPU} AS RESP,
               {'v': TEMP, 'u': TEMPU} AS TEMP, {'v': WEIGHT, 'u': WEIGHTU} AS WEIGHT,
               {'v': HEIGHT, 'u': HEIGHTU} AS HEIGHT
        FROM {{ source('stg', 'vs') }}
    ) UNPIVOT (item FOR VSTESTCD IN (SYSBP, DIABP, PULSE, RESP, TEMP, WEIGHT, HEIGHT))
    WHERE item.v IS NOT NULL
),
screening_height AS (
    SELECT SUBJID, arg_min(VSSTRESN, VSDAT) AS HEIGHT
    FROM long WHERE VSTESTCD = 'HEIGHT' AND VISIT = 'SCREENING'
    GROUP BY SUBJID
),
bsa AS (
    SELECT w.STUDYID, w.SUBJID, w.VISIT, w.VSDAT, w.SRC_FILE, w.SRC_ROW, 'BSA' AS VSTESTCD,
           round(sqrt(h.HEIGHT * w.VSSTRESN / 3600), 2) AS VSSTRESN, CAST(NULL AS VARCHAR) AS VSORRESU
    FROM long w JOIN screening_height h USING (SUBJID)
    WHERE w.VSTESTCD = 'WEIGHT'
),
allrows AS (
    SELECT *, FALSE AS DERIVED FROM long
    UNION ALL
    SELECT *, TRUE AS DERIVED FROM bsa
),
base AS (
    SELECT a.*,
           r.USUBJID, r.TRTSDT, r.TRTEND, dm.RFSTDTC,
           v.VISITNUM, v.VISIT AS SDTMVISIT,
           CASE WHEN r.TRTSDT IS NULL OR NOT dtc_complete(a.VSDAT) THEN NULL
                ELSE dtc_date(a.VSDAT) <= r.TRTSDT END AS PREDOSE,
           CASE a.VSTESTCD WHEN 'SYSBP' THEN 'mmHg' WHEN 'DIABP' THEN 'mmHg' WHEN 'PULSE' THEN 'beats/min'
                WHEN 'RESP' THEN 'breaths/min' WHEN 'TEMP' THEN 'C' WHEN 'WEIGHT' THEN 'kg'
                WHEN 'HEIGHT' THEN 'cm' WHEN 'BSA' THEN 'm2' END AS VSSTRESU
    FROM allrows a
    JOIN {{ ref('int_subject_dates') }} r USING (SUBJID)
    JOIN {{ ref('dm') }} dm ON dm.USUBJID = r.USUBJID
    LEFT JOIN {{ ref('int_visits') }} v
           ON v.SUBJID = a.SUBJID AND v.CRFVISIT = a.VISIT AND v.VISDAT IS NOT DISTINCT FROM a.VSDAT
),
flagged AS (
    SELECT *,
           CASE WHEN PREDOSE AND row_number() OVER (PARTITION BY USUBJID, VSTESTCD, PREDOSE
                                                    ORDER BY VSDAT DESC, SRC_ROW DESC) = 1
                THEN 'Y' END AS VSLOBXFL
    FROM base
)
SELECT
    STUDYID,
    'VS' AS DOMAIN,
    USUBJID,
    CAST(row_number() OVER (PARTITION BY USUBJID ORDER BY VSTESTCD, VSDAT, SRC_ROW) AS INTEGER) AS VSSEQ,
    VSTESTCD,
    CASE VSTESTCD
        WHEN 'SYSBP' THEN 'Systolic Blood Pressure'
        WHEN 'DIABP' THEN 'Diastolic Blood Pressure'
        WHEN 'PULSE' THEN 'Pulse Rate'
        WHEN 'RESP' THEN 'Respiratory Rate'
        WHEN 'TEMP' THEN 'Temperature'
        WHEN 'WEIGHT' THEN 'Weight'
        WHEN 'HEIGHT' THEN 'Height'
        WHEN 'BSA' THEN 'Body Surface Area'
    END AS VSTEST,
    CASE WHEN NOT DERIVED THEN printf('%g', VSSTRESN) END AS VSORRES,
    CASE WHEN NOT DERIVED THEN coalesce(VSORRESU, VSSTRESU) END AS VSORRESU,
    printf('%g', VSSTRESN) AS VSSTRESC,
    CAST(VSSTRESN AS DOUBLE) AS VSSTRESN,
    VSSTRESU,
    CASE WHEN DERIVED THEN 'DERIVED' ELSE 'CRF' END AS VSORIG,
    VSLOBXFL,
    VISITNUM,
    SDTMVISIT AS VISIT,
    CASE WHEN PREDOSE THEN 'SCREENING' ELSE epoch(VSDAT, TRTSDT, TRTEND) END AS EPOCH,
    VSDAT AS VSDTC,
    study_day(VSDAT, RFSTDTC) AS VSDY,
    SRC_FILE,
    SRC_ROW
FROM flagged
ORDER BY USUBJID, VSSEQ
