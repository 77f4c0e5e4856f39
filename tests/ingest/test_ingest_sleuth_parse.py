"""Sleuth text parser: NiMARE's real test files, line endings, and errors naming lines."""

from __future__ import annotations

import pytest

from ingest.records import ParseError
from ingest.sleuth.parse import parse, parse_text
from tests.support.data import DATA, SAMPLE_DIR

SLEUTH = DATA / "sleuth"


def test_mni_file():
    result = parse(SAMPLE_DIR / "sleuth" / "test_sleuth_file.txt")
    assert result.skipped == []
    assert [s["source_id"] for s in result.studies] == ["StudyName", "StudyName2", "StudyName3"]
    analysis = result.studies[0]["analyses"][0]
    assert analysis["name"] == "ExperimentName"
    assert analysis["metadata"] == {"sample_size": 50}
    assert [p["coordinates"] for p in analysis["points"]] == [
        [-16.0, -58.0, -22.0],
        [26.0, -64.0, -50.0],
        [12.0, -70.0, -42.0],
        [-10.0, 12.0, 50.0],
    ]
    assert {p["space"] for p in analysis["points"]} == {"MNI"}
    assert result.studies[0]["source"] == "sleuth"


def test_several_header_lines_name_one_experiment():
    study = parse(SAMPLE_DIR / "sleuth" / "test_sleuth_file.txt").studies[2]
    (analysis,) = study["analyses"]
    assert analysis["name"] == "ExperimentName; ExperimentName2; ExperimentName3"
    assert len(analysis["metadata"]["sleuth_headers"]) == 3
    assert len(analysis["points"]) == 1


def test_talairach_file_with_space_aligned_columns():
    result = parse(SLEUTH / "test_sleuth_file2.txt")
    points = [p for s in result.studies for a in s["analyses"] for p in a["points"]]
    assert {p["space"] for p in points} == {"TAL"}
    assert points[1]["coordinates"] == [-18.0, -58.0, -24.0]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(newline):
    text = (SAMPLE_DIR / "sleuth" / "test_sleuth_file.txt").read_text().replace("\n", newline)
    result = parse_text(text)
    assert len(result.studies) == 3
    assert sum(len(a["points"]) for s in result.studies for a in s["analyses"]) == 7


def test_crlf_file_with_bom_and_author_year(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(
        b"\xef\xbb\xbf// Reference=Talairach\r\n// Smith et al., 2005: Faces > Houses\r\n"
        b"// Subjects=12\r\n1\t2\t3\r\n\r\n// Smith et al., 2005: Houses > Faces\r\n"
        b"// Subjects=12\r\n4 5 6\r\n"
    )
    (study,) = parse(path).studies
    assert (study["authors"], study["year"]) == ("Smith et al.", 2005)
    assert [a["name"] for a in study["analyses"]] == ["Faces > Houses", "Houses > Faces"]


def test_reference_may_change_between_experiments():
    text = (
        "// Reference=MNI\n// A: x\n// Subjects=3\n1 2 3\n"
        "// Reference=TAL\n// B: y\n// Subjects=4\n4 5 6\n"
    )
    spaces = [parse_text(text).studies[i]["analyses"][0]["points"][0]["space"] for i in (0, 1)]
    assert spaces == ["MNI", "TAL"]


def test_bad_lines_are_reported_with_their_line_number():
    text = "\n".join(
        [
            "// Reference=MNI",  # 1
            "// A: x",  # 2
            "// Subjects=10",  # 3
            "1 2 3",  # 4
            "1 2",  # 5
            "1 two 3",  # 6
            "",  # 7
            "// B: y",  # 8
            "4 5 6",  # 9  (no Subjects line)
            "",
            "// C: z",  # 11
            "// Subjects=5",  # 12 (no coordinates)
        ]
    )
    result = parse_text(text)
    assert [(s.line, s.source_id) for s in result.skipped] == [
        (5, "A"),
        (6, "A"),
        (2, "A"),
        (8, "B"),
        (11, "C"),
    ]
    assert "expected three numbers" in result.skipped[0].reason
    # An experiment with a bad line is left out whole, never stored missing a peak.
    assert "left out whole: bad line(s) 5, 6" in result.skipped[2].reason
    assert "Subjects" in result.skipped[3].reason
    assert "no coordinates" in result.skipped[4].reason
    assert result.studies == []


def test_unknown_space_names_the_line():
    with pytest.raises(ParseError, match=r"line 1: unknown reference space 'ICBM'"):
        parse_text("// Reference=ICBM\n// A: x\n// Subjects=3\n1 2 3\n")


def test_missing_reference_names_the_line():
    with pytest.raises(ParseError, match=r"line 2: experiment header before"):
        parse_text("\n// A: x\n// Subjects=3\n1 2 3\n")
