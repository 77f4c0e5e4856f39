"""What a command needs: settings, the database and the services, built on first use."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import click
from sqlalchemy.engine import Engine

from neurostore import migrate
from neurostore.config import Settings
from neurostore.db import database_url, make_engine, make_session_factory
from neurostore.services.errors import ServiceError
from neurostore.services.registry import Services, build_services
from neurostore.storage import open_file_store


@dataclass
class Runtime:
    """Lazily started database and services for one command."""

    settings: Settings = field(default_factory=Settings.from_env)
    _schema_checked: bool = field(default=False, init=False)

    @cached_property
    def url(self) -> str:
        """The database URL (starting the embedded server when none is configured)."""
        return database_url(self.settings)

    @cached_property
    def engine(self) -> Engine:
        """The engine on :attr:`url`."""
        return make_engine(self.url)

    def ensure_schema(self) -> None:
        """Make sure the database is at the migrations' head (once per command).

        The embedded database is brought up to date first (a fresh data folder just works);
        a configured server is left to its operator, told to run ``manage.py db upgrade``.
        """
        if self._schema_checked:
            return
        revision, head = migrate.pending(self.url)
        if revision != head:
            if self.settings.database_url is not None:
                raise click.ClickException(
                    f"the database is at migration {revision or 'none'}, not {head}: run"
                    " `manage.py db upgrade` first")
            click.echo(f"migrating the embedded database ({revision or 'empty'} -> {head})",
                       err=True)
            migrate.upgrade(self.url)
        self._schema_checked = True

    @cached_property
    def services(self) -> Services:
        """The services on :attr:`engine`, on an up-to-date schema (see
        :meth:`ensure_schema`)."""
        self.ensure_schema()
        return build_services(make_session_factory(self.engine),
                              files=open_file_store(self.settings))


pass_runtime = click.make_pass_decorator(Runtime)


def fail(exc: ServiceError) -> click.ClickException:
    """A command-line error carrying a service error's message."""
    fields = getattr(exc, "field_errors", None)
    if fields:
        lines = "\n".join(f"  {path}: {' '.join(msgs)}" for path, msgs in fields.items())
        # A detail of its own says where (a file, a record); the default repeats the fields.
        own = not any(exc.detail.startswith(path) for path in fields)
        return click.ClickException(f"{type(exc).__name__}{': ' + exc.detail if own else ''}:"
                                    f"\n{lines}")
    return click.ClickException(f"{type(exc).__name__}: {exc.detail}")
