"""Idempotent sync of a source's records: create, no-op re-run, upstream change, curator wins."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import select, text

from neurostore.models import Study
from neurostore.services import ingest as ingest_module
from neurostore.services.actors import SYSTEM
from neurostore.services.errors import Conflict, PermissionDenied
from tests.support.factories import study_payload


def _records(n: int = 3) -> list[dict]:
    out = []
    for i in range(n):
        record = study_payload(seed=i, n_analyses=2, n_points=4, pmid=str(1000 + i))
        for a in record["analyses"]:
            a["table"] = {"t_id": f"T{a['name'][-1]}", "name": a["name"]}
        out.append(record | {"source_id": str(1000 + i)})
    return out


def test_rerun_changes_nothing_and_upstream_edit_updates_one(services):
    ingest = services.ingest
    actor = ingest.system_actor()
    run = ingest.start_run(SYSTEM, "testsource", {"n": 3})
    first = ingest.sync(actor, run, "testsource", _records())
    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    ingest.record_batch(run, first)
    summary = ingest.finish_run(run, "succeeded")
    assert summary["created"] == 3 and summary["status"] == "succeeded"

    again = ingest.sync(actor, None, "testsource", _records())
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)

    changed = _records()
    changed[1]["analyses"][0]["points"][0]["coordinates"] = [10.0, 20.0, 30.0]
    dry = ingest.sync(actor, None, "testsource", changed, dry_run=True)
    assert dry.updated == 1 and dry.diffs[0]["source_id"] == "1001"
    assert any("/coordinates" in op["path"] for op in dry.diffs[0]["diff"])
    run2 = ingest.start_run(SYSTEM, "testsource", {})
    real = ingest.sync(actor, run2, "testsource", changed)
    assert (real.created, real.updated, real.unchanged) == (0, 1, 2)
    study_id = next(
        r["id"] for r in [services.studies.get(actor, sid).state
                          for sid in _ids(services, "testsource")]
        if r["source_id"] == "1001"
    )
    revs = services.studies.revisions(actor, study_id)
    assert [r["action"] for r in revs] == ["create", "update"]
    assert revs[-1]["ingest_run"] == run2
    # The analyses kept their ids, so notes on them survive the upstream correction.
    assert services.studies.revision(actor, study_id, 1)["state"]["analyses"][0]["id"] == (
        services.studies.get(actor, study_id).state["analyses"][0]["id"])


def test_curator_edit_is_never_overwritten(services, curator):
    ingest = services.ingest
    actor = ingest.system_actor()
    ingest.sync(actor, None, "testsource", _records(1))
    study_id = _ids(services, "testsource")[0]
    services.studies.update(curator, study_id, {"name": "curated title"})
    changed = _records(1)
    changed[0]["name"] = "upstream title"
    report = ingest.sync(actor, None, "testsource", changed)
    assert report.skipped == 1 and "curator" in report.errors[0]["reason"]
    assert services.studies.get(actor, study_id).state["name"] == "curated title"


def test_bad_records_are_reported_and_the_rest_kept(services):
    records = _records(3)
    records[0]["analyses"][0]["points"][0]["coordinates"] = [1, "x", 3]
    records[2] = copy.deepcopy(records[1])
    report = services.ingest.sync(services.ingest.system_actor(), None, "testsource", records)
    assert report.created == 1 and report.skipped == 2
    reasons = " | ".join(e["reason"] for e in report.errors)
    assert "coordinates" in reasons and "twice" in reasons


def test_one_active_run_per_source_and_admin_only(services, alice):
    services.ingest.start_run(SYSTEM, "testsource", {})
    with pytest.raises(Conflict):
        services.ingest.start_run(SYSTEM, "testsource", {})
    with pytest.raises(PermissionDenied):
        services.ingest.start_run(alice, "other", {})


def _ids(services, source: str) -> list[str]:
    with services.session_factory() as s:
        return list(s.execute(select(Study.id).where(Study.source == source)
                              .order_by(Study.source_id)).scalars())


def _analyzed(services) -> dict[str, tuple[int, int]]:
    with services.session_factory() as s:
        return {name: (analyzed, vacuumed) for name, analyzed, vacuumed in s.execute(text(
            "SELECT relname, analyze_count, vacuum_count FROM pg_stat_user_tables"
            " WHERE relname IN ('points', 'studies')")).all()}


@pytest.mark.parametrize("threshold, refreshed", [(3, True), (4, False)])
def test_a_large_run_vacuums_and_refreshes_the_planner_statistics(services, monkeypatch,
                                                                  threshold, refreshed):
    # Vacuumed, the new pages are all-visible: radius searches read only their index.
    monkeypatch.setattr(ingest_module, "ANALYZE_AFTER", threshold)
    ingest = services.ingest
    before = _analyzed(services)
    run = ingest.start_run(SYSTEM, "testsource", {})
    ingest.record_batch(run, ingest.sync(ingest.system_actor(), run, "testsource", _records()))
    ingest.finish_run(run, "succeeded")
    after = _analyzed(services)
    for table in ("points", "studies"):
        counts = zip(after[table], before.get(table, (0, 0)), strict=True)
        assert [now > then for now, then in counts] == [refreshed, refreshed]
