"""Study drug administration: EX (crf.md §2), one row per drug per administration day."""

from schemas.crf._fields import CrfRecord, code, date, number, text, time


class EX(CrfRecord):
    EXSPID: int = number("Y", 1)
    CYCLE: int = number("Y", 1, 6)
    EXTRT: str = code("EXTRT", "Y")
    EXDAY: int = number("Y", 1, 5)
    EXOCCUR: str = code("NY", "Y")
    EXREASND: str = text()
    EXSTDAT: str = date("Y")
    EXSTTIM: str = time()
    EXENTIM: str = time()
    WEIGHT: float = number("Y", 25, 250)
    BSA: float = number("Y", 0.8, 3.0)
    EXPDOSE: float = number("Y", 0, 200)
    EXDOSE: float = number("N", 0, 2000)
    EXDOSU: str = code("EXDOSU")
    EXROUTE: str = code("ROUTE", "Y")
    EXADJ: str = code("NY", "Y")
    EXADJRS: str = code("EXADJRS")
    EXDELAY: str = code("NY")
