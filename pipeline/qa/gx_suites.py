"""Great Expectations suites over the cross-table rules, and their Data Docs.

GX never sees a warehouse table: DuckDB computes, per rule, the violating rows (usually none) or,
for the distribution rule XT09, one row per lab test / vital sign, and GX validates those small
frames (at most ``qa.gx_max_rows_per_rule`` rows each). That keeps a 100,000-subject trial as
fast as the test trial, while GX gives the
expectation vocabulary, the result objects the Dagster checks report, and the Data Docs site.

One expectation suite per rule (``XT04_study_drug_after_death``...), validated against its frame:
``expect_table_row_count_to_equal(0)`` for row-level rules; for XT09
``expect_column_values_to_be_between`` on the median's position in its band and on the number of
standard units per test. The context is ephemeral; only the Data Docs site is written, into
``warehouse/reports/qa`` (emptied first, so the site shows this load), then made offline by
:mod:`pipeline.qa.data_docs`.

``great_expectations`` is imported inside :func:`run_suites` only: importing it costs seconds
and Dagster must load the definitions without it.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.qa.cross_table import SUITES
from pipeline.validation.rules import RULES

#: columns of a violations frame GX sees (what a Data Docs reader needs to find the rows)
SHOWN = ["SITEID", "SUBJID", "VISIT", "FORM", "FIELD", "RAW_VALUE", "RECORD", "MESSAGE"]


@dataclass(frozen=True)
class RuleResult:
    rule: str
    success: bool
    violations: int
    observed: dict  # the GX result of each expectation, by expectation type


def suite_name(rule: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", RULES[rule].title.lower()).strip("_")
    return f"{rule}_{'_'.join(slug.split('_')[:6])}"


def _suite_group(rule: str) -> str:
    return next(name for name, rules in SUITES.items() if rule in rules)


def run_suites(violations: dict[str, pl.DataFrame], distributions: pl.DataFrame, docs_dir: Path,
               min_n: int, max_rows: int) -> dict[str, RuleResult]:
    """Validate every rule's frame with GX, build Data Docs into ``docs_dir``; results by rule.

    GX gets at most ``max_rows`` violating rows of a rule (the first in site/subject order):
    its row-count expectation fails all the same, and pandas stays small however broadly a rule
    fires. The suite's notes in the Data Docs say when rows were left out; ``violations`` in the
    result is always the full count."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    docs_dir = Path(docs_dir)
    shutil.rmtree(docs_dir, ignore_errors=True)
    docs_dir.mkdir(parents=True)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    ctx.add_data_docs_site(site_name="trialwh_qa", site_config={
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    source = ctx.data_sources.add_pandas("trialwh")
    results: dict[str, RuleResult] = {}
    for rule, frame in violations.items():
        notes = {"format": "markdown", "content": [
            f"**{rule}** ({RULES[rule].severity}): {RULES[rule].title}. Suite group: {_suite_group(rule)}."]}
        if frame.height > max_rows:
            notes["content"].append(f"{frame.height:,} violating rows; GX validated the first {max_rows:,} "
                                    "(qa.gx_max_rows_per_rule); qa.findings lists them all.")
        if rule == "XT09":
            batch = distributions.filter(pl.col("N") >= min_n).to_pandas()
            expectations = [
                gxe.ExpectColumnValuesToBeBetween(column="POS", min_value=0, max_value=1, meta={"notes": notes}),
                gxe.ExpectColumnValuesToBeBetween(column="N_UNITS", min_value=1, max_value=1),
            ]
        else:
            batch = frame.select(SHOWN).head(max_rows).to_pandas()
            expectations = [gxe.ExpectTableRowCountToEqual(value=0, meta={"notes": notes})]
        suite = ctx.suites.add(gx.ExpectationSuite(name=suite_name(rule), expectations=expectations,
                                                   meta={"rule": rule, "severity": RULES[rule].severity},
                                                   notes=notes["content"]))
        definition = source.add_dataframe_asset(rule).add_batch_definition_whole_dataframe("load")
        validation = ctx.validation_definitions.add(gx.ValidationDefinition(name=rule, data=definition, suite=suite))
        outcome = validation.run(batch_parameters={"dataframe": batch}, result_format="SUMMARY")
        observed = {r.expectation_config.type: {k: v for k, v in r.result.items()
                                                if k in ("observed_value", "unexpected_count", "element_count")}
                    for r in outcome.results}
        results[rule] = RuleResult(rule, bool(outcome.success), frame.height, observed)
    ctx.build_data_docs(site_names=["trialwh_qa"])
    return results
