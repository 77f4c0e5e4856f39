"""Unit of work: owns the session and the single commit of a service call."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker


class UnitOfWork:
    """A transaction that services register work in; only :meth:`commit` commits.

    Callbacks registered with :meth:`on_commit` (e.g. enqueueing jobs) run after the
    commit succeeded, never for a rolled-back transaction.
    """

    def __init__(self, session_factory: sessionmaker) -> None:
        self._factory = session_factory
        self._after: list[Callable[[], None]] = []
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.session.rollback()
        self.session.close()

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the transaction has committed."""
        self._after.append(callback)

    def commit(self) -> None:
        """Commit the transaction, then run the after-commit callbacks."""
        self.session.commit()
        callbacks, self._after = self._after, []
        for callback in callbacks:
            callback()
