"""What a command needs: settings, the database and the services, built on first use."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import click
from sqlalchemy.engine import Engine

from neurostore.config import Settings
from neurostore.db import database_url, make_engine, make_session_factory
from neurostore.services.errors import ServiceError
from neurostore.services.registry import Services, build_services


@dataclass
class Runtime:
    """Lazily started database and services for one command."""

    settings: Settings = field(default_factory=Settings.from_env)

    @cached_property
    def url(self) -> str:
        """The database URL (starting the embedded server when none is configured)."""
        return database_url(self.settings)

    @cached_property
    def engine(self) -> Engine:
        """The engine on :attr:`url`."""
        return make_engine(self.url)

    @cached_property
    def services(self) -> Services:
        """The services on :attr:`engine`."""
        return build_services(make_session_factory(self.engine))


pass_runtime = click.make_pass_decorator(Runtime)


def fail(exc: ServiceError) -> click.ClickException:
    """A command-line error carrying a service error's message."""
    fields = getattr(exc, "field_errors", None)
    if fields:
        lines = "\n".join(f"  {path}: {' '.join(msgs)}" for path, msgs in fields.items())
        return click.ClickException(f"{type(exc).__name__}:\n{lines}")
    return click.ClickException(f"{type(exc).__name__}: {exc.detail}")
