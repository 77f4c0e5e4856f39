"""Annotation notes and the inclusion filter."""

import io

import pytest

from analysis.snapshot import write_tsv
from neurostore.snapshot import MalformedSnapshot, Selection, SnapshotError


def _annotation(notes, note_keys=None):
    return {"note_keys": note_keys or {"include": "boolean"}, "notes": notes}


def test_notes_are_found_by_study_and_analysis():
    selection = Selection(_annotation([
        {"study": "s1", "analysis": "1", "note": {"include": True}},
        {"study": {"id": "s2"}, "analysis": {"id": "1"}, "note": {"include": False}},
        {"analysis": "9", "note": {"include": True}},
    ]), include="include")
    assert selection.includes("s1", "1") and not selection.includes("s2", "1")
    assert selection.includes("any", "9")
    assert not selection.includes("s3", "1")  # no note
    assert selection.note("s1", None) == {}
    assert selection.note_keys == ("include",)


def test_without_include_everything_is_selected():
    selection = Selection(_annotation([{"analysis": "a", "note": {"include": False}}]))
    assert selection.includes("s", "a")
    assert Selection().includes(None, None) and Selection().note_keys == ()


def test_a_typed_note_key_declaration_is_accepted():
    selection = Selection(_annotation([{"analysis": "a", "note": {"keep": True}}],
                                      {"keep": {"type": "boolean"}}), include="keep")
    assert selection.includes(None, "a")


@pytest.mark.parametrize(
    ("annotation", "include", "message"),
    [
        (None, "include", "include='include' needs an annotation"),
        (_annotation([]), "included", "not a note key of the annotation (note keys: 'include')"),
        (_annotation([], {"group": "string"}), "group", "is a 'string' note key, not boolean"),
        (_annotation([{"analysis": "a", "note": {"include": "yes"}}]), "include",
         "analysis 'a' has 'yes', not true, false or null"),
    ],
)
def test_bad_filters_are_refused(annotation, include, message):
    with pytest.raises(SnapshotError) as info:
        Selection(annotation, include)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("annotation", "where"),
    [
        ("include", "annotation"),
        ({"note_keys": ["include"]}, "annotation.note_keys"),
        ({"notes": {"a": {}}}, "annotation.notes"),
        ({"notes": ["a"]}, "annotation.notes[0]"),
        ({"notes": [{"note": {}}]}, "annotation.notes[0]"),
        ({"notes": [{"analysis": "a", "note": [True]}]}, "annotation.notes[0].note"),
        ({"notes": [{"analysis": "a"}, {"analysis": "a"}]}, "annotation.notes[1]"),
    ],
)
def test_malformed_annotations_are_named(annotation, where):
    with pytest.raises(MalformedSnapshot) as info:
        Selection(annotation)
    assert info.value.where == where


def test_every_writer_checks_the_filter(studyset):
    with pytest.raises(SnapshotError, match="needs an annotation"):
        write_tsv(studyset, io.BytesIO(), include="include")
