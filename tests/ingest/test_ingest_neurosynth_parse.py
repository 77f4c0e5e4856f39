"""Neurosynth v7 release parser, on real rows of the release."""

from __future__ import annotations

from ingest.neurosynth.parse import iter_studies, parse
from tests.support.data import DATA, SAMPLE_DIR

NS = DATA / "neurosynth"
SAMPLE = (SAMPLE_DIR / "neurosynth" / "sample-24studies_coordinates.tsv.gz",
          SAMPLE_DIR / "neurosynth" / "sample-24studies_metadata.tsv.gz")


def _by_id(result):
    return {s["source_id"]: s for s in result.studies}


def test_sample_gives_one_study_per_pmid_with_all_peaks():
    result = parse(*SAMPLE)
    assert len(result.studies) == 24
    assert result.skipped == []
    assert sum(len(a["points"]) for s in result.studies for a in s["analyses"]) == 1481


def test_bibliographic_fields_are_kept():
    study = _by_id(parse(*SAMPLE))["9084599"]
    assert study["name"] == "Anatomy of motor learning. I. Frontal cortex and attention to action."
    assert study["authors"].startswith("Jueptner M, Stephan KM")
    assert study["year"] == 1997
    assert study["publication"] == "Journal of neurophysiology"
    assert study["pmid"] == "9084599"
    assert study["source"] == "neurosynth"


def test_doi_kept_raw_and_empty_doi_is_none():
    studies = _by_id(parse(*SAMPLE))
    assert studies["9491989"]["doi"] == "10.1016/S0896-6273(00)80456-0"
    assert studies["9065511"]["doi"] is None


def test_doi_placeholder_is_none():
    # NiMARE's copy of the metadata writes "n/a" where the release leaves the DOI empty.
    result = parse(SAMPLE[0], NS / "nimare-subset_metadata.tsv.gz")
    studies = _by_id(result)
    assert studies["9065511"]["doi"] is None
    assert studies["9491989"]["doi"] == "10.1016/S0896-6273(00)80456-0"


def test_each_study_keeps_its_own_space():
    studies = _by_id(parse(*SAMPLE))
    for pmid, space in (("9065511", "MNI"), ("9185551", "TAL"), ("9405692", "UNKNOWN")):
        study = studies[pmid]
        assert study["metadata"]["space"] == space
        spaces = {p["space"] for a in study["analyses"] for p in a["points"]}
        assert spaces == {space}


def test_interleaved_tables_are_grouped_by_table_id():
    # Neurosynth lists a study's peaks in no table order; each table is one analysis.
    result = parse(*SAMPLE)
    for study in result.studies:
        t_ids = [a["table"]["t_id"] for a in study["analyses"]]
        assert len(t_ids) == len(set(t_ids))


def test_empty_table_label_falls_back_to_table_id(tmp_path):
    coordinates = tmp_path / "c.tsv"
    metadata = tmp_path / "m.tsv"
    coordinates.write_text(
        "id\ttable_id\ttable_num\tpeak_id\tx\ty\tz\n"
        "1\t28698\t\t548691\t38.0\t-48.0\t49.0\n"
        "1\t28699\t2.\t548692\t38.0\t-48.0\t49.0\n"
        "1\t28698\t\t548693\t1.0\t2.0\t3.0\n"
    )
    metadata.write_text("id\tdoi\tspace\ttitle\tauthors\tyear\tjournal\n1\t\tTAL\tT\tA\tsoon\tJ\n")
    result = parse(coordinates, metadata)
    analyses = result.studies[0]["analyses"]
    assert [(a["name"], len(a["points"])) for a in analyses] == [("28698", 2), ("2.", 1)]
    assert analyses[0]["table"] == {"t_id": "28698", "name": None}
    assert result.studies[0]["year"] is None
    assert [(s.line, "year") for s in result.skipped] == [(2, "year")]


def test_study_without_metadata_has_unknown_space(tmp_path):
    coordinates = tmp_path / "c.tsv"
    metadata = tmp_path / "m.tsv"
    coordinates.write_text("id\ttable_id\ttable_num\tpeak_id\tx\ty\tz\n7\t1\t1\t1\t1\t2\t3\n")
    metadata.write_text("id\tdoi\tspace\ttitle\tauthors\tyear\tjournal\n")
    study = parse(coordinates, metadata).studies[0]
    assert study["name"] is None
    assert study["analyses"][0]["points"][0]["space"] == "UNKNOWN"


def test_optional_mni_margin(tmp_path):
    coordinates = tmp_path / "c.tsv"
    metadata = tmp_path / "m.tsv"
    coordinates.write_text("id\ttable_id\ttable_num\tpeak_id\tx\ty\tz\n7\t1\t1\t1\t1\t2\t-99\n")
    metadata.write_text("id\tdoi\tspace\ttitle\tauthors\tyear\tjournal\n")
    assert parse(coordinates, metadata).skipped == []
    assert len(parse(coordinates, metadata, margin_mm=10.0).skipped) == 1


def test_streaming_matches_collecting():
    streamed = list(iter_studies(*SAMPLE))
    assert streamed == parse(*SAMPLE).studies
