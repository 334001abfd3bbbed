-- Intermediate (not an SDTM domain): one row per subject in DM with the reference dates every
-- domain needs for study days and epochs. TRTSDT/TRTEDT = first/last administered dose date
-- (either drug, dose > 0); TRTEND = end of the TREATMENT epoch = EOT visit date, else last dose
-- + 20 days (sdtm.md §1).
WITH doses AS (
    SELECT SUBJID,
           min(EXSTDAT || coalesce('T' || EXSTTIM, '')) AS RFXSTDTC,
           max(EXSTDAT || coalesce('T' || EXENTIM, coalesce('T' || EXSTTIM, ''))) AS RFXENDTC,
           min(CAST(EXSTDAT AS DATE)) AS TRTSDT,
           max(CAST(EXSTDAT AS DATE)) AS TRTEDT
    FROM {{ source('stg', 'ex') }}
    WHERE EXOCCUR = 'Y' AND EXDOSE > 0
    GROUP BY SUBJID
),
eot AS (
    SELECT SUBJID, min(CAST(EOTDAT AS DATE)) AS EOTDT FROM {{ source('stg', 'eot') }} GROUP BY SUBJID
)
SELECT d.STUDYID, d.SITEID, d.SUBJID, usubjid(d.STUDYID, d.SITEID, d.SUBJID) AS USUBJID,
       x.RFXSTDTC, x.RFXENDTC, x.TRTSDT, x.TRTEDT, e.EOTDT,
       coalesce(e.EOTDT, x.TRTEDT + 20) AS TRTEND
FROM {{ source('stg', 'dm') }} d
LEFT JOIN doses x USING (SUBJID)
LEFT JOIN eot e USING (SUBJID)
ORDER BY USUBJID  -- a hash join delivers rows in thread order: fix it, so reloads give the same table
