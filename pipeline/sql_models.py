"""A small dbt-like runner: every ``dbt_like_sql/<layer>/<name>.sql`` file is one model.

A model is one SELECT. It names its inputs explicitly:

- ``{{ ref('dm') }}``: another model (any layer), rendered as ``<layer>.<name>``;
- ``{{ source('stg', 'ae') }}``: a table the pipeline loads, rendered as ``stg.ae``;
- ``{{ var('trial.data_cutoff') }}``: a value of the trial configuration, rendered as a SQL
  literal, so an ASSUMPTION of the spec never becomes a literal in SQL.

After its SELECT a model may end with a ``{% post_hook %} ... {% endpost_hook %}`` block (dbt's
post-hook): statements run on the created table, named ``{{ this }}``, right after it is created.
LB uses one to number its rows by their position in the sorted table (``rowid``), which DuckDB
writes with all threads, where a window numbering them would write it on one.

The leading ``--`` comment block is the model's description (what the table is, its grain).
Files whose name starts with ``_`` are not models: ``_macros.sql`` holds DuckDB macros shared
by the layer's models and is run before each of them.

``model_assets`` turns each model into a Dagster asset automatically: key ``[layer, name]``,
dependencies from its refs and sources, group = layer, description from the header, and
row count and column schema as metadata. Adding a model is adding one file. A ref to a model
that does not exist, a source the pipeline does not load, or a cycle fails at definition load
with a message naming the file. Nothing here opens DuckDB until an asset runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline import config

SQL_ROOT = Path(__file__).resolve().parent.parent / "dbt_like_sql"

_REF = re.compile(r"\{\{\s*ref\(\s*'([A-Za-z0-9_]+)'\s*\)\s*\}\}")
_SOURCE = re.compile(r"\{\{\s*source\(\s*'([A-Za-z0-9_]+)'\s*,\s*'([A-Za-z0-9_]+)'\s*\)\s*\}\}")
_VAR = re.compile(r"\{\{\s*var\(\s*'([A-Za-z0-9_.]+)'\s*\)\s*\}\}")
_ANY = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_THIS = re.compile(r"\{\{\s*this\s*\}\}")
_POST_HOOK = re.compile(r"\{%\s*post_hook\s*%\}(.*?)\{%\s*endpost_hook\s*%\}\s*\Z", re.S)


class SqlModelError(ValueError):
    """A model file that cannot be part of the graph; the message names the file."""


@dataclass(frozen=True)
class SqlModel:
    name: str
    layer: str
    path: Path
    sql: str
    description: str
    refs: tuple[str, ...]
    sources: tuple[tuple[str, str], ...]
    post_hook: str = ""  # statements run on the created table ({{ this }}), empty: none

    @property
    def table(self) -> str:
        return f"{self.layer}.{self.name}"


def _header(sql: str) -> str:
    lines = []
    for line in sql.splitlines():
        stripped = line.strip()
        if stripped.startswith("--"):
            lines.append(stripped[2:].strip())
        elif stripped:
            break
    return "\n".join(lines).strip()


def _without_known(sql: str) -> str:
    """``sql`` without its refs, sources and vars: what is left of ``{{ }}`` / ``{% %}`` is unknown."""
    return _VAR.sub("", _SOURCE.sub("", _REF.sub("", sql)))


def _parse(path: Path, layer: str) -> SqlModel:
    text = path.read_text(encoding="utf-8")
    hook = _POST_HOOK.search(text)
    sql, post_hook = (text[:hook.start()], hook.group(1).strip()) if hook else (text, "")
    refs = tuple(dict.fromkeys(_REF.findall(text)))
    sources = tuple(dict.fromkeys(_SOURCE.findall(text)))
    leftovers = _ANY.findall(_without_known(sql)) + _ANY.findall(_THIS.sub("", _without_known(post_hook)))
    if leftovers:
        raise SqlModelError(f"{path}: unknown template expression {leftovers[0]!r}")
    description = _header(sql)
    if not description:
        raise SqlModelError(f"{path}: a model starts with a '--' comment saying what the table is and its grain")
    return SqlModel(path.stem, layer, path, sql, description, refs, sources, post_hook)


def discover(root: Path = SQL_ROOT, layers: tuple[str, ...] | None = None) -> dict[str, SqlModel]:
    """All models under ``root/<layer>/``, checked as a graph (missing refs, cycles, duplicates)."""
    models: dict[str, SqlModel] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if layers is not None and folder.name not in layers:
            continue
        for path in sorted(folder.glob("*.sql")):
            if path.name.startswith("_"):
                continue
            model = _parse(path, folder.name)
            if model.name in models:
                raise SqlModelError(f"{path}: model name {model.name!r} already used by {models[model.name].path}")
            models[model.name] = model
    _check_graph(models)
    return models


def _check_graph(models: dict[str, SqlModel]) -> None:
    for model in models.values():
        for ref in model.refs:
            if ref not in models:
                raise SqlModelError(f"{model.path}: ref('{ref}') names no model under {model.path.parent.parent}")
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = trail[trail.index(name):] + [name]
            raise SqlModelError(f"{models[name].path}: dependency cycle {' -> '.join(cycle)}")
        state[name] = 1
        for ref in models[name].refs:
            visit(ref, trail + [name])
        state[name] = 2

    for name in models:
        visit(name, [])


def sql_literal(value) -> str:
    """``value`` as a DuckDB literal: text quoted (inner quotes doubled), numbers and booleans
    as they are, lists as lists."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(sql_literal(v) for v in value) + "]"
    return "'" + str(value).replace("'", "''") + "'"


def _var(path: str, model: SqlModel):
    node = config.trial_config()
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise SqlModelError(f"{model.path}: var('{path}') is not in the trial configuration")
        node = node[part]
    return node


def render(model: SqlModel, models: dict[str, SqlModel], sql: str | None = None) -> str:
    """The model's SELECT (or ``sql`` of the model, e.g. its post-hook) with refs, sources,
    vars and ``this`` resolved."""
    sql = _THIS.sub(model.table, model.sql if sql is None else sql)
    sql = _REF.sub(lambda m: models[m.group(1)].table, sql)
    sql = _SOURCE.sub(lambda m: f"{m.group(1)}.{m.group(2)}", sql)
    return _VAR.sub(lambda m: sql_literal(_var(m.group(1), model)), sql)


@lru_cache(maxsize=4)
def macros_sql(layer_dir: Path) -> str:
    path = layer_dir / "_macros.sql"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def materialize(con, model: SqlModel, models: dict[str, SqlModel]) -> tuple[int, list[tuple[str, str]]]:
    """Create ``<layer>.<name>`` from the model; returns (row count, [(column, type)])."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {model.layer}")
    macros = macros_sql(model.path.parent)
    if macros.strip():
        con.execute(macros)
    con.execute(f"CREATE OR REPLACE TABLE {model.table} AS\n{render(model, models)}")
    if model.post_hook:
        con.execute(render(model, models, model.post_hook))
    rows = con.execute(f"SELECT count(*) FROM {model.table}").fetchone()[0]
    columns = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [model.layer, model.name],
    ).fetchall()
    return rows, columns
