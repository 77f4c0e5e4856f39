"""Who is acting: a user with a role, the system, or nobody."""

from __future__ import annotations

from dataclasses import dataclass

from neurostore.vocabulary import Role


@dataclass(frozen=True)
class Actor:
    """The identity a service call runs as.

    Attributes
    ----------
    id : str or None
        The user's id; ``None`` for an anonymous caller.
    role : str
        ``anonymous``, ``user``, ``curator`` or ``admin``.
    """

    id: str | None
    role: str = "anonymous"

    @property
    def is_authenticated(self) -> bool:
        """True for any signed-in user."""
        return self.id is not None

    @property
    def is_admin(self) -> bool:
        """True for administrators."""
        return self.role == Role.ADMIN

    @property
    def is_curator(self) -> bool:
        """True for curators and administrators."""
        return self.role in (Role.CURATOR, Role.ADMIN)


ANONYMOUS = Actor(id=None)
