"""The bundled sample the demo ingests: three runs, a shared paper, an idempotent re-run."""

from __future__ import annotations

from sqlalchemy import select

from ingest.demo import SHARED_PMID, ingest_bundled_sample
from neurostore.models import Study


def test_the_bundled_sample_loads_and_reloads_without_changes(services, tmp_path):
    first = ingest_bundled_sample(services, tmp_path)
    assert {k: (v["status"], v["created"]) for k, v in first.items()} == {
        "neuroquery": ("succeeded", 21), "neurosynth": ("succeeded", 24),
        "sleuth": ("succeeded", first["sleuth"]["created"])}
    assert first["sleuth"]["created"] > 0
    with services.session_factory() as s:
        bases = s.execute(select(Study.base_study_id).where(Study.pmid == SHARED_PMID)).all()
    assert len(bases) == 2 and len(set(bases)) == 1
    again = ingest_bundled_sample(services, tmp_path)
    assert all(v["created"] == v["updated"] == 0 for v in again.values())
