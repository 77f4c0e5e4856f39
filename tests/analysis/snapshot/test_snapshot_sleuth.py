"""Sleuth text: one file per space, read back by NiMARE."""

import io

import numpy as np
import pytest
from nimare.io import convert_sleuth_to_dataset, convert_sleuth_to_dict

from analysis.snapshot import write_sleuth
from analysis.snapshot.sleuth import experiment_header
from neurostore.snapshot import SnapshotError
from neurostore.snapshot.experiments import Experiment


def _write(tmp_path, studyset, space, **kwargs):
    path = tmp_path / f"sleuth_{space}.txt"
    with path.open("wb") as out:
        summary = write_sleuth(studyset, out, space=space, **kwargs)
    return path, summary


def test_the_neurostore_example_round_trips_through_nimare(studyset, annotation, tmp_path):
    path, summary = _write(tmp_path, studyset, "MNI", annotation=annotation,
                           unknown_space="MNI")
    assert (summary.n_studies, summary.n_analyses, summary.n_points) == (15, 27, 212)
    assert summary.skipped == ()
    text = path.read_text()
    assert text.startswith(
        "// Reference=MNI\n"
        "// Gelnar PA et al., 1999 (4gjJHCEboH8f): Finger opposition vs Rest (7jAUMpYv9brz)\n"
        "// Subjects=9\n0.0\t-10.0\t72.0\n"
    )
    dataset = convert_sleuth_to_dataset(str(path))
    assert len(dataset.ids) == 27
    assert len(dataset.coordinates) == 212
    assert sorted(s[0] for s in dataset.get_metadata(field="sample_sizes")) == sorted(
        [9, 13, 13, 7, 8, 5, 12, 8] + [6] * 6 + [7] + [7] * 4 + [11] + [10] * 3 + [15] * 2
        + [6] * 2
    )


def test_one_file_per_space(make_studyset, tmp_path):
    studyset = make_studyset({
        "s1": {"a1": [(10, 20, 30, "TAL"), (-10.5, 0, 5, "TAL")], "a2": [(1, 2, 3, "MNI")]},
        "s2": {"a3": [(4, 5, 6, "MNI"), (7, 8, 9, None)]},
    })
    mni, mni_summary = _write(tmp_path, studyset, "MNI")
    tal, tal_summary = _write(tmp_path, studyset, "TAL")
    assert (mni_summary.n_studies, mni_summary.n_analyses, mni_summary.n_points) == (2, 2, 3)
    assert (tal_summary.n_studies, tal_summary.n_analyses, tal_summary.n_points) == (1, 1, 2)
    assert mni_summary.skipped == tal_summary.skipped == ()
    assert tal.read_text().splitlines()[0] == "// Reference=Talairach"
    raw = convert_sleuth_to_dict([str(mni), str(tal)])
    spaces = {c: e["coords"]["space"] for s in raw.values() for c, e in s["contrasts"].items()}
    assert spaces == {"Contrast a1 (a1)": "Talairach", "Contrast a2 (a2)": "MNI",
                      "Contrast a3 (a3)": "MNI"}
    talairach = raw["Doe J et al., 2010 (s1)"]["contrasts"]["Contrast a1 (a1)"]["coords"]
    assert np.allclose(talairach["x"], [10, -10.5])
    dataset = convert_sleuth_to_dataset([str(mni), str(tal)])
    assert len(dataset.ids) == 3 and len(dataset.coordinates) == 5


