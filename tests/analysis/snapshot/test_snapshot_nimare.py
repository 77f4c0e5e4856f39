"""NiMARE dataset dict: NiMARE's Dataset loads it with the right contents."""

import io
import json

import numpy as np
import pytest
from nimare.dataset import Dataset
from nimare.utils import tal2mni

from analysis.snapshot import nimare_dict, write_nimare
from analysis.snapshot.nimare import image_type
from neurostore.snapshot import SnapshotError


def test_nimare_loads_the_neurostore_example(studyset, annotation, tmp_path):
    data, skipped = nimare_dict(studyset, annotation, unknown_space="MNI")
    assert skipped == ()
    path = tmp_path / "dataset.json"
    with path.open("wb") as out:
        summary = write_nimare(studyset, out, annotation, unknown_space="MNI")
    assert json.loads(path.read_bytes()) == data
    assert (summary.n_studies, summary.n_analyses, summary.n_points) == (15, 27, 212)

    dataset = Dataset(str(path))
    assert len(dataset.ids) == 27
    assert len(dataset.coordinates) == 212
    assert set(dataset.coordinates["space"]) == {"mni152_2mm"}
    # Study-level sample sizes reach every analysis, as lists.
    sizes = dict(zip(dataset.ids, dataset.get_metadata(field="sample_sizes"), strict=True))
    assert sizes["4gjJHCEboH8f-7jAUMpYv9brz"] == [9]
    assert all(len(s) == 1 for s in sizes.values())
    assert dataset.annotations["include"].tolist() == [True] * 27
    names = dataset.get_metadata(ids=["4gjJHCEboH8f-7jAUMpYv9brz"], field="analysis_name")
    assert names == ["Finger opposition vs Rest\t"]


def test_points_without_space_keep_the_space_of_their_analysis(studyset):
    data, _ = nimare_dict(studyset)
    # 5 points without space and 2 in MNI: the analysis is MNI.
    assert data["359AbepuGmEy"]["contrasts"]["3pbFDWdMbe23"]["coords"]["space"] == "MNI"
    assert data["4gjJHCEboH8f"]["contrasts"]["7jAUMpYv9brz"]["coords"]["space"] == "UNKNOWN"


def test_images_and_sample_sizes_of_the_pain_studies(pain_studyset):
    # Value types as other sources spell them.
    spellings = {"beta": "BETA", "se": "SE", "t": "T", "z": "z"}
    for study in pain_studyset["studies"]:
        for analysis in study["analyses"]:
            for image in analysis["images"]:
                image["value_type"] = spellings[image["value_type"]]
    data, skipped = nimare_dict(pain_studyset)
    assert skipped == ()
    dataset = Dataset(data)
    assert len(dataset.ids) == 21
    assert len(dataset.coordinates) == sum(
        len(a["points"]) for s in pain_studyset["studies"] for a in s["analyses"]
    )
    for column in ("beta__relative", "se__relative", "t__relative"):
        assert dataset.images[column].notna().sum() == 21
    assert dataset.images.loc[0, "t__relative"] == "pain_01.nidm/TStatistic.nii.gz"
    assert dataset.images["space"].unique().tolist() == ["MNI"]
    assert dataset.get_metadata(ids=["pain_01.nidm-1"], field="sample_sizes") == [[25]]


def test_talairach_points_are_left_for_nimare_to_convert(make_studyset):
    studyset = make_studyset({
        "s1": {"a1": [(10, 20, 30, "TAL"), (-10, 0, 5, "Talairach")]},
        "s2": {"a2": [(1, 2, 3, "MNI")]},
    })
    data, _ = nimare_dict(studyset)
    assert data["s1"]["contrasts"]["a1"]["coords"]["space"] == "TAL"
    dataset = Dataset(data)
    moved = dataset.coordinates.set_index("contrast_id").loc["a1", ["x", "y", "z"]].to_numpy()
    assert np.allclose(moved, tal2mni(np.array([[10.0, 20.0, 30.0], [-10.0, 0.0, 5.0]])))


def test_problems_are_reported_and_the_rest_is_written(make_studyset):
    studyset = make_studyset({
        "s1": {
            "mixed": [(1, 2, 3, "MNI"), (4, 5, 6, "TAL")],
            "bad": [(1, 2, 3, "MNI"), (None, 2, 3, "MNI")],
            "imgs": [],
        },
    })
    studyset["studies"][0]["analyses"][1]["points"].append({"space": "MNI"})
    studyset["studies"][0]["analyses"][2]["images"] = [
        {"url": "https://x.org/f.nii.gz", "value_type": "F"},
        {"url": "https://x.org/t.nii.gz", "value_type": "T map"},
        {"url": "https://x.org/t2.nii.gz", "value_type": "t"},
        {"value_type": "z"},
        "not an image",
    ]
    studyset["studies"].append({"id": "s1", "analyses": []})
    out = io.BytesIO()
    summary = write_nimare(studyset, out)
    reasons = {(s.study_id, s.analysis_id, s.point_index): s.reason for s in summary.skipped}
    assert reasons == {
        ("s1", None, None): "study id repeated",
        ("s1", "mixed", None): "points in several spaces (MNI, TAL)",
        ("s1", "bad", 1): "coordinates [None, 2, 3] are not three finite numbers",
        ("s1", "bad", 2): "point has no coordinates",
        ("s1", "imgs", None): reasons[("s1", "imgs", None)],
    }
    image_reasons = [s.reason for s in summary.skipped if s.analysis_id == "imgs"]
    assert image_reasons == [
        "images[0]: value_type 'F' is not one NiMARE uses",
        "images[2]: a second 't' image",
        "images[3]: no url or filename",
        "images[4]: not an image object",
    ]
    contrasts = json.loads(out.getvalue())["s1"]["contrasts"]
    assert "coords" not in contrasts["mixed"]
    assert contrasts["bad"]["coords"]["x"] == [1.0]
    assert contrasts["imgs"]["images"] == {"t": "https://x.org/t.nii.gz"}
    assert summary.n_points == 1


def test_include_and_labels(studyset, annotation):
    for note in annotation["notes"][:5]:
        note["note"]["include"] = False
    annotation["note_keys"]["reviewer"] = "string"
    annotation["notes"][5]["note"]["reviewer"] = "ab"
    summary = write_nimare(studyset, io.BytesIO(), annotation, include="include")
    assert (summary.n_analyses, summary.n_excluded) == (22, 5)
    data, _ = nimare_dict(studyset, annotation, include="include")
    labels = [c["labels"] for s in data.values() for c in s["contrasts"].values()]
    assert all(set(label) == {"include", "reviewer"} for label in labels)
    assert sum(label["reviewer"] == "ab" for label in labels) == 1


@pytest.mark.parametrize(
    ("value_type", "expected"),
    [("T", "t"), ("Z map", "z"), ("BETA", "beta"), ("VARCOPE", "varcope"), ("variance", "varcope"),
     ("se", "se"), ("univariate-beta map", "beta"), ("P map (given null hypothesis)", "p"),
     ("F map", None), ("other", None), (None, None)],
)
def test_image_types(value_type, expected):
    assert image_type(value_type) == expected


def test_unknown_space_must_be_mni_or_tal(studyset):
    with pytest.raises(SnapshotError, match="unknown_space='ICBM'"):
        nimare_dict(studyset, unknown_space="ICBM")
