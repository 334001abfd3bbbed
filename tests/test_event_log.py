"""The project's Dagster event log storage: same files as Dagster's, pooled connections."""

import time
import uuid

import dagster as dg
import yaml
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from pipeline import event_log
from pipeline.event_log import PooledSqliteEventLogStorage
from pipeline.resources import PROJECT_ROOT


def _entry(run_id: str, i: int) -> EventLogEntry:
    return EventLogEntry(error_info=None, level=20, user_message=f"message {i}", run_id=run_id, timestamp=time.time())


def test_project_instance_and_new_homes_use_the_pooled_storage(tmp_path, monkeypatch):
    committed = yaml.safe_load((PROJECT_ROOT / "dagster_home" / "dagster.yaml").read_text())
    assert committed["event_log_storage"] == yaml.safe_load(event_log.DAGSTER_YAML)["event_log_storage"]
    (tmp_path / "dagster.yaml").write_text(event_log.DAGSTER_YAML)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        assert storage._base_dir == str(tmp_path / "history" / "runs")


def test_events_read_back_by_dagsters_own_storage_and_engines_are_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(event_log, "_OPEN_ENGINES", 3)
    pooled = PooledSqliteEventLogStorage(str(tmp_path))
    runs = [str(uuid.uuid4()) for _ in range(5)]
    for run_id in runs:
        for i in range(3):
            pooled.store_event(_entry(run_id, i))
    assert len(pooled._engines) == 3  # the index shard counts too
    # another process (the UI) with Dagster's plain storage reads the same files
    plain = SqliteEventLogStorage(str(tmp_path))
    for run_id in (runs[0], runs[-1]):
        messages = [r.event_log_entry.user_message for r in plain.get_records_for_run(run_id).records]
        assert messages == ["message 0", "message 1", "message 2"]
    # and an evicted run database opens again
    pooled.store_event(_entry(runs[0], 3))
    assert len(pooled.get_records_for_run(runs[0]).records) == 4
    pooled.dispose()
    assert pooled._engines == {}
