"""What every output contract (SDTM and ADaM) shares: keyed models and lazy validation.

``KeyedDataset`` is a Pandera (polars) model whose ``_KEY`` names the natural key of one
record (checked as ``unique_key``; nulls compare equal; key columns a table lacks are
skipped). ``validate_contract`` runs any model lazily and returns its failure cases as a frame
(empty: the table conforms), so asset checks and the CLI report every failure at once rather
than the first.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import pandera.errors
import pandera.polars as pa
import polars as pl
from pandera.engines import polars_engine



@polars_engine.Engine.register_dtype
@dataclasses.dataclass(frozen=True)
class Num(polars_engine.DataType):
    """CDISC ``Num``: any numeric polars dtype (integer or float); text fails the type check."""

    type = pl.Float64

    def check(self, pandera_dtype: Any, data_container: Any = None) -> bool:
        dtype = getattr(pandera_dtype, "type", pandera_dtype)
        try:
            return bool(dtype.is_numeric())
        except (AttributeError, TypeError):
            return False

    def __str__(self) -> str:
        return "Num"


def value_checks(*, ct=None, ge=None, le=None, gt=None) -> dict[str, Any]:
    """Pandera ``Field`` keyword checks for a controlled term list and numeric bounds."""
    checks: dict[str, Any] = {}
    if ct is not None:
        checks["isin"] = list(ct)
    if ge is not None and le is not None:
        checks["in_range"] = {"min_value": ge, "max_value": le}
    elif ge is not None:
        checks["ge"] = ge
    elif le is not None:
        checks["le"] = le
    if gt is not None:
        checks["gt"] = gt
    return checks


def present(frame: pl.LazyFrame, columns) -> list[str]:
    """The columns of ``columns`` that ``frame`` has, in the given order."""
    names = frame.collect_schema().names()
    return [c for c in columns if c in names]


def unique_rows(frame: pl.LazyFrame, keys, name: str, where: pl.Expr | None = None) -> pl.LazyFrame:
    """A boolean check column: no two rows (among ``where``) share ``keys``; missing keys skip it."""
    keys = present(frame, keys)
    if not keys:
        return frame.select(pl.lit(True).alias(name))
    dup = pl.struct(keys).is_duplicated() if where is None else (
        pl.when(where).then(pl.struct(keys)).otherwise(None).is_duplicated() & where)
    return frame.select((~dup).fill_null(True).alias(name))


class KeyedDataset(pa.DataFrameModel):
    """A dataset whose records are identified by ``_KEY``."""

    _KEY: ClassVar[tuple[str, ...]] = ()

    class Config:
        strict = False  # lineage and sponsor-specific columns ride along
        coerce = False

    @pa.dataframe_check
    def unique_key(cls, data):
        """The natural key identifies one record."""
        return unique_rows(data.lazyframe, cls._KEY, "unique_key")


def validate_contract(model: type[pa.DataFrameModel], frame: pl.DataFrame) -> pl.DataFrame:
    """Failure cases of ``frame`` against ``model`` (all checks, lazy); empty when it conforms."""
    try:
        model.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as err:
        cases = err.failure_cases
        missing = pl.col("check") == "column_in_dataframe"  # report a missing column under its own name
        return cases.select(
            pl.when(missing).then(pl.col("failure_case")).otherwise(pl.col("column")).cast(pl.Utf8).alias("column"),
            pl.col("check").cast(pl.Utf8),
            pl.col("failure_case").cast(pl.Utf8),
            pl.col("index").cast(pl.Int64),
        )
    return pl.DataFrame(schema={"column": pl.Utf8, "check": pl.Utf8, "failure_case": pl.Utf8, "index": pl.Int64})


def failure_counts(cases: pl.DataFrame) -> pl.DataFrame:
    """One row per (column, check) with the number of failing rows (or 1 for a schema-level failure)."""
    return cases.group_by(["column", "check"]).len("failures").sort(["column", "check"])


#: failure cases a tally keeps as examples
EXAMPLES = 20


@dataclasses.dataclass
class ContractTally:
    """The failures of one table validated piece by piece (subject chunks), merged.

    Why: a large table is validated chunk by chunk to bound memory. Every cross-row rule of
    the SDTM and ADaM models (``_KEY``, --SEQ, one record per subject and parameter, one
    flagged record per subject ...) is keyed by USUBJID, and a chunk holds whole subjects, so
    per-chunk results add up to the whole-table result. Row-level failure cases are counted
    in every chunk, their row numbers shifted to the row in the whole table; schema-level
    failures (a missing column, a wrong type: no row) are counted once, not once per chunk.
    """

    model: type[pa.DataFrameModel]
    rows: int = 0
    failures: int = 0
    counts: dict[tuple[str, str], int] = dataclasses.field(default_factory=dict)
    examples: list[tuple[str, str, str, int | None]] = dataclasses.field(default_factory=list)
    _schema_level: set[str] = dataclasses.field(default_factory=set)

    def add(self, frame: pl.DataFrame) -> ContractTally:
        """Validate the next piece of the table (rows following the pieces added so far)."""
        cases = validate_contract(self.model, frame).with_columns(pl.col("index") + self.rows)
        self.rows += frame.height
        case_key = pl.concat_str([pl.col(c).fill_null("") for c in ("column", "check", "failure_case")], separator="\x1f")
        cases = cases.with_columns(case_key.alias("_key")).filter(
            pl.col("index").is_not_null()
            | (pl.col("_key").is_first_distinct() & ~pl.col("_key").is_in(sorted(self._schema_level))))
        self._schema_level.update(cases.filter(pl.col("index").is_null())["_key"].to_list())
        self.failures += cases.height
        for column, check, n in cases.group_by("column", "check").len().iter_rows():  # one row per column and check
            self.counts[(column, check)] = self.counts.get((column, check), 0) + n
        self.examples += cases.drop("_key").head(EXAMPLES - len(self.examples)).rows()
        return self

    @property
    def passed(self) -> bool:
        return self.failures == 0

    def failure_counts(self) -> list[tuple[str, str, int]]:
        """``(column, check, failures)`` sorted by column and check (as :func:`failure_counts`)."""
        return [(c, k, n) for (c, k), n in sorted(self.counts.items())]
