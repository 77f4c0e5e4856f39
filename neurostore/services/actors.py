"""Who is acting: a user with a role, the system (an operator, a job), or nobody."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The identity a service call runs as.

    Attributes
    ----------
    id : str or None
        The user's id; ``None`` for an anonymous caller.
    role : str
        ``anonymous``, ``user``, ``curator``, ``admin``, or ``system`` for the operator at
        the command line and the store's own jobs (see :meth:`system`).
    """

    id: str | None
    role: str = "anonymous"

    @classmethod
    def system(cls) -> Actor:
        """The store itself: no user, every administrator's permission.

        Commands an operator runs on the server and the store's own work act as it; no
        request can (a token always stands for a user).
        """
        return SYSTEM

    @property
    def is_system(self) -> bool:
        """True for the system actor."""
        return self.role == "system"

    @property
    def is_authenticated(self) -> bool:
        """True for any signed-in user."""
        return self.id is not None

    @property
    def is_admin(self) -> bool:
        """True for administrators and the system."""
        return self.role in ("admin", "system")

    @property
    def is_curator(self) -> bool:
        """True for curators and administrators."""
        return self.role in ("curator", "admin", "system")


ANONYMOUS = Actor(id=None)
SYSTEM = Actor(id=None, role="system")
