"""Fixtures of the snapshot tests: the bundled NIMADS example, imported."""

from __future__ import annotations

import pytest

from neurostore.services.nimads import import_studyset
from tests.support.examples import example


@pytest.fixture
def imported(services, alice):
    """The bundled NIMADS studyset and annotation, imported by alice."""
    return import_studyset(services, alice, example("nimads_studyset.json"),
                           example("nimads_annotation.json"))
