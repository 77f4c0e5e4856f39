"""docker/: the Dockerfile and compose file parse, and name things the project has.

No container engine runs here: the compose file is checked structurally (services, health
checks, dependencies, environment, volumes, commands) against the code it runs.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import click
import pytest
import yaml

from manage import cli
from neurostore.app import create_app
from neurostore.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yaml"
CONFIG = ROOT / "neurostore" / "config.py"
APP_SERVICES = ("migrate", "api", "worker")
#: Read by the S3 file store (documented in docker/README.md), not by config.py's Settings.
DOCUMENTED_SETTINGS = {"NEUROSTORE_FILES_URL"}
#: The standard variables boto3 reads for an S3-compatible endpoint.
AWS_VARIABLES = {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_DEFAULT_REGION"}


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _bind_port(argv: list[str]) -> str:
    return argv[argv.index("--bind") + 1].rsplit(":", 1)[1]


def _mounted_file(service: dict, target: str) -> Path:
    """The file of the compose folder that ``service`` mounts at ``target``."""
    for mount in service["volumes"]:
        source, path, *_ = mount.split(":")
        if path == target:
            return (COMPOSE.parent / source).resolve()
    raise AssertionError(f"nothing is mounted at {target}")


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


def test_compose_runs_postgres_minio_the_api_under_gunicorn_and_scalable_workers(compose):
    services = compose["services"]
    assert {"postgres", "minio", "bucket", "migrate", "api", "worker", "proxy"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:")
    for name in APP_SERVICES:
        build = services[name]["build"]
        assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
        _check_command(services[name]["command"])
    assert services["api"]["command"][0] == "gunicorn"
    assert services["worker"]["command"][2] == "worker"
    assert services["migrate"]["command"][2:4] == ["db", "upgrade"]


def test_api_replicas_and_workers_scale_behind_one_entry_point(compose):
    services = compose["services"]
    for name in ("api", "worker"):
        assert services[name]["deploy"]["replicas"] >= 1
        # A fixed name or a host port would make `--scale NAME=N` fail on the second one.
        assert "container_name" not in services[name]
        assert "ports" not in services[name]
    port = _bind_port(services["api"]["command"])
    assert services["api"]["expose"] == [port]
    # The proxy re-resolves the service name, so it finds every replica, and publishes
    # the one port the host sees.
    proxy = services["proxy"]
    assert proxy["image"].startswith("caddy:")
    caddyfile = _mounted_file(proxy, "/etc/caddy/Caddyfile")
    upstream = re.search(r"dynamic a \{\s*name (\S+)\s*port (\d+)", caddyfile.read_text())
    assert upstream is not None and upstream.groups() == ("api", port)
    assert proxy["ports"][0].rsplit(":", 1)[1] == re.search(r"^:(\d+)", caddyfile.read_text(),
                                                            re.M).group(1)


def test_every_service_has_a_health_check_or_is_a_one_shot_others_wait_for(compose):
    services = compose["services"]
    waited_for = {target: condition["condition"]
                  for service in services.values()
                  for target, condition in service.get("depends_on", {}).items()}
    for name, service in services.items():
        if "healthcheck" in service:
            test = service["healthcheck"]["test"]
            assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name
            assert not service["healthcheck"].get("disable"), name
        else:
            # A one-shot has no health: it ran, and succeeded or failed.
            assert service.get("restart") == "no", f"{name} has no health check"
            assert waited_for.get(name) == "service_completed_successfully", name


def test_depends_on_names_services_that_exist_in_the_state_they_can_reach(compose):
    services = compose["services"]
    for name, service in services.items():
        for target, condition in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on a missing service {target}"
            kind = condition["condition"]
            if kind == "service_healthy":
                assert "healthcheck" in services[target], (name, target)
            else:
                assert kind == "service_completed_successfully", (name, target, kind)
                assert services[target].get("restart") == "no", (name, target)
    # The app starts on a migrated schema and an existing bucket.
    for name in ("api", "worker"):
        assert {"postgres", "migrate", "bucket"} <= set(services[name]["depends_on"])


def test_health_checks_ask_what_the_project_answers(compose):
    services = compose["services"]
    _check_command(services["worker"]["healthcheck"]["test"][1:])
    probe = " ".join(services["api"]["healthcheck"]["test"])
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/\S+?)'", probe)
    assert url is not None, probe
    port, path = url.groups()
    assert port == _bind_port(services["api"]["command"])
    # The route exists in the served app (built on a database it never reaches here).
    app = create_app(Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
                              secret_key="tests"))
    assert app.url_map.bind("localhost").match(path, method="GET")[0] == "health.health"
    assert path in services["proxy"]["healthcheck"]["test"][-1]


def test_compose_environment_is_what_the_app_reads(compose):
    services = compose["services"]
    db = services["postgres"]["environment"]
    read_by_settings = set(re.findall(r"NEUROSTORE_[A-Z_]+", CONFIG.read_text()))
    for name in APP_SERVICES:
        env = services[name]["environment"]
        for key in env:
            if key.startswith("NEUROSTORE_"):
                assert key in read_by_settings | DOCUMENTED_SETTINGS, f"nothing reads {key}"
            else:
                assert key == "DATABASE_URL" or key in AWS_VARIABLES, f"nothing reads {key}"
        settings = Settings.from_env(env)
        assert settings.database_url == env["DATABASE_URL"]
        assert str(settings.data_dir) == env["NEUROSTORE_DATA_DIR"]
        url = env["DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://")
        assert f"{db['POSTGRES_USER']}:{db['POSTGRES_PASSWORD']}@postgres:5432/" \
               f"{db['POSTGRES_DB']}" in url
        assert settings.secret_key, "API replicas must share one session key"


def test_the_app_uses_the_bucket_the_one_shot_makes_with_minios_credentials(compose):
    services = compose["services"]
    minio, bucket = services["minio"], services["bucket"]
    made = re.search(r"mc mb --ignore-existing store/(\S+)", " ".join(bucket["command"]))
    assert made is not None
    assert re.search(r"mc alias set store http://minio:9000 ", bucket["command"][0])
    assert bucket["environment"] == minio["environment"]
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert set(env) >= AWS_VARIABLES | {"NEUROSTORE_FILES_URL"}
        location = urlsplit(env["NEUROSTORE_FILES_URL"])
        assert (location.scheme, location.netloc) == ("s3", made.group(1))
        assert urlsplit(env["AWS_ENDPOINT_URL"]).hostname == "minio"
        assert env["AWS_ACCESS_KEY_ID"] == minio["environment"]["MINIO_ROOT_USER"]
        assert env["AWS_SECRET_ACCESS_KEY"] == minio["environment"]["MINIO_ROOT_PASSWORD"]


def test_volumes_are_declared_and_the_app_shares_none(compose):
    services = compose["services"]
    named = {mount.split(":")[0] for service in services.values()
             for mount in service.get("volumes", []) if not mount.startswith(".")}
    assert named == set(compose["volumes"]), "a volume used but not declared, or unused"
    for service in services.values():
        for mount in service.get("volumes", []):
            if mount.startswith("."):
                assert (COMPOSE.parent / mount.split(":")[0]).is_file(), mount
    volumes = json.loads(dict(_instructions())["VOLUME"])
    for name in APP_SERVICES:
        # Each container's data folder is the image's own anonymous volume: replicas and
        # workers share nothing but the database and the bucket.
        assert "volumes" not in services[name]
        assert services[name]["environment"]["NEUROSTORE_DATA_DIR"] in volumes


def test_third_party_images_are_pinned_to_a_release(compose):
    # An unpinned image changes under a deployment on its next pull.
    for name, service in compose["services"].items():
        image = service.get("image", "")
        if not image or image.startswith("neurostore:"):
            continue
        repository, _, tag = image.partition(":")
        assert tag and tag != "latest", f"{name}: {image} has no release tag"
        if repository.startswith("minio/"):
            # MinIO's images are tagged by release date only.
            assert re.fullmatch(r"RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ", tag), image
