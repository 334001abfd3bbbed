"""Reading an SDTM delivery (ours or someone else's) into polars frames for the ADaM layer.

:func:`read_sdtm_folder` accepts a folder (searched recursively) or a ``.zip`` (extracted with
:func:`pipeline.io.archive.safe_extract` into a temporary folder first) holding one file per
domain in any of: SAS XPT v5 (``.xpt``), CDISC Dataset-JSON (``.json`` with ``columns`` /
``rows``; the 1.0 ``clinicalData.itemGroupData`` layout is understood too), parquet or CSV.

Normalisation (the same for every format, so derivations see one shape):
- domain name = file stem lower-case; a split of a known domain (``lbch``, ``lbhe``, ``lbur``,
  ``qsda`` ...) is concatenated into the parent (``lb``, ``qs``); ``supp<xx><suffix>`` into
  ``supp<xx>``; files whose stem is not a domain-like name are skipped;
- column names upper-case; character values stripped, empty strings -> null (XPT has no
  character null); numeric NaN -> null;
- when the same domain exists in several formats (our exports ship XPT and Dataset-JSON),
  only one format is read: XPT, then Dataset-JSON, parquet, CSV.

:func:`require` checks the domains/variables a derivation needs and raises
:class:`SdtmInputError` naming what is missing and which ADaM dataset needs it.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import polars as pl

from pipeline.io.archive import is_zip, safe_extract

#: SDTMIG 3.x domain codes (lower case) whose splits ``<xx><suffix>`` are recognised
KNOWN_DOMAINS: frozenset[str] = frozenset(
    "dm co se sv cm ec ex ml pr su ag ae ce dv ds ho mh da dd eg fa ft ie is lb mb mi mk mo ms "
    "nv oe pc pe pp qs re rp rs sc ss tr tu ur vs ta te tv td tm ti ts tx ".split()
    + ["relrec"]
)
#: preference when a domain is delivered in several formats
FORMAT_ORDER: tuple[str, ...] = (".xpt", ".json", ".parquet", ".csv")
_STEM = re.compile(r"^(?:supp)?[a-z]{2}[a-z0-9]*$|^relrec$")


class SdtmInputError(ValueError):
    """An SDTM delivery cannot feed the ADaM derivations (missing domain or variable)."""


# ---------------------------------------------------------------------------------------------
# naming
# ---------------------------------------------------------------------------------------------
def domain_key(stem: str) -> str | None:
    """Domain a file belongs to, from its stem (lower-case).

    Rule: a known domain (``lb``) -> itself; ``supp<xx>...`` -> ``supp<xx>``; ``<xx><suffix>``
    with ``xx`` a known domain (``lbch``) -> ``xx``; any other domain-like stem (a custom
    domain) -> itself; non-domain names (``define``, ``manifest``) -> None.

    Example: ``LBCH`` -> ``lb``; ``supplbhe`` -> ``supplb``; ``ts`` -> ``ts``; ``define`` -> None.
    """
    s = stem.lower()
    if s in KNOWN_DOMAINS:
        return s
    if not _STEM.match(s):
        return None
    if s.startswith("supp") and len(s) >= 6:
        return "supp" + s[4:6]
    if s[:2] in KNOWN_DOMAINS:
        return s[:2]
    return s if len(s) <= 4 else None


# ---------------------------------------------------------------------------------------------
# readers (one per format); each returns a polars frame or None when the file is not a dataset
# ---------------------------------------------------------------------------------------------
def _read_xpt(path: Path) -> pl.DataFrame:
    """XPT v5 via pyreadstat; retried with ``WINDOWS-1252`` when the bytes are not UTF-8."""
    import pyreadstat

    try:
        pdf, _ = pyreadstat.read_xport(str(path))
    except (UnicodeDecodeError, pyreadstat.ReadstatError) as exc:
        if isinstance(exc, pyreadstat.ReadstatError) and "decod" not in str(exc).lower() and "unicode" not in str(exc).lower():
            raise
        pdf, _ = pyreadstat.read_xport(str(path), encoding="WINDOWS-1252")
    return pl.from_pandas(pdf, nan_to_null=True)


def _read_dataset_json(path: Path) -> pl.DataFrame | None:
    """Dataset-JSON 1.1 (``columns`` + ``rows``) or 1.0 (``clinicalData.itemGroupData``)."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    if not isinstance(doc, dict):
        return None
    if "columns" in doc and "rows" in doc:
        cols, rows = doc["columns"], doc["rows"]
    else:
        groups = (doc.get("clinicalData") or doc.get("referenceData") or {}).get("itemGroupData") or {}
        if not groups:
            return None
        grp = next(iter(groups.values()))
        cols, rows = grp.get("items", []), grp.get("itemData", [])
    names = [c["name"] for c in cols]
    if not names:
        return None
    num = {c["name"] for c in cols if c.get("dataType") in ("integer", "float", "double", "decimal")}
    data = {n: [r[i] if i < len(r) else None for r in rows] for i, n in enumerate(names)}
    return pl.DataFrame(
        {n: pl.Series(n, v, dtype=pl.Float64 if n in num else pl.Utf8, strict=False) for n, v in data.items()}
    )


