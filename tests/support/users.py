"""Users as the tests meet them: an actor for the services that also holds a bearer token
for the API."""

from __future__ import annotations

from dataclasses import dataclass

from neurostore.services.actors import SYSTEM, Actor
from tests.support.factories import make_user


@dataclass(frozen=True)
class Caller(Actor):
    """A user: an :class:`Actor` the services take, with a token the API takes."""

    token: str = ""

    @property
    def actor(self) -> Actor:
        """The plain actor (what the API makes of the token)."""
        return Actor(self.id, self.role)

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}


def make_caller(services, session_factory, role: str = "user",
                name: str | None = None) -> Caller:
    """Insert a user and issue it a token."""
    actor = make_user(session_factory, role, name)
    return Caller(actor.id, role, services.users.issue_token(SYSTEM, actor.id).token)
