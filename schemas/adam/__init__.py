"""Pandera (polars) contracts of the ADaM datasets (adam.md): one model per dataset.

``ADAM_MODELS`` maps the DuckDB table name (``adam.<name>``) to its model. They run as blocking
``contract`` asset checks in the nightly graph and after ``trialwh adam --sdtm``, so a dataset
that breaks a derivation invariant (two ADSL rows for a subject, two PFS records, CNSR < 0,
AVAL <= 0 for a time to event, a censored record without its censoring date) never reaches the
endpoints or the analysts. The models check structure, not this trial's identifiers, so they
hold for SDTM made elsewhere too. They check what the derivation guarantees, not the data:
an inconsistency in the collected data (a lab sample dated after death makes LSTALVDT later
than DTHDT) is a query for the site, reported by the QA suites, not a reason to stop a load.
"""

from schemas.adam._base import AdamDataset
from schemas.adam.bds import ADEX, ADLB, ADTR
from schemas.adam.efficacy import ADRS, ADTTE
from schemas.adam.occurrence import ADAE
from schemas.adam.subject import ADSL

ADAM_MODELS: dict[str, type[AdamDataset]] = {
    "adsl": ADSL, "adae": ADAE, "adlb": ADLB, "adex": ADEX, "adrs": ADRS, "adtte": ADTTE, "adtr": ADTR,
}

__all__ = ["ADAM_MODELS", "AdamDataset", "contract_failures", *[m.__name__ for m in ADAM_MODELS.values()]]


def contract_failures(frames) -> dict:
    """``{dataset: failure cases}`` for every frame of ``frames`` that breaks its contract."""
    from schemas.contracts import validate_contract

    out = {}
    for name, frame in frames.items():
        cases = validate_contract(ADAM_MODELS[name], frame)
        if not cases.is_empty():
            out[name] = cases
    return out
