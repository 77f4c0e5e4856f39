"""Alembic environment: online migrations only, with lock and statement timeouts."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

import neurostore.models  # noqa: F401  (registers every table on the metadata)
from neurostore.config import Settings
from neurostore.db import Base, database_url, make_engine

config = context.config
target_metadata = Base.metadata

# A migration that waits on a lock blocks every query queued behind it; fail fast instead.
LOCK_TIMEOUT = "4s"
STATEMENT_TIMEOUT = "5min"


def run_migrations_online() -> None:
    """Run migrations on a connection passed in by the caller, or on a new engine."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or database_url(Settings.from_env())
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    # The task queue's tables belong to procrastinate (created by migration 0004), not to
    # the models, so autogenerate and ``alembic check`` leave them alone.
    return not (type_ == "table" and name is not None and name.startswith("procrastinate"))


def _run(connection) -> None:
    connection.execute(text(f"SET lock_timeout = '{LOCK_TIMEOUT}'"))
    connection.execute(text(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'"))
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        include_name=_include_name,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
