"""Fixtures of the meta-analysis run tests: a snapshot of real NIMADS data with sample sizes
(and, for two-group runs, grouping columns)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.examples import import_example


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """The data folder of the run (file store and null cache)."""
    return tmp_path


@pytest.fixture
def imported(services, alice):
    """The bundled NIMADS example imported by alice, annotated with sample sizes."""
    return import_example(services, alice)


@pytest.fixture
def snapshot(services, alice, imported) -> dict:
    """A snapshot of the example with its sample sizes."""
    return services.snapshots.create(alice, imported.studyset.id,
                                     annotation_id=imported.annotation.id, include="include")[0]
