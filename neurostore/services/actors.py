"""Who is acting: a user with a role, the system (an operator, a job), or nobody."""

from __future__ import annotations

from dataclasses import dataclass

from neurostore.vocabulary import Role

#: The role of the system actor: not a user's role (no account has it).
SYSTEM_ROLE = "system"


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
        return self.role == SYSTEM_ROLE

    @property
    def is_authenticated(self) -> bool:
        """True for any signed-in user."""
        return self.id is not None

    @property
    def is_admin(self) -> bool:
        """True for administrators and the system."""
        return self.role in (Role.ADMIN, SYSTEM_ROLE)

    @property
    def is_curator(self) -> bool:
        """True for curators and administrators."""
        return self.role in (Role.CURATOR, Role.ADMIN, SYSTEM_ROLE)


ANONYMOUS = Actor(id=None)
SYSTEM = Actor(id=None, role=SYSTEM_ROLE)
