"""Value normalisation of staged raw text (crf.md §3 dates, §4 codes, §5 numbers, §2 LB units).

Every function takes and returns a polars *expression*, so one ``select``/``with_columns`` types a
whole raw table: the staged tables reach 13 million rows, which rules out ``map_elements`` and
any Python per-row work. Only vectorised string kernels (regex extraction, Aho-Corasick
``replace_many``), dictionary ``replace``/``replace_strict`` and ``pl.when`` chains are used.

Conventions shared by all parsers:

- The raw text is never modified in place: the staged column stays available for the ``issues``
  table's ``RAW_VALUE``; these expressions only *derive* typed columns from it.
- Parsers return a struct with ``value`` and ``status``. ``status`` is null when the value is
  fine *or* when the raw value is empty/unknown (a missing value is the business of the
  required-item checks, not of the parser). A non-null status other than ``'excel'`` means the
  value could not be used, and ``value`` is then null, so nothing downstream can consume a value
  that also raised an issue.
- Codes are never nulled: an unmapped code comes back cleaned but unchanged so the downstream
  ``isin`` check reports it (crf.md §4: "never silently passed").
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from pipeline.codelists import CODELISTS, LAB_UNITS, SYNONYMS
from pipeline.forms import SUBJID_DIGITS

__all__ = [
    "clean_code",
    "map_code",
    "map_multi",
    "parse_date",
    "parse_datetime",
    "parse_time",
    "parse_number",
    "length_to_mm",
    "weight_to_kg",
    "height_to_cm",
    "temp_to_c",
    "lab_unit_key",
    "lab_factor",
    "lab_std_unit",
    "pad_siteid",
    "pad_subjid",
]

# --------------------------------------------------------------------------------------------
# Generic text clean-up (crf.md §4)
# --------------------------------------------------------------------------------------------

#: Full-width forms of the printable ASCII range (U+FF01..U+FF5E) and the ideographic space.
#: Chinese input methods produce these silently (，（）＜＞．０-９Ａ-Ｚ), and they must compare equal
#: to their ASCII twins. An explicit table rather than NFKC because NFKC also rewrites
#: characters that carry meaning here (superscript ⁹ in ×10⁹/L, ℃, µ).
_FULLWIDTH: dict[str, str] = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)} | {"\u3000": " "}

#: Chinese date/time markers rewritten to separators so that 2022年3月5日 14时30分 takes the
#: same regex path as 2022-3-5 14:30 (the trailing separator left by 日/分 is stripped later).
_CJK_DATETIME: dict[str, str] = {
    "年": "-",
    "月": "-",
    "日": " ",
    "号": " ",
    "时": ":",
    "点": ":",
    "分": ":",
    "秒": "",
}


def _squash(e: pl.Expr, extra: dict[str, str] | None = None) -> pl.Expr:
    """Fold full-width characters (plus ``extra`` replacements), collapse whitespace, trim.

    Case is left alone: codes upper-case afterwards, units and numbers must not (``mL`` vs ``ML``
    is irrelevant, but the glued unit is reported as written).
    """
    table = _FULLWIDTH if extra is None else _FULLWIDTH | extra
    return e.str.replace_many(table).str.replace_all(r"\s+", " ").str.strip_chars()


def _blank_to_null(e: pl.Expr) -> pl.Expr:
    # replace, not pl.when(e == "")...otherwise(e): that would evaluate e twice (see _staged)
    return e.replace("", None)


def _staged(**fields: pl.Expr) -> pl.Expr:
    """A struct of named intermediate results, extended stage by stage with ``struct.with_fields``.

    This is the let-binding of these expressions. Reusing a Python ``pl.Expr`` object in several
    places copies the whole sub-tree, and eager ``DataFrame.select`` does not run common
    sub-expression elimination: the first parse_date written that way took 32 s per 100k rows.
    Inside ``with_fields`` every ``pl.field(...)`` reads an already computed column instead.
    """
    return pl.struct(**fields)


def _result(stages: pl.Expr, **out: pl.Expr) -> pl.Expr:
    """The public struct ``out`` built from ``pl.field`` references to the last stage.

    ``name.keep()`` gives the result the input column's name, like any plain string expression,
    so ``with_columns(parse_date(pl.col("AESTDAT"), ...))`` replaces AESTDAT as expected.
    """
    return stages.struct.with_fields(_out=pl.struct(**out)).struct.field("_out").name.keep()


def clean_code(e: pl.Expr) -> pl.Expr:
    """Generic clean-up of a raw coded value: fold full-width, collapse whitespace, trim, upper.

    This is the key form of ``codelists.SYNONYMS`` (crf.md §4). Blank becomes null so that
    "nothing entered" is not mistaken for an unmapped code.
    """
    return _blank_to_null(_squash(e).str.to_uppercase())


# --------------------------------------------------------------------------------------------
# Codes (crf.md §4)
# --------------------------------------------------------------------------------------------


def _code_lookup(codelist: str) -> dict[str, str]:
    """Cleaned raw -> canonical, with ``codelists.canonical_code`` precedence (canonical first).

    Built per call (cheap) rather than cached so an entry added to SYNONYMS is honoured at once.
    """
    if codelist not in CODELISTS:
        raise KeyError(f"unknown codelist {codelist!r}")
    return {**SYNONYMS.get(codelist, {}), **{c: c for c in CODELISTS[codelist]}}


def map_code(e: pl.Expr, codelist: str) -> pl.Expr:
    """Canonical value of a raw code; an unmapped value comes back cleaned but unchanged.

    Never nulls an unmapped value: the ``isin`` schema check downstream must see it to raise
    the issue (crf.md §4).
    """
    return clean_code(e).replace(_code_lookup(codelist))


#: multi-select separators: ';' as staged, plus what sites type by hand (',' '，' '、' '；');
#: the full-width ones are already folded by clean_code except the ideographic comma.
_MULTI_SEP = r"\s*[;,、]\s*"


def map_multi(e: pl.Expr, codelist: str) -> pl.Expr:
    """Map each part of a multi-select and re-join with ';' in codelist order.

    Codelist order (not entry order) makes equal selections compare equal across formats:
    REDCap checkbox collapse and hand-typed lists order choices differently. Duplicates
    (``LUNG;肺``) collapse; unmapped parts are kept, after the canonical ones, for the issue.
    """
    lookup = _code_lookup(codelist)
    rank = {c: i for i, c in enumerate(CODELISTS[codelist])}
    parts = clean_code(e).str.replace_all(_MULTI_SEP, ";").str.split(";")
    mapped = parts.list.eval(pl.element().filter(pl.element() != "").replace(lookup).unique(maintain_order=True))
    ordered = mapped.list.eval(
        pl.element().sort_by(
            pl.element().replace_strict(rank, default=len(rank), return_dtype=pl.UInt32),
            maintain_order=True,
        )
    )
    return _blank_to_null(ordered.list.join(";"))


# --------------------------------------------------------------------------------------------
# Dates and times (crf.md §3)
# --------------------------------------------------------------------------------------------

#: "unknown" component tokens (UN day, UNK month, UNKN year; UK/NK are the CDISC spellings)
_U = "(?:UNKN|UNK|UN|UK|NK)"
#: whole values meaning "date/time unknown": not an error, just missing (crf.md §3)
_UNKNOWN_VALUES = ["UNK", "UNKN", "UN", "UK", "NK", "UNKNOWN", "不详", "未知"]
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH_NUMBER = {name: n for n, name in enumerate(_MONTH_NAMES, start=1)}
_DAYS_IN_MONTH = {1: 31, 2: 28, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}
#: Excel 1900 date system: serial 25569 is 1970-01-01 (the epoch of pl.Date). Valid from serial
#: 61 on, past Lotus's phantom 1900-02-29; only 5-digit serials are accepted anyway.
_EXCEL_UNIX_EPOCH = 25569

#: shared time-of-day fragment (named groups h, mi, s); [0-9] not \d, which is Unicode-wide
_TIME = r"(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})(?:\.[0-9]+)?)?"

#: One anchored alternation, one regex pass per value. Families are disjoint, so at most one
#: family's groups are non-null and the components can be coalesced across families.
_DATE_RE = (
    "^(?:"
    + "|".join(
        (
            # ISO-like, any of - / . as separator, 年月日 already rewritten: 2022-03-05, 2022/3/5,
            # 2022.03.05, 2022-03-UN(K), 2022-UN-05, 2022-03, 2022
            rf"(?P<iy>[0-9]{{4}})(?:[-/.](?P<im>[0-9]{{1,2}}|{_U})(?:[-/.](?P<id>[0-9]{{1,2}}|{_U}))?)?",
            # compact 20220305
            r"(?P<cy>[0-9]{4})(?P<cm>[0-9]{2})(?P<cd>[0-9]{2})",
            # day-month-name-year: UN-MAR-2022, 05MAR2022, UN-UNK-2022, UN-UN-UNKN, MARCH 2022
            (
                rf"(?:(?P<nd>[0-9]{{1,2}}|{_U})[-/ ]?)?(?:(?P<nm>{'|'.join(_MONTH_NAMES)})[A-Z]*\.?|{_U})"
                rf"[-/ ]?(?P<ny>[0-9]{{4}}|{_U})"
            ),
            # numeric with the year last: 05/03/2022 vs 3/25/2022, decided later
            r"(?P<da>[0-9]{1,2})[-/.](?P<db>[0-9]{1,2})[-/.](?P<dy>[0-9]{4})",
            # month/year: 03/2022 (unambiguous, day unknown)
            r"(?P<pm>[0-9]{1,2})[-/.](?P<py>[0-9]{4})",
            # Excel serial; a 4-digit number is a year (crf.md: "2022"), so 5 digits only
            r"(?P<xl>[0-9]{5})(?:\.[0-9]+)?",
        )
    )
    + rf")(?:[T ]{_TIME})?$"
)
_TIME_RE = rf"^(?:{_TIME}|(?P<ch>[0-9]{{1,2}})(?P<cmi>[0-9]{{2}}))$"
_UNKNOWN_TIME_RE = rf"^{_U}(?::{_U})*$"


def _datetime_text(e: pl.Expr) -> pl.Expr:
    """clean_code for date/time text, with 年月日/时分秒 turned into separators first."""
    s = _squash(e, _CJK_DATETIME).str.strip_chars_end(" -:").str.strip_chars()
    return _blank_to_null(s.str.to_uppercase())


F = pl.field


def _int(e: pl.Expr) -> pl.Expr:
    """Integer of a captured group; UN/UNK tokens and absent groups become null (= unknown)."""
    return e.cast(pl.Int32, strict=False)


def _pad2(e: pl.Expr) -> pl.Expr:
    return e.cast(pl.Utf8).str.zfill(2)


def _hhmm(h: pl.Expr, mi: pl.Expr, s: pl.Expr, *, keep_seconds: bool) -> tuple[pl.Expr, pl.Expr]:
    """(text HH:MM or HH:MM[:SS], validity) of integer components, shared by datetime and time.

    Arguments are meant to be ``pl.field`` references (each is used several times).
    """
    ok = (h.is_between(0, 23) & mi.is_between(0, 59) & (s.is_null() | s.is_between(0, 59))).fill_null(False)
    text = pl.concat_str([_pad2(h), pl.lit(":"), _pad2(mi)])
    if keep_seconds:
        text = pl.when(s.is_null()).then(text).otherwise(pl.concat_str([text, pl.lit(":"), _pad2(s)]))
    return text, ok


def _date_stages(e: pl.Expr, *, allow_partial: bool, min_year: int, max_year: int) -> pl.Expr:
    """Core of parse_date/parse_datetime as staged struct; the last stage holds
    ``iso``, ``status``, ``full`` (complete date), ``has_time``, ``time`` and ``time_ok``."""

    def g(name: str) -> pl.Expr:
        return F("g").struct.field(name)

    st = _staged(s=_datetime_text(e))
    st = st.struct.with_fields(g=F("s").str.extract_groups(_DATE_RE))
    st = st.struct.with_fields(
        excel_date=(_int(g("xl")) - _EXCEL_UNIX_EPOCH).cast(pl.Date),
        a=_int(g("da")),
        b=_int(g("db")),
        text_match=pl.any_horizontal(*(g(k).is_not_null() for k in ("iy", "cy", "ny", "dy", "py"))),
        y_text=pl.coalesce(_int(g("iy")), _int(g("cy")), _int(g("ny")), _int(g("dy")), _int(g("py"))),
        m_text=pl.coalesce(
            _int(g("im")),
            _int(g("cm")),
            g("nm").replace_strict(_MONTH_NUMBER, default=None, return_dtype=pl.Int32),
            _int(g("pm")),
        ),
        d_text=pl.coalesce(_int(g("id")), _int(g("cd")), _int(g("nd"))),
        h=_int(g("h")),
        mi=_int(g("mi")),
        sec=_int(g("s")),
        unknown_value=F("s").is_null() | F("s").is_in(_UNKNOWN_VALUES),
    )
    # D/M vs M/D: day-first unless the second part cannot be a month; equal parts read the same
    # either way; both parts 1..12 and different is undecidable (crf.md §3 "reject with issue").
    # A 5-digit number landing outside the study's years is not a date at all -> 'invalid'.
    st = st.struct.with_fields(
        is_excel=F("excel_date").dt.year().is_between(min_year, max_year).fill_null(False),
        second_is_day=F("b") > 12,
        ambiguous=(F("a").is_between(1, 12) & F("b").is_between(1, 12) & (F("a") != F("b"))).fill_null(False),
    )

    def excel(part: pl.Expr) -> pl.Expr:
        return pl.when(F("is_excel")).then(part.cast(pl.Int32))

    st = st.struct.with_fields(
        y=pl.coalesce(F("y_text"), excel(F("excel_date").dt.year())),
        m=pl.coalesce(F("m_text"), pl.when(F("second_is_day")).then(F("a")).otherwise(F("b")), excel(F("excel_date").dt.month())),
        d=pl.coalesce(F("d_text"), pl.when(F("second_is_day")).then(F("b")).otherwise(F("a")), excel(F("excel_date").dt.day())),
        matched=F("text_match") | F("is_excel"),
    )
    y, m, d = F("y"), F("m"), F("d")
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    month_days = m.replace_strict(_DAYS_IN_MONTH, default=None, return_dtype=pl.Int32) + ((m == 2) & leap).cast(pl.Int32)
    time_text, time_ok = _hhmm(F("h"), F("mi"), F("sec"), keep_seconds=True)
    st = st.struct.with_fields(
        # unknown year makes the whole date unknown: ISO 8601 cannot carry a day/month without it
        unknown=F("unknown_value") | (F("matched") & y.is_null()),
        parts_ok=((m.is_null() | m.is_between(1, 12)) & (d.is_null() | d.is_between(1, pl.coalesce(month_days, 31)))).fill_null(False),
        in_range=y.is_between(min_year, max_year).fill_null(False),
        full=m.is_not_null() & d.is_not_null(),
        has_time=F("h").is_not_null(),
        time=time_text,
        time_ok=time_ok,
        iso=pl.when(m.is_not_null() & d.is_not_null())
        .then(pl.concat_str([y.cast(pl.Utf8), pl.lit("-"), _pad2(m), pl.lit("-"), _pad2(d)]))
        .when(m.is_not_null())
        .then(pl.concat_str([y.cast(pl.Utf8), pl.lit("-"), _pad2(m)]))
        .when(d.is_not_null())
        .then(pl.concat_str([y.cast(pl.Utf8), pl.lit("---"), _pad2(d)]))  # ISO 8601 month-unknown form
        .otherwise(y.cast(pl.Utf8)),
    )
    status = (
        pl.when(F("unknown"))
        .then(None)
        .when(~F("matched"))
        .then(pl.lit("invalid"))
        .when(F("ambiguous"))
        .then(pl.lit("ambiguous"))
        .when(~F("parts_ok"))
        .then(pl.lit("invalid"))
        .when(~F("in_range"))
        .then(pl.lit("out_of_range"))
    )
    if not allow_partial:
        status = status.when(~F("full")).then(pl.lit("partial_not_allowed"))
    status = status.when(F("is_excel")).then(pl.lit("excel")).otherwise(None)
    return st.struct.with_fields(status=status)


def _usable(status: pl.Expr) -> pl.Expr:
    """A value may be kept when there is no status or only the informational 'excel' one."""
    return status.is_null() | (status == "excel")


def parse_date(e: pl.Expr, *, allow_partial: bool, min_year: int = 1900, max_year: int) -> pl.Expr:
    """Raw date text -> struct{value: ISO 8601 text (partial kept, never imputed), status}.

    Statuses: 'excel' (converted serial, value kept), 'invalid', 'ambiguous',
    'partial_not_allowed', 'out_of_range' (value null for these). A time after the date is
    accepted and ignored here (use parse_datetime to keep it). ``max_year`` is the DCO year.
    """
    st = _date_stages(e, allow_partial=allow_partial, min_year=min_year, max_year=max_year)
    return _result(st, value=pl.when(_usable(F("status"))).then(F("iso")), status=F("status"))


def parse_datetime(e: pl.Expr, *, allow_partial: bool, min_year: int = 1900, max_year: int) -> pl.Expr:
    """As parse_date, but a valid full date followed by a time gives 'YYYY-MM-DDTHH:MM[:SS]'.

    Seconds are kept only when entered (SDTM precision reflects what was collected). An
    impossible time (25:00) makes the whole value 'invalid'; a time after a partial date is
    dropped because ISO 8601 cannot place it.
    """
    st = _date_stages(e, allow_partial=allow_partial, min_year=min_year, max_year=max_year)
    bad_time = _usable(F("status")) & F("has_time") & ~F("time_ok")
    st = st.struct.with_fields(status=pl.when(bad_time).then(pl.lit("invalid")).otherwise(F("status")))
    with_time = pl.concat_str([F("iso"), pl.lit("T"), F("time")])
    value = pl.when(_usable(F("status"))).then(pl.when(F("full") & F("has_time")).then(with_time).otherwise(F("iso")))
    return _result(st, value=value, status=F("status"))


def parse_time(e: pl.Expr) -> pl.Expr:
    """Raw time text (H:MM, HH:MM, HH:MM:SS, HHMM, 14时30分) -> struct{value 'HH:MM', status}.

    Seconds are dropped: the CRF collects HH:MM. UNK / UN:UN is unknown (null, no status).
    """
    st = _staged(s=_datetime_text(e))
    st = st.struct.with_fields(g=F("s").str.extract_groups(_TIME_RE))
    g = F("g").struct.field
    st = st.struct.with_fields(
        h=pl.coalesce(_int(g("h")), _int(g("ch"))),
        mi=pl.coalesce(_int(g("mi")), _int(g("cmi"))),
        sec=_int(g("s")),
        unknown=F("s").is_null() | F("s").is_in(_UNKNOWN_VALUES) | F("s").str.contains(_UNKNOWN_TIME_RE),
    )
    hhmm, ok = _hhmm(F("h"), F("mi"), F("sec"), keep_seconds=False)
    st = st.struct.with_fields(status=pl.when(F("unknown")).then(None).when(~ok).then(pl.lit("invalid")).otherwise(None))
    return _result(st, value=pl.when(F("status").is_null()).then(hhmm), status=F("status"))


# --------------------------------------------------------------------------------------------
# Numbers (crf.md §5)
# --------------------------------------------------------------------------------------------

#: comparator spellings -> canonical; ＜＞ are folded to <> before this
_COMPARATORS = {"=<": "<=", "=>": ">=", "≤": "<=", "≥": ">=", "<": "<", ">": ">", "<=": "<=", ">=": ">="}
#: comparator, number (decimal '.' or ','), optional unit glued or after a space. The unit must
#: start with a non-digit, non-separator character, so '1,250,000' or '3.5-5.3' stay invalid.
_NUMBER_RE = (
    r"^(?P<cmp><=|>=|=<|=>|≤|≥|<|>)?\s*"
    r"(?P<num>[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+))"
    r"\s*(?P<unit>[^0-9\s.,+\-<>=].*)?$"
)
#: '1,250': thousands separator or decimal comma? Undecidable (crf.md §5). A leading 0
#: ('0,125') cannot start a thousands group, so that one is a plain decimal comma.
_THOUSANDS_LIKE = r"^[+-]?[1-9][0-9]{0,2},[0-9]{3}$"
_NOT_DONE = ["ND", "N/D", "NOT DONE", "未做", "未查", "未检", "未检测"]


def parse_number(e: pl.Expr, *, integer: bool = False) -> pl.Expr:
    """Raw numeric text -> struct{value Float64, comparator, unit, status}.

    Decimal comma and full-width digits accepted; a glued unit ('61kg', '36.8℃') is split off
    as written for the unit helpers below. '<0.5' keeps comparator '<' and value 0.5 so the
    caller can build LBSTRESC "<0.5" with LBSTRESN null. Statuses: 'not_done' (ND/未做),
    'invalid', 'ambiguous' ('1,250'), 'not_integer' (integer=True and a fraction); value is null
    whenever status is set. Comparator and unit are returned whenever the pattern matched.
    """
    st = _staged(s=_blank_to_null(_squash(e)))
    st = st.struct.with_fields(g=F("s").str.extract_groups(_NUMBER_RE))
    st = st.struct.with_fields(num=F("g").struct.field("num"))
    st = st.struct.with_fields(parsed=F("num").str.replace(",", ".", literal=True).cast(pl.Float64, strict=False))
    status = (
        pl.when(F("s").is_null())
        .then(None)
        .when(F("s").str.to_uppercase().is_in(_NOT_DONE))
        .then(pl.lit("not_done"))
        .when(F("parsed").is_null())
        .then(pl.lit("invalid"))
        .when(F("num").str.contains(_THOUSANDS_LIKE))
        .then(pl.lit("ambiguous"))
    )
    if integer:
        status = status.when(F("parsed") != F("parsed").floor()).then(pl.lit("not_integer"))
    st = st.struct.with_fields(status=status.otherwise(None))
    return _result(
        st,
        value=pl.when(F("status").is_null()).then(F("parsed")),
        comparator=F("g").struct.field("cmp").replace(_COMPARATORS),
        unit=F("g").struct.field("unit").str.strip_chars(),
        status=F("status"),
    )


# --------------------------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------------------------


def lab_unit_key(e: pl.Expr) -> pl.Expr:
    """Lookup-key form of a raw unit, as the keys of codelists.LAB_UNITS are written.

    Lower-cased, full-width folded, spaces removed, Greek mu (U+03BC) -> micro sign (U+00B5)
    because both are typed for "micro" and the catalogue uses the micro sign; '×' and
    superscripts are kept since the catalogue lists them. Used for VS/TR units too.
    """
    key = _squash(e).str.to_lowercase().str.replace_many({"μ": "µ", " ": ""})
    return _blank_to_null(key)


def _to_standard(
    value: pl.Expr,
    unit: pl.Expr,
    factors: dict[str, float],
    *,
    offsets: dict[str, float] | None = None,
    unitless: Callable[[pl.Expr], pl.Expr] = lambda v: pl.lit(1.0),
) -> pl.Expr:
    """(value + offset[unit]) * factor[unit]; ``unitless(value)`` is the factor when no unit.

    An unknown unit gives null on purpose: a number on an unknown scale is unusable.
    """
    st = _staged(v=value.cast(pl.Float64), k=lab_unit_key(unit))
    factor = pl.when(F("k").is_null()).then(unitless(F("v"))).otherwise(
        F("k").replace_strict(factors, default=None, return_dtype=pl.Float64)
    )
    shifted = F("v") + F("k").replace_strict(offsets, default=0.0, return_dtype=pl.Float64) if offsets else F("v")
    return st.struct.with_fields(_v=shifted * factor).struct.field("_v").name.keep()


_LENGTH_TO_MM = {"mm": 1.0, "毫米": 1.0, "cm": 10.0, "厘米": 10.0}
_POUND_KG = 0.45359237
_WEIGHT_TO_KG = {"kg": 1.0, "公斤": 1.0, "千克": 1.0, "斤": 0.5, "g": 0.001, "克": 0.001, "lb": _POUND_KG, "lbs": _POUND_KG}
_HEIGHT_TO_CM = {"cm": 1.0, "厘米": 1.0, "m": 100.0, "米": 100.0, "mm": 0.1, "in": 2.54}
_CELSIUS = ("℃", "°c", "ºc", "c", "摄氏度", "度")
_FAHRENHEIT = ("℉", "°f", "ºf", "f", "华氏度")
_TEMP_FACTOR = {u: 1.0 for u in _CELSIUS} | {u: 5.0 / 9.0 for u in _FAHRENHEIT}
_TEMP_OFFSET = {u: -32.0 for u in _FAHRENHEIT}


def length_to_mm(value: pl.Expr, unit: pl.Expr) -> pl.Expr:
    """Tumour diameter in mm (TRDIAM is collected in mm, so no unit means mm)."""
    return _to_standard(value, unit, _LENGTH_TO_MM)


def weight_to_kg(value: pl.Expr, unit: pl.Expr) -> pl.Expr:
    """Body weight in kg; 斤 (jin) = 0.5 kg is common on Chinese CRFs (crf.md §2 VS)."""
    return _to_standard(value, unit, _WEIGHT_TO_KG)


def height_to_cm(value: pl.Expr, unit: pl.Expr) -> pl.Expr:
    """Height in cm; a unit-less value below 3 can only be metres ('1.70') (crf.md §2 VS)."""
    return _to_standard(value, unit, _HEIGHT_TO_CM, unitless=lambda v: pl.when(v < 3).then(100.0).otherwise(1.0))


def temp_to_c(value: pl.Expr, unit: pl.Expr) -> pl.Expr:
    """Body temperature in °C; Fahrenheit is converted with (F - 32) * 5/9."""
    return _to_standard(value, unit, _TEMP_FACTOR, offsets=_TEMP_OFFSET)


def lab_factor(test: pl.Expr, unit_key: pl.Expr) -> pl.Expr:
    """Factor from the raw unit to the test's standard unit, null when not in the catalogue.

    ``test`` is the canonical LBTEST (after map_code), ``unit_key`` the output of lab_unit_key.
    One dictionary lookup on 'TEST|unit' instead of a join keeps it a plain expression; the
    table is rebuilt per call so entries added to LAB_UNITS count. A missing unit or test gives
    a null key, hence a null factor (LB01: unit not in catalogue).
    """
    table = {f"{t}|{u}": f for t, (_, units) in LAB_UNITS.items() for u, f in units.items()}
    key = pl.concat_str([test, pl.lit("|"), unit_key])
    return key.replace_strict(table, default=None, return_dtype=pl.Float64)


def lab_std_unit(test: pl.Expr) -> pl.Expr:
    """Standard unit of a canonical LBTEST (codelists.LAB_UNITS), null for an unknown test."""
    return test.replace_strict({t: std for t, (std, _) in LAB_UNITS.items()}, default=None, return_dtype=pl.Utf8)


# --------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------


def pad_digits(e: pl.Expr, digits: int) -> pl.Expr:
    """Zero-pad an all-digit key to ``digits`` (3: '1' -> '001'); anything else is left for
    KEY01.

    Sites drop leading zeros (spreadsheets do it for them), so the pad is repair, not guessing.
    Longer numbers are never truncated; blank becomes null. Anchored regex replacements
    instead of when/contains/zfill keep the input evaluated once.
    """
    s = _blank_to_null(e.str.strip_chars())
    for short in range(1, digits):
        s = s.str.replace(rf"^([0-9]{{{short}}})$", "0" * (digits - short) + "${1}")
    return s


def pad_siteid(e: pl.Expr) -> pl.Expr:
    """SITEID: three digits ('1' -> '001')."""
    return pad_digits(e, 3)


def pad_subjid(e: pl.Expr) -> pl.Expr:
    """SUBJID: ``SUBJID_DIGITS`` digits (trial configuration; 3 in this trial)."""
    return pad_digits(e, SUBJID_DIGITS)
