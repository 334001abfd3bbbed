"""Readers: per-form CSV, REDCap and ODM exports -> staged raw tables (crf.md §1).

Fixtures are small and hand-made (in code, or under ``tests/fixtures/readers``) so each test
shows exactly which bytes produce which staged values.
"""

from __future__ import annotations

import zipfile
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from pipeline.forms import FORMS, KEY_COLUMNS, LINEAGE_COLUMNS
from pipeline.io import (
    ArchiveLimits,
    ExportFormatError,
    StructuralError,
    UnsafeExportError,
    stage_export,
)

FIXTURES = Path(__file__).parent / "fixtures" / "readers"
LOAD_TS = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
CSV_KEYS = list(KEY_COLUMNS) + ["LASTMOD"]


# -- helpers ---------------------------------------------------------------------------------
def form_csv(form: str, rows: list[dict], extra: tuple[str, ...] = (), drop: tuple[str, ...] = (),
             sep: str = ",", eol: str = "\n") -> str:
    """A per-form CSV text: keys + LASTMOD + all items (+ extra columns), values quoted when needed."""
    cols = [c for c in CSV_KEYS + list(FORMS[form].item_names) + list(extra) if c not in drop]

    def q(v: str) -> str:
        return f'"{v}"' if any(ch in v for ch in (sep, '"', "\n", "\r")) else v

    lines = [sep.join(cols)]
    for r in rows:
        lines.append(sep.join(q(r.get(c, "")) for c in cols))
    return eol.join(lines) + eol


def key(subjid="001", visit="SCREENING", igrep="1", **items) -> dict:
    return dict(STUDYID="NCT05204524", SITEID="101", SUBJID=subjid, VISIT=visit, VISITREP="1",
                FORMREP="1", IGREP=igrep, LASTMOD="2022-01-05T10:00:00", **items)


def stage(tmp_path: Path, source: Path, sub: str = "work"):
    return stage_export(source, tmp_path / sub, LOAD_TS)


def table(res, form: str) -> pl.DataFrame:
    return pl.read_parquet(res.forms[form])


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def csv_export(tmp_path: Path) -> Path:
    """A small per-form export: DM (BOM + CRLF), AE (';', quoted newline), VS (tab), LB (GB18030)."""
    root = tmp_path / "export"
    dm = form_csv("DM", [key(ICDAT="2022-01-05", SCRFAIL="N", AGE="54", SEX=" 男 ", RACE="ASIAN",
                             HEIGHT="170", WEIGHT="61kg", ETHNIC="")], extra=("SITE_NOTE",), eol="\r\n")
    write(root / "DM.csv", "\ufeff" + dm)
    ae = form_csv("AE", [
        key(visit="AELOG", igrep="1", AESPID="1", AETERM="nausea; mild, intermittent\nthen resolved", AESTDAT="2022-01-12"),
        key(visit="AELOG", igrep="2", AESPID="2", AETERM="  fatigue  ", AESTDAT="2022-02-UN"),
    ], sep=";", eol="\r\n")
    write(root / "ae.CSV", ae)
    vs = form_csv("VS", [key(VSDAT="2022-01-05", TEMP="36.8℃", ECOG="1")], sep="\t")
    write(root / "VS.csv", vs)
    lb = form_csv("LB", [key(LBDAT="2022-01-05", LBCAT="血液学", LBTEST="白细胞", LBORRES="3,5", LBORRESU="×10⁹/L")])
    write(root / "LB.csv", lb, encoding="gb18030")
    write(root / "export.json", '{"exported": "2023-08-28T09:00:00+08:00", "edc": "TestEDC 3.1"}')
    return root


# -- per-form CSV ----------------------------------------------------------------------------
def test_csv_stages_every_form_with_exact_schema(tmp_path, csv_export):
    res = stage(tmp_path, csv_export)
    assert res.format == "csv"
    assert set(res.forms) == set(FORMS)
    assert res.errors == {}
    for form, path in res.forms.items():
        df = pl.read_parquet(path)
        assert tuple(df.columns) == FORMS[form].columns
        assert df.schema["SRC_ROW"] == pl.Int64
        assert df.schema["LOAD_TS"] == pl.Datetime("us", "UTC")
        assert all(df.schema[c] == pl.String for c in df.columns if c not in ("SRC_ROW", "LOAD_TS"))
    assert res.rows_in["DM"] == 1 and res.rows_in["AE"] == 2 and res.rows_in["CM"] == 0
    assert res.metadata == {"exported": "2023-08-28T09:00:00+08:00", "edc": "TestEDC 3.1"}
    names = [f[0] for f in res.files]
    assert names == sorted(["DM.csv", "ae.CSV", "VS.csv", "LB.csv", "export.json"])
    assert all(len(sha) == 64 and size > 0 for _, sha, size in res.files)


