"""RECIST 1.1 forms: TL, NTL, NL, RS (crf.md §2). Diameters are in mm here."""

from schemas.crf._fields import CrfRecord, code, date, number, text


class LesionRecord(CrfRecord):
    """Items every lesion form shares: the lesion, where it is, how and when it was scanned."""

    LESID: str = text("Y")
    TULOC: str = code("TULOC", "Y")
    TULOCDTL: str = text()
    TRMETHOD: str = code("TRMETHOD", "Y")
    TRDAT: str = date("Y")


class TL(LesionRecord):
    NODE: str = code("NY", "Y")
    TRDIAM: float = number("N", 0, 500)
    TRDIAMC: str = code("TRDIAMC")


class NTL(LesionRecord):
    NTSTAT: str = code("NTSTAT", "Y")


class NL(LesionRecord):
    NLEQUIV: str = code("NY", "Y")


class RS(CrfRecord):
    RSDAT: str = date("Y")
    TRGRESP: str = code("TRGRESP")
    NTRGRESP: str = code("NTRGRESP")
    NEWLIND: str = code("NY")
    OVRLRESP: str = code("OVRLRESP", "Y")
    SUMDIAM: float = number("N", 0, 2000)
