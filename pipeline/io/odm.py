"""CDISC ODM 1.3.2 XML (crf.md §1.3), snapshot or transactional, streamed with SAX.

The parser is defusedxml's expat reader with DTDs, entities and external references all
forbidden (an ODM file needs none of them), so billion-laughs, XXE and external DTDs are
refused before any expansion happens; :class:`UnsafeExportError` names the file.

Memory stays bounded for a 1 GB file: the handler keeps only the current subject / event /
form / item group, and completed item groups are flushed in batches to one temporary Parquet
file per form. Latest-wins resolution (same item-group key repeated: latest
``AuditRecord/DateTimeStamp``, else the later in file; ``TransactionType="Remove"`` deletes the
group) and code-list decoding then run as Polars queries over those files, which also makes
decoding independent of whether ``MetaDataVersion`` comes before or after ``ClinicalData``.

Vendor extensions: elements in a namespace other than ODM's are skipped with their subtree,
attributes outside the ODM namespace are ignored, except a last-modified attribute such as
``OpenClinica:DateUpdated`` which feeds LASTMOD when the group has no AuditRecord.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from xml.sax import SAXException
from xml.sax.handler import ContentHandler, feature_namespaces

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from defusedxml import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser

from pipeline.forms import FORMS, KEY_COLUMNS, STUDYID, VISIT_BY_OID, parse_subject_key

from ._staging import FormResult, write_empty, write_staged
from .errors import ExportFormatError, StructuralError, UnsafeExportError

ODM_NS_PREFIX = "http://www.cdisc.org/ns/odm/"
XML_NS = "http://www.w3.org/XML/1998/namespace"
#: local names of vendor attributes that carry a last-modified time (OpenClinica and similar)
LASTMOD_ATTRIBUTES = frozenset({"DateUpdated", "UpdatedDate", "DateLastModified", "LastModifiedDate", "LastModified"})
UNASSIGNED = "*"
_BATCH = 20_000
_HELPER = ("SRC_FILE", "SRC_ROW", "LASTMOD", "_seq", "_ts", "_remove")


def _parse_ts(text: str | None) -> datetime | None:
    """DateTimeStamp -> aware UTC datetime for ordering (naive = UTC); None if unparseable."""
    if not text:
        return None
    try:
        ts = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def _latest(stamps: list[str]) -> str | None:
    """The latest of item-level DateTimeStamps (a group without its own AuditRecord)."""
    floor = datetime.min.replace(tzinfo=timezone.utc)
    return max(stamps, key=lambda s: _parse_ts(s) or floor) if stamps else None


def _arrow_schema(form: str) -> pa.Schema:
    text = [pa.field(c, pa.string()) for c in KEY_COLUMNS + FORMS[form].item_names + ("SRC_FILE", "LASTMOD")]
    return pa.schema(
        text
        + [
            pa.field("SRC_ROW", pa.int64()),
            pa.field("_seq", pa.int64()),
            pa.field("_ts", pa.timestamp("us", tz="UTC")),
            pa.field("_remove", pa.bool_()),
        ]
    )


class _FormSink:
    """Batches completed item groups of one form into a temporary Parquet file."""

    def __init__(self, form: str, path: Path):
        self.form, self.path = form, path
        self.schema = _arrow_schema(form)
        self.rows: list[dict] = []
        self.writer: pq.ParquetWriter | None = None

    def add(self, row: dict) -> None:
        self.rows.append(row)
        if len(self.rows) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        cols = {name: [r.get(name) for r in self.rows] for name in self.schema.names}
        table = pa.Table.from_pydict(cols, schema=self.schema)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, self.schema)
        self.writer.write_table(table)
        self.rows.clear()

    def close(self) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.close()


@dataclass
class _Group:
    form: str
    keys: dict
    line: int
    remove: bool
    vendor_ts: str | None
    items: dict = field(default_factory=dict)
    audit: str | None = None
    item_audits: list = field(default_factory=list)


class OdmHandler(ContentHandler):
    """SAX handler: metadata (ItemDef -> CodeList) and clinical data item groups -> sinks."""

    def __init__(self, src: str, tmp_dir: Path, sinks: dict[str, _FormSink], seq_start: int = 0):
        super().__init__()
        self.src, self.tmp_dir, self.sinks = src, tmp_dir, sinks
        self.seq = seq_start
        self.transactional = False  # FileType="Transactional": later copies supersede earlier ones
        self.locator = None
        self.stack: list[str] = []  # local names of open ODM elements
        self.skip = 0  # depth inside a vendor element or an unknown form
        self.text: list[str] | None = None
        # metadata
        self.item_codelist: dict[str, str] = {}
        self.codelists: dict[str, dict[str, str]] = {}
        self._itemdef = self._codelist = self._coded = None
        self._decodes: list[tuple[str | None, str]] = []
        self._lang: str | None = None
        # clinical data context
        self.study = STUDYID
        self.ctx: dict[str, str | None] = {}
        self.form: str | None = None
        self.form_audit: str | None = None
        self.form_vendor_ts: str | None = None
        self.group: _Group | None = None
        self.item: tuple[str, bool] | None = None  # (item name or None, typed?) of the open ItemData*
        self._item_oid: str | None = None
        self._item_null = False
        self._audit_target: str | None = None
        self.ignored: dict[str, set[str]] = {}
        # element dispatch tables, built once (a 1 GB file has tens of millions of elements)
        self._starts = {n[len("_start_"):]: getattr(self, n) for n in dir(self) if n.startswith("_start_")}
        self._ends = {n[len("_end_"):]: getattr(self, n) for n in dir(self) if n.startswith("_end_")}

    # -- plumbing ---------------------------------------------------------------------------
    def setDocumentLocator(self, locator):
        self.locator = locator

    def characters(self, content):
        if self.text is not None:
            self.text.append(content)

    def _take_text(self) -> str:
        out = "".join(self.text or [])
        self.text = None
        return out

    @staticmethod
    def _attr(attrs, name: str) -> str | None:
        return attrs.get((None, name))

    @staticmethod
    def _vendor_ts(attrs) -> str | None:
        for (uri, local), value in attrs.items():
            if uri and not uri.startswith(ODM_NS_PREFIX) and local in LASTMOD_ATTRIBUTES:
                return value
        return None

    def _ignore(self, form: str, name: str) -> None:
        self.ignored.setdefault(form, set()).add(name)

    # -- SAX callbacks ----------------------------------------------------------------------
    def startElementNS(self, name, qname, attrs):
        uri, local = name
        if self.skip or (uri is not None and not uri.startswith(ODM_NS_PREFIX)):
            self.skip += 1
            return
        self.stack.append(local)
        start = self._starts.get(local)
        if start is not None:
            start(attrs)
        elif local.startswith("ItemData"):  # typed ItemDataString / ItemDataInteger / ...
            self._open_item(attrs, typed=True)

    def endElementNS(self, name, qname):
        if self.skip:
            self.skip -= 1
            return
        local = self.stack.pop()
        end = self._ends.get(local)
        if end is not None:
            end()
        elif local.startswith("ItemData"):
            self._close_item()

    # -- metadata ---------------------------------------------------------------------------
    def _start_ItemDef(self, attrs):
        self._itemdef = self._attr(attrs, "OID")

    def _start_CodeListRef(self, attrs):
        if self._itemdef and self.stack[-2:-1] == ["ItemDef"]:
            self.item_codelist[self._itemdef] = self._attr(attrs, "CodeListOID")

    def _end_ItemDef(self):
        self._itemdef = None

    def _start_CodeList(self, attrs):
        self._codelist = self._attr(attrs, "OID")
        self.codelists.setdefault(self._codelist, {})

    def _start_CodeListItem(self, attrs):
        self._coded, self._decodes = self._attr(attrs, "CodedValue"), []

    def _start_TranslatedText(self, attrs):
        self._lang = attrs.get((XML_NS, "lang"))
        self.text = []

    def _end_TranslatedText(self):
        text = self._take_text()
        if self._coded is not None:
            self._decodes.append((self._lang, text))

    def _end_CodeListItem(self):
        """Prefer the English (or language-less) decode; else the first one given."""
        if self._codelist and self._coded is not None and self._decodes:
            preferred = [t for lang, t in self._decodes if lang is None or lang.lower().startswith("en")]
            self.codelists[self._codelist][self._coded] = (preferred or [self._decodes[0][1]])[0]
        self._coded = None

    def _start_ODM(self, attrs):
        # only a transactional file carries an audit history in which a later copy supersedes
        if (self._attr(attrs, "FileType") or "").lower() == "transactional":
            self.transactional = True

    # -- clinical data ----------------------------------------------------------------------
    def _start_ClinicalData(self, attrs):
        oid = self._attr(attrs, "StudyOID") or STUDYID
        self.study = oid[2:] if oid.startswith("S_") else oid

    def _start_SubjectData(self, attrs):
        siteid, subjid = parse_subject_key(self._attr(attrs, "SubjectKey") or "")
        self.ctx = {"STUDYID": self.study, "SITEID": siteid, "SUBJID": subjid}

    def _start_StudyEventData(self, attrs):
        oid = self._attr(attrs, "StudyEventOID") or ""
        visit = VISIT_BY_OID.get(oid)
        self.ctx["VISIT"] = visit.name if visit else oid  # unknown OIDs kept verbatim for validation
        self.ctx["VISITREP"] = self._attr(attrs, "StudyEventRepeatKey") or "1"

    def _start_FormData(self, attrs):
        oid = self._attr(attrs, "FormOID") or ""
        form = oid[2:] if oid.startswith("F_") else oid
        if form not in FORMS:
            self._ignore(UNASSIGNED, oid)
            self.stack.pop()
            self.skip = 1
            return
        self.form = form
        self.ctx["FORMREP"] = self._attr(attrs, "FormRepeatKey") or "1"
        self.form_audit, self.form_vendor_ts = None, self._vendor_ts(attrs)

    def _end_FormData(self):
        self.form = None

    def _start_ItemGroupData(self, attrs):
        if self.form is None:
            return
        keys = dict(self.ctx, IGREP=self._attr(attrs, "ItemGroupRepeatKey") or "1")
        line = self.locator.getLineNumber() if self.locator else None
        remove = (self._attr(attrs, "TransactionType") or "").lower() == "remove"
        self.group = _Group(self.form, keys, line, remove, self._vendor_ts(attrs))

    def _end_ItemGroupData(self):
        g, self.group = self.group, None
        if g is None:
            return
        stamp = g.audit or _latest(g.item_audits)
        lastmod = stamp or g.vendor_ts or self.form_audit or self.form_vendor_ts
        self.seq += 1
        row = dict(g.keys, **g.items)
        row.update(SRC_FILE=self.src, SRC_ROW=g.line, LASTMOD=lastmod, _seq=self.seq, _ts=_parse_ts(lastmod), _remove=g.remove)
        sink = self.sinks.get(g.form)
        if sink is None:
            sink = self.sinks[g.form] = _FormSink(g.form, self.tmp_dir / f"{g.form}.odm.parquet")
        sink.add(row)

    def _start_ItemData(self, attrs):
        self._open_item(attrs, typed=False)

    def _end_ItemData(self):
        self._close_item()

    def _open_item(self, attrs, typed: bool):
        if self.group is None:
            return
        oid = self._attr(attrs, "ItemOID") or ""
        prefix = f"I_{self.group.form}_"
        item = oid[len(prefix):] if oid.startswith(prefix) else None
        if item not in FORMS[self.group.form].item_names:
            self._ignore(self.group.form, item or oid)
            item = None
        is_null = (self._attr(attrs, "IsNull") or "").lower() == "yes"
        removed = (self._attr(attrs, "TransactionType") or "").lower() == "remove"
        self.item = (item, typed)
        self._item_null = is_null or removed
        if typed:
            self.text = []
        elif item is not None:
            self.group.items[item] = None if self._item_null else self._attr(attrs, "Value")

    def _close_item(self):
        if self.item is None:
            return
        item, typed = self.item
        if typed:
            text = self._take_text()
            if item is not None and self.group is not None:
                self.group.items[item] = None if self._item_null else text
        self.item = None

    def _start_AuditRecord(self, attrs):
        self._audit_target = self.stack[-2] if len(self.stack) > 1 else None

    def _start_DateTimeStamp(self, attrs):
        self.text = []

    def _end_DateTimeStamp(self):
        stamp = self._take_text().strip()
        target = self._audit_target
        if target == "ItemGroupData" and self.group is not None:
            self.group.audit = stamp
        elif target and target.startswith("ItemData") and self.group is not None:
            self.group.item_audits.append(stamp)
        elif target == "FormData":
            self.form_audit = stamp


def _parse_file(path: Path, src: str, handler: OdmHandler) -> None:
    parser = DefusedExpatParser(namespaceHandling=1, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    parser.setFeature(feature_namespaces, True)
    parser.setContentHandler(handler)
    try:
        parser.parse(str(path))
    except DefusedXmlException as exc:
        raise UnsafeExportError(
            f"{src}: refused, the XML declares a DTD, entities or external references "
            f"({type(exc).__name__}: {exc}); ODM exports need none of these"
        ) from None
    except SAXException as exc:
        raise ExportFormatError(f"{src}: not well-formed XML: {exc}") from None


def _dropped(path: Path, latest_wins: bool) -> pl.Series:
    """``_seq`` of the item groups to drop: superseded copies of a repeated key, and Removes.

    Latest-wins applies to transactional files only. In a snapshot a repeated key is a data
    problem, not history: all copies are staged so validation reports them (DUP01/DUP02).

    A snapshot has no repeated keys, so instead of sorting every group by key (memory
    proportional to the file) only the 64-bit hashes of the keys are counted; the exact
    latest-wins ordering then runs on the few groups whose hash repeats (or that are Removes),
    with the real key columns, so a hash collision cannot merge two different groups.
    """
    keys = list(KEY_COLUMNS)
    lf = pl.scan_parquet(path).with_columns(pl.struct(keys).hash().alias("_h"))
    if not latest_wins:
        removed = lf.filter(pl.col("_remove")).select(*keys).collect()
        return lf.join(removed.lazy(), on=keys, how="semi", nulls_equal=True).select("_seq").collect().get_column("_seq")
    repeated = lf.group_by("_h").agg(pl.len().alias("_n")).filter(pl.col("_n") > 1).select("_h").collect()
    candidates = (
        lf.filter(pl.col("_h").is_in(repeated.to_series().implode()) | pl.col("_remove"))
        .select(*keys, "_ts", "_seq", "_remove")
        .collect()
    )
    kept = (
        candidates.sort(["_ts", "_seq"], nulls_last=False)
        .unique(subset=keys, keep="last")
        .filter(~pl.col("_remove"))
        .get_column("_seq")
    )
    return candidates.filter(~pl.col("_seq").is_in(kept.implode())).get_column("_seq")


def _finalize(form: str, sink: _FormSink, handler: OdmHandler, out_dir: Path, load_ts: datetime) -> int:
    """Drop superseded and removed groups (file order kept), decode code lists, write the staged table."""
    decode = []
    for item in FORMS[form].item_names:
        mapping = handler.codelists.get(handler.item_codelist.get(f"I_{form}_{item}", ""), {})
        if mapping:
            decode.append(pl.col(item).replace(mapping))
    dropped = _dropped(sink.path, latest_wins=handler.transactional)
    lf = pl.scan_parquet(sink.path).filter(~pl.col("_seq").is_in(dropped.implode())).with_columns(decode)
    return write_staged(lf, form, out_dir, src_format="odm", src_file=None, load_ts=load_ts)


def stage_odm(
    files: list[tuple[Path, str]], out_dir: Path, tmp_dir: Path, load_ts: datetime
) -> tuple[dict[str, FormResult], dict[str, list[str]]]:
    """Stage ODM file(s) ``[(path, SRC_FILE name)]``, in order (a later file wins ties)."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    sinks: dict[str, _FormSink] = {}
    seq = 0
    # metadata and ignored names accumulate over all files: one file's CodeLists decode another's data
    shared = OdmHandler("", tmp_dir, sinks)
    try:
        for path, src in files:
            handler = OdmHandler(src, tmp_dir, sinks, seq)
            handler.item_codelist, handler.codelists, handler.ignored = shared.item_codelist, shared.codelists, shared.ignored
            _parse_file(path, src, handler)
            shared.transactional = shared.transactional or handler.transactional
            seq = handler.seq
    finally:
        for sink in sinks.values():
            sink.close()
    results: dict[str, FormResult] = {}
    try:
        for form, sink in sinks.items():
            try:
                rows = _finalize(form, sink, shared, out_dir, load_ts)
                results[form] = FormResult(out_dir / f"{form}.parquet", rows)
            except (pl.exceptions.PolarsError, OSError) as exc:
                src = files[0][1] if files else ""
                err = StructuralError(src, "<stage>", f"{src}: form {form} could not be staged: {exc}")
                results[form] = FormResult(write_empty(form, out_dir), 0, err)
    finally:
        for sink in sinks.values():
            sink.path.unlink(missing_ok=True)
    ignored = {f: sorted(n) for f, n in shared.ignored.items()}
    return results, ignored
