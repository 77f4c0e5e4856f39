"""The embedded PostgreSQL used when no ``DATABASE_URL`` is configured.

The ``pgserver`` wheel ships a real PostgreSQL 16. The server is left running after the
process exits so that the API, workers and CLI commands started later share it; it
listens on a Unix socket inside the data folder only.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

import psycopg

DATABASE_NAME = "neurostore"


def embedded_database_url(
    data_dir: Path, database: str = DATABASE_NAME, *,
    at_exit: Literal["keep", "stop", "delete"] = "keep",
) -> str:
    """Start (or reuse) the embedded server under ``data_dir`` and return its URL.

    Parameters
    ----------
    data_dir : Path
        The project's data folder; the cluster lives in ``data_dir / "pg"``.
    database : str
        Database to create if missing.
    at_exit : {"keep", "stop", "delete"}
        When this process exits: ``keep`` leaves the server running (so later commands
        share it), ``stop`` stops it and keeps the cluster (a benchmark's store, measured
        again later), ``delete`` stops it and deletes the cluster (tests).

    Returns
    -------
    str
        A SQLAlchemy URL (``postgresql+psycopg://``) over the server's Unix socket.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, CI); harmless here.
        warnings.simplefilter("ignore")
        import pgserver

        data_dir.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(data_dir / "pg",
                                     cleanup_mode=None if at_exit == "keep" else at_exit)
    uri = server.get_uri()
    _ensure_database(uri, database)
    base, _, query = uri.partition("?")
    base = base.rsplit("/", 1)[0]
    url = f"{base}/{database}" + (f"?{query}" if query else "")
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _ensure_database(uri: str, database: str) -> None:
    with psycopg.connect(uri, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not found:
            conn.execute(f'CREATE DATABASE "{database}"')
