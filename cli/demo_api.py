"""The API part of the demo: serve on a free local port and show real requests as curl."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from rich.console import Console
from werkzeug.serving import make_server

from cli.runtime import Runtime
from neurostore.app import create_app
from neurostore.services.actors import Actor


@contextmanager
def running_api(rt: Runtime, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve the API in a background thread; yield its base URL."""
    # The demo prints its own account of each request; the access log would repeat it.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(host, port, create_app(rt.settings, services=rt.services),
                         threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def show_requests(console: Console, rt: Runtime, actor: Actor, base: str, study_id: str) -> None:
    """Run a few typical client calls and print each as a curl command with its outcome."""
    token = rt.services.users.issue_token(Actor.system(), actor.id, name="demo").token
    auth = {"Authorization": f"Bearer {token}"}
    console.print(f"[bold]API[/] serving on {base}/api  (OpenAPI: {base}/api/openapi.json)")

    def call(method: str, path: str, *, body: str | None = None, headers: dict | None = None,
             show_token: bool = False) -> requests.Response:
        headers = dict(headers or {})
        parts = [f"curl -s -X {method}"] if method != "GET" else ["curl -s"]
        if show_token:
            parts.append('-H "Authorization: Bearer $TOKEN"')
            headers.update(auth)
        for key, value in headers.items():
            if key != "Authorization":
                parts.append(f"-H '{key}: {value}'")
        if body is not None:
            headers["Content-Type"] = "application/json"
            parts.append("-H 'Content-Type: application/json'")
            parts.append(f"-d '{body}'")
        parts.append(f"'{base}{path}'")
        response = requests.request(method, base + path, data=body, headers=headers, timeout=30)
        etag = response.headers.get("ETag")
        console.print(f"  $ {' '.join(parts)}", soft_wrap=True)
        detail = ""
        if response.headers.get("Content-Type", "").endswith("json"):
            body_json = response.json()
            if isinstance(body_json, dict) and "results" in body_json:
                detail = f"  total_count {body_json['metadata'].get('total_count')}"
            elif isinstance(body_json, list):
                detail = f"  {len(body_json)} items"
            elif isinstance(body_json, dict) and "detail" in body_json:
                detail = f"  {body_json['detail']}"
        console.print(f"    -> {response.status_code} {response.reason}"
                      + (f"  ETag {etag}" if etag else "") + detail, soft_wrap=True)
        return response

    console.print(f"  (TOKEN is a demo token: export TOKEN={token})")
    got = call("GET", f"/api/studies/{study_id}?nested=true")
    etag = got.headers.get("ETag", '"0"')
    call("GET", "/api/studies?search=finger%20AND%20(tapping%20OR%20motor)&page_size=5")
    call("GET", "/api/studies?x=-36&y=-28&z=62&radius=10")
    call("PATCH", f"/api/studies/{study_id}", body='{"description": "checked against the PDF"}',
         headers={"If-Match": etag}, show_token=True)
    call("PATCH", f"/api/studies/{study_id}", body='{"description": "a late, stale edit"}',
         headers={"If-Match": etag}, show_token=True)
    call("GET", f"/api/studies/{study_id}/revisions")
