"""In and Out schemas of a resource cannot drift: what a client may send (the In schema)
is what a GET shows it (the Out schema), and what the Out schema adds is exactly the
resource's read-only fields, listed here. A field added to one side only fails this test."""

from __future__ import annotations

import pytest

from neurostore.schemas import api_responses as out
from neurostore.schemas import points, studies, studysets

COMMON = {"created_at", "updated_at", "version"}
#: (In schema, Out schema, the fields only the server writes)
PAIRS = [
    (studies.StudySchema, out.StudyOut,
     COMMON | {"has_coordinates", "has_images", "parent", "studysets", "user"}),
    (studies.BaseStudySchema, out.BaseStudyOut, COMMON | {"merged_into", "versions", "features"}),
    (studies.AnalysisSchema, out.AnalysisOut, {"order", "point_count", "study"}),
    (studies.ImageSchema, out.ImageOut, {"analysis", "order", "study"}),
    (studies.ConditionSchema, out.ConditionOut, set()),
    (studies.TableSchema, out.TableOut, {"order", "study"}),
    (points.PointSchema, out.PointOut, {"analysis", "order", "study"}),
    (points.PointValueSchema, out.PointValueOut, set()),
    (studysets.StudysetSchema, out.StudysetOut,
     COMMON | {"parent", "source", "source_id", "studyset_studies", "user"}),
    (studysets.AnnotationSchema, out.AnnotationOut, COMMON | {"parent", "user"}),
    (studysets.NoteSchema, out.NoteOut,
     {"analysis_name", "authors", "publication", "study_name", "study_year"}),
]


def _names(schema: type, *, side: str) -> set[str]:
    hidden = "dump_only" if side == "in" else "load_only"
    return {f.data_key or name for name, f in schema().fields.items()
            if not getattr(f, hidden)}


@pytest.mark.parametrize("given,shown,read_only", PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_a_get_shows_every_field_a_client_sends_and_only_read_only_ones_besides(
        given, shown, read_only):
    sent, dumped = _names(given, side="in"), _names(shown, side="out")
    assert sent <= dumped, f"{given.__name__} takes {sorted(sent - dumped)} no GET shows"
    assert dumped - sent == read_only
