"""NeuroVault through the replay server: maps downloaded and checked, faults, re-runs."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from ingest.http import FetchError
from ingest.runs import run_now
from neurostore.models import Image, Study
from neurostore.services.actors import SYSTEM
from tests.ingest.test_ingest_neurovault_harvest import _serve_recorded_collections
from tests.support.data import PAIN
from tests.support.replay import Fault

STATMAPS = PAIN
MAPS = {
    "https://neurovault.org/media/images/1197/CUMl_BP_MNI.nii.gz": "pain_01_z.nii.gz",
    "https://neurovault.org/media/images/1197/WAY_VT_MNI.nii.gz": "pain_01_t.nii.gz",
    "https://neurovault.org/media/images/1195/"
    "MNI152_WaterContent_figureAlignedForPaper_resliceForSTOLTUSanalysis.nii.gz":
        "pain_01_beta.nii.gz",
}
ROOT = Path(__file__).resolve().parents[2]
WAY = "https://neurovault.org/media/images/1197/WAY_VT_MNI.nii.gz"
IMAGES_1197 = "https://neurovault.org/api/collections/1197/images/?format=json"


@pytest.fixture
def neurovault(replay):
    """The recorded API plus map files for collections 1195 and 1197; run parameters."""
    _serve_recorded_collections(replay)
    for uri, name in MAPS.items():
        replay.add(uri, (STATMAPS / name).read_bytes())
    return {"base_url": replay.https_url, "collection_ids": [1195, 1197]}


def _images(services):
    with services.session_factory() as s:
        return s.execute(select(Image.url, Image.sha256, Image.space, Image.value_type)
                         .order_by(Image.url)).all()


def test_maps_are_stored_by_sha256_and_a_rerun_downloads_nothing(services, env, replay,
                                                                 neurovault):
    summary = run_now(services, "neurovault", neurovault, env)
    assert (summary.status, summary.created, summary.skipped) == ("succeeded", 2, 0)
    images = _images(services)
    assert len(images) == 3
    for image in images:
        content = (STATMAPS / MAPS[_real(image.url)]).read_bytes()
        assert image.sha256 == hashlib.sha256(content).hexdigest()
        assert env.files.exists(f"{image.sha256}.nii.gz")
        assert image.space == "MNI"
    assert {i.value_type for i in images} == {"Z"}
    downloads = sum(replay.count(uri) for uri in MAPS)
    again = run_now(services, "neurovault", neurovault, env)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert sum(replay.count(uri) for uri in MAPS) == downloads


def _real(url: str) -> str:
    """The real-host URI of a URL the replay server rewrote."""
    return "https://neurovault.org" + urlsplit(url).path


def test_a_corrupt_map_is_reported_and_its_analysis_left_out(services, env, replay,
                                                             neurovault):
    content = (STATMAPS / "pain_01_t.nii.gz").read_bytes()
    replay.add(WAY, content[: len(content) // 2])
    summary = run_now(services, "neurovault", neurovault, env)
    assert (summary.status, summary.created, summary.skipped) == ("succeeded", 2, 1)
    reason = summary.errors[0]["reason"]
    assert "16257" in reason and "cannot be read" in reason
    # Named by its own file, not by the checksum it was saved under.
    assert "WAY_VT_MNI.nii.gz" in reason
    assert hashlib.sha256(content[: len(content) // 2]).hexdigest() not in reason
    assert len(_images(services)) == 2


def test_a_dry_run_writes_no_file(services, env, neurovault):
    summary = run_now(services, "neurovault", neurovault, env, dry_run=True)
    assert (summary.status, summary.created) == ("dry-run", 2)
    stored = [p for p in env.files.root.rglob("*") if p.is_file()] \
        if env.files.root.exists() else []
    assert stored == [] and _images(services) == []


def test_group_level_reports_each_map_it_leaves_out(services, env, neurovault):
    summary = run_now(services, "neurovault", {**neurovault, "group_level_only": True}, env)
    left_out = [e["reason"] for e in summary.errors if "left out" in e["reason"]]
    images = _images(services)
    assert left_out and summary.skipped == len(left_out)
    assert all("not a group-level map" in reason for reason in left_out)
    assert len(images) + len(left_out) == 3


@pytest.mark.parametrize("fault", [Fault.DROP, Fault.ERROR_500, Fault.TRUNCATE, Fault.SLOW])
def test_transient_faults_are_retried_and_the_run_completes(services, env, replay, neurovault,
                                                            fault):
    replay.inject(WAY, fault)
    replay.inject(IMAGES_1197, fault)
    summary = run_now(services, "neurovault", neurovault, env)
    assert (summary.status, summary.created, summary.failed) == ("succeeded", 2, 0)
    assert replay.count(WAY) == 2


def test_a_map_that_keeps_failing_fails_the_run_and_the_next_run_finishes(services, env,
                                                                          replay, neurovault):
    replay.inject(WAY, *[Fault.ERROR_500] * 4)  # the first try and every retry
    summary = run_now(services, "neurovault", neurovault, env)
    assert replay.count(WAY) == 4
    assert (summary.status, summary.created, summary.failed) == ("failed", 1, 1)
    run = services.ingest.get_run(SYSTEM, summary.run_id)
    assert (run["status"], run["created"], run["failed"]) == ("failed", 1, 1)
    assert "map not downloaded" in run["errors"][0]["reason"]
    assert "next run retries" in run["errors"][-1]["reason"]

    again = run_now(services, "neurovault", neurovault, env)
    assert (again.status, again.created, again.unchanged, again.failed) == (
        "succeeded", 1, 1, 0)
    with services.session_factory() as s:
        assert s.execute(select(func.count()).select_from(Study)).scalar() == 2
    assert len(_images(services)) == 3


def test_a_listing_that_cannot_be_fetched_fails_the_run_with_what_it_did(services, env,
                                                                         replay):
    replay.inject("https://neurovault.org/api/collections.json", *[Fault.ERROR_500] * 20)
    with pytest.raises(FetchError, match="500"):
        run_now(services, "neurovault", {"base_url": replay.https_url}, env)
    (run,) = services.ingest.list_runs(SYSTEM)
    assert run["status"] == "failed" and "FetchError" in run["errors"][-1]["reason"]


def test_a_mirror_that_keeps_the_public_links_serves_maps_and_pages(services, env, replay,
                                                                    neurovault, monkeypatch):
    # A mirror serves NeuroVault's records as they are: their file and page links name the
    # public host, which this machine cannot reach. The base URL must serve them all.
    monkeypatch.setattr(replay, "rewrite", lambda data: data)
    summary = run_now(services, "neurovault", neurovault, env)
    assert (summary.status, summary.created, summary.failed) == ("succeeded", 2, 0), \
        summary.errors
    assert sum(replay.count(uri) for uri in MAPS) == len(MAPS)
    assert {urlsplit(i.url).netloc for i in _images(services)} == {"neurovault.org"}


def test_the_command_line_dry_run_and_group_level(database_url, services, replay, neurovault,
                                                  tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url,
           "NEUROSTORE_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    args = [sys.executable, "manage.py", "ingest", "neurovault", "--base-url",
            neurovault["base_url"], "--collection", "1195", "--collection", "1197"]
    dry = subprocess.run([*args, "--dry-run"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    files = tmp_path / "var" / "files"
    assert not files.exists() or not [p for p in files.rglob("*") if p.is_file()]
    assert _images(services) == []
    grouped = subprocess.run([*args, "--group-level"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=300)
    assert grouped.returncode == 0, grouped.stdout + grouped.stderr
    assert "left out: not a group-level map" in grouped.stdout
