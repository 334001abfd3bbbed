-- Macros shared by the SDTM models (run before each model; CREATE OR REPLACE is idempotent).

-- USUBJID = STUDYID-SITEID-SUBJID (sdtm.md §1)
CREATE OR REPLACE MACRO usubjid(studyid, siteid, subjid) AS studyid || '-' || siteid || '-' || subjid;

-- is the date part of an ISO 8601 --DTC complete (YYYY-MM-DD)?
CREATE OR REPLACE MACRO dtc_complete(dtc) AS coalesce(regexp_matches(dtc, '^\d{4}-\d{2}-\d{2}'), FALSE);

-- the date part of a complete --DTC, else NULL
CREATE OR REPLACE MACRO dtc_date(dtc) AS CASE WHEN dtc_complete(dtc) THEN CAST(substr(dtc, 1, 10) AS DATE) END;

-- earliest and latest date a (partial) --DTC can stand for; NULL when the year is unknown
CREATE OR REPLACE MACRO dtc_min(dtc) AS CASE
    WHEN dtc_complete(dtc) THEN CAST(substr(dtc, 1, 10) AS DATE)
    WHEN regexp_matches(dtc, '^\d{4}-\d{2}$') THEN CAST(dtc || '-01' AS DATE)
    WHEN regexp_matches(dtc, '^\d{4}$') THEN CAST(dtc || '-01-01' AS DATE)
    WHEN regexp_matches(dtc, '^\d{4}---\d{2}$') THEN CAST(substr(dtc, 1, 4) || '-01-' || substr(dtc, 8, 2) AS DATE)
    END;
CREATE OR REPLACE MACRO dtc_max(dtc) AS CASE
    WHEN dtc_complete(dtc) THEN CAST(substr(dtc, 1, 10) AS DATE)
    WHEN regexp_matches(dtc, '^\d{4}-\d{2}$') THEN last_day(CAST(dtc || '-01' AS DATE))
    WHEN regexp_matches(dtc, '^\d{4}$') THEN CAST(dtc || '-12-31' AS DATE)
    WHEN regexp_matches(dtc, '^\d{4}---\d{2}$') THEN CAST(substr(dtc, 1, 4) || '-12-' || substr(dtc, 8, 2) AS DATE)
    END;

-- study day (sdtm.md §1): only for a complete date and a reference date; there is no day 0.
-- dtc_date is null unless the date is complete, so the arithmetic is null then too; written
-- with four dtc_date calls (a regular expression each) rather than ten: it runs on every row
CREATE OR REPLACE MACRO study_day(dtc, rfstdtc) AS
    dtc_date(dtc) - dtc_date(rfstdtc) + CAST(dtc_date(dtc) >= dtc_date(rfstdtc) AS INTEGER);

-- VISITNUM of a scheduled visit name (trial.md §3); unscheduled visits are numbered by the models
CREATE OR REPLACE MACRO visitnum(visit) AS CASE
    WHEN visit = 'SCREENING' THEN 1
    WHEN visit LIKE 'CYCLE % DAY 1' THEN 100 + CAST(regexp_extract(visit, 'CYCLE (\d+)', 1) AS INTEGER)
    WHEN visit LIKE 'TUMOUR ASSESSMENT WEEK %' THEN 200 + CAST(regexp_extract(visit, 'WEEK (\d+)', 1) AS INTEGER) // 6
    WHEN visit = 'END OF TREATMENT' THEN 800
    WHEN visit LIKE 'SURVIVAL FOLLOW-UP %' THEN 900 + CAST(regexp_extract(visit, 'FOLLOW-UP (\d+)', 1) AS INTEGER)
    END;

-- EPOCH of a (partial) date given first-dose date and end of treatment epoch (sdtm.md §1):
-- a partial date gets an epoch only when every date it can stand for falls in one epoch
CREATE OR REPLACE MACRO epoch_of_day(d, trtsdt, trtend) AS CASE
    WHEN d IS NULL THEN NULL
    WHEN trtsdt IS NULL OR d < trtsdt THEN 'SCREENING'
    WHEN trtend IS NULL OR d <= trtend THEN 'TREATMENT'
    ELSE 'FOLLOW-UP' END;
CREATE OR REPLACE MACRO epoch(dtc, trtsdt, trtend) AS CASE
    WHEN epoch_of_day(dtc_min(dtc), trtsdt, trtend) = epoch_of_day(dtc_max(dtc), trtsdt, trtend)
    THEN epoch_of_day(dtc_min(dtc), trtsdt, trtend) END;
