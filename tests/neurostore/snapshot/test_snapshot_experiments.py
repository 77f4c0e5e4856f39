"""Reading experiments: spaces, sample sizes, points, ids."""

import pytest

from neurostore.snapshot import MalformedSnapshot, Selection
from neurostore.snapshot.experiments import (
    normalise_space,
    read_studies,
    sample_sizes,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("MNI", "MNI"), ("mni152_2mm", "MNI"), (" MNI152NLin6Asym", "MNI"), ("TAL", "TAL"),
     ("Talairach", "TAL"), ("UNKNOWN", "UNKNOWN"), ("", "UNKNOWN"), (None, "UNKNOWN"),
     ("ale_2mm", "UNKNOWN"), (3, "UNKNOWN")],
)
def test_normalise_space(value, expected):
    assert normalise_space(value) == expected


@pytest.mark.parametrize(
    ("study_md", "analysis_md", "note", "expected"),
    [
        ({"sample_size": 20}, None, {}, (20,)),
        ({"sample_size": 20}, {"sample_sizes": [10, 12]}, {}, (10, 12)),
        ({"sample_size": 20}, {"sample_size": 8}, {}, (8,)),
        ({"sample_size": 20}, {"sample_sizes": [10, 12]}, {"sample_size": 5}, (5,)),
        ({"sample_size": 20}, {"sample_sizes": [10, None]}, {}, (20,)),
        ({"sample_size": "24"}, {"sample_sizes": []}, {}, (24,)),
        ({"sample_size": 12.5}, None, {}, (12.5,)),
        ({"sample_size": 0}, {"sample_size": True}, {"sample_size": "n/a"}, None),
        ({"sample_size": float("nan")}, {"sample_size": -3}, {}, None),
        (None, None, {}, None),
    ],
)
def test_sample_sizes_follow_nimare_order(study_md, analysis_md, note, expected):
    study = {"metadata": study_md}
    analysis = {"metadata": analysis_md}
    assert sample_sizes(study, analysis, note) == expected


def _read(studyset, annotation=None, include=None):
    skipped = []
    records = list(read_studies(studyset, Selection(annotation, include), skipped))
    return records, skipped


def test_points_and_ids():
    studyset = {"studies": [
        {"id": "s1", "analyses": [
            {"id": "a1", "points": [
                {"id": "p1", "coordinates": [1, 2.5, -3], "space": "TAL", "kind": "center"},
                {"x": 4, "y": 5, "z": 6},
                {"coordinates": [1, 2]},
                {"coordinates": [1, 2, float("inf")]},
                {"coordinates": [1, True, 3]},
                "p9",
            ]},
            {"id": "a1", "points": []},
            {"name": "no id"},
            {"id": "a2", "points": {"p": 1}},
        ]},
        {"id": "s1", "analyses": []},
        "s2",
        {"name": "no id"},
        {"id": 7, "analyses": "a"},
    ]}
    records, skipped = _read(studyset)
    assert [r.study_id for r in records] == ["s1"]
    (a1, a2) = records[0].experiments
    assert [(p.point_id, p.x, p.y, p.z, p.space, p.kind) for p in a1.points] == [
        ("p1", 1.0, 2.5, -3.0, "TAL", "center"), (None, 4.0, 5.0, 6.0, "UNKNOWN", None),
    ]
    assert [(s.point_index, s.reason) for s in a1.skipped] == [
        (2, "coordinates [1, 2] are not three numbers"),
        (3, "coordinates [1, 2, inf] are not three finite numbers"),
        (4, "coordinates [1, True, 3] are not three finite numbers"),
        (5, "point is not an object"),
    ]
    assert [s.reason for s in a2.skipped] == ["points is not a list"]
    assert [(s.study_id, s.analysis_id, s.reason) for s in skipped] == [
        ("s1", "a1", "analysis id repeated in its study"),
        ("s1", None, "analyses[2] is not an analysis with an id"),
        ("s1", None, "study id repeated"),
        ("s2", None, "studies[2] is not a study with an id"),
        (None, None, "studies[3] is not a study with an id"),
        ("7", None, "analyses is not a list"),
    ]


def test_space_of_an_experiment():
    def experiment(*spaces):
        studyset = {"studies": [{"id": "s", "analyses": [{"id": "a", "points": [
            {"coordinates": [0, 0, 0], "space": space} for space in spaces
        ]}]}]}
        return _read(studyset)[0][0].experiments[0]

    assert experiment("MNI", None, "UNKNOWN").space() == ("MNI", None)
    assert experiment(None).space() == ("UNKNOWN", None)
    assert experiment(None).space("TAL") == ("TAL", None)
    assert experiment("TAL").space("MNI") == ("TAL", None)
    assert experiment("TAL", "mni").space() == (None, "points in several spaces (MNI, TAL)")
    assert experiment().space() == ("UNKNOWN", None)


def test_excluded_analyses_are_counted(studyset, annotation):
    for note in annotation["notes"][:3]:
        note["note"]["include"] = False
    records, _ = _read(studyset, annotation, "include")
    assert sum(r.n_excluded for r in records) == 3
    assert sum(len(r.experiments) for r in records) == 24
    assert all(e.note == {"include": True} for r in records for e in r.experiments)


def test_a_studyset_needs_studies():
    with pytest.raises(MalformedSnapshot, match="studyset.studies: expected a list"):
        _read({"studies": None})
