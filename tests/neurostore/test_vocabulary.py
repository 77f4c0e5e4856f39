"""The one vocabulary: the codes it gives, and that the API, ingest and the schema agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import CheckConstraint

from ingest.space import normalise_space
from ingest.value_types import normalise_value_type
from neurostore.db import Base
from neurostore.models import AnalysisRun, Image, IngestRun, Point, Revision, User
from neurostore.schemas.fields import PointSpace as PointSpaceField
from neurostore.schemas.fields import ValueType as ValueTypeField
from neurostore.vocabulary import (
    NEUROVAULT_MAP_TYPES,
    POINT_SPACE_ALIASES,
    VALUE_TYPE_ALIASES,
    PointSpace,
    RevisionAction,
    Role,
    RunStatus,
    ValueType,
    values,
)

MIGRATIONS = Path(__file__).parents[2] / "migrations" / "versions"

#: NeuroStore's own map types, as (code, label) pairs: ``MAP_TYPE_CHOICES`` in
#: ``store/backend/neurostore/map_types.py`` of github.com/neurostuff/neurostore (commit
#: 15fab56), which copies NeuroVault's ``map_type`` choices. NeuroStore spells three codes
#: differently from this store, which keeps its codes in capitals and spells variance out:
#: ``Pa`` -> ``PA``, ``Other`` -> ``OTHER``, ``V`` -> ``VARIANCE``. The NIMADS schema
#: (``imageBase.yaml``, neurostuff/NIMADS) leaves ``value_type`` a free string with the
#: example ``Z``, so NeuroStore's codes are the reference.
NEUROSTORE_MAP_TYPES = (
    ("T", "T map"),
    ("Z", "Z map"),
    ("F", "F map"),
    ("X2", "Chi squared map"),
    ("P", "P map (given null hypothesis)"),
    ("IP", '1-P map ("inverted" probability)'),
    ("M", "multivariate-beta map"),
    ("U", "univariate-beta map"),
    ("R", "ROI/mask"),
    ("Pa", "parcellation"),
    ("A", "anatomical"),
    ("V", "variance"),
    ("Other", "other"),
)
STORE_SPELLING = {"Pa": "PA", "Other": "OTHER", "V": "VARIANCE"}


@pytest.mark.parametrize(("code", "label"), NEUROSTORE_MAP_TYPES)
def test_neurostore_map_types_get_neurostores_codes(code, label):
    """Ingest reads NeuroVault's labels and codes; the API its codes, and the labels it
    documents (not the three long ones: the API's spellings are unchanged)."""
    expected = STORE_SPELLING.get(code, code)
    assert NEUROVAULT_MAP_TYPES[label] == expected
    assert normalise_value_type(label) == expected
    assert normalise_value_type(code) == expected
    assert ValueTypeField().deserialize(code) == expected
    if label.upper() in VALUE_TYPE_ALIASES:
        assert ValueTypeField().deserialize(label) == expected


def test_multivariate_beta_is_m_and_univariate_beta_is_u():
    for spelling in ("MULTIVARIATE-BETA MAP", "multivariate-beta map", "M"):
        assert ValueTypeField().deserialize(spelling) == "M"
        assert normalise_value_type(spelling) == "M"
    for spelling in ("UNIVARIATE-BETA MAP", "univariate-beta map", "U"):
        assert ValueTypeField().deserialize(spelling) == "U"
        assert normalise_value_type(spelling) == "U"


@pytest.mark.parametrize("spelling", sorted(VALUE_TYPE_ALIASES))
def test_api_and_ingest_read_every_value_type_spelling_alike(spelling):
    code = VALUE_TYPE_ALIASES[spelling]
    assert ValueTypeField().deserialize(spelling.lower()) == code
    assert normalise_value_type(spelling.lower()) == code
    assert type(ValueTypeField().deserialize(spelling)) is str


@pytest.mark.parametrize("spelling", sorted(POINT_SPACE_ALIASES))
def test_api_and_ingest_read_every_point_space_spelling_alike(spelling):
    space = POINT_SPACE_ALIASES[spelling]
    assert PointSpaceField().deserialize(spelling.title()) == space
    assert normalise_space(spelling.title()) == space


def test_codes_are_the_stored_text():
    assert values(PointSpace) == ("MNI", "TAL", "UNKNOWN")
    assert values(ValueType) == ("T", "Z", "F", "X2", "P", "IP", "BETA", "SE", "VARCOPE",
                                 "VARIANCE", "M", "U", "R", "PA", "A", "OTHER")
    assert values(Role) == ("user", "curator", "admin")
    assert values(RunStatus) == ("queued", "running", "succeeded", "failed", "cancelled")
    assert values(RevisionAction) == ("create", "update", "delete", "restore", "revert",
                                      "clone", "merge")


def _check(model: type[Base], name: str) -> str:
    found = [c for c in model.__table__.constraints
             if isinstance(c, CheckConstraint) and c.name.endswith(name)]
    assert len(found) == 1
    return str(found[0].sqltext)


@pytest.mark.parametrize(("model", "name", "vocabulary"), [
    (Point, "space_known", PointSpace),
    (Image, "value_type_known", ValueType),
    (User, "role_known", Role),
    (IngestRun, "status_known", RunStatus),
    (AnalysisRun, "status_known", RunStatus),
    (Revision, "action_known", RevisionAction),
])
def test_checks_are_built_from_the_vocabulary_as_the_migrations_wrote_them(model, name,
                                                                           vocabulary):
    """A CHECK lists every member, and a migration holds its exact text: adding a member
    needs a migration (``alembic check`` does not compare CHECK constraints)."""
    text = _check(model, name)
    assert all(f"'{member}'" in text for member in vocabulary)
    migrations = "".join(p.read_text() for p in sorted(MIGRATIONS.glob("*.py")))
    assert text in migrations
