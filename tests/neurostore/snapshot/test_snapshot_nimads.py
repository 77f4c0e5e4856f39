"""Canonical NIMADS JSON: deterministic bytes, streaming, identity, NiMARE can read it."""

import copy
import hashlib
import io
import json

import pytest
from nimare.io import convert_nimads_to_dataset

from neurostore.snapshot import (
    MalformedSnapshot,
    canonical_bytes,
    canonical_document,
    snapshot_id,
    write_nimads,
)
from neurostore.snapshot import output as output_module


def _reordered(value):
    """The same JSON content with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


def test_bytes_are_compact_sorted_json_and_stream_identically(studyset, annotation):
    expected = canonical_bytes(studyset, annotation)
    document = json.loads(expected)
    assert expected == json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    out = io.BytesIO()
    summary = write_nimads(studyset, out, annotation)
    assert out.getvalue() == expected
    assert summary.sha256 == hashlib.sha256(expected).hexdigest()
    assert summary.n_bytes == len(expected)
    assert (summary.n_studies, summary.n_analyses, summary.n_points) == (38, 27, 212)
    assert summary.skipped == ()
    assert snapshot_id(studyset, annotation) == summary.sha256


def test_streaming_in_small_blocks_gives_the_same_bytes(studyset, monkeypatch):
    monkeypatch.setattr(output_module, "FLUSH_BYTES", 100)
    out = io.BytesIO()
    write_nimads(studyset, out)
    assert out.getvalue() == canonical_bytes(studyset)


def test_same_content_gives_same_identity(studyset, annotation):
    reordered = _reordered(copy.deepcopy(studyset))
    for study in reordered["studies"]:
        for analysis in study["analyses"]:
            for point in analysis["points"]:
                point["coordinates"] = [
                    int(c) if c is not None and float(c).is_integer() else c
                    for c in point["coordinates"]
                ]
    assert snapshot_id(reordered, _reordered(annotation)) == snapshot_id(studyset, annotation)


def test_changed_content_or_annotation_changes_identity(studyset, annotation):
    before = snapshot_id(studyset, annotation)
    assert snapshot_id(studyset) != before
    edited = copy.deepcopy(studyset)
    edited["studies"][20]["analyses"][0]["points"][0]["coordinates"][0] += 2.0
    assert snapshot_id(edited, annotation) != before
    flipped = copy.deepcopy(annotation)
    flipped["notes"][0]["note"]["include"] = False
    assert snapshot_id(studyset, flipped) != before


def test_input_is_not_changed(studyset, annotation):
    original = copy.deepcopy((studyset, annotation))
    canonical_bytes(studyset, annotation, include="include")
    write_nimads(studyset, io.BytesIO(), annotation, include="include")
    assert (studyset, annotation) == original


def test_annotation_is_embedded(studyset, annotation):
    document = canonical_document(studyset, annotation)
    assert document["annotations"] == [annotation]
    assert "annotations" not in canonical_document(studyset)


def test_integer_coordinates_are_written_as_floats():
    studyset = {"id": "s", "studies": [{"id": "a", "analyses": [
        {"id": "b", "points": [{"coordinates": [1, -2, None]}]},
    ]}]}
    assert b'"coordinates":[1.0,-2.0,null]' in canonical_bytes(studyset)


def test_include_keeps_true_analyses_and_their_notes(studyset, annotation):
    excluded = {"7jAUMpYv9brz", "3pbFDWdMbe23"}
    for note in annotation["notes"]:
        if note["analysis"] in excluded:
            note["note"]["include"] = False
    # The only analysis of study 4gjJHCEboH8f is excluded: the study goes too.
    out = io.BytesIO()
    summary = write_nimads(studyset, out, annotation, include="include")
    document = json.loads(out.getvalue())
    kept = {a["id"] for s in document["studies"] for a in s["analyses"]}
    assert kept.isdisjoint(excluded) and len(kept) == 25
    assert "4gjJHCEboH8f" not in {s["id"] for s in document["studies"]}
    assert len(document["studies"]) == 37  # 23 studies without analyses stay
    assert {n["analysis"] for n in document["annotations"][0]["notes"]} == kept
    assert (summary.n_studies, summary.n_analyses, summary.n_excluded) == (37, 25, 2)
    assert out.getvalue() == canonical_bytes(studyset, annotation, include="include")


@pytest.mark.parametrize(
    ("studyset", "where"),
    [
        (["not", "a", "studyset"], "studyset"),
        ({"id": "s"}, "studyset.studies"),
        ({"studies": {"a": 1}}, "studyset.studies"),
        ({"studies": [{"id": "a", "analyses": [{"id": "b", "points": [
            {"coordinates": [float("nan"), 0.0, 0.0]}]}]}]}, "studies[0]"),
        ({"studies": [{"id": "a", "year": object()}]}, "studies[0]"),
        ({"studies": [], 3: "x"}, "studyset"),
    ],
)
def test_malformed_input_is_named(studyset, where):
    with pytest.raises(MalformedSnapshot) as info:
        write_nimads(studyset, io.BytesIO())
    assert info.value.where == where
    with pytest.raises(MalformedSnapshot):
        canonical_bytes(studyset)


def test_nimare_reads_the_canonical_json(studyset, annotation, tmp_path):
    path = tmp_path / "snapshot.json"
    with path.open("wb") as out:
        write_nimads(studyset, out, annotation)
    dataset = convert_nimads_to_dataset(str(path))
    assert len(dataset.ids) == 27
    assert len(dataset.coordinates) == 212
    assert dataset.annotations["include"].tolist() == [True] * 27
    sample_sizes = dataset.get_metadata(field="sample_sizes")
    assert all(len(s) == 1 and s[0] > 0 for s in sample_sizes)


def test_nimare_reads_canonical_json_with_images(pain_studyset, tmp_path):
    path = tmp_path / "pain.json"
    path.write_bytes(canonical_bytes(pain_studyset))
    dataset = convert_nimads_to_dataset(str(path))
    assert len(dataset.ids) == 21
    assert dataset.images["t__relative"].notna().sum() == 21
