"""A local HTTP server that replays recorded NeuroVault responses, with injectable faults.

Two listeners on 127.0.0.1 stand for the two schemes of the real host: ``https_url``
replays what ``https://neurovault.org`` answered and ``http_url`` what
``http://neurovault.org`` answered (a 301 to the https equivalent, for any path not
recorded). Recorded bodies and ``Location`` headers are rewritten so that links to
the real host point at the matching listener; a client that follows a page's
``next`` link therefore takes the same http -> 301 -> https path it takes in
production.

A POST is answered by a handler registered for its path (:meth:`ReplayServer.on_post`),
given the parsed form body: an API queried by POST (NCBI E-utilities) answers by
what was asked, not by path alone. Faults apply to POSTs as to GETs.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

REAL_HOST = "neurovault.org"

Form = dict[str, list[str]]


class Fault(Enum):
    """What to do to a request instead of answering it normally."""

    DROP = "drop"  # close the connection without a response
    ERROR_500 = "500"  # answer 500 Internal Server Error
    ERROR_429 = "429"  # answer 429 Too Many Requests (no Retry-After)
    SLOW = "slow"  # wait ``slow_seconds`` before answering
    TRUNCATE = "truncate"  # announce the full length, send half the body, close


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class ReplayServer:
    """Serve recorded interactions; see the module docstring.

    Attributes
    ----------
    slow_seconds : float
        Delay of a ``Fault.SLOW`` reply.
    requests : list of tuple of (str, str)
        ``(scheme, path?query)`` of every request received, in order.
    forms : list of dict
        The parsed form of every POST received, in order.
    """

    slow_seconds: float = 1.0
    requests: list[tuple[str, str]] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    _routes: dict[tuple[str, str], Reply] = field(default_factory=dict)
    _post_handlers: dict[tuple[str, str], Callable[[Form], Reply]] = field(default_factory=dict)
    _faults: dict[tuple[str, str], deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    _servers: dict[str, ThreadingHTTPServer] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def https_url(self) -> str:
        """Base URL standing for ``https://neurovault.org``."""
        return self._base("https")

    @property
    def http_url(self) -> str:
        """Base URL standing for ``http://neurovault.org``."""
        return self._base("http")

    def start(self) -> None:
        """Listen on two random ports, each served by a daemon thread."""
        for scheme in ("https", "http"):
            server = _QuietServer(("127.0.0.1", 0), _handler_for(self, scheme))
            self._servers[scheme] = server
            threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()

    def stop(self) -> None:
        """Stop both listeners and wake any reply that is sleeping."""
        self._stopping.set()
        for server in self._servers.values():
            server.shutdown()
            server.server_close()

    def load_index(self, index_path: Path) -> None:
        """Add every interaction of a recording's ``index.json``.

        Parameters
        ----------
        index_path : Path
            The index; body files are looked up next to it.
        """
        index = json.loads(index_path.read_text())
        for item in index["interactions"]:
            body_file = item.get("body_file")
            body = (index_path.parent / body_file).read_bytes() if body_file else b""
            self.add(item["uri"], body, status=item["status"], headers=item["headers"])

    def add(
        self,
        uri: str,
        body: bytes,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Serve ``body`` for a real-host URI such as ``https://neurovault.org/api/...``."""
        parts = urlsplit(uri)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        kept = {
            k: v for k, v in (headers or {}).items() if k.lower() not in {"content-length", "date"}
        }
        self._routes[(parts.scheme, path)] = Reply(status, kept, body)

    def on_post(self, uri: str, handler: Callable[[Form], Reply]) -> None:
        """Answer POSTs to a real-host URI with ``handler(form)``; unhandled POSTs get 404."""
        parts = urlsplit(uri)
        self._post_handlers[(parts.scheme, parts.path)] = handler

    def inject(self, uri: str, *faults: Fault) -> None:
        """Queue faults for the next requests of a real-host URI, one per request."""
        parts = urlsplit(uri)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        with self._lock:
            self._faults[(parts.scheme, path)].extend(faults)

    def count(self, uri: str) -> int:
        """How many requests a real-host URI has received."""
        parts = urlsplit(uri)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return self.requests.count((parts.scheme, path))

    def rewrite(self, data: bytes) -> bytes:
        """Point real-host links in ``data`` at the local listeners."""
        data = data.replace(f"https://{REAL_HOST}".encode(), self.https_url.encode())
        return data.replace(f"http://{REAL_HOST}".encode(), self.http_url.encode())

    def _base(self, scheme: str) -> str:
        host, port = self._servers[scheme].server_address[:2]
        return f"http://{host}:{port}"

    def _next_fault(self, key: tuple[str, str]) -> Fault | None:
        with self._lock:
            self.requests.append(key)
            queue = self._faults.get(key)
            return queue.popleft() if queue else None

    def _reply_for(self, scheme: str, path: str) -> Reply:
        reply = self._routes.get((scheme, path))
        if reply is not None:
            headers = {k: self.rewrite(v.encode()).decode() for k, v in reply.headers.items()}
            return Reply(reply.status, headers, self.rewrite(reply.body))
        if scheme == "http":
            return Reply(301, {"Location": f"{self.https_url}{path}"}, b"")
        body = json.dumps({"detail": "Not found."}).encode()
        return Reply(404, {"Content-Type": "application/json"}, body)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up mid-reply is part of the tests


def _handler_for(replay: ReplayServer, scheme: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._answer(lambda: replay._reply_for(scheme, self.path))

        def do_POST(self) -> None:  # noqa: N802
            # Read the body before any fault, so a dropped connection drops a whole request.
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            form = parse_qs(body.decode(), keep_blank_values=True)
            with replay._lock:
                replay.forms.append(form)
            handler = replay._post_handlers.get((scheme, urlsplit(self.path).path))
            self._answer(
                lambda: handler(form) if handler else Reply(404, {}, b"no POST handler")
            )

        def _answer(self, reply: Callable[[], Reply]) -> None:
            fault = replay._next_fault((scheme, self.path))
            if fault is Fault.DROP:
                self.close_connection = True
                return
            if fault is Fault.ERROR_500:
                self._send(Reply(500, {"Content-Type": "text/plain"}, b"server error"))
                return
            if fault is Fault.ERROR_429:
                self._send(Reply(429, {"Content-Type": "text/plain"}, b"too many requests"))
                return
            if fault is Fault.SLOW:
                replay._stopping.wait(replay.slow_seconds)
            self._send(reply(), truncate=fault is Fault.TRUNCATE)

        def _send(self, reply: Reply, *, truncate: bool = False) -> None:
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                body = reply.body[: len(reply.body) // 2] if truncate else reply.body
                self.wfile.write(body)
                if truncate:
                    self.wfile.flush()
                    time.sleep(0.05)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (e.g. after its read timeout)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler
