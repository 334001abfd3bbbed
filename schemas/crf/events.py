"""Logs: AE and CM (crf.md §2)."""

from schemas.crf._fields import CrfRecord, code, date, number, text


class AE(CrfRecord):
    AESPID: int = number("Y", 1)
    AETERM: str = text("Y")
    AESTDAT: str = date("Y", partial=True)
    AEENDAT: str = date("N", partial=True)
    AEONGO: str = code("NY", "Y")
    AETOXGR: str = code("TOXGR", "Y", rule="AE01")
    AESER: str = code("NY", "Y")
    AESDTH: str = code("NY")
    AESLIFE: str = code("NY")
    AESHOSP: str = code("NY")
    AESDISAB: str = code("NY")
    AESCONG: str = code("NY")
    AESMIE: str = code("NY")
    AERELEPI: str = code("REL", "Y")
    AERELTMZ: str = code("REL", "Y")
    AEACNEPI: str = code("ACN", "Y")
    AEACNTMZ: str = code("ACN", "Y")
    AEOUT: str = code("OUT", "Y")
    AELLT: str = text()
    AEDECOD: str = text()
    AEPTCD: str = text()
    AEHLT: str = text()
    AEHLGT: str = text()
    AEBODSYS: str = text()
    AESOCCD: str = text()
    MEDDRAV: str = text()


class CM(CrfRecord):
    CMSPID: int = number("Y", 1)
    CMTRT: str = text("Y")
    CMINDC: str = text()
    CMDOSE: float = number("N", 0)
    CMDOSU: str = text()
    CMDOSFRQ: str = text()
    CMROUTE: str = text()
    CMSTDAT: str = date("N", partial=True)
    CMENDAT: str = date("N", partial=True)
    CMONGO: str = code("NY")
    CMDECOD: str = text()
    CMATC: str = text()