def _read_file(path: Path) -> pl.DataFrame | None:
    ext = path.suffix.lower()
    if ext == ".xpt":
        return _read_xpt(path)
    if ext == ".json":
        return _read_dataset_json(path)
    if ext == ".parquet":
        return pl.read_parquet(path)
    if ext == ".csv":
        return pl.read_csv(path, infer_schema_length=10000)
    return None


def _normalise(df: pl.DataFrame) -> pl.DataFrame:
    """Upper-case column names; strip text, empty text -> null; NaN -> null."""
    df = df.rename({c: c.upper() for c in df.columns})
    exprs = []
    for name, dtype in df.schema.items():
        if dtype == pl.Utf8:
            s = pl.col(name).str.strip_chars()
            exprs.append(pl.when(s == "").then(pl.lit(None, pl.Utf8)).otherwise(s).alias(name))
        elif dtype.is_float():
            exprs.append(pl.col(name).fill_nan(None))
    return df.with_columns(exprs) if exprs else df


# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------
def _data_files(root: Path) -> list[Path]:
    files = [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in FORMAT_ORDER]
    return sorted(files, key=lambda p: (p.stem.lower(), FORMAT_ORDER.index(p.suffix.lower()), str(p)))


def _read_dir(root: Path) -> dict[str, pl.DataFrame]:
    chosen: dict[str, Path] = {}
    for p in _data_files(root):
        chosen.setdefault(p.stem.lower(), p)  # first = preferred format for this stem
    parts: dict[str, list[pl.DataFrame]] = {}
    for stem, p in sorted(chosen.items()):
        key = domain_key(stem)
        if key is None:
            continue
        try:
            df = _read_file(p)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SdtmInputError(f"{p.name}: not a readable SDTM dataset ({exc})") from None
        if df is None:
            continue
        parts.setdefault(key, []).append(_normalise(df))
    return {k: (v[0] if len(v) == 1 else pl.concat(v, how="diagonal_relaxed")) for k, v in parts.items()}


def read_sdtm_folder(path: str | Path) -> dict[str, pl.DataFrame]:
    """Every SDTM domain of a folder or zip, as ``{domain (lower-case): DataFrame}``.

    Rule: see the module docstring (formats, split domains, normalisation).

    Example: the CDISC pilot zip -> ``{"dm": 306 rows, "lb": lbch+lbhe+lbur, "supplb": ..., ...}``.
    """
    path = Path(path)
    if not path.exists():
        raise SdtmInputError(f"{path}: no such SDTM folder or zip")
    if is_zip(path):
        with tempfile.TemporaryDirectory(prefix="sdtm_in_") as tmp:
            dest = Path(tmp) / "x"
            safe_extract(path, dest)
            return _read_dir(dest)
    if not path.is_dir():
        raise SdtmInputError(f"{path}: expected a folder or a .zip of SDTM datasets")
    return _read_dir(path)


def require(
    domains: Mapping[str, pl.DataFrame],
    needed: Mapping[str, Iterable[str]],
    *,
    dataset: str = "ADaM",
) -> None:
    """Raise :class:`SdtmInputError` unless every domain of ``needed`` exists with its variables.

    Args:
        domains: frames from :func:`read_sdtm_folder` (lower-case keys).
        needed: ``{domain: [variables]}``, e.g. ``{"dm": ["USUBJID", "ARMCD"]}``.
        dataset: the ADaM dataset that needs them (named in the message).

    Example: no ``dm`` -> ``SdtmInputError("ADSL needs SDTM domain DM (dm.xpt/.json/...), not found ...")``.
    """
    problems = []
    for dom, cols in needed.items():
        df = domains.get(dom.lower())
        if df is None:
            problems.append(f"{dataset} needs SDTM domain {dom.upper()} ({dom.lower()}.xpt/.json/.parquet/.csv), not found")
            continue
        miss = [c for c in cols if c.upper() not in df.columns]
        if miss:
            problems.append(f"{dataset} needs variable(s) {', '.join(miss)} of SDTM domain {dom.upper()}, missing")
    if problems:
        have = ", ".join(sorted(domains)) or "none"
        raise SdtmInputError("; ".join(problems) + f" (domains present: {have})")
