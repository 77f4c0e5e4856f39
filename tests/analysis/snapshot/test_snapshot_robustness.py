"""Odd but list-shaped studysets: every writer reports or names the problem, never crashes."""

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.snapshot import write_nimare, write_sleuth, write_tsv
from neurostore.snapshot import MalformedSnapshot, canonical_bytes, write_nimads

junk = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 50), st.floats(), st.text(max_size=5),
    st.lists(st.one_of(st.integers(), st.floats()), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def mostly(strategy):
    """``strategy`` five times in six, ``junk`` otherwise."""
    return st.integers(0, 5).flatmap(lambda k: junk if k == 0 else strategy)


number = st.one_of(st.integers(-100, 100), st.floats(-100, 100), st.floats(), st.none(),
                   st.text(max_size=2), st.booleans())
point = mostly(st.fixed_dictionaries({}, optional={
    "id": st.one_of(st.text(max_size=4), junk),
    "coordinates": mostly(st.one_of(st.lists(number, min_size=2, max_size=4),
                                    st.lists(st.floats(-90, 90), min_size=3, max_size=3))),
    "space": mostly(st.sampled_from(["MNI", "TAL", "Talairach", "UNKNOWN", "ICBM"])),
    "kind": junk,
}))
image = mostly(st.fixed_dictionaries({}, optional={
    "url": st.one_of(st.just("a/b.nii.gz"), junk),
    "filename": st.one_of(st.just("t.nii"), junk),
    "value_type": st.one_of(st.sampled_from(["T", "z", "BETA", "VARCOPE", "se", "F"]), junk),
    "space": junk,
}))
metadata = mostly(st.fixed_dictionaries({}, optional={
    "sample_size": st.one_of(st.integers(1, 30), junk),
    "sample_sizes": mostly(st.lists(st.one_of(st.integers(1, 30), junk), max_size=3)),
}))
analysis = mostly(st.fixed_dictionaries({}, optional={
    "id": mostly(st.sampled_from(["a1", "a2"])),
    "name": junk,
    "metadata": metadata,
    "points": mostly(st.lists(point, max_size=4)),
    "images": mostly(st.lists(image, max_size=3)),
}))
study = mostly(st.fixed_dictionaries({}, optional={
    "id": mostly(st.sampled_from(["s1", "s2", "s3"])),
    "name": junk, "authors": junk, "year": junk, "metadata": metadata,
    "analyses": mostly(st.lists(analysis, max_size=3)),
}))
studysets = st.fixed_dictionaries({"studies": st.lists(study, max_size=4)})
note = st.fixed_dictionaries({
    "study": st.sampled_from(["s1", "s2", "s3"]),
    "analysis": st.sampled_from(["a1", "a2"]),
    "note": st.fixed_dictionaries({}, optional={"include": st.one_of(st.booleans(), junk),
                                                "group": junk}),
})
annotations = st.one_of(st.none(), st.fixed_dictionaries({
    "note_keys": st.just({"include": "boolean", "group": "string"}),
    "notes": st.lists(note, max_size=6, unique_by=lambda n: (n["study"], n["analysis"])),
}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(studysets, annotations)
def test_writers_never_crash(studyset, annotation):
    try:
        expected = canonical_bytes(studyset, annotation)
    except MalformedSnapshot:
        expected = None
    out = io.BytesIO()
    try:
        write_nimads(studyset, out, annotation)
        assert out.getvalue() == expected
    except MalformedSnapshot:
        assert expected is None
    for write in (
        write_tsv,
        lambda s, o, a: write_sleuth(s, o, a, space="MNI", unknown_space="TAL"),
        write_nimare,
    ):
        try:
            summary = write(studyset, io.BytesIO(), annotation)
        except MalformedSnapshot as exc:
            assert exc.where.startswith("study ")  # a value JSON cannot hold, named
        else:
            assert summary.n_points >= 0
