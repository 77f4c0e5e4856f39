"""Fixtures of the snapshot tests: services with a file store in a temporary folder."""

from __future__ import annotations

import pytest

from neurostore.app import create_app
from neurostore.config import Settings
from neurostore.services.actors import SYSTEM
from neurostore.services.nimads import import_studyset
from neurostore.services.registry import build_services
from neurostore.storage import LocalFileStore
from tests.neurostore.factories import make_user
from tests.support.examples import example


@pytest.fixture
def files(tmp_path) -> LocalFileStore:
    """An empty file store."""
    return LocalFileStore(tmp_path / "files")


@pytest.fixture
def services(session_factory, files):
    """The services on the empty test database and file store."""
    return build_services(session_factory, files=files)


@pytest.fixture
def alice(session_factory):
    """A user."""
    return make_user(session_factory, name="alice")


@pytest.fixture
def imported(services, alice):
    """The bundled NIMADS studyset and annotation, imported by alice."""
    return import_studyset(services, alice, example("nimads_studyset.json"),
                           example("nimads_annotation.json"))


@pytest.fixture
def client(services):
    """A test client of the API on these services."""
    return create_app(Settings(), services=services).test_client()


@pytest.fixture
def auth(services, alice) -> dict[str, str]:
    """alice's Authorization header."""
    return {"Authorization": f"Bearer {services.users.issue_token(SYSTEM, alice.id).token}"}
