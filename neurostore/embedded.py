"""The embedded PostgreSQL used when no ``DATABASE_URL`` is configured.

The ``pgserver`` wheel ships a real PostgreSQL 16. The server is left running after the
process exits so that the API, workers and CLI commands started later share it; it
listens on a Unix socket inside the data folder only.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import psycopg

DATABASE_NAME = "neurostore"


def embedded_database_url(
    data_dir: Path, database: str = DATABASE_NAME, *, keep_running: bool = True,
    keep_data: bool = False,
) -> str:
    """Start (or reuse) the embedded server under ``data_dir`` and return its URL.

    Parameters
    ----------
    data_dir : Path
        The project's data folder; the cluster lives in ``data_dir / "pg"``.
    database : str
        Database to create if missing.
    keep_running : bool
        Leave the server running when this process exits (so later commands share it);
        ``False`` stops it and deletes the cluster at exit (tests).
    keep_data : bool
        With ``keep_running=False``, stop the server at exit but keep the cluster (a
        benchmark's store, measured again later).

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
        at_exit = None if keep_running else "stop" if keep_data else "delete"
        server = pgserver.get_server(data_dir / "pg", cleanup_mode=at_exit)
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
