-- TS: Trial Summary (sdtm.md §10), one row per parameter value (TSPARMCD x TSSEQ; TTYPE and
-- TRT have two values). Configuration values (title, phase, sponsor, indication, planned
-- subjects, ages, study start, data cut-off, arm) come from the trial configuration; ACTSUB =
-- number of ITT subjects (DM rows with ARMCD not null).
WITH params AS (
    SELECT * FROM (VALUES
        (1, 'TITLE', 'Trial Title', {{ var('trial.title') }}),
        (2, 'TPHASE', 'Trial Phase Classification', {{ var('trial.phase') }}),
        (3, 'STYPE', 'Study Type', 'INTERVENTIONAL'),
        (4, 'INTMODEL', 'Intervention Model', 'SINGLE GROUP'),
        (5, 'RANDOM', 'Trial is Randomized', 'N'),
        (6, 'NARMS', 'Planned Number of Arms', '1'),
        (7, 'TBLIND', 'Trial Blinding Schema', 'OPEN LABEL'),
        (8, 'TTYPE', 'Trial Type', 'EFFICACY'),
        (9, 'TTYPE', 'Trial Type', 'SAFETY'),
        (10, 'INDIC', 'Trial Disease/Condition Indication', {{ var('trial.indication') }}),
        (11, 'TRT', 'Investigational Therapy or Treatment', 'TEMOZOLOMIDE'),
        (12, 'TRT', 'Investigational Therapy or Treatment', 'EPIRUBICIN'),
        (13, 'ROUTE', 'Route of Administration', 'INTRAVENOUS'),
        (14, 'PLANSUB', 'Planned Number of Subjects', CAST({{ var('trial.planned_subjects') }} AS VARCHAR)),
        (15, 'ACTSUB', 'Actual Number of Subjects',
             (SELECT CAST(count(*) AS VARCHAR) FROM {{ ref('dm') }} WHERE ARMCD IS NOT NULL)),
        (16, 'AGEMIN', 'Planned Minimum Age of Subjects', 'P' || CAST({{ var('trial.age_min') }} AS VARCHAR) || 'Y'),
        (17, 'AGEMAX', 'Planned Maximum Age of Subjects', 'P' || CAST({{ var('trial.age_max') }} AS VARCHAR) || 'Y'),
        (18, 'SEXPOP', 'Sex of Participants', 'BOTH'),
        (19, 'SSTDTC', 'Study Start Date', {{ var('trial.study_start') }}),
        (20, 'REGID', 'Registry Identifier', {{ var('trial.studyid') }}),
        (21, 'SPONSOR', 'Clinical Study Sponsor', {{ var('trial.sponsor') }}),
        (22, 'DCUTDTC', 'Data Cutoff Date', {{ var('trial.data_cutoff') }})
    ) AS p(ORD, TSPARMCD, TSPARM, TSVAL)
)
SELECT {{ var('trial.studyid') }} AS STUDYID, 'TS' AS DOMAIN,
       CAST(row_number() OVER (PARTITION BY TSPARMCD ORDER BY ORD) AS INTEGER) AS TSSEQ,
       TSPARMCD, TSPARM, TSVAL
FROM params
ORDER BY ORD
