"""``manage.py``: database, users, tokens and the demo, on the test database."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from manage import cli
from neurostore.services.errors import Unauthenticated
from neurostore.services.registry import build_services


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
