"""The embedded default: the synthetic trial that ``trialwh load`` runs on when given no export.

It is generated on first use (31 subjects, the configured seed, per-form CSV with the default
messiness) and kept under the warehouse home, so every later load reads the same bytes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pipeline import config

MARKER = ".generated.json"


def default_export_params() -> dict:
    gen = config.generator()
    return {"subjects": gen["subjects"], "seed": gen["seed"], "fmt": "csv", "mess_rate": 1.0}


def ensure_default_export(target: Path) -> Path:
    """Return the default export folder, generating it when missing or made with other parameters."""
    params = default_export_params()
    marker = target / MARKER
    if marker.exists() and json.loads(marker.read_text()) == params:
        return target
    from pipeline.synthetic import generate

    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    generate(tmp, **params)
    (tmp / MARKER).write_text(json.dumps(params, sort_keys=True))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target
