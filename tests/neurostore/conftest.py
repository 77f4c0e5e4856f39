"""Fixtures for the store tests."""

from __future__ import annotations

import pytest

from neurostore.services.registry import build_services
from tests.neurostore.factories import make_user


@pytest.fixture
def services(session_factory):
    """The services on an empty test database."""
    return build_services(session_factory)


@pytest.fixture
def alice(session_factory):
    """An ordinary user."""
    return make_user(session_factory, name="alice")


@pytest.fixture
def bob(session_factory):
    """Another ordinary user."""
    return make_user(session_factory, name="bob")


@pytest.fixture
def curator(session_factory):
    """A curator."""
    return make_user(session_factory, role="curator", name="carol")


@pytest.fixture
def admin(session_factory):
    """An administrator."""
    return make_user(session_factory, role="admin", name="root")

