"""SDTM exports: XPT v5 round trip and Dataset-JSON 1.1 of every domain of the clean load."""

import json
import math

import polars as pl
import pyreadstat
import pytest

from tests.conftest import query

from pipeline.sdtm_export import ExportContext, ExportError, export_domains, is_lineage
from schemas.sdtm import SDTM_MODELS, dataset_label, variable_labels


@pytest.fixture(scope="module")
def export_dir(clean_db):
    return clean_db.parent / "exports" / "sdtm"


@pytest.fixture(scope="module")
def domains(clean_db) -> dict[str, pl.DataFrame]:
    names = query(clean_db, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'sdtm' ORDER BY 1")
    return {
        n: query(clean_db, f"SELECT * FROM sdtm.{n}")
        for n in names["table_name"].to_list() if not n.startswith("int_")
    }


def test_one_xpt_and_one_json_per_domain(domains, export_dir):
    files = sorted(p.name for p in export_dir.iterdir())
    assert files == sorted([f"{n}.xpt" for n in domains] + [f"{n}.json" for n in domains])
    assert not list(export_dir.parent.glob(".sdtm.*"))  # no temp folder left behind


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))
    return a == b


def test_xpt_round_trip(domains, export_dir):
    for name, table in domains.items():
        expected = table.select([c for c in table.columns if not is_lineage(c)])
        data, meta = pyreadstat.read_xport(str(export_dir / f"{name}.xpt"))
        assert meta.table_name == name.upper()
        assert list(data.columns) == expected.columns, name
        assert all(len(c) <= 8 and c == c.upper() for c in data.columns)
        assert not any(c.startswith("SRC_") for c in data.columns)
        model = SDTM_MODELS.get(name)
        if model is not None:
            assert meta.file_label == dataset_label(model)
            labels = variable_labels(model)
            for column in data.columns:
                assert meta.column_names_to_labels[column] == labels.get(column, column), (name, column)
        assert data.shape[0] == expected.height, name
        for column, dtype in expected.schema.items():
            values = data[column].tolist()
            if dtype == pl.Utf8:
                assert data[column].dtype == object, (name, column)
                want = [v if v is not None else "" for v in expected[column].to_list()]
                assert values == want, (name, column)
                width = max([len(v.encode()) for v in want] + [1])
                assert meta.variable_storage_width[column] == width, (name, column)
                if column.endswith("DTC"):
                    assert all(v == "" or v[:4].isdigit() for v in values)
            else:
                assert dtype.is_numeric(), (name, column)
                assert data[column].dtype.kind == "f", (name, column)
                want = [None if v is None else float(v) for v in expected[column].to_list()]
                assert all(_same(a, b) for a, b in zip(values, want)), (name, column)


def test_dataset_json(domains, export_dir, clean_db):
    staged = json.loads((clean_db.parent / "build" / "staging" / "staged.json").read_text())
    for name, table in domains.items():
        expected = table.select([c for c in table.columns if not is_lineage(c)])
        doc = json.loads((export_dir / f"{name}.json").read_text(encoding="utf-8"))
        assert doc["datasetJSONVersion"] == "1.1.0"
        assert doc["datasetJSONCreationDateTime"] == staged["load_ts"]  # the load time, not now
        for key in ("fileOID", "originator", "sourceSystem", "studyOID", "metaDataVersionOID"):
            assert doc[key], key
        assert doc["itemGroupOID"] == f"IG.{name.upper()}"
        assert doc["name"] == name.upper()
        assert doc["records"] == expected.height == len(doc["rows"])
        assert [c["name"] for c in doc["columns"]] == expected.columns
        model = SDTM_MODELS.get(name)
        if model is not None:
            assert doc["label"] == dataset_label(model)
            labels = variable_labels(model)
            assert [c["label"] for c in doc["columns"]] == [labels.get(c, c) for c in expected.columns]
        for col in doc["columns"]:
            dtype = expected.schema[col["name"]]
            assert col["itemOID"] == f"IT.{name.upper()}.{col['name']}"
            if dtype == pl.Utf8:
                assert col["dataType"] in ("string", "datetime")
                assert col["length"] >= 1
            else:
                assert col["dataType"] in ("integer", "double")
        if expected.height:
            assert doc["rows"][0] == [None if isinstance(v, float) and math.isnan(v) else v for v in expected.row(0)]


def test_failed_export_keeps_the_previous_set(tmp_path):
    ctx = ExportContext(studyid="NCT05204524", creation_datetime="2023-08-27T00:00:00")
    good = {"te": pl.DataFrame({"STUDYID": ["NCT05204524"], "DOMAIN": ["TE"], "ETCD": ["SCRN"], "SRC_ROW": [1]})}
    out = tmp_path / "exports" / "sdtm"
    export_domains(good, out, ctx)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(before) == {"te.xpt", "te.json"}
    bad = {**good, "ae": pl.DataFrame({"STUDYID": ["NCT05204524"], "TOOLONGNAME": ["x"]})}
    with pytest.raises(ExportError, match="TOOLONGNAME"):
        export_domains(bad, out, ctx)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in out.parent.iterdir()] == ["sdtm"]
    export_domains(good, out, ctx)  # deterministic: same input, same bytes
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
