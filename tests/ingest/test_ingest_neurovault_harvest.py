"""Walking the replayed NeuroVault API into study dicts, with faults on the way."""

from __future__ import annotations

import json

from ingest.neurovault.harvest import iter_studies
from ingest.neurovault.parse import Selection
from tests.support.data import DATA
from tests.support.replay import Fault

API = DATA / "neurovault" / "api"
RECORDED = (555, 1056, 1058, 1195, 1196, 1197)


def _serve_recorded_collections(replay):
    """Serve ``/api/collections/{id}/`` for the collections whose images were recorded."""
    for name in ("collections_page1.json", "collections_limit100_offset100.json"):
        for record in json.loads((API / name).read_text())["results"]:
            if record["id"] in RECORDED:
                uri = f"https://neurovault.org/api/collections/{record['id']}/?format=json"
                replay.add(uri, json.dumps(record).encode())


def test_selected_collections_are_fetched_directly(replay, nv_client):
    _serve_recorded_collections(replay)
    stream = iter_studies(nv_client, Selection(collection_ids=frozenset(RECORDED)))
    studies = list(stream)
    assert [s["source_id"] for s in studies] == [str(i) for i in RECORDED]
    assert stream.skipped == []
    assert ("https", "/api/collections.json") not in replay.requests


def test_group_level_selection_with_doi(replay, nv_client):
    _serve_recorded_collections(replay)
    selection = Selection(
        collection_ids=frozenset(RECORDED), require_doi=True, group_level_only=True
    )
    studies = list(iter_studies(nv_client, selection))
    assert {s["source_id"]: len(s["analyses"]) for s in studies} == {
        "1056": 14,
        "1058": 1,
        "1197": 2,
    }


def test_a_collection_that_keeps_failing_is_reported_and_skipped(replay, nv_client):
    _serve_recorded_collections(replay)
    uri = "https://neurovault.org/api/collections/1058/images/?format=json"
    replay.inject(uri, *[Fault.ERROR_500] * 10)
    stream = iter_studies(nv_client, Selection(collection_ids=frozenset({555, 1058, 1197})))
    assert [s["source_id"] for s in stream] == ["555", "1197"]
    (skipped,) = stream.skipped
    assert skipped.source_id == "1058"
    assert "500" in skipped.reason


def test_unknown_collection_id_is_reported(replay, nv_client):
    stream = iter_studies(nv_client, Selection(collection_ids=frozenset({999999})))
    assert list(stream) == []
    assert "404" in stream.skipped[0].reason


def test_paging_with_limits(replay, nv_client):
    # The first listed collections have no recorded image lists: each is reported.
    stream = iter_studies(nv_client, max_collections=3, max_images_per_collection=5)
    assert list(stream) == []
    assert len(stream.skipped) == 3
    assert replay.count("https://neurovault.org/api/collections.json?limit=100&offset=100") == 0


def test_max_collections_on_a_page_boundary_fetches_no_further_page(replay, nv_client):
    stream = iter_studies(nv_client, max_collections=100)
    studies = list(stream)
    assert replay.count("https://neurovault.org/api/collections.json?limit=100&offset=100") == 0
    # two of them have a recorded image list; the others answer 404 and are reported
    assert (len(studies), len(stream.skipped)) == (2, 98)
