"""Processes of a deployment on one machine: commands, API servers and workers, each a
separate process with its own data folder."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """Run ``manage.py ARGS`` as a separate process; its stdout (it must succeed)."""
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def local_files(folder: Path) -> list[Path]:
    """Files a node kept in a local file store of its data folder (with an object store
    there should be none)."""
    return [p for p in (folder / "files").rglob("*") if p.is_file()]


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen:
    """Start ``ARGS`` (a command line) in the repository, its output to ``log``."""
    return subprocess.Popen(list(args), cwd=ROOT, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)


def start_worker(env: dict[str, str], log: Path, queues: str = "analysis"
                 ) -> subprocess.Popen:
    """A ``manage.py worker`` on ``queues``."""
    return start(env, log, sys.executable, "manage.py", "worker", "--queues", queues)


def start_api(env: dict[str, str], log: Path, port: int) -> subprocess.Popen:
    """The API under gunicorn (as in production) on ``port``."""
    return start(env, log, sys.executable, "-m", "gunicorn", "--worker-class", "gthread",
                 "--workers", "1", "--threads", "4", "--bind", f"127.0.0.1:{port}",
                 "neurostore.app:create_app()")


def wait_until_up(base: str, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    """Wait until the API at ``base`` answers (failing with its log if it exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if requests.get(f"{base}/api/meta-analyses/estimators", timeout=30).ok:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.3)
    raise AssertionError(f"{base} did not answer in {timeout} s: {log.read_text()[-3000:]}")


def stop(*processes: subprocess.Popen) -> None:
    """Stop processes started here (SIGTERM, then SIGKILL after 10 s)."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
