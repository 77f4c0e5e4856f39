"""Fixtures of the API tests: an app on the test database, users with tokens, a client."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from neurostore.app import create_app
from neurostore.config import Settings
from neurostore.services.actors import SYSTEM, Actor
from neurostore.services.registry import build_services
from tests.neurostore.factories import make_user


@dataclass(frozen=True)
class Caller:
    """A user with a bearer token."""

    actor: Actor
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def services(session_factory):
    """The services on the empty test database."""
    return build_services(session_factory)


@pytest.fixture
def app(services):
    """The API app with a small request size limit (so 413 is cheap to test)."""
    return create_app(Settings(max_content_length=2 * 1024 * 1024), services=services)


@pytest.fixture
def client(app) -> FlaskClient:
    """A test client."""
    return app.test_client()


def _caller(services, session_factory, role: str) -> Caller:
    actor = make_user(session_factory, role=role)
    return Caller(actor, services.users.issue_token(SYSTEM, actor.id).token)


@pytest.fixture
def alice(services, session_factory) -> Caller:
    """A user."""
    return _caller(services, session_factory, "user")


@pytest.fixture
def bob(services, session_factory) -> Caller:
    """Another user."""
    return _caller(services, session_factory, "user")


@pytest.fixture
def curator(services, session_factory) -> Caller:
    """A curator."""
    return _caller(services, session_factory, "curator")


@pytest.fixture
def admin(services, session_factory) -> Caller:
    """An administrator."""
    return _caller(services, session_factory, "admin")
