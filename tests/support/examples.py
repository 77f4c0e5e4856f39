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
