"""Number formatting shared by the figures and the HTML report (endpoints.md §0).

Missing estimates are NULL in the endpoint tables and are shown as "NE", never as 0;
percentages have 1 decimal.
"""

from __future__ import annotations

import math

NE = "NE"


def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_num(value, digits: int = 1) -> str:
    """``value`` with ``digits`` decimals; "NE" when missing."""
    if is_missing(value):
        return NE
    return f"{float(value):.{digits}f}"


def fmt_count(value) -> str:
    return NE if is_missing(value) else str(int(value))


def fmt_pct(value) -> str:
    """``value%`` to 1 decimal; "NE" (without %) when missing."""
    return NE if is_missing(value) else f"{fmt_num(value)}%"


def fmt_n_pct(n, pct) -> str:
    """``n (pct%)`` with the percentage to 1 decimal (``n (NE)`` when N = 0)."""
    return f"{fmt_count(n)} ({fmt_pct(pct)})"


def fmt_range(lo, hi, digits: int = 1) -> str:
    """``lo–hi`` with an en dash; each end "NE" when missing."""
    return f"{fmt_num(lo, digits)}–{fmt_num(hi, digits)}"