def test_csv_bom_crlf_values_verbatim(tmp_path, csv_export):
    dm = table(stage(tmp_path, csv_export), "DM").row(0, named=True)
    assert dm["STUDYID"] == "NCT05204524"  # BOM not glued to the first header name
    assert dm["SEX"] == " 男 "  # spaces and Chinese kept
    assert dm["WEIGHT"] == "61kg"  # no CR left at the end of the last field... and no typing
    assert dm["ETHNIC"] is None and dm["BRTHDAT"] is None  # empty -> null
    assert dm["LASTMOD"] == "2022-01-05T10:00:00"
    assert (dm["SRC_FORMAT"], dm["SRC_FILE"], dm["SRC_ROW"]) == ("csv", "DM.csv", 1)
    assert dm["LOAD_TS"] == LOAD_TS


def test_csv_semicolon_quoted_newline_and_row_numbers(tmp_path, csv_export):
    ae = table(stage(tmp_path, csv_export), "AE")
    assert ae["AETERM"].to_list() == ["nausea; mild, intermittent\nthen resolved", "  fatigue  "]
    assert ae["SRC_ROW"].to_list() == [1, 2]  # records, not physical lines
    assert ae["SRC_FILE"].to_list() == ["ae.CSV", "ae.CSV"]  # file name matched case-insensitively
    assert ae["AESTDAT"].to_list() == ["2022-01-12", "2022-02-UN"]


def test_csv_tab_delimiter_and_gb18030(tmp_path, csv_export):
    res = stage(tmp_path, csv_export)
    assert table(res, "VS").row(0, named=True)["TEMP"] == "36.8℃"
    lb = table(res, "LB").row(0, named=True)
    assert (lb["LBCAT"], lb["LBTEST"], lb["LBORRES"], lb["LBORRESU"]) == ("血液学", "白细胞", "3,5", "×10⁹/L")


def test_csv_unknown_column_reported_not_staged(tmp_path, csv_export):
    res = stage(tmp_path, csv_export)
    assert res.ignored_columns == {"DM": ["SITE_NOTE"]}
    assert "SITE_NOTE" not in table(res, "DM").columns


def test_csv_missing_required_column_is_error_for_that_form_only(tmp_path, csv_export):
    write(csv_export / "EX.csv", form_csv("EX", [key(visit="CYCLE 1 DAY 1", EXSPID="1")], drop=("EXTRT",)))
    write(csv_export / "CM.csv", form_csv("CM", [key(visit="CMLOG", CMSPID="1", CMTRT="x")], drop=("IGREP",)))
    res = stage(tmp_path, csv_export)
    assert set(res.errors) == {"EX", "CM"}
    err = res.errors["EX"]
    assert isinstance(err, StructuralError)
    assert (err.file, err.column) == ("EX.csv", "EXTRT")
    assert "EX.csv" in err.message and "EXTRT" in err.message
    assert res.errors["CM"].column == "IGREP"
    assert table(res, "EX").height == 0 and tuple(table(res, "EX").columns) == FORMS["EX"].columns
    assert res.rows_in["DM"] == 1 and res.rows_in["AE"] == 2  # the rest still staged


def test_csv_undecodable_and_ragged_files_are_structural_errors(tmp_path, csv_export):
    (csv_export / "CM.csv").write_bytes(b"STUDYID,SUBJID\n\xff\xfe\xfa\x80\x80\n")
    text = form_csv("EOS", [key(visit="EOSLOG", EOSDAT="x", EOSSTAT="y", LSTCONDT="z")])
    write(csv_export / "EOS.csv", text + "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\n")
    res = stage(tmp_path, csv_export)
    assert res.errors["CM"].column == "<encoding>" and "CM.csv" in res.errors["CM"].message
    assert res.errors["EOS"].column == "<parse>" and "EOS.csv" in res.errors["EOS"].message
    assert res.rows_in["EOS"] == 0 and res.rows_in["DM"] == 1


