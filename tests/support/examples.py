"""The NIMADS examples shipped with the package (``neurostore/examples``): the one copy the
tests read (a studyset of NiMARE's test data and its annotation, and NiMARE's NIDM pain
studyset; licences in ``neurostore/examples``' provenance lines)."""

from __future__ import annotations

import json
from pathlib import Path

import neurostore

EXAMPLES = Path(neurostore.__file__).parent / "examples"


def example(name: str) -> dict:
    """A NIMADS example document, e.g. ``example("nimads_studyset.json")``."""
    return json.loads((EXAMPLES / name).read_text())


def with_sample_sizes(annotation: dict, size: int = 20) -> dict:
    """The example annotation with a ``sample_size`` note on every analysis."""
    notes = [{**n, "note": {**n["note"], "sample_size": size + i % 7}}
             for i, n in enumerate(annotation["notes"])]
    return {**annotation, "note_keys": {**annotation["note_keys"], "sample_size": "number"},
            "notes": notes}


def import_example(services, actor):
    """The example studyset and its annotation (with sample sizes) imported by ``actor``."""
    from neurostore.services.nimads import import_studyset

    return import_studyset(services, actor, example("nimads_studyset.json"),
                           with_sample_sizes(example("nimads_annotation.json")))


def grouped_annotation() -> dict:
    """The example annotation with a boolean ``pain`` and a string ``task`` column."""
    annotation = with_sample_sizes(example("nimads_annotation.json"))
    notes = [{**n, "note": {**n["note"], "pain": i % 3 != 0,
                            "task": ("n-back", "stroop", "rest")[i % 3]}}
             for i, n in enumerate(annotation["notes"])]
    # One analysis has no value: it belongs to neither group.
    notes[-1]["note"]["pain"] = None
    return {**annotation, "notes": notes,
            "note_keys": {**annotation["note_keys"], "pain": "boolean", "task": "string"}}
