"""NeuroQuery release parser, on real rows of the release."""

from __future__ import annotations

import gzip

import pytest

from ingest.neuroquery.parse import iter_studies, parse
from ingest.records import ParseError
from tests.support.data import DATA, SAMPLE_DIR

NQ = DATA / "neuroquery"
SAMPLE = (SAMPLE_DIR / "neuroquery" / "sample-21studies_coordinates.tsv.gz",
          SAMPLE_DIR / "neuroquery" / "sample-21studies_metadata.tsv.gz")
IMPLAUSIBLE = (
    NQ / "implausible-2studies_coordinates.tsv",
    NQ / "implausible-2studies_metadata.tsv",
)


def test_sample_gives_one_study_per_pmid_with_all_peaks():
    result = parse(*SAMPLE)
    assert len(result.studies) == 21
    assert result.skipped == []
    assert (
        sum(len(a["points"]) for s in result.studies for a in s["analyses"]) == 646
    )  # 650 lines, 4 records span two lines
    study = result.studies[0]
    assert study["source"] == "neuroquery"
    assert study["source_id"] == study["pmid"] == "12146684"
    assert study["doi"] is None and study["year"] is None
    point = study["analyses"][0]["points"][0]
    assert point == {
        "coordinates": [36.0, 22.0, 16.0],
        "space": "MNI",
        "kind": None,
        "label_id": None,
        "values": [],
    }


def test_quoted_table_name_with_newline_is_one_field():
    studies = {s["source_id"]: s for s in parse(*SAMPLE).studies}
    analyses = studies["22711879"]["analyses"]
    quoted = [a for a in analyses if a["table"]["t_id"] == "nss069-T1"]
    assert len(quoted) == 1
    assert quoted[0]["name"] == "Table 1"
    assert quoted[0]["table"]["name"] == "Table\n1"
    assert len(quoted[0]["points"]) == 4


def test_titles_come_from_metadata_with_whitespace_collapsed():
    studies = {s["source_id"]: s for s in parse(*SAMPLE).studies}
    assert studies["9405692"]["name"].startswith("Role of left inferior prefrontal cortex")
    assert "  " not in studies["9990082"]["name"]


def test_implausible_peaks_are_reported_with_their_line_and_skipped():
    result = parse(*IMPLAUSIBLE)
    assert [(s.source_id, s.line) for s in result.skipped] == [
        ("22682434", 21),
        ("24747737", 24),
        ("24747737", 25),
        ("24747737", 26),
        ("24747737", 27),
        ("24747737", 28),
    ]
    assert "59 mm outside the MNI box" in result.skipped[0].reason
    kept = [p["coordinates"] for s in result.studies for a in s["analyses"] for p in a["points"]]
    assert [149.0, 40.0, -16.0] not in kept
    assert len(kept) == 35 - 6


def test_margin_is_a_parameter():
    assert parse(*IMPLAUSIBLE, margin_mm=100.0).skipped == []
    assert len(parse(*IMPLAUSIBLE, margin_mm=0.0).skipped) > 6


def test_stream_fills_skipped_while_iterating():
    stream = iter_studies(*IMPLAUSIBLE)
    assert stream.skipped == []
    first = next(iter(stream))
    assert first["source_id"] == "22682434"
    assert stream.skipped[0].source_id == "22682434"
    rest = list(stream)
    assert len(rest) == 1 and len(stream.skipped) == 6


def test_metadata_only_papers_come_last_without_analyses(tmp_path):
    coordinates = tmp_path / "c.tsv"
    metadata = tmp_path / "m.tsv"
    coordinates.write_text("id\ttable_id\ttable_name\tx\ty\tz\n1\tT1\tTable 1\t1\t2\t3\n")
    metadata.write_text("id\ttitle\n2\tOnly metadata\n1\tWith peaks\n")
    studies = parse(coordinates, metadata).studies
    assert [(s["source_id"], s["name"], len(s["analyses"])) for s in studies] == [
        ("1", "With peaks", 1),
        ("2", "Only metadata", 0),
    ]


def test_bad_rows_are_reported_by_line(tmp_path):
    coordinates = tmp_path / "c.tsv.gz"
    metadata = tmp_path / "m.tsv"
    rows = [
        "id\ttable_id\ttable_name\tx\ty\tz",
        "1\tT1\tTable 1\t1\t2\t3",
        "1\tT1\tTable 1\tabc\t2\t3",
        "1\tT1\tTable 1\t1\t2",
        "1\tT1\tTable 1\tnan\t2\t3",
        "2\tT1\tTable 1\t1\t2\t3",
        "1\tT2\tTable 2\t1\t2\t3",
    ]
    coordinates.write_bytes(gzip.compress(("\n".join(rows) + "\n").encode()))
    metadata.write_text("id\ttitle\n")
    result = parse(coordinates, metadata)
    assert [(s.line, s.source_id) for s in result.skipped] == [
        (3, "1"),
        (4, "1"),
        (5, "1"),
        (7, "1"),
    ]
    assert "not numbers" in result.skipped[0].reason
    assert "expected 6 fields" in result.skipped[1].reason
    assert "not finite" in result.skipped[2].reason
    assert "resume after other studies" in result.skipped[3].reason
    assert [s["source_id"] for s in result.studies] == ["1", "2"]


def test_repeated_table_names_are_made_unique(tmp_path):
    coordinates = tmp_path / "c.tsv"
    metadata = tmp_path / "m.tsv"
    coordinates.write_text(
        "id\ttable_id\ttable_name\tx\ty\tz\n"
        "1\tT3\tTable 3\t1\t2\t3\n"
        "1\ttbl0015\tTable 3\t1\t2\t3\n"
        "1\tT4\t\t1\t2\t3\n"
    )
    metadata.write_text("id\ttitle\n")
    names = [a["name"] for a in parse(coordinates, metadata).studies[0]["analyses"]]
    assert names == ["Table 3 (T3)", "Table 3 (tbl0015)", "T4"]


def test_missing_column_is_an_error_naming_line_one(tmp_path):
    coordinates = tmp_path / "c.tsv"
    metadata = tmp_path / "m.tsv"
    coordinates.write_text("id\ttable_id\tx\ty\tz\n")
    metadata.write_text("id\ttitle\n")
    with pytest.raises(ParseError, match=r"line 1: .*table_name"):
        parse(coordinates, metadata)
