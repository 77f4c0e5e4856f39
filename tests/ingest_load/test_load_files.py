"""Loaders of the file sources on the bundled real samples: counts, re-runs, shared papers."""

from __future__ import annotations

import gzip

import pytest
from sqlalchemy import func, select

from ingest.runs import run_now
from ingest.sources import SourceError
from neurostore.models import Annotation, AnnotationNote, BaseStudy, Study, Studyset
from neurostore.services.actors import SYSTEM
from neurostore.services.errors import Conflict
from tests.support.data import DATA, NIMADS_PARAMS, NQ_PARAMS, NS_PARAMS, SLEUTH_PARAMS

ALL = (("neuroquery", NQ_PARAMS), ("neurosynth", NS_PARAMS), ("sleuth", SLEUTH_PARAMS),
       ("nimads", NIMADS_PARAMS))


def _count(services, *what):
    with services.session_factory() as s:
        return s.execute(select(func.count()).select_from(*what)).scalar()


def test_neuroquery_sample_is_loaded_in_batches_as_one_run(services, env):
    seen = []
    summary = run_now(services, "neuroquery", NQ_PARAMS, env, batch_size=8,
                      progress=lambda n, report: seen.append(n))
    assert seen == [8, 16, 21]
    assert (summary.status, summary.created, summary.skipped, summary.failed) == (
        "succeeded", 21, 0, 0)
    assert summary.peaks == 646
    run = services.ingest.get_run(SYSTEM, summary.run_id)
    assert (run["status"], run["created"], run["source"]) == ("succeeded", 21, "neuroquery")
    assert run["parameters"] == NQ_PARAMS
    actor = services.ingest.system_actor()
    revisions = services.studies.revisions(actor, services.ingest.study_ids(
        "neuroquery", ["9405692"])["9405692"])
    assert revisions[0]["ingest_run"] == summary.run_id


@pytest.mark.parametrize(("source", "params"), ALL)
def test_a_rerun_of_every_source_changes_nothing(services, env, source, params):
    first = run_now(services, source, params, env)
    assert first.created > 0 and first.status == "succeeded"
    with services.session_factory() as s:
        before = s.execute(select(func.count()).select_from(Study)).scalar()
    if source == "nimads":
        # A file import makes a new studyset unless told which one to update.
        params = {**params, "into": first.made["studyset"]}
    again = run_now(services, source, params, env)
    assert (again.created, again.updated, again.failed) == (0, 0, 0)
    assert again.unchanged == first.created
    assert again.skipped == first.skipped
    assert _count(services, Study) == before


def test_neuroquery_and_neurosynth_share_the_base_study_of_a_pmid(services, env):
    run_now(services, "neuroquery", NQ_PARAMS, env)
    run_now(services, "neurosynth", NS_PARAMS, env)
    with services.session_factory() as s:
        rows = s.execute(select(Study.source, Study.base_study_id)
                         .where(Study.pmid == "9405692")).all()
    assert sorted(r.source for r in rows) == ["neuroquery", "neurosynth"]
    assert len({r.base_study_id for r in rows}) == 1
    # 21 + 24 papers, one of them in both releases
    assert _count(services, BaseStudy) == 44


def test_implausible_peaks_are_reported_as_skipped(services, env):
    data = DATA / "neuroquery"
    summary = run_now(services, "neuroquery",
                      {"coordinates": f"{data}/implausible-2studies_coordinates.tsv",
                       "metadata": f"{data}/implausible-2studies_metadata.tsv"}, env)
    assert summary.created == 2 and summary.skipped > 0
    assert all(e["line"] for e in summary.errors)
    assert services.ingest.get_run(SYSTEM, summary.run_id)["skipped"] == summary.skipped


def test_nimads_creates_the_studyset_and_moves_notes_to_stored_analyses(services, env):
    summary = run_now(services, "nimads", NIMADS_PARAMS, env)
    assert summary.status == "succeeded"
    assert _count(services, Studyset) == 1 and _count(services, Annotation) == 1
    with services.session_factory() as s:
        notes = s.execute(select(AnnotationNote.note)).scalars().all()
        studies = s.execute(select(func.count()).select_from(Study)).scalar()
    assert studies == summary.created - 2  # + the studyset and the annotation
    assert notes and all(set(n) == {"include"} for n in notes)
    assert any(n["include"] is True for n in notes)


def test_sleuth_files_keep_same_named_studies_apart(services, env):
    summary = run_now(services, "sleuth", SLEUTH_PARAMS, env)
    with services.session_factory() as s:
        ids = s.execute(select(Study.source_id)).scalars().all()
    assert len(ids) == summary.created
    assert {i.split(":", 1)[0] for i in ids} == {"test_sleuth_file.txt", "test_sleuth_file2.txt"}


def test_dry_run_writes_nothing_and_lists_the_changes(services, env):
    summary = run_now(services, "neuroquery", NQ_PARAMS, env, dry_run=True)
    assert summary.created == 21 and summary.run_id is None
    assert {d["action"] for d in summary.diffs} == {"create"}
    assert _count(services, Study) == 0
    assert services.ingest.list_runs(SYSTEM) == []


def test_an_upstream_change_is_an_update_attributed_to_the_run(services, env, tmp_path):
    run_now(services, "neuroquery", NQ_PARAMS, env)
    changed = tmp_path / "coordinates.tsv"
    with gzip.open(NQ_PARAMS["coordinates"], "rt", newline="") as src:
        text = src.read()
    first_row = text.split("\n")[1]
    fields = first_row.split("\t")
    fields[-1] = str(float(fields[-1]) + 2)
    changed.write_text(text.replace(first_row, "\t".join(fields), 1))
    summary = run_now(services, "neuroquery", {**NQ_PARAMS, "coordinates": str(changed)}, env)
    assert (summary.updated, summary.unchanged) == (1, 20)
    study_id = services.ingest.study_ids("neuroquery", [fields[0]])[fields[0]]
    revisions = services.studies.revisions(services.ingest.system_actor(), study_id)
    assert [r["ingest_run"] for r in revisions] == [summary.run_id - 1, summary.run_id]


def test_missing_file_and_unknown_source_are_clear_errors(services, env):
    with pytest.raises(SourceError, match="does not exist"):
        run_now(services, "neuroquery", {**NQ_PARAMS, "metadata": "/nope.tsv"}, env)
    (run,) = services.ingest.list_runs(SYSTEM)
    assert run["status"] == "failed" and "does not exist" in run["errors"][-1]["reason"]
    with pytest.raises(SourceError, match="unknown source"):
        run_now(services, "pubmeds", {}, env, dry_run=True)


def test_one_run_per_source_at_a_time(services, env):
    queued = services.ingest.start_run(SYSTEM, "neuroquery", NQ_PARAMS, queued=True)
    with pytest.raises(Conflict, match=str(queued)):
        run_now(services, "neuroquery", NQ_PARAMS, env)
    assert run_now(services, "neurosynth", NS_PARAMS, env).status == "succeeded"
