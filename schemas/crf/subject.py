"""Screening forms: DM, IE, DX, MH, PRTX (crf.md §2)."""

from schemas.crf._fields import CrfRecord, code, date, multi, number, text


class DM(CrfRecord):
    ICDAT: str = date("Y")
    ENRDAT: str = date("C")
    SCRFAIL: str = code("NY", "Y")
    INITIALS: str = text()
    MRN: str = text()
    BRTHDAT: str = date("N", partial=True)
    AGE: int = number("Y", 0, 120)
    SEX: str = code("SEX", "Y")
    ETHNIC: str = text()
    RACE: str = code("RACE", "Y")
    HEIGHT: float = number("Y", 100, 230)
    WEIGHT: float = number("Y", 25, 250)


class IE(CrfRecord):
    IETESTCD: str = code("IETESTCD", "Y")
    IEORRES: str = code("NY", "Y")
    IEDAT: str = date("Y")
    ELIGFL: str = code("NY")


class DX(CrfRecord):
    DXDAT: str = date("Y", partial=True)
    PRIMSITE: str = code("PRIMSITE", "Y")
    HISTGRD: str = code("HISTGRD", "Y")
    DISSTAT: str = code("DISSTAT", "Y")
    METSITES: str = multi("METSITES")


class MH(CrfRecord):
    MHSPID: int = number("Y", 1)
    MHTERM: str = text("Y")
    MHSTDAT: str = date("N", partial=True)
    MHONGO: str = code("NY", "Y")
    MHENDAT: str = date("N", partial=True)


class PRTX(CrfRecord):
    PRSPID: int = number("Y", 1)
    PRTYPE: str = code("PRTYPE", "Y")
    PRTRT: str = text("Y")
    PRSTDAT: str = date("N", partial=True)
    PRENDAT: str = date("N", partial=True)
    PRSITE: str = text()
