"""Fixtures of the meta-analysis run tests: a snapshot of real NIMADS data with sample sizes
(and, for two-group runs, grouping columns)."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurostore.app import create_app
from neurostore.config import Settings
from neurostore.services.actors import SYSTEM
from neurostore.services.nimads import import_studyset
from neurostore.services.registry import build_services
from neurostore.storage import LocalFileStore
from tests.neurostore.factories import make_user
from tests.support.examples import example


def with_sample_sizes(annotation: dict, size: int = 20) -> dict:
    """The example annotation with a ``sample_size`` note on every analysis."""
    notes = [{**n, "note": {**n["note"], "sample_size": size + i % 7}}
             for i, n in enumerate(annotation["notes"])]
    return {**annotation, "note_keys": {**annotation["note_keys"], "sample_size": "number"},
            "notes": notes}


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


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """The data folder of the run (file store and null cache)."""
    return tmp_path


@pytest.fixture
def services(session_factory, data_dir):
    """The services on the empty test database and a file store in ``data_dir``."""
    return build_services(session_factory, files=LocalFileStore(data_dir / "files"))


@pytest.fixture
def alice(session_factory):
    """A user."""
    return make_user(session_factory, name="alice")


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


@pytest.fixture
def client(services):
    """A test client of the API on these services."""
    return create_app(Settings(), services=services).test_client()


@pytest.fixture
def auth(services, alice) -> dict[str, str]:
    """alice's Authorization header."""
    return {"Authorization": f"Bearer {services.users.issue_token(SYSTEM, alice.id).token}"}
