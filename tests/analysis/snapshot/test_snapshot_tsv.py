"""Coordinates TSV: one row per point, readable by csv and pandas, deterministic."""

import csv
import io

import pandas as pd

from analysis.snapshot import write_tsv
from analysis.snapshot.tsv import COLUMNS, cell
from neurostore.snapshot import output as output_module


def _rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8")), delimiter="\t"))


def test_one_row_per_point_with_notes(studyset, annotation):
    out = io.BytesIO()
    summary = write_tsv(studyset, out, annotation)
    rows = _rows(out.getvalue())
    assert list(rows[0]) == [*COLUMNS, "note_include"]
    assert len(rows) == summary.n_points == 212
    assert (summary.n_studies, summary.n_analyses) == (15, 27)
    first = rows[0]
    assert first["study_id"] == "4gjJHCEboH8f" and first["analysis_id"] == "7jAUMpYv9brz"
    assert first["point_id"] == "7ee2WWccm8Ta"
    assert first["analysis_name"] == "Finger opposition vs Rest"  # trailing tab removed
    assert (first["x"], first["y"], first["z"]) == ("0.0", "-10.0", "72.0")
    assert (first["space"], first["sample_size"], first["note_include"]) == ("UNKNOWN", "9", "true")
    assert {r["space"] for r in rows} == {"UNKNOWN", "MNI"}
    frame = pd.read_csv(io.BytesIO(out.getvalue()), sep="\t")
    assert frame.shape == (212, len(COLUMNS) + 1)
    assert frame["x"].dtype == float


def test_bytes_are_deterministic_in_any_block_size(studyset, annotation, monkeypatch):
    whole = io.BytesIO()
    summary = write_tsv(studyset, whole, annotation)
    monkeypatch.setattr(output_module, "FLUSH_BYTES", 64)
    monkeypatch.setattr("analysis.snapshot.tsv.ROWS_PER_BLOCK", 3)
    pieces = io.BytesIO()
    assert write_tsv(studyset, pieces, annotation).sha256 == summary.sha256
    assert pieces.getvalue() == whole.getvalue()


def test_awkward_text_survives_pandas(make_studyset):
    studyset = make_studyset({"s1": {"a1": [(1, 2, 3, "TAL"), (None, 0, 0, "TAL")]}})
    studyset["studies"][0]["name"] = '"Go" vs\t"NoGo"\nsecond line'
    studyset["studies"][0]["analyses"][0]["metadata"] = {"sample_sizes": [10, 13]}
    annotation = {
        "note_keys": {"include": "boolean", "group": "string", "extra": "object"},
        "notes": [{"analysis": "a1", "note": {"include": False, "group": "a\tb",
                                              "extra": {"k": [1, 2]}}}],
    }
    out = io.BytesIO()
    summary = write_tsv(studyset, out, annotation)
    assert [(s.point_index, s.reason) for s in summary.skipped] == [
        (1, "coordinates [None, 0, 0] are not three finite numbers")
    ]
    frame = pd.read_csv(io.BytesIO(out.getvalue()), sep="\t", keep_default_na=False)
    assert frame.loc[0, "study_name"] == '"Go" vs "NoGo" second line'
    assert frame.loc[0, "space"] == "TAL"
    assert frame.loc[0, "sample_size"] == 11.5
    assert list(frame.columns[-3:]) == ["note_extra", "note_group", "note_include"]
    assert frame.loc[0, "note_extra"] == '{"k":[1,2]}'
    assert frame.loc[0, "note_group"] == "a b"
    assert not frame.loc[0, "note_include"]


def test_include_leaves_out_analyses(studyset, annotation):
    annotation["notes"][0]["note"]["include"] = None
    annotation["notes"][1]["note"]["include"] = False
    out = io.BytesIO()
    summary = write_tsv(studyset, out, annotation, include="include")
    excluded = {annotation["notes"][0]["analysis"], annotation["notes"][1]["analysis"]}
    rows = _rows(out.getvalue())
    assert summary.n_excluded == 2 and summary.n_analyses == 25
    assert excluded.isdisjoint({r["analysis_id"] for r in rows})


def test_cells():
    assert [cell(v) for v in (None, True, False, 3, 2.5, 1e-05, " a\n b ", [1, "x"])] == [
        "", "true", "false", "3", "2.5", "0.00001", "a b", '[1,"x"]'
    ]
