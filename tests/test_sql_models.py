"""The dbt-like SQL model runner: discovery, rendering, graph errors, assets drawn from files."""

import dagster as dg
import duckdb
import pytest

from assets.sql_layer import sql_layer_assets
from pipeline import sql_models
from pipeline.sql_models import SqlModelError, discover, materialize, render


def _write(root, layer, name, sql):
    folder = root / layer
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.sql").write_text(sql, encoding="utf-8")


def test_refs_sources_and_vars_render_schema_qualified(tmp_path):
    _write(tmp_path, "sdtm", "base", "-- base table, one row per subject\nSELECT SUBJID FROM {{ source('stg', 'dm') }}")
    _write(tmp_path, "sdtm", "derived",
           "-- derived, one row per subject\nSELECT *, {{ var('trial.data_cutoff') }} AS DCO, {{ var('trial.max_cycles') }} AS N FROM {{ ref('base') }}")
    models = discover(tmp_path)
    assert models["derived"].refs == ("base",) and models["base"].sources == (("stg", "dm"),)
    assert models["derived"].description == "derived, one row per subject"
    sql = render(models["derived"], models)
    assert "FROM sdtm.base" in sql and "'2023-08-27' AS DCO" in sql and "6 AS N" in sql


def test_materialize_creates_the_table(tmp_path):
    _write(tmp_path, "sdtm", "one", "-- one row\nSELECT 1 AS X, 'a' AS Y")
    models = discover(tmp_path)
    con = duckdb.connect()
    rows, columns = materialize(con, models["one"], models)
    assert rows == 1 and columns == [("X", "INTEGER"), ("Y", "VARCHAR")]
    assert con.execute("SELECT * FROM sdtm.one").fetchall() == [(1, "a")]


def test_post_hook_runs_on_the_created_table_after_the_select(tmp_path):
    """``{% post_hook %}`` statements run on ``{{ this }}`` once the table exists; the SELECT
    alone is the model's query, and the reported columns are those after the hook."""
    _write(tmp_path, "sdtm", "base", "-- base\nSELECT 5 AS B")
    _write(tmp_path, "sdtm", "hooked", """-- hooked, one row per value
SELECT x AS X, CAST(NULL AS INTEGER) AS Y, 10 AS DROPME FROM range(3) t(x) ORDER BY x DESC
{% post_hook %}
UPDATE {{ this }} SET Y = CAST(rowid AS INTEGER) + DROPME + (SELECT B FROM {{ ref('base') }});
ALTER TABLE {{ this }} DROP COLUMN DROPME;
{% endpost_hook %}
""")
    models = discover(tmp_path)
    assert models["hooked"].refs == ("base",) and "post_hook" not in render(models["hooked"], models)
    assert "UPDATE sdtm.hooked SET" in render(models["hooked"], models, models["hooked"].post_hook)
    con = duckdb.connect()
    materialize(con, models["base"], models)
    rows, columns = materialize(con, models["hooked"], models)
    assert rows == 3 and columns == [("X", "BIGINT"), ("Y", "INTEGER")]
    assert con.execute("SELECT X, Y FROM sdtm.hooked").fetchall() == [(2, 15), (1, 16), (0, 17)]


def test_this_outside_a_post_hook_and_unknown_blocks_are_refused(tmp_path):
    _write(tmp_path, "sdtm", "selfish", "-- selfish\nSELECT * FROM {{ this }}")
    with pytest.raises(SqlModelError, match=r"selfish\.sql: unknown template expression '\{\{ this \}\}'"):
        discover(tmp_path)
    (tmp_path / "sdtm" / "selfish.sql").unlink()
    _write(tmp_path, "sdtm", "blocky", "-- blocky\nSELECT 1 AS X\n{% pre_hook %}SELECT 2{% endpre_hook %}")
    with pytest.raises(SqlModelError, match=r"blocky\.sql: unknown template expression '\{% pre_hook %\}'"):
        discover(tmp_path)


def test_missing_ref_names_the_file(tmp_path):
    _write(tmp_path, "sdtm", "orphan", "-- orphan\nSELECT * FROM {{ ref('nowhere') }}")
    with pytest.raises(SqlModelError, match=r"orphan\.sql: ref\('nowhere'\)"):
        discover(tmp_path)


def test_cycle_names_the_file(tmp_path):
    _write(tmp_path, "sdtm", "a", "-- a\nSELECT * FROM {{ ref('b') }}")
    _write(tmp_path, "sdtm", "b", "-- b\nSELECT * FROM {{ ref('a') }}")
    with pytest.raises(SqlModelError, match=r"\.sql: dependency cycle (a -> b -> a|b -> a -> b)"):
        discover(tmp_path)


def test_unknown_var_and_missing_header_are_refused(tmp_path):
    _write(tmp_path, "sdtm", "v", "-- v\nSELECT {{ var('trial.no_such_key') }}")
    models = discover(tmp_path)
    with pytest.raises(SqlModelError, match=r"v\.sql: var\('trial.no_such_key'\)"):
        render(models["v"], models)
    _write(tmp_path, "sdtm", "bare", "SELECT 1")
    with pytest.raises(SqlModelError, match=r"bare\.sql: a model starts with a '--' comment"):
        discover(tmp_path)


def test_a_new_sql_file_is_a_new_asset_with_its_dependencies(tmp_path):
    _write(tmp_path, "sdtm", "base", "-- base\nSELECT SUBJID FROM {{ source('stg', 'dm') }}")
    assert {a.key for a in sql_layer_assets("sdtm", root=tmp_path)} == {dg.AssetKey(["sdtm", "base"])}
    _write(tmp_path, "sdtm", "added", "-- added, one row per AE\nSELECT * FROM {{ ref('base') }} JOIN {{ source('stg', 'ae') }} USING (SUBJID)")
    assets = {a.key: a for a in sql_layer_assets("sdtm", root=tmp_path)}
    added = assets[dg.AssetKey(["sdtm", "added"])]
    assert set(added.asset_deps[added.key]) == {dg.AssetKey(["sdtm", "base"]), dg.AssetKey(["stg", "ae"])}
    assert added.specs_by_key[added.key].description == "added, one row per AE"
    assert added.specs_by_key[added.key].group_name == "sdtm"


def test_shipped_models_form_a_valid_graph():
    models = discover(sql_models.SQL_ROOT)
    assert {"dm", "int_subject_dates"} <= set(models)
    for model in models.values():
        render(model, models)
