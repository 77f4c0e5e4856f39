"""The fast point list validates exactly like the point schema."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError, fields

from neurostore.schemas.points import PointList, PointSchema

_reference = fields.List(fields.Nested(PointSchema))
_fast = PointList()

scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True),
    st.sampled_from(["", "x", "MNI", "tal", "Talairach", "unknown", "FOO", "1", "true",
                     "nan", "3.5", "a" * 70, "a" * 300]),
)
value_item = st.one_of(scalar, st.fixed_dictionaries({}, optional={"kind": scalar,
                                                                   "value": scalar}))
coordinates = st.one_of(
    scalar, st.lists(st.one_of(st.none(), st.floats(-100, 100), st.integers(-90, 90),
                               st.just(math.inf), st.text(max_size=2)), max_size=4),
)
point = st.one_of(
    scalar,
    st.fixed_dictionaries(
        {},
        optional={
            "id": scalar, "coordinates": coordinates, "space": scalar, "kind": scalar,
            "label_id": scalar, "cluster_size": scalar, "subpeak": scalar,
            "deactivation": scalar, "values": st.one_of(scalar, st.lists(value_item,
                                                                         max_size=3)),
            "extra": scalar,
        },
    ),
)


def _outcome(field, value):
    try:
        return "ok", field.deserialize(value)
    except ValidationError as exc:
        return "error", exc.messages


@settings(max_examples=400, deadline=None)
@given(st.lists(point, max_size=4))
def test_fast_points_equal_the_schema(points):
    expected = _outcome(_reference, points)
    got = _outcome(_fast, points)
    if expected[0] == "ok":
        assert got == expected
    else:
        assert got[0] == "error"
        assert set(got[1]) == set(expected[1])
        for index, problems in expected[1].items():
            assert set(got[1][index]) == set(problems), (points[index], problems, got[1])
