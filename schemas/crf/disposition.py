"""End of treatment, subsequent therapy, follow-up, death, end of study (crf.md §2)."""

from schemas.crf._fields import CrfRecord, code, date, number, text


class EOT(CrfRecord):
    EOTDAT: str = date("Y")
    LSTDOSDT: str = date("Y")
    NCYCLES: int = number("Y", 0, 6)
    EOTREAS: str = code("EOTREAS", "Y")
    EOTREASP: str = text()


class SUBTX(CrfRecord):
    STSPID: int = number("Y", 1)
    STTYPE: str = code("STTYPE", "Y")
    STTRT: str = text("Y")
    STSTDAT: str = date("Y", partial=True)
    STENDAT: str = date("N", partial=True)


class FU(CrfRecord):
    FUDAT: str = date("Y")
    FUSTAT: str = code("FUSTAT", "Y")
    FUMETH: str = code("FUMETH")


class DTH(CrfRecord):
    DTHDAT: str = date("Y", partial=True)
    DTHCAUS: str = code("DTHCAUS", "Y")
    DTHCAUSP: str = text()


class EOS(CrfRecord):
    EOSDAT: str = date("Y")
    EOSSTAT: str = code("EOSSTAT", "Y")
    EOSREAS: str = code("EOSREAS")
    LSTCONDT: str = date("Y")
