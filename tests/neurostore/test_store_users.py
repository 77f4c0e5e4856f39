"""Users and tokens."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from neurostore.models import ApiToken
from neurostore.services.actors import SYSTEM
from neurostore.services.errors import Conflict, Invalid, PermissionDenied, Unauthenticated


def test_token_lifecycle(services, session_factory):
    user = services.users.create(SYSTEM, name="Dana", external_id="orcid|1")
    issued = services.users.issue_token(SYSTEM, user["id"], name="laptop")
    actor = services.users.authenticate(issued.token)
    assert actor.id == user["id"] and actor.role == "user"
    with session_factory() as s:
        stored = s.execute(select(ApiToken.token_hash)).scalar_one()
    assert issued.token not in stored and len(stored) == 64
    services.users.revoke_token(actor, issued.id)
    with pytest.raises(Unauthenticated):
        services.users.authenticate(issued.token)
    with pytest.raises(Unauthenticated):
        services.users.authenticate("nst_not-a-token")
    assert services.users.authenticate(None).id is None


def test_user_validation_and_permissions(services, alice):
    with pytest.raises(Invalid):
        services.users.create(SYSTEM, name=" ")
    with pytest.raises(Invalid):
        services.users.create(SYSTEM, name="x", role="wizard")
    services.users.create(SYSTEM, name="x", external_id="dup")
    with pytest.raises(Conflict):
        services.users.create(SYSTEM, name="y", external_id="dup")
    with pytest.raises(PermissionDenied):
        services.users.create(alice, name="z")
    other = services.users.create(SYSTEM, name="w")
    with pytest.raises(PermissionDenied):
        services.users.issue_token(alice, other["id"])
