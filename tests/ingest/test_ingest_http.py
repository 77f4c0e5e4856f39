"""The polite session: rate limit, retries, body errors, downloads."""

from __future__ import annotations

import socket
import time

import pytest

from ingest.http import FetchError, PoliteSession, download, fetch_json, post_form
from tests.support.replay import Fault, Reply

DOC = "https://neurovault.org/api/doc.json"


def _local(replay, uri):
    return uri.replace("https://neurovault.org", replay.https_url)


def test_requests_are_spaced_by_the_rate_limit(replay):
    replay.add(DOC, b'{"ok": true}')
    with PoliteSession(min_interval=0.1, timeout=(1.0, 1.0)) as session:
        start = time.monotonic()
        for _ in range(4):
            assert fetch_json(session, _local(replay, DOC)) == {"ok": True}
        elapsed = time.monotonic() - start
    assert elapsed >= 0.3


def test_invalid_json_is_fetched_again(replay, http_session):
    replay.add(DOC, b'{"ok": tru')  # a body cut short but served with a matching length
    with pytest.raises(FetchError, match="3 attempts"):
        fetch_json(http_session, _local(replay, DOC))
    assert replay.count(DOC) == 3


def test_server_errors_are_retried_with_the_configured_count(replay):
    replay.add(DOC, b"{}")
    replay.inject(DOC, Fault.ERROR_500, Fault.ERROR_500)
    with PoliteSession(retries=1, backoff_factor=0.0, min_interval=0.0) as session:
        with pytest.raises(FetchError, match="500"):
            fetch_json(session, _local(replay, DOC))
        assert fetch_json(session, _local(replay, DOC)) == {}
    assert replay.count(DOC) == 3


def test_posts_are_retried_only_by_a_session_that_allows_it(replay):
    query = "https://neurovault.org/api/query"
    replay.on_post(query, lambda form: Reply(200, {}, ",".join(form["id"]).encode()))
    replay.inject(query, Fault.ERROR_500)
    with (
        PoliteSession(retries=1, backoff_factor=0.0, min_interval=0.0) as session,
        pytest.raises(FetchError, match="POST .* answered 500"),
    ):
        post_form(session, _local(replay, query), {"id": "1,2"})
    assert replay.count(query) == 1
    replay.inject(query, Fault.DROP, Fault.ERROR_500)
    allowing = frozenset({"GET", "POST"})
    with PoliteSession(
        retries=2, backoff_factor=0.0, min_interval=0.0, retry_methods=allowing, timeout=(1.0, 1.0)
    ) as session:
        assert post_form(session, _local(replay, query), {"id": "1,2"}) == b"1,2"
    assert replay.count(query) == 4  # 1 by the first session, 3 by the second
    assert replay.forms[-1] == {"id": ["1,2"]}


def test_connection_refused_fails_cleanly(http_session, tmp_path):
    # a port nobody listens on: bind, note it, close
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match="failed after 2 attempts"):
        fetch_json(http_session, f"http://127.0.0.1:{port}/x.json", attempts=2)
    with pytest.raises(FetchError):
        download(http_session, f"http://127.0.0.1:{port}/x.nii.gz", tmp_path, attempts=1)
    assert list(tmp_path.iterdir()) == []


def test_download_error_status_leaves_nothing(replay, http_session, tmp_path):
    with pytest.raises(FetchError, match="404"):
        download(http_session, _local(replay, "https://neurovault.org/missing.nii.gz"), tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "suffix"), [("a.nii.gz", ".nii.gz"), ("a.NII", ".nii"), ("a", ""), ("a.txt", "")]
)
def test_download_keeps_a_known_suffix(replay, http_session, tmp_path, name, suffix):
    replay.add(f"https://neurovault.org/files/{name}", b"content")
    saved = download(http_session, _local(replay, f"https://neurovault.org/files/{name}"), tmp_path)
    assert saved.path.name == saved.sha256 + suffix
