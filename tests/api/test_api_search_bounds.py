"""Searches over a store larger than their probe and sample: pages and counts stay right.

The probe, sample and exact-count sizes are lowered so that a store of 1,200 studies
takes every path a store of millions takes: a rare search counted exactly through its
indexes, a common one answered from the next rows in sort order with an estimated count
(flagged as such), and one whose matches all lie further down the list, where the probe
comes back short and the indexes find the page.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from neurostore.services.reads import pagination
from tests.support.factories import study_payload

N_STUDIES = 1200
COMMON, RARE = (-40.0, -20.0, 50.0), (30.0, 40.0, -10.0)


@pytest.fixture
def store(services, alice, engine, monkeypatch):
    """Half the studies say "common" and have a peak at COMMON; the ten oldest say "rare"
    and have a peak at RARE; the 360 oldest say "ancient"."""
    monkeypatch.setattr(pagination, "PROBE_ROWS", 20)
    monkeypatch.setattr(pagination, "MAX_PROBE_ROWS", 100)
    monkeypatch.setattr(pagination, "SAMPLE_ROWS", 250)
    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 60)
    truth = {"common": set(), "rare": set(), "ancient": set()}
    payloads, words = [], []
    for n in range(N_STUDIES):
        said = ([w for w, on in (("common", n % 2 == 0), ("rare", n < 10),
                                 ("ancient", n < 360)) if on])
        payload = study_payload(0, 0, name=f"study {n} " + " ".join(said or ["plain"]))
        peaks = [COMMON] * (n % 2 == 0) + [RARE] * (n < 10) + [(0.0, 0.0, 0.0)]
        payload["analyses"] = [{"name": "a", "points": [
            {"coordinates": list(p), "space": "MNI"} for p in peaks]}]
        payloads.append(payload)
        words.append(said)
    # The rare studies are created first: the newest rows, where a search looks first,
    # hold none of them.
    ids = []
    for start in range(0, N_STUDIES, 300):
        ids += [r.id for r in services.studies.create_many(alice.actor,
                                                            payloads[start:start + 300])]
    for study_id, said in zip(ids, words, strict=True):
        for word in said:
            truth[word].add(study_id)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return truth


def _walk(client, query):
    """Every id of a search, page by page, with the first page's metadata."""
    seen, cursor, first = [], None, None
    while True:
        r = client.get(f"/api/studies?limit=9&{query}" + (f"&cursor={cursor}" if cursor else ""))
        assert r.status_code == 200, r.json
        first = first or r.json["metadata"]
        seen += [s["id"] for s in r.json["results"]]
        cursor = r.json["metadata"]["next"]
        if cursor is None:
            return seen, first


def _in_list_order(client, wanted):
    everything, _ = _walk(client, "")
    return [i for i in everything if i in wanted]


def _where(point):
    return "x={}&y={}&z={}&radius=5".format(*point)


@pytest.mark.parametrize("query,word", [
    ("search=common", "common"), (_where(COMMON), "common"),
    ("search=rare", "rare"), (_where(RARE), "rare"), ("search=ancient", "ancient"),
])
def test_search_pages_are_the_matches_in_list_order(client, store, query, word):
    found, _ = _walk(client, query)
    assert found == _in_list_order(client, store[word])


def test_counts_are_exact_when_small_and_flagged_estimates_when_large(client, store):
    for query in ("search=rare", _where(RARE)):
        _, meta = _walk(client, query)
        assert (meta["total_count"], meta["total_count_exact"]) == (10, True), query
    for query in ("search=common", _where(COMMON)):
        meta = client.get(f"/api/studies?limit=5&{query}").json["metadata"]
        assert meta["total_count_exact"] is False, query
        # A sample of about 250 of 1,200 rows: the estimate is within a few standard
        # errors (6 % each) of the truth, and rounded to two significant digits.
        assert abs(meta["total_count"] - 600) <= 150, meta
        assert meta["total_count"] % 10 == 0
    plain = client.get("/api/studies?limit=5&search=plain").json["metadata"]
    assert plain["total_count_exact"] is False


def test_publication_search_and_the_search_page_say_when_a_count_is_estimated(client, store):
    meta = client.get("/api/base-studies?limit=5&search=common").json["metadata"]
    assert meta["total_count_exact"] is False and abs(meta["total_count"] - 600) <= 150
    rare = client.get("/api/base-studies?limit=50&search=rare").json
    assert rare["metadata"]["total_count"] == len(rare["results"]) == 10
    assert rare["metadata"]["total_count_exact"] is True
    page = client.get("/search?search=common").get_data(as_text=True)
    assert "About <strong" in page
    page = client.get("/search?search=rare").get_data(as_text=True)
    assert "About" not in page and '<strong id="total">10</strong>' in page
