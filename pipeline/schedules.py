"""The nightly schedule of ``nightly_load`` (cron and time zone in ``ops.schedule`` of the trial
configuration; 02:00 Asia/Shanghai by default). It runs under ``dagster-daemon`` (or
``make ui``, which starts one) and loads the configured export, or the embedded trial."""

import dagster as dg

from pipeline import config
from pipeline.jobs import nightly_load


def nightly_schedule() -> dg.ScheduleDefinition:
    schedule = config.ops()["schedule"]
    return dg.ScheduleDefinition(
        name="nightly_load_schedule",
        job=nightly_load,
        cron_schedule=schedule["cron"],
        execution_timezone=schedule["timezone"],
        default_status=dg.DefaultScheduleStatus.RUNNING,
        tags={"trialwh/trigger": "schedule"},
        description="The nightly load of the EDC export.",
    )