def test_experiments_that_cannot_be_written_are_reported(make_studyset, tmp_path):
    studyset = make_studyset(
        {
            "s1": {"ok": [(1, 2, 3, "MNI"), (None, 2, 3, "MNI")], "empty": [],
                   "mixed": [(1, 2, 3, "MNI"), (1, 2, 3, "TAL")], "nospace": [(1, 2, 3, None)]},
            "s2": {"nosize": [(1, 2, 3, "MNI")], "tal": [(1, 2, 3, "TAL")]},
        },
        {"s2": {"metadata": None}},
    )
    path, summary = _write(tmp_path, studyset, "MNI")
    reasons = {(s.analysis_id, s.point_index): s.reason for s in summary.skipped}
    assert reasons == {
        ("ok", 1): "coordinates [None, 2, 3] are not three finite numbers",
        ("empty", None): "no coordinates",
        ("mixed", None): "points in several spaces (MNI, TAL)",
        ("nospace", None): "points name no space (pass unknown_space='MNI' or 'TAL' to place them)",
        ("nosize", None): "no sample size",
    }
    assert summary.n_analyses == 1
    dataset = convert_sleuth_to_dataset(str(path))
    assert dataset.ids.tolist() == ["Doe J et al., 2010 (s1)-Contrast ok (ok)"]
    _, tal_summary = _write(tmp_path, studyset, "TAL")
    assert tal_summary.n_analyses == 0  # s2's TAL analysis has no sample size either
    assert ("tal", None) in {(s.analysis_id, s.point_index) for s in tal_summary.skipped}


def test_awkward_names_keep_experiments_apart(make_studyset, tmp_path):
    studyset = make_studyset(
        {"s1": {"a1": [(1, 2, 3, "MNI")], "a2": [(4, 5, 6, "MNI")]},
         "s2": {"a1": [(7, 8, 9, "MNI")]},
         "s3": {"a3": [(1, 1, 1, "MNI")]}},
        {
            "s1": {"authors": "Smith: J; Jones K"},
            "s2": {"authors": "Smith: J; Jones K"},
            "s3": {"authors": None, "year": None, "name": "Stroop\n2019: a; study"},
        },
    )
    studyset["studies"][0]["analyses"][0]["name"] = "Go; NoGo:\tfaces\r\nnew line"
    studyset["studies"][0]["analyses"][1]["name"] = "Go; NoGo:\tfaces\r\nnew line"
    path, summary = _write(tmp_path, studyset, "MNI")
    assert summary.n_analyses == 4
    headers = [line for line in path.read_text().splitlines() if line.startswith("// S")]
    assert headers[0] == "// Smith, J et al., 2010 (s1): Go, NoGo: faces new line (a1)"
    raw = convert_sleuth_to_dict(str(path))
    assert sum(len(s["contrasts"]) for s in raw.values()) == 4
    assert "Stroop 2019, a, study (s3)" in raw


def test_sample_size_is_the_rounded_mean(make_studyset, tmp_path):
    studyset = make_studyset({"s1": {"a1": [(1, 2, 3, "MNI")], "a2": [(1, 2, 3, "MNI")]}})
    studyset["studies"][0]["analyses"][0]["metadata"] = {"sample_sizes": [12, 15]}
    studyset["studies"][0]["analyses"][1]["metadata"] = {"sample_size": "31"}
    path, _ = _write(tmp_path, studyset, "MNI")
    subjects = [line for line in path.read_text().splitlines() if "Subjects" in line]
    assert subjects == ["// Subjects=14", "// Subjects=31"]


def test_header_without_authors_or_year():
    study = {"id": "s9", "analyses": []}
    experiment = Experiment(study, {"id": "a9"}, "s9", "a9", {}, (), None, ())
    assert experiment_header(experiment) == "// s9: a9"


def test_bytes_are_deterministic_and_the_space_is_checked(studyset):
    first, second = io.BytesIO(), io.BytesIO()
    one = write_sleuth(studyset, first, space="MNI", unknown_space="MNI")
    two = write_sleuth(studyset, second, space="mni")
    assert one.sha256 != two.sha256  # the second leaves out analyses without a space
    again = write_sleuth(studyset, io.BytesIO(), space="MNI", unknown_space="mni152_2mm")
    assert again.sha256 == one.sha256
    with pytest.raises(SnapshotError, match="space='ICBM'"):
        write_sleuth(studyset, io.BytesIO(), space="ICBM")
