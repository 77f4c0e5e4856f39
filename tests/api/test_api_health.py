"""``GET /api/health``: what a load balancer and a container health check ask."""

from __future__ import annotations

import socket
import threading

import requests
from werkzeug.serving import make_server

from neurostore.app import create_app
from neurostore.config import Settings


def test_a_process_that_reaches_its_database_is_healthy(served):
    r = requests.get(f"{served}/api/health", timeout=10)
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok"}
    documented = requests.get(f"{served}/api/openapi.json", timeout=10).json()
    assert {"200", "503"} <= set(documented["paths"]["/api/health"]["get"]["responses"])


def test_a_process_whose_database_does_not_answer_is_unavailable():
    with socket.socket() as sock:  # a port nobody listens on: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(database_url=f"postgresql+psycopg://nobody@127.0.0.1:{port}/none",
                        secret_key="tests")
    server = make_server("127.0.0.1", 0, create_app(settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        r = requests.get(f"http://127.0.0.1:{server.server_port}/api/health", timeout=30)
    finally:
        server.shutdown()
        thread.join()
    assert r.status_code == 503
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.headers["Retry-After"] == "5"
    assert "database" in r.json()["detail"]
