"""Pandera (polars) models of the CRF forms after normalisation: one model per form.

They judge the typed ``stg`` candidates: required items present, codes in the controlled
terminology, dates in ISO 8601, numbers in range. A failure becomes a finding under the rule
named in the field's metadata (``REQ01`` for a missing required value).
"""

from schemas.crf.disposition import DTH, EOS, EOT, FU, SUBTX
from schemas.crf.events import AE, CM
from schemas.crf.observations import ECHO, LB, VS
from schemas.crf.subject import DM, DX, IE, MH, PRTX
from schemas.crf.treatment import EX
from schemas.crf.tumour import NL, NTL, RS, TL

CRF_MODELS = {
    m.__name__: m
    for m in (DM, IE, DX, MH, PRTX, EX, VS, LB, ECHO, AE, CM, TL, NTL, NL, RS, EOT, SUBTX, FU, DTH, EOS)
}