def test_nothing_recognisable(tmp_path):
    write(tmp_path / "junk" / "notes.txt", "hello")
    with pytest.raises(ExportFormatError, match="no per-form CSV"):
        stage(tmp_path, tmp_path / "junk")


# -- zip ------------------------------------------------------------------------------------
def _zip(path: Path, entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def _strip_lineage(df: pl.DataFrame) -> pl.DataFrame:
    return df.drop("SRC_FILE")


def test_zip_stages_identically(tmp_path, csv_export):
    folder = stage(tmp_path, csv_export, "w1")
    archive = _zip(tmp_path / "export.zip", {p.name: p.read_bytes() for p in csv_export.iterdir()})
    zipped = stage(tmp_path, archive, "w2")
    assert zipped.format == "csv" and zipped.rows_in == folder.rows_in
    assert zipped.ignored_columns == folder.ignored_columns
    for form in FORMS:
        a, b = table(folder, form), table(zipped, form)
        assert _strip_lineage(a).equals(_strip_lineage(b)), form
        assert all(s.startswith("export.zip!") for s in b["SRC_FILE"].to_list())
    assert table(zipped, "AE")["SRC_FILE"][0] == "export.zip!ae.CSV"
    assert zipped.files[0][0] == "export.zip" and ("export.zip!DM.csv" in [f[0] for f in zipped.files])


def test_zip_with_top_folder(tmp_path, csv_export):
    archive = _zip(tmp_path / "e.zip", {f"export/{p.name}": p.read_bytes() for p in csv_export.iterdir()})
    res = stage(tmp_path, archive)
    assert res.rows_in["AE"] == 2 and table(res, "DM")["SRC_FILE"][0] == "e.zip!export/DM.csv"


@pytest.mark.parametrize("bad", ["../evil.csv", "/abs.csv", "C:/win.csv", "ok/../../evil.csv"])
def test_zip_slip_refused(tmp_path, bad):
    archive = _zip(tmp_path / "x.zip", {"DM.csv": b"STUDYID\n", bad: b"x"})
    with pytest.raises(UnsafeExportError) as exc:
        stage(tmp_path, archive)
    assert bad in str(exc.value) and "x.zip" in str(exc.value)
    assert not (tmp_path / "evil.csv").exists()


def test_zip_symlink_refused(tmp_path):
    info = zipfile.ZipInfo("DM.csv")
    info.external_attr = (0o120777 << 16)
    with zipfile.ZipFile(tmp_path / "s.zip", "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeExportError, match="symbolic link"):
        stage(tmp_path, tmp_path / "s.zip")


def test_zip_bomb_refused(tmp_path):
    archive = _zip(tmp_path / "bomb.zip", {"LB.csv": b"0" * (50 << 20)})
    with pytest.raises(UnsafeExportError, match=r"LB\.csv.*zip bomb"):
        stage(tmp_path, archive)
    small = ArchiveLimits(max_total_bytes=1000)
    archive = _zip(tmp_path / "big.zip", {"DM.csv": b"x" * 600, "AE.csv": b"y" * 600}, zipfile.ZIP_STORED)
    with pytest.raises(UnsafeExportError, match="AE.csv"):
        stage_export(archive, tmp_path / "w", LOAD_TS, limits=small)
    with pytest.raises(UnsafeExportError, match="entries"):
        stage_export(archive, tmp_path / "w", LOAD_TS, limits=ArchiveLimits(max_entries=1))


# -- REDCap ---------------------------------------------------------------------------------
REDCAP_DICT = '''"Variable / Field Name","Form Name","Section Header","Field Type","Field Label","Choices, Calculations, OR Slider Labels","Field Note"
record_id,dm,,text,Record ID,,
dm_sex,dm,,radio,Sex,"1, M | 2, F",
dm_scrfail,dm,,yesno,Screen failure,,
dx_primsite,dx,,dropdown,Primary site,"1, UTERUS | 2, RETROPERITONEUM | 3, GREAT VESSEL, OTHER",
dx_metsites,dx,,checkbox,Metastatic sites,"1, LUNG | 2, LIVER | 3, BONE | 99, OTHER",
ae_aetoxgr,ae,,radio,Grade,"1, 1 | 2, 2 | 3, 3",
'''


def _redcap_export(root: Path) -> Path:
    dm_items = [f"dm_{i}".lower() for i in FORMS["DM"].item_names]
    dx_items = [f"dx_{i}".lower() for i in FORMS["DX"].item_names if i != "METSITES"]
    dx_boxes = ["dx_metsites___1", "dx_metsites___2", "dx_metsites___3", "dx_metsites___99"]
    ae_items = [f"ae_{i}".lower() for i in FORMS["AE"].item_names]
    lb_items = [f"lb_{i}".lower() for i in FORMS["LB"].item_names]
    others = [f"{f}_{i}".lower() for f in FORMS if f not in ("DM", "DX", "AE", "LB") for i in FORMS[f].item_names]
    cols = (["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]
            + dm_items + ["dm_lastmod", "dm_complete"] + dx_items + dx_boxes + ["dx_complete"] + ae_items + ["ae_complete"]
            + lb_items + ["lb_complete", "lb_labname"] + others)
    rows = [
        # screening: DM and DX share one row; checkbox 0s in every row
        {"record_id": "101-001", "redcap_event_name": "screening_arm_1", "dm_icdat": "2022-01-05", "dm_sex": "2",
         "dm_scrfail": "0", "dm_age": " 54", "dm_lastmod": "2022-01-05T10:00:00",
         "dx_dxdat": "2021-11", "dx_primsite": "3", "dx_metsites___1": "1",
         "dx_metsites___2": "0", "dx_metsites___3": "1", "dx_metsites___99": "0", "dx_complete": "2"},
        # AE repeating instrument rows (checkbox columns of DX export 0 there too)
        {"record_id": "101-001", "redcap_event_name": "ae_log_arm_1", "redcap_repeat_instrument": "ae",
         "redcap_repeat_instance": "1", "ae_aeterm": "恶心", "ae_aetoxgr": "2", "dx_metsites___1": "0"},
        {"record_id": "101-001", "redcap_event_name": "ae_log_arm_1", "redcap_repeat_instrument": "ae",
         "redcap_repeat_instance": "2", "ae_aeterm": "fatigue, mild", "ae_aetoxgr": "7"},
        # unscheduled visit k=2, LB repeating instance 3
        {"record_id": "101-001", "redcap_event_name": "unscheduled_2_arm_1", "redcap_repeat_instrument": "lb",
         "redcap_repeat_instance": "3", "lb_lbtest": "WBC", "lb_lborres": "3,5", "lb_labname": "central"},
        # second subject without site prefix, DM only (complete flag alone marks the form)
        {"record_id": "002", "redcap_event_name": "screening_arm_2", "dm_complete": "0", "dx_metsites___1": "0"},
        {"record_id": "101-003", "redcap_event_name": "cycle_2_day_1_arm_1", "redcap_repeat_instrument": "lb",
         "redcap_repeat_instance": "1", "lb_lbtest": "HGB"},
    ]

    def q(v):
        return f'"{v}"' if ("," in v or '"' in v or "\n" in v) else v

    text = ",".join(cols) + "\r\n" + "".join(",".join(q(r.get(c, "")) for c in cols) + "\r\n" for r in rows)
    write(root / "TRIAL_DATA_2023-08-28.csv", "\ufeff" + text)
    write(root / "TRIAL_DataDictionary.csv", REDCAP_DICT)
    return root


def test_redcap_events_instances_and_sharing(tmp_path):
    res = stage(tmp_path, _redcap_export(tmp_path / "rc"))
    assert res.format == "redcap" and res.errors == {}
    dm = table(res, "DM").sort("SUBJID")
    assert dm.select("SITEID", "SUBJID", "VISIT", "VISITREP", "FORMREP", "IGREP").rows() == [
        ("101", "001", "SCREENING", "1", "1", "1"),
        ("101", "002", "SCREENING", "1", "1", "1"),
    ]
    assert dm["SRC_ROW"].to_list() == [1, 5]
    assert dm["LASTMOD"].to_list() == ["2022-01-05T10:00:00", None]  # hidden <form>_lastmod field
    assert dm["AGE"][0] == " 54"  # verbatim
    assert dm["SRC_FORMAT"][0] == "redcap" and dm["SRC_FILE"][0] == "TRIAL_DATA_2023-08-28.csv"
    dx = table(res, "DX")
    assert dx.height == 1 and dx["SRC_ROW"][0] == 1  # shares the screening row with DM
    ae = table(res, "AE")
    assert ae.select("VISIT", "IGREP", "AETERM").rows() == [("AELOG", "1", "恶心"), ("AELOG", "2", "fatigue, mild")]
    lb = table(res, "LB").sort("SRC_ROW")
    assert lb.select("SUBJID", "VISIT", "VISITREP", "IGREP", "LBORRES").rows() == [
        ("001", "UNSCHEDULED", "2", "3", "3,5"),
        ("003", "CYCLE 2 DAY 1", "1", "1", None),
    ]
    assert res.rows_in["EX"] == 0
    assert res.ignored_columns == {"LB": ["lb_labname"]}


def test_redcap_decoding_and_checkbox_collapse(tmp_path):
    res = stage(tmp_path, _redcap_export(tmp_path / "rc"))
    dm = table(res, "DM").sort("SUBJID").row(0, named=True)
    assert dm["SEX"] == "F" and dm["SCRFAIL"] == "No"
    dx = table(res, "DX").row(0, named=True)
    assert dx["PRIMSITE"] == "GREAT VESSEL, OTHER"  # label with a comma
    assert dx["METSITES"] == "LUNG;BONE"
    assert table(res, "AE")["AETOXGR"].to_list() == ["2", "7"]  # unknown code kept verbatim


def test_redcap_missing_required_field(tmp_path):
    root = _redcap_export(tmp_path / "rc")
    data = root / "TRIAL_DATA_2023-08-28.csv"
    data.write_text(data.read_text(encoding="utf-8-sig").replace("ae_aeterm", "ae_aeterm_old"), encoding="utf-8")
    res = stage(tmp_path, root)
    assert list(res.errors) == ["AE"]
    assert res.errors["AE"].column == "ae_aeterm" and "TRIAL_DATA_2023-08-28.csv" in res.errors["AE"].message
    assert res.rows_in["DM"] == 2


# -- ODM ------------------------------------------------------------------------------------
def test_odm_items_typed_nulls_codelists_and_lineage(tmp_path):
    res = stage(tmp_path, FIXTURES / "odm_transactional.xml")
    assert res.format == "odm" and res.errors == {}
    dm = table(res, "DM")
    assert dm.height == 1  # the ItemGroupData inside the vendor element is ignored
    row = dm.row(0, named=True)
    assert (row["STUDYID"], row["SITEID"], row["SUBJID"], row["VISIT"], row["VISITREP"], row["IGREP"]) == (
        "NCT05204524", "101", "001", "SCREENING", "1", "1")
    assert row["SEX"] == "M"  # CodeList decode, English preferred over zh
    assert row["AGE"] == " 54 " and row["ETHNIC"] == "汉族" and row["BRTHDAT"] is None
    assert (row["SRC_FORMAT"], row["SRC_FILE"], row["SRC_ROW"]) == ("odm", "odm_transactional.xml", 19)
    assert res.ignored_columns == {"DM": ["FAVCOLOUR"]}


def test_odm_transactional_latest_wins_and_remove(tmp_path):
    ae = table(stage(tmp_path, FIXTURES / "odm_transactional.xml"), "AE").sort("IGREP")
    assert ae.select("IGREP", "AETERM", "AETOXGR", "AESTDAT", "SRC_ROW", "LASTMOD").rows() == [
        # group 1: three copies, latest DateTimeStamp (in UTC) wins although not last in file
        ("1", "恶心", "2", "2022-01-12", 44, "2022-02-03T01:00:00Z"),
        # group 2 removed; group 3 takes LASTMOD from OpenClinica:DateUpdated
        ("3", "vomiting", None, None, 41, "2022-03-01"),
    ]


def test_odm_later_in_file_wins_without_audit(tmp_path):
    xml = (FIXTURES / "odm_transactional.xml").read_text(encoding="utf-8")
    extra = ('<ItemGroupData ItemGroupOID="IG_DM" ItemGroupRepeatKey="1">'
             '<ItemData ItemOID="I_DM_SEX" Value="2"/></ItemGroupData>\n    </FormData>')
    xml = xml.replace("</FormData>", extra, 1)
    res = stage(tmp_path, write(tmp_path / "odm.xml", xml))
    dm = table(res, "DM")
    assert dm.height == 1 and dm["SEX"][0] == "F" and dm["ICDAT"][0] is None


@pytest.mark.parametrize("name, doc, kind", [
    ("xxe.xml", '<?xml version="1.0"?><!DOCTYPE ODM [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3">&x;</ODM>', "DTD"),
    ("laughs.xml", '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                   + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
                   + ']><ODM xmlns="http://www.cdisc.org/ns/odm/v1.3">&lol9;</ODM>', "DTD"),
    ("extdtd.xml", '<?xml version="1.0"?><!DOCTYPE ODM SYSTEM "http://evil.example/odm.dtd">'
                   '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"/>', "DTD"),
])
def test_hostile_xml_refused(tmp_path, name, doc, kind):
    path = write(tmp_path / name, doc)
    with pytest.raises(UnsafeExportError) as exc:
        stage(tmp_path, path)
    assert name in str(exc.value) and kind in str(exc.value)


def test_hostile_xml_inside_zip_refused(tmp_path):
    archive = _zip(tmp_path / "odm.zip", {"study.xml": b'<?xml version="1.0"?><!DOCTYPE ODM [<!ENTITY a "b">]><ODM/>'})
    with pytest.raises(UnsafeExportError, match=r"odm\.zip!study\.xml"):
        stage(tmp_path, archive)


def test_malformed_odm(tmp_path):
    path = write(tmp_path / "bad.xml", '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"><ClinicalData>')
    with pytest.raises(ExportFormatError, match="bad.xml"):
        stage(tmp_path, path)


# -- the three renderings of the generator agree ----------------------------------------------
def _generate():
    try:
        from pipeline.synthetic import generate
    except Exception as exc:  # noqa: BLE001 - the generator is built in parallel
        pytest.skip(f"pipeline.synthetic not available: {exc}")
    return generate


@pytest.mark.timeout(600)
def test_generator_renderings_stage_to_the_same_rows(tmp_path):
    generate = _generate()
    staged = {}
    for fmt in ("csv", "redcap", "odm"):
        out = tmp_path / f"gen_{fmt}"
        try:
            generate(out, subjects=5, seed=1, fmt=fmt, mess_rate=0)
        except Exception as exc:  # noqa: BLE001
            pytest.skip(f"generator failed for {fmt}: {exc!r}")
        res = stage_export(out, tmp_path / f"w_{fmt}", LOAD_TS)
        assert res.format == fmt and res.errors == {}, (fmt, res.errors)
        staged[fmt] = res
    assert sum(staged["csv"].rows_in.values()) > 0
    for form in FORMS:
        frames = {}
        for fmt, res in staged.items():
            df = pl.read_parquet(res.forms[form]).drop([c for c in LINEAGE_COLUMNS if c != "LASTMOD"])
            frames[fmt] = df.sort(list(df.columns))
        for fmt in ("redcap", "odm"):
            assert frames[fmt].equals(frames["csv"]), f"{form}: {fmt} differs from csv\n{frames[fmt]}\n{frames['csv']}"
    # and the zipped ODM rendering stages like the folder
    out = tmp_path / "gen_odm"
    archive = _zip(tmp_path / "odm.zip", {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()})
    zipped = stage_export(archive, tmp_path / "w_zip", LOAD_TS)
    assert zipped.rows_in == staged["odm"].rows_in
    for form in FORMS:
        a = pl.read_parquet(staged["odm"].forms[form]).drop("SRC_FILE")
        assert a.equals(pl.read_parquet(zipped.forms[form]).drop("SRC_FILE")), form


def test_odm_snapshot_keeps_repeated_groups_for_validation(tmp_path):
    """In a snapshot a repeated key is a data problem, not history: every copy is staged (DUP01/DUP02 see it)."""
    xml = (FIXTURES / "odm_transactional.xml").read_text(encoding="utf-8").replace(
        'FileType="Transactional"', 'FileType="Snapshot"')
    ae = table(stage(tmp_path, write(tmp_path / "snapshot.xml", xml)), "AE")
    assert sorted(ae["IGREP"].to_list()) == ["1", "1", "1", "3"]
