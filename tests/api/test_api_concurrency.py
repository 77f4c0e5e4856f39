"""Optimistic concurrency under real contention: one write wins, the others get 412."""

from __future__ import annotations

import threading
from collections import Counter

from tests.support.factories import study_payload

THREADS = 20


def test_twenty_patches_with_the_same_if_match(app, services, alice):
    sid = services.studies.create(alice.actor, study_payload(2, 5)).id
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    lock = threading.Lock()

    def patch(n: int) -> None:
        client = app.test_client()
        barrier.wait()
        r = client.patch(f"/api/studies/{sid}", json={"name": f"writer {n}"},
                         headers={**alice.headers, "If-Match": '"1"'})
        with lock:
            statuses.append(r.status_code)

    threads = [threading.Thread(target=patch, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(statuses) == {200: 1, 412: THREADS - 1}
    revisions = app.test_client().get(f"/api/studies/{sid}/revisions").json
    assert [r["version"] for r in revisions] == [1, 2]
    assert services.studies.get(alice.actor, sid).version == 2


def _together(app, calls) -> list[int]:
    """Run each ``call(client)`` in its own thread, released at once; their statuses."""
    barrier = threading.Barrier(len(calls))
    statuses: list[int] = []
    lock = threading.Lock()

    def run(call) -> None:
        client = app.test_client()
        barrier.wait()
        r = call(client)
        with lock:
            statuses.append(r.status_code)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def test_child_writes_without_if_match_are_serialised_not_refused(app, services, alice):
    sid = services.studies.create(alice.actor, study_payload(2, 1)).id
    first = services.studies.get(alice.actor, sid).state["analyses"][0]["id"]

    def add(n):
        return lambda c: c.post("/api/analyses", json={"study": sid, "name": f"added {n}"},
                                headers=alice.headers)

    def rename(n):
        return lambda c: c.patch(f"/api/analyses/{first}", json={"description": f"edit {n}"},
                                 headers=alice.headers)

    def add_point(n):
        return lambda c: c.post("/api/points", json={"analysis": first,
                                                     "coordinates": [n, n, n]},
                                headers=alice.headers)

    calls = [add(n) for n in range(THREADS)] + [rename(n) for n in range(5)] + \
        [add_point(n) for n in range(5)]
    assert Counter(_together(app, calls)) == {200: THREADS + 10}
    state = services.studies.get(alice.actor, sid)
    names = {a["name"] for a in state.state["analyses"]}
    assert {f"added {n}" for n in range(THREADS)} <= names
    assert len(state.state["analyses"][0]["points"]) == 1 + 5
    assert state.version == 1 + THREADS + 10
    # With a stale If-Match the same write is still refused.
    r = app.test_client().post("/api/analyses", json={"study": sid, "name": "late"},
                               headers={**alice.headers, "If-Match": '"1"'})
    assert r.status_code == 412
