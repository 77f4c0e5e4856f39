"""NIMADS studysets as the snapshot tests take them (a pytest plugin the root conftest loads):
the examples shipped with NiMARE, and small synthetic studysets."""

from collections.abc import Callable

import pytest

from tests.support.examples import example


@pytest.fixture
def studyset() -> dict:
    """A NeuroStore studyset export: 38 studies, 27 analyses, 212 points."""
    return example("nimads_studyset.json")


@pytest.fixture
def annotation() -> dict:
    """The annotation of ``studyset``: ``include: boolean`` for each of its 27 analyses."""
    return example("nimads_annotation.json")


@pytest.fixture
def pain_studyset() -> dict:
    """21 pain studies with beta, se, t and z image references and MNI points."""
    return example("nidm_pain_studyset.json")


@pytest.fixture
def make_studyset() -> Callable[..., dict]:
    """Build a studyset from ``{study_id: {analysis_id: [(x, y, z, space), ...]}}``.

    Every study gets authors, a year and ``metadata.sample_size`` 20 unless ``study_fields``
    overrides them per study id.
    """

    def build(layout: dict, study_fields: dict | None = None) -> dict:
        studies = []
        for study_id, analyses in layout.items():
            study = {
                "id": study_id,
                "name": f"Study {study_id}",
                "authors": "Doe J, Roe R",
                "year": 2010,
                "metadata": {"sample_size": 20},
                "analyses": [
                    {
                        "id": analysis_id,
                        "name": f"Contrast {analysis_id}",
                        "points": [
                            {"coordinates": [x, y, z], "space": space}
                            for x, y, z, space in points
                        ],
                        "images": [],
                    }
                    for analysis_id, points in analyses.items()
                ],
            }
            study.update((study_fields or {}).get(study_id, {}))
            studies.append(study)
        return {"id": "ss1", "name": "synthetic", "studies": studies}

    return build
