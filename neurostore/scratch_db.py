"""Throw-away databases for tests and benchmarks.

With ``DATABASE_URL`` set, a uniquely named database is created on that server and
dropped afterwards; otherwise a private embedded server is started in a temporary folder
and deleted when the process exits.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from neurostore.config import Settings
from neurostore.embedded import embedded_database_url


def scratch_database(prefix: str = "scratch") -> tuple[str, Callable[[], None]]:
    """A fresh, empty database: its SQLAlchemy URL and a function that drops it."""
    settings = Settings.from_env()
    if not settings.database_url:
        # Not under a private (0700) temporary folder: as root the embedded server runs as
        # its own system user, which must reach its data folder.
        root = Path(tempfile.mkdtemp(prefix=f"neurostore-{prefix}-"))
        root.chmod(0o755)
        return embedded_database_url(root, prefix, at_exit="delete"), lambda: None
    url = make_url(settings.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')

    return url.set(database=name).render_as_string(hide_password=False), drop
