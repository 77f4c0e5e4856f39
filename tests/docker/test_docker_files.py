"""docker/: the Dockerfile and compose file parse, and name things the project has."""

from __future__ import annotations

import importlib
import json
import re
import shlex
from pathlib import Path

import click
import pytest
import yaml

from manage import cli
from neurostore.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yaml"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _check_command(argv: list[str]) -> None:
    """Raise unless ``argv`` runs a manage.py command or gunicorn app the project has."""
    if argv[0] == "gunicorn":
        module, _, call = argv[-1].partition(":")
        factory = getattr(importlib.import_module(module), call.removesuffix("()"))
        assert callable(factory)
        assert "--bind" in argv
        return
    assert argv[:2] == ["python", "manage.py"], argv
    group: click.Command = cli
    words = argv[2:]
    while isinstance(group, click.Group) and words and not words[0].startswith("-"):
        assert words[0] in group.commands, f"manage.py has no command {words[0]!r}"
        group, words = group.commands[words[0]], words[1:]
    options = {opt for param in group.params for opt in getattr(param, "opts", [])}
    for word in words:
        if word.startswith("--"):
            assert word in options, f"{argv[2:]} has no option {word}"
    # Parsing raises click's UsageError on a missing, unknown or ill-typed argument.
    group.make_context("manage.py", list(words), resilient_parsing=False)


def test_the_dockerfile_builds_from_files_that_exist():
    instructions = _instructions()
    assert instructions[0][0] == "FROM" and instructions[0][1].startswith("python:3.11")
    for kind, args in instructions:
        if kind == "COPY":
            *sources, _ = shlex.split(args)
            for source in sources:
                assert (ROOT / source).exists(), f"COPY of a missing {source}"
    runs = " ".join(args for kind, args in instructions if kind == "RUN")
    assert "-r requirements.txt" in runs
    assert re.search(r"^gunicorn==", (ROOT / "requirements.txt").read_text(), re.M)
    cmd = json.loads(dict(instructions)["CMD"])
    _check_command(cmd)
    assert dict(instructions)["EXPOSE"] == cmd[cmd.index("--bind") + 1].rsplit(":", 1)[1]


def test_compose_runs_postgres_the_api_under_gunicorn_and_scalable_workers(compose):
    services = compose["services"]
    assert {"postgres", "api", "worker"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:")
    for name in ("api", "worker", "migrate"):
        build = services[name]["build"]
        assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
        _check_command(services[name]["command"])
    assert services["api"]["command"][0] == "gunicorn"
    assert services["worker"]["command"][2] == "worker"
    assert services["worker"]["deploy"]["replicas"] >= 1
    assert "container_name" not in services["worker"]  # a fixed name would forbid --scale
    port = services["api"]["ports"][0].split(":")[-1]
    assert f"0.0.0.0:{port}" in services["api"]["command"]


def test_compose_environment_is_what_the_settings_read(compose):
    services = compose["services"]
    db = services["postgres"]["environment"]
    for name in ("api", "worker", "migrate"):
        env = services[name]["environment"]
        settings = Settings.from_env(env)
        assert settings.database_url == env["DATABASE_URL"]
        assert str(settings.data_dir) == env["NEUROSTORE_DATA_DIR"]
        url = env["DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://")
        assert f"{db['POSTGRES_USER']}:{db['POSTGRES_PASSWORD']}@postgres:5432/" \
               f"{db['POSTGRES_DB']}" in url
        mounts = [v.split(":")[1] for v in services[name]["volumes"]]
        assert env["NEUROSTORE_DATA_DIR"] in mounts
    assert set(compose["volumes"]) >= {"pgdata", "files"}
