"""The trial configuration: one YAML file holding every ASSUMPTION of the spec.

``trial_config.yaml`` beside this module is the default. A load can point at another file
(``TRIALWH_CONFIG`` or ``--config``) when the real protocol differs; nothing else in the code
keeps a copy of these values.
"""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CONFIG_PATH = Path(__file__).with_name("trial_config.yaml")


class ConfigError(ValueError):
    """A trial configuration that cannot be used as it is."""


def missing_settings(chosen: dict[str, Any], shipped: dict[str, Any]) -> list[str]:
    """The sections, and the settings of each section, of the shipped configuration that
    ``chosen`` lacks (``ops.killed_loads_check_seconds``). Deeper keys are not compared: some
    are data, not settings (the drugs of ``trial.drugs``, the tests of ``endpoints.lab_directions``)."""
    missing = []
    for section, settings in shipped.items():
        if not isinstance(chosen.get(section), dict):
            missing.append(section)
        elif isinstance(settings, dict):
            missing += [f"{section}.{key}" for key in settings if key not in chosen[section]]
    return missing


@lru_cache(maxsize=8)
def _load(path: str) -> dict[str, Any]:
    """The file at ``path``; another file than the shipped one must have all its settings.

    Why: a trial's own configuration is a copy of the shipped file made at some version. When a
    later version adds a setting, a load with the old copy would stop on a bare ``KeyError``
    somewhere in the code; this names every missing setting at once, before anything runs. No
    default is filled in: many settings are the trial's ASSUMPTIONs, which nobody should get
    without having chosen them."""
    with open(path, encoding="utf-8") as fh:
        loaded = yaml.safe_load(fh) or {}
    if Path(path) != DEFAULT_CONFIG_PATH.resolve():
        missing = missing_settings(loaded, _load(str(DEFAULT_CONFIG_PATH.resolve())))
        if missing:
            raise ConfigError(f"{path} lacks {', '.join(missing)}, which {DEFAULT_CONFIG_PATH} has: "
                              "copy them into it, with this trial's values")
    return loaded


def trial_config(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The parsed configuration (cached per path; treat it as read-only)."""
    chosen = path or os.environ.get("TRIALWH_CONFIG") or DEFAULT_CONFIG_PATH
    return _load(str(Path(chosen).resolve()))


def trial(path=None) -> dict[str, Any]:
    return trial_config(path)["trial"]


def generator(path=None) -> dict[str, Any]:
    return trial_config(path)["generator"]


def data_cutoff(path=None) -> date:
    return date.fromisoformat(trial(path)["data_cutoff"])


def endpoints(path=None) -> dict[str, Any]:
    """Design values and statistical settings of the endpoint summaries (endpoints.md)."""
    return trial_config(path)["endpoints"]


def reports(path=None) -> dict[str, Any]:
    """Display settings of the figures and the HTML analysis report (endpoints.md §4)."""
    return trial_config(path)["reports"]


def ops(path=None) -> dict[str, Any]:
    """Nightly operations: schedule, landing folder, retries, data-cut retention, privacy."""
    return trial_config(path)["ops"]
