"""Fixtures of the meta-analysis run tests: a snapshot of real NIMADS data with sample sizes
(and, for two-group runs, grouping columns)."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurostore.services.nimads import import_studyset
from tests.support.examples import example, with_sample_sizes


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """The data folder of the run (file store and null cache)."""
    return tmp_path


@pytest.fixture
def imported(services, alice):
    """The bundled NIMADS example imported by alice, annotated with sample sizes."""
    return import_studyset(services, alice, example("nimads_studyset.json"),
                           with_sample_sizes(example("nimads_annotation.json")))


@pytest.fixture
def snapshot(services, alice, imported) -> dict:
    """A snapshot of the example with its sample sizes."""
    return services.snapshots.create(alice, imported.studyset.id,
                                     annotation_id=imported.annotation.id, include="include")[0]
