"""Users and API tokens: creation, authentication and revocation."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from neurostore.db import new_id
from neurostore.models import ApiToken, User
from neurostore.services import versioning
from neurostore.services.actors import ANONYMOUS, Actor
from neurostore.services.errors import (
    Conflict,
    Invalid,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from neurostore.services.permissions import Admin, Owner, Policy, Public, Subject, require_user
from neurostore.services.uow import UnitOfWork
from neurostore.vocabulary import Role, values

TOKEN_PREFIX = "nst_"
ROLES = values(Role)

#: Profiles are public; a user's own account (profile details, tokens) is theirs and the
#: administrators'; accounts and roles are the administrators' to make and change.
USER_POLICY = Policy(can_read=(Public(),), can_update=(Owner(), Admin()),
                     can_delete=(Admin(),), can_manage=(Admin(),))


def _account(user_id: str) -> Subject:
    """A user account as a policy sees it: its own owner."""
    return Subject("user", user_id, owner_id=user_id, public=True)


def hash_token(token: str) -> str:
    """The sha256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``token`` is shown once and never stored."""

    id: str
    name: str
    token: str
    user_id: str
    expires_at: dt.datetime | None


class UserService:
    """Accounts and bearer tokens."""

    def __init__(self, session_factory: sessionmaker, policy: Policy = USER_POLICY) -> None:
        self._sf = session_factory
        self.policy = policy

    def _may(self, action: str, actor: Actor, user_id: str) -> bool:
        return self.policy.allows(action, actor, _account(user_id))

    def create(
        self,
        actor: Actor,
        *,
        name: str,
        external_id: str | None = None,
        email: str | None = None,
        role: str = Role.USER.value,
        uow: UnitOfWork | None = None,
    ) -> dict:
        """Create a user (administrators, and the system actor at the command line)."""
        self.policy.check_manage(actor, "user", "create users")
        errors = {}
        if not name or not name.strip():
            errors["name"] = "must not be blank"
        if role not in ROLES:
            errors["role"] = f"unknown role {role!r}; expected one of {', '.join(ROLES)}"
        if external_id is not None and not external_id.strip():
            errors["external_id"] = "must not be blank"
        if errors:
            raise Invalid(errors)
        user_id = new_id()
        with versioning.unit(self._sf, uow) as u:
            u.session.add(
                User(id=user_id, name=name.strip(), external_id=external_id or f"local|{user_id}",
                     email=email, role=role)
            )
            try:
                u.session.flush()
            except IntegrityError as exc:
                raise Conflict(f"a user with external id {external_id!r} exists",
                               {"external_id": "already used"}) from exc
        return {"id": user_id, "name": name.strip(), "role": role, "email": email,
                "external_id": external_id or f"local|{user_id}"}

    def get(self, actor: Actor, user_id: str) -> dict:
        """Return a user's public profile."""
        with UnitOfWork(self._sf) as uow:
            user = uow.session.get(User, user_id)
            if user is None:
                raise NotFound(f"user {user_id} not found")
            profile = {"id": user.id, "name": user.name, "role": user.role}
            if self._may("update", actor, user.id):
                profile.update(email=user.email, external_id=user.external_id)
            return profile

    def update(
        self, actor: Actor, user_id: str, changes: dict, *, uow: UnitOfWork | None = None,
        if_role: str | None = None,
    ) -> dict:
        """Change ``name``, ``email`` or ``role``: users their own name and email,
        administrators anything (roles only they may change).

        ``if_role`` is the role the caller saw: when the user's role is another one by
        now (someone changed it meanwhile), nothing is written and :class:`Conflict` says
        what it is.
        """
        require_user(actor, "edit users")
        if not self._may("update", actor, user_id):
            raise PermissionDenied("you may only edit your own profile")
        if "role" in changes and not self._may("manage", actor, user_id):
            raise PermissionDenied("only administrators may change roles")
        errors = {}
        if "name" in changes and not (changes["name"] or "").strip():
            errors["name"] = "must not be blank"
        if "role" in changes and changes["role"] not in ROLES:
            errors["role"] = f"unknown role {changes['role']!r}; expected one of {', '.join(ROLES)}"
        if errors:
            raise Invalid(errors)
        values = {k: changes[k] for k in ("name", "email", "role") if k in changes}
        if "name" in values:
            values["name"] = values["name"].strip()
        with versioning.unit(self._sf, uow) as u:
            user = u.session.get(User, user_id, with_for_update=if_role is not None)
            if user is None:
                raise NotFound(f"user {user_id} not found")
            if if_role is not None and user.role != if_role:
                raise Conflict(f"{user.name}'s role was changed to {user.role} meanwhile "
                               f"(you saw {if_role}); nothing was changed")
            for key, value in values.items():
                setattr(user, key, value)
            u.session.flush()
            return {"id": user.id, "name": user.name, "role": user.role, "email": user.email,
                    "external_id": user.external_id}

    def deactivate(self, actor: Actor, user_id: str, *, uow: UnitOfWork | None = None) -> int:
        """Revoke every token of a user (administrators only); return how many were live.

        The account and everything it wrote stay; an administrator can issue it a new
        token to let it back in.
        """
        if not self._may("delete", actor, user_id):
            require_user(actor, "deactivate users")
            raise PermissionDenied("only administrators may deactivate users")
        with versioning.unit(self._sf, uow) as u:
            if u.session.get(User, user_id) is None:
                raise NotFound(f"user {user_id} not found")
            result = u.session.execute(
                update(ApiToken)
                .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=dt.datetime.now(dt.UTC))
            )
        return result.rowcount

    def find(self, ref: str) -> dict:
        """Find a user by id or external id (for the command line)."""
        with UnitOfWork(self._sf) as uow:
            user = uow.session.execute(
                select(User).where((User.id == ref) | (User.external_id == ref))
            ).scalar_one_or_none()
            if user is None:
                raise NotFound(f"no user with id or external id {ref!r}")
            return {"id": user.id, "name": user.name, "role": user.role}

    def issue_token(
        self,
        actor: Actor,
        user_id: str,
        *,
        name: str = "default",
        expires_in_days: int | None = None,
        uow: UnitOfWork | None = None,
    ) -> IssuedToken:
        """Create a token for ``user_id`` (the user, an admin, or the system actor)."""
        require_user(actor, "create tokens")
        if not self._may("update", actor, user_id):
            raise PermissionDenied("you may only create tokens for yourself")
        if expires_in_days is not None and expires_in_days <= 0:
            raise Invalid({"expires_in_days": "must be a positive number of days"})
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires = (
            dt.datetime.now(dt.UTC) + dt.timedelta(days=expires_in_days)
            if expires_in_days else None
        )
        token_id = new_id()
        with versioning.unit(self._sf, uow) as u:
            if u.session.get(User, user_id) is None:
                raise NotFound(f"user {user_id} not found")
            u.session.add(ApiToken(id=token_id, user_id=user_id, name=name,
                                   token_hash=hash_token(token), prefix=token[:10],
                                   expires_at=expires))
        return IssuedToken(token_id, name, token, user_id, expires)

    def list_tokens(self, actor: Actor, user_id: str) -> list[dict]:
        """List a user's tokens (never their secrets)."""
        require_user(actor, "list tokens")
        if not self._may("update", actor, user_id):
            raise PermissionDenied("you may only list your own tokens")
        with UnitOfWork(self._sf) as uow:
            rows = uow.session.execute(
                select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at)
            ).scalars()
            return [
                {"id": t.id, "name": t.name, "prefix": t.prefix,
                 "created_at": t.created_at.isoformat(),
                 "expires_at": t.expires_at.isoformat() if t.expires_at else None,
                 "revoked": t.revoked_at is not None}
                for t in rows
            ]

    def revoke_token(self, actor: Actor, token_id: str, *,
                     uow: UnitOfWork | None = None) -> None:
        """Revoke a token; it stops authenticating at once."""
        with versioning.unit(self._sf, uow) as u:
            token = u.session.get(ApiToken, token_id)
            if token is None or not self._may("update", actor, token.user_id):
                raise NotFound(f"token {token_id} not found")
            u.session.execute(
                update(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=dt.datetime.now(dt.UTC))
            )

    def sign_in(self, token: str) -> tuple[Actor, str]:
        """Check a token for a web sign-in: its actor and the token's id (which the session
        keeps, so that revoking the token signs the browser out).

        Raises
        ------
        Unauthenticated
            For an unknown, revoked or expired token.
        """
        return self._live(ApiToken.token_hash == hash_token(token))

    def session_actor(self, token_id: str) -> Actor:
        """The actor of a signed-in session, while its token stays live.

        Raises
        ------
        Unauthenticated
            When the token was revoked, has expired or is gone.
        """
        return self._live(ApiToken.id == token_id)[0]

    def _live(self, which: Any) -> tuple[Actor, str]:
        now = dt.datetime.now(dt.UTC)
        with UnitOfWork(self._sf) as uow:
            row = uow.session.execute(
                select(ApiToken.id, ApiToken.revoked_at, ApiToken.expires_at, User.id, User.role)
                .join(User, User.id == ApiToken.user_id).where(which)
            ).first()
        if row is None or row[1] is not None or (row[2] is not None and row[2] <= now):
            raise Unauthenticated("the token is unknown, revoked or expired")
        return Actor(id=row[3], role=row[4]), row[0]

    def authenticate(self, token: str | None) -> Actor:
        """Return the actor a bearer token stands for, or anonymous for no token.

        Raises
        ------
        Unauthenticated
            For an unknown, revoked or expired token.
        """
        if token is None:
            return ANONYMOUS
        return self.sign_in(token)[0]
