-- LB: Laboratory Test Results (sdtm.md §5), one row per subject x test x collection (one staged
-- LB row each; NOT DONE rows kept with LBSTAT). Results as delivered (LBORRES/LBORRESU,
-- LBORNRLO/HI) and standardised by the load (LBSTRESC/N/U, LBSTNRLO/HI). LBNRIND from the
-- standard result and range. LBLOBXFL = 'Y' on the last non-missing result per subject and
-- test taken before first dose; on the first-dose day a result with no time or a time at or
-- before the first dose counts as pre-dose (and its EPOCH is SCREENING) (sdtm.md §1). VISITNUM/
-- VISIT from int_visits (unscheduled numbered 103.01 ..). LBSEQ sorts LBTESTCD, LBDTC, SRC_ROW.
-- Key: USUBJID, LBTESTCD, VISITNUM, LBDTC. Lineage SRC_FILE, SRC_ROW = the staged LB row.
WITH src AS NOT MATERIALIZED (
    SELECT l.*,
           l.LBDAT || coalesce('T' || l.LBTIM, '') AS LBDTC
    FROM {{ source('stg', 'lb') }} l
),
-- 10 million rows at 100,000 subjects, so one sort and no materialised intermediate: the
-- staged rows with their subject's dates (src, dated) are inlined into each use (two of them
-- read few columns) rather than written out; the rows are sorted once by USUBJID, LBTESTCD, LBDTC,
-- SRC_ROW (unique), and LBSEQ is the row's position in that order less the rows of the subjects
-- before it (subject_rows, and the post-hook below), where a window sort and then a sort of the
-- whole table cost twice.
dated AS NOT MATERIALIZED (
    SELECT s.*,
           r.USUBJID, r.RFXSTDTC, r.TRTSDT, r.TRTEND, dm.RFSTDTC,
           -- pre-dose (sdtm.md §1): before the first-dose day, or on it with no time / a time not
           -- after the first dose (no dose time known: the whole day counts as pre-dose)
           CASE WHEN r.TRTSDT IS NULL OR NOT dtc_complete(s.LBDTC) THEN NULL
                WHEN dtc_date(s.LBDTC) < r.TRTSDT THEN TRUE
                WHEN dtc_date(s.LBDTC) > r.TRTSDT THEN FALSE
                WHEN s.LBTIM IS NULL OR length(r.RFXSTDTC) < 16 THEN TRUE
                ELSE s.LBDTC <= r.RFXSTDTC END AS PREDOSE
    FROM src s
    JOIN {{ ref('int_subject_dates') }} r USING (SUBJID)
    JOIN {{ ref('dm') }} dm ON dm.USUBJID = r.USUBJID
),
-- the baseline candidate of each subject and test: latest (LBDTC, SRC_ROW) among pre-dose results;
-- an aggregate and a join rather than a window, which would sort all of LB once more
baseline AS (
    SELECT arg_max({'f': SRC_FILE, 'r': SRC_ROW}, {'d': LBDTC, 'r': SRC_ROW}) AS PICK
    FROM dated
    WHERE PREDOSE AND LBSTAT IS NULL AND LBSTRESC IS NOT NULL
    GROUP BY USUBJID, LBTEST
),
-- rows of the subjects before each subject in USUBJID order (LBSEQ = position - FIRSTROW)
subject_rows AS (
    SELECT USUBJID, sum(count(*)) OVER (ORDER BY USUBJID) - count(*) AS FIRSTROW
    FROM dated
    GROUP BY USUBJID
),
flagged AS (
    SELECT b.*, v.VISITNUM, v.VISIT AS SDTMVISIT, o.FIRSTROW,
           CASE WHEN x.PICK IS NOT NULL THEN 'Y' END AS LBLOBXFL
    FROM dated b
    JOIN subject_rows o USING (USUBJID)
    LEFT JOIN {{ ref('int_visits') }} v
           ON v.SUBJID = b.SUBJID AND v.CRFVISIT = b.VISIT AND v.VISDAT IS NOT DISTINCT FROM b.LBDAT
    LEFT JOIN baseline x ON x.PICK.f = b.SRC_FILE AND x.PICK.r = b.SRC_ROW
)
SELECT
    STUDYID,
    'LB' AS DOMAIN,
    USUBJID,
    CAST(NULL AS INTEGER) AS LBSEQ,   -- numbered by the post-hook
    LBTEST AS LBTESTCD,
    CASE LBTEST
        WHEN 'WBC' THEN 'Leukocytes'
        WHEN 'NEUT' THEN 'Neutrophils'
        WHEN 'LYM' THEN 'Lymphocytes'
        WHEN 'HGB' THEN 'Hemoglobin'
        WHEN 'PLT' THEN 'Platelets'
        WHEN 'ALT' THEN 'Alanine Aminotransferase'
        WHEN 'AST' THEN 'Aspartate Aminotransferase'
        WHEN 'BILI' THEN 'Bilirubin'
        WHEN 'CREAT' THEN 'Creatinine'
        WHEN 'ALB' THEN 'Albumin'
        WHEN 'ALP' THEN 'Alkaline Phosphatase'
        WHEN 'UREA' THEN 'Urea'
        WHEN 'SODIUM' THEN 'Sodium'
        WHEN 'K' THEN 'Potassium'
    END AS LBTEST,
    LBCAT,
    LBORRES,
    LBORRESU,
    LBORNRLO,
    LBORNRHI,
    LBSTRESC,
    LBSTRESN,
    LBSTRESU,
    LBSTNRLO,
    LBSTNRHI,
    CASE WHEN LBSTRESN IS NULL OR (LBSTNRLO IS NULL AND LBSTNRHI IS NULL) THEN NULL
         WHEN LBSTRESN < LBSTNRLO THEN 'LOW'
         WHEN LBSTRESN > LBSTNRHI THEN 'HIGH'
         ELSE 'NORMAL' END AS LBNRIND,
    LBSTAT,
    CAST(NULL AS VARCHAR) AS LBREASND,   -- the LB form collects no reason for NOT DONE
    CASE LBCAT WHEN 'HEMATOLOGY' THEN 'BLOOD' WHEN 'CHEMISTRY' THEN 'SERUM' END AS LBSPEC,
    LBLOBXFL,
    VISITNUM,
    SDTMVISIT AS VISIT,
    CASE WHEN PREDOSE THEN 'SCREENING' ELSE epoch(LBDTC, TRTSDT, TRTEND) END AS EPOCH,
    LBDTC,
    study_day(LBDTC, RFSTDTC) AS LBDY,
    SRC_FILE,
    SRC_ROW,
    FIRSTROW   -- for the post-hook, which drops it
FROM flagged
ORDER BY USUBJID, LBTESTCD, LBDTC, SRC_ROW
{% post_hook %}
-- LBSEQ = the row's position in the sorted table (rowid: the table is new, its rows inserted in
-- that order) less the rows of the subjects before it. Numbering in the SELECT needs a window
-- over the sorted rows (row_number() OVER ()), which DuckDB runs, and the write after it, on
-- one thread: at 100,000 subjects this post-hook took the model from 71-80 s to 47-60 s.
UPDATE {{ this }} SET LBSEQ = CAST(rowid + 1 - FIRSTROW AS INTEGER);
ALTER TABLE {{ this }} DROP COLUMN FIRSTROW;
{% endpost_hook %}
