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


@lru_cache(maxsize=8)
def _load(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


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
