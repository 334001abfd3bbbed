"""What the endpoint tables read from ADaM, and nothing more.

Why: at 100,000 subjects ADLB holds ~13 M rows and ADEX / ADRS millions; reading them whole
into polars costs gigabytes for tables of a few hundred rows. So every ADaM source is read
through DuckDB with a projection (the columns the endpoint code uses) and a filter (TEAE
records of safety subjects, the ADRS / ADEX parameters summarised); ADLB is never read at all
(its summaries are SQL aggregations, :mod:`pipeline.endpoints.lab`). ADSL is subject-level and
read whole.

The same reads serve a warehouse (tables ``adam.<name>``) and in-memory frames (``trialwh
adam``, tests), which :func:`frames_connection` registers in an in-memory DuckDB, so both
paths run the same code.
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipeline.warehouse_io import table_columns

#: ADRS parameters the binary endpoints summarise (endpoints.md §1)
ADRS_PARAMS = ("CBOR", "BOR", "CB", "CB24")
ADRS_COLUMNS = ("USUBJID", "PARAMCD", "AVALC")
ADTTE_COLUMNS = ("USUBJID", "PARAMCD", "AVAL", "CNSR", "EVNTDESC", "CNSDTDSC")
#: ADEX subject x drug parameters of the exposure summary
ADEX_PARAMS = ("CUMDOSE", "ADI", "RDI", "RD", "NDOSRED", "NDELAY")
ADEX_COLUMNS = ("USUBJID", "EXTRT", "PARAMCD", "AVAL")
ADAE_COLUMNS = ("USUBJID", "TRTEMFL", "AREL", "ASER", "AEDISCFL", "AEREDFL", "AEINTFL", "AEOUT", "ATOXGRN", "AEBODSYS", "AEDECOD")


def frames_connection(frames: dict[str, pl.DataFrame]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB in which every frame is a relation named after its key (Arrow, no
    copy); all-null columns become VARCHAR, as in ``warehouse_io.write_table``."""
    con = duckdb.connect()
    for name, frame in frames.items():
        con.register(name, frame.with_columns(pl.col(pl.Null).cast(pl.Utf8)).to_arrow())
    return con


def _in_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def read_projected(con: duckdb.DuckDBPyConnection, relation: str, wanted: tuple[str, ...], where: str = "TRUE") -> pl.DataFrame:
    """The ``wanted`` columns that ``relation`` has, of the rows matching ``where``."""
    cols = [c for c in wanted if c in table_columns(con, relation)]
    return pl.from_arrow(con.sql(f"SELECT {', '.join(cols)} FROM {relation} WHERE {where}").to_arrow_table())


def read_inputs(con: duckdb.DuckDBPyConnection, tables: dict[str, str]) -> dict[str, pl.DataFrame]:
    """``{dataset: frame}`` of the sources the python-side endpoint code needs, from the
    relations ``tables`` (dataset -> relation name) that exist. ADLB is not read (SQL only)."""
    out: dict[str, pl.DataFrame] = {"adsl": pl.from_arrow(con.sql(f"SELECT * FROM {tables['adsl']}").to_arrow_table())}
    if "adrs" in tables:
        out["adrs"] = read_projected(con, tables["adrs"], ADRS_COLUMNS, f"PARAMCD IN {_in_list(ADRS_PARAMS)}")
    if "adtte" in tables:
        out["adtte"] = read_projected(con, tables["adtte"], ADTTE_COLUMNS)
    if "adex" in tables:
        has = set(table_columns(con, tables["adex"]))
        out["adex"] = read_projected(con, tables["adex"], ADEX_COLUMNS,
                                     f"PARAMCD IN {_in_list(ADEX_PARAMS)}" if "PARAMCD" in has else "TRUE")
    if "adae" in tables:
        has = set(table_columns(con, tables["adae"]))
        out["adae"] = read_projected(con, tables["adae"], ADAE_COLUMNS, "TRTEMFL = 'Y'" if "TRTEMFL" in has else "FALSE")
    return out
