"""``manage.py``: database, users, tokens and the demo, on the test database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from manage import cli
from neurostore.services.errors import Unauthenticated
from neurostore.services.registry import build_services

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(database_url, session_factory, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_db_commands(run):
    assert run("db", "upgrade").exit_code == 0
    result = run("db", "check")
    assert result.exit_code == 0 and "agree" in result.output
    assert run("db", "current").exit_code == 0


def test_users_and_tokens(run, session_factory):
    services = build_services(session_factory)
    created = run("users", "create", "--name", "Eve", "--external-id", "orcid|42",
                  "--role", "curator")
    assert created.exit_code == 0 and "curator" in created.output
    issued = run("tokens", "create", "orcid|42", "--name", "laptop")
    assert issued.exit_code == 0
    token = issued.stdout.strip().splitlines()[0]
    actor = services.users.authenticate(token)
    assert actor.role == "curator"
    token_id = services.users.list_tokens(actor, actor.id)[0]["id"]
    assert run("tokens", "revoke", token_id).exit_code == 0
    with pytest.raises(Unauthenticated):
        services.users.authenticate(token)


def test_bad_arguments_are_clear_errors(run):
    bad_role = run("users", "create", "--name", "x", "--role", "wizard")
    assert bad_role.exit_code == 2 and "wizard" in bad_role.output
    unknown = run("tokens", "create", "nobody")
    assert unknown.exit_code == 1 and "no user" in unknown.output
    blank = run("users", "create", "--name", " ")
    assert blank.exit_code == 1 and "name" in blank.output


@pytest.mark.parametrize("name, value", [("NEUROSTORE_READ_CACHE_MB", "lots"),
                                         ("NEUROSTORE_MAX_CONTENT_LENGTH", "-5")])
def test_an_unusable_environment_variable_is_named(run, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    result = run("db", "current")
    assert result.exit_code == 2 and name in result.output and value in result.output


def test_demo_runs_end_to_end(run):
    result = run("demo", "--n-iters", "20")
    assert result.exit_code == 0, result.output
    assert "imported studyset" in result.output
    assert "revert" in result.output
    assert "412" in result.output
    assert "ingestion runs" in result.output
    assert "succeeded in" in result.output and "clusters" in result.output
    assert "/signin/link?token=" in result.output
    assert "signed in as the demo curator" in result.output
    # The link opens the demo's meta-analysis page.
    assert "&next=%2Fmeta-analyses%2F" in result.output


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, **env})


@pytest.fixture
def empty_database(database_url):
    """A database with no schema, on the test server."""
    url = make_url(database_url)
    name = f"unmigrated_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_a_command_on_an_unmigrated_server_says_to_upgrade(empty_database, tmp_path):
    env = {"DATABASE_URL": empty_database, "NEUROSTORE_DATA_DIR": str(tmp_path)}
    refused = _manage(env, "users", "create", "--name", "Ann")
    assert refused.returncode == 1
    assert "manage.py db upgrade" in refused.stderr and "Traceback" not in refused.stderr
    assert _manage(env, "db", "upgrade").returncode == 0
    done = _manage(env, "users", "create", "--name", "Ann")
    assert done.returncode == 0 and "created user" in done.stdout


def test_a_command_on_a_fresh_data_folder_migrates_the_embedded_database():
    # Not under a private (0700) folder: as root the embedded server runs as its own user.
    folder = Path(tempfile.mkdtemp(prefix="neurostore-fresh-"))
    folder.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    try:
        done = subprocess.run([sys.executable, "manage.py", "users", "create", "--name", "Ann"],
                              cwd=ROOT, capture_output=True, text=True, timeout=300,
                              env={**env, "NEUROSTORE_DATA_DIR": str(folder)})
        assert done.returncode == 0, done.stderr
        assert "migrating the embedded database" in done.stderr
        assert "created user" in done.stdout
    finally:
        subprocess.run([sys.executable, "-c", "import pgserver, sys; "
                        "pgserver.get_server(sys.argv[1]).cleanup()", str(folder / "pg")],
                       capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)
