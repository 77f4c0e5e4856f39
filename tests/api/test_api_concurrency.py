"""Optimistic concurrency under real contention: one write wins, the others get 412."""

from __future__ import annotations

import threading
from collections import Counter

from tests.neurostore.factories import study_payload

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
