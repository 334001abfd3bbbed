"""Dagster's run event log in SQLite, without one disk flush per event.

Dagster's own ``SqliteEventLogStorage`` opens a new SQLite connection for every event and
closes it again. Closing the last connection of a WAL database checkpoints it and flushes the
disk, so every event of a run costs a flush: 10-20 ms on this machine's disk, for the ~700
events of one nightly load (several seconds of a 31-subject load, issue 8).

This storage keeps one pooled connection per database instead and runs it with
``synchronous=NORMAL``, the setting SQLite documents for WAL databases: a commit survives a crash
of any process, and a power loss can lose the last few events but never corrupts the file.
The event log is the run history shown in the UI; the load's own audit trail
(``pipeline.audit``) and the warehouse do not depend on it.

Files, schema and location are Dagster's own (``$DAGSTER_HOME/history/runs``), so the UI,
daemon and an instance without this class read the same history.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster._config import StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

#: run databases whose engine stays open in one process (a UI or daemon process sees many runs)
_OPEN_ENGINES = 16
_BUSY_TIMEOUT_SECONDS = 30

#: a new ``dagster.yaml``: telemetry off and this storage (the project's ``dagster_home`` has it too)
DAGSTER_YAML = """telemetry:
  enabled: false
event_log_storage:
  module: pipeline.event_log
  class: PooledSqliteEventLogStorage
  config:
    dagster_home:
      env: DAGSTER_HOME
"""


def _pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with one long-lived engine per database (see the module)."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def config_type(cls):
        return {"dagster_home": StringSource}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(os.path.join(config_value["dagster_home"], "history", "runs"), inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(self.conn_string_for_shard(shard),
                               connect_args={"timeout": _BUSY_TIMEOUT_SECONDS})
        event.listen(engine, "connect", _pragmas)
        self._engines[shard] = engine
        while len(self._engines) > _OPEN_ENGINES:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        super().dispose()
