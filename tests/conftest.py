"""Shared fixtures: synthetic exports generated once per session, and a loader.

The trial used by the end-to-end tests is small (so the suite stays fast) but messier than
the default (so every defect class of the generator occurs).
"""

from pathlib import Path

import polars as pl
import pytest

SEED = 7
SUBJECTS = 24
MESS = 3.0


@pytest.fixture(scope="session", autouse=True)
def _dagster_home(tmp_path_factory):
    import os

    from pipeline.event_log import DAGSTER_YAML

    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    old = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("DAGSTER_HOME", None)
    else:
        os.environ["DAGSTER_HOME"] = old


@pytest.fixture(scope="session")
def exports(tmp_path_factory) -> dict[str, Path]:
    """The same synthetic trial rendered as messy CSV, REDCap and ODM, and as clean CSV."""
    from pipeline.synthetic import generate

    out = {}
    for name, fmt, mess in (("csv", "csv", MESS), ("redcap", "redcap", MESS), ("odm", "odm", MESS), ("clean", "csv", 0.0)):
        folder = tmp_path_factory.mktemp(f"export_{name}")
        generate(folder, subjects=SUBJECTS, seed=SEED, fmt=fmt, mess_rate=mess)
        out[name] = folder
    return out


def load(export: Path | None, home: Path):
    """Run nightly_load in-process; returns (success, warehouse resource, result)."""
    from pipeline.cli import run_load

    return run_load(str(export) if export else None, str(home), trigger="test")


@pytest.fixture(scope="session")
def loaded(exports, tmp_path_factory) -> dict[str, Path]:
    """Published warehouse of each export (one load each, shared by the tests)."""
    homes = {}
    for name, export in exports.items():
        home = tmp_path_factory.mktemp(f"wh_{name}")
        success, warehouse, result = load(export, home)
        assert success, f"load of {name} failed"
        homes[name] = warehouse.published_path
    return homes


@pytest.fixture(scope="session")
def clean_db(loaded) -> Path:
    """Published warehouse of the clean export (no injected mess)."""
    return loaded["clean"]


def query(db: Path, sql: str) -> pl.DataFrame:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return pl.from_arrow(con.sql(sql).to_arrow_table())
    finally:
        con.close()
