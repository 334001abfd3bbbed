-- TE: Trial Elements (sdtm.md §10), one row per element (ETCD): SCRN screening, TRT one
-- treatment cycle, FU follow-up. Durations come from the trial configuration
-- (screening window, cycle length).
SELECT {{ var('trial.studyid') }} AS STUDYID, 'TE' AS DOMAIN, ETCD, ELEMENT, TESTRL, TEENRL, TEDUR
FROM (VALUES
    (1, 'SCRN', 'Screening', 'Informed consent', 'First dose of study treatment',
        'P' || CAST({{ var('trial.screening_window_days') }} AS VARCHAR) || 'D'),
    (2, 'TRT', 'Treatment cycle', 'First dose of a cycle',
        CAST({{ var('trial.cycle_length_days') }} AS VARCHAR) || ' days after the first dose of the cycle',
        'P' || CAST({{ var('trial.cycle_length_days') }} AS VARCHAR) || 'D'),
    (3, 'FU', 'Follow-up', 'End of treatment visit', 'Death, withdrawal or end of study', NULL)
) AS t(ORD, ETCD, ELEMENT, TESTRL, TEENRL, TEDUR)
ORDER BY ORD
