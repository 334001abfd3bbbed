"""Repeated measurements: VS, LB, ECHO (crf.md §2). Values are in standard units here."""

from schemas.crf._fields import CrfRecord, code, date, number, text, time


class VS(CrfRecord):
    VSDAT: str = date("Y")
    SYSBP: float = number("N", 40, 300)
    DIABP: float = number("N", 20, 200)
    PULSE: float = number("N", 20, 250)
    RESP: float = number("N", 4, 80)
    TEMP: float = number("N", 30, 45)
    WEIGHT: float = number("N", 25, 250)
    HEIGHT: float = number("N", 100, 230)
    ECOG: int = number("Y", 0, 5)


class LB(CrfRecord):
    LBDAT: str = date("Y")
    LBTIM: str = time()
    LBCAT: str = code("LBCAT", "Y")
    LBTEST: str = code("LBTEST", "Y")
    LBORRES: str = text()
    LBORRESU: str = text()
    LBORNRLO: str = text()
    LBORNRHI: str = text()
    LBSTAT: str = code("LBSTAT")
    LBCLSIG: str = code("NY")
    LBSTRESC: str = text()
    LBSTRESN: float = number("N", rule="LB01")
    LBSTRESU: str = text()
    LBSTNRLO: float = number("N")
    LBSTNRHI: float = number("N")


class ECHO(CrfRecord):
    ECHODAT: str = date("Y")
    LVEF: int = number("Y", 5, 95)
    LVEFMETH: str = code("LVEFMETH", "Y")
