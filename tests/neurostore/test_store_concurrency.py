"""Concurrent writers: one wins, the others get a conflict, nothing is lost."""

from __future__ import annotations

import threading

import pytest

from neurostore.services.errors import RevisionConflict
from tests.support.factories import study_payload


def test_two_writers_with_the_same_base_version(services, alice, curator):
    r1 = services.studies.create(alice, study_payload(seed=1))
    services.studies.update(alice, r1.id, {"name": "alice's edit"}, if_match=1)
    with pytest.raises(RevisionConflict):
        services.studies.update(curator, r1.id, {"description": "carol's edit"}, if_match=1)
    current = services.studies.get(alice, r1.id)
    assert current.state["name"] == "alice's edit"
    assert current.state["description"] is None
    assert current.version == 2


def test_many_threads_same_if_match_exactly_one_wins(services, alice):
    r1 = services.studies.create(alice, study_payload(seed=2))
    barrier = threading.Barrier(12)
    outcomes: list[str] = []
    lock = threading.Lock()

    def edit(n: int) -> None:
        barrier.wait()
        try:
            services.studies.update(alice, r1.id, {"name": f"edit {n}"}, if_match=1)
            result = f"ok {n}"
        except RevisionConflict:
            result = "conflict"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if o.startswith("ok")]
    assert len(winners) == 1
    assert outcomes.count("conflict") == 11
    revisions = services.studies.revisions(alice, r1.id)
    assert len(revisions) == 2
    assert services.studies.get(alice, r1.id).state["name"] == "edit " + winners[0].split()[1]


def test_writes_without_if_match_are_serialised_not_lost(services, alice):
    r1 = services.studies.create(alice, study_payload(seed=3))
    fields = ["name", "description", "publication", "authors"]

    def edit(field: str) -> None:
        services.studies.update(alice, r1.id, {field: f"new {field}"})

    threads = [threading.Thread(target=edit, args=(f,)) for f in fields]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    state = services.studies.get(alice, r1.id).state
    assert all(state[f] == f"new {f}" for f in fields)
    assert len(services.studies.revisions(alice, r1.id)) == 1 + len(fields)
