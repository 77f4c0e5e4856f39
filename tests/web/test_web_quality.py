"""Every page, checked in the real browser for what any page must do: one h1, a label
for every form control, no request to another site, nothing wider than a phone's screen,
and a link to the API call that returns the same data."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from sqlalchemy import func, select

from analysis.runner import execute
from ingest.demo import ingest_bundled_sample
from neurostore.models import Study
from tests.support.browser import sign_in
from tests.support.examples import import_example
from tests.support.factories import study_payload

PAIN = Path(__file__).resolve().parents[1] / "data" / "pain"

UNLABELLED = """
return Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(e => e.type !== 'hidden' && e.type !== 'submit' && e.type !== 'button')
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
               && !e.getAttribute('aria-labelledby'))
  .map(e => e.outerHTML.slice(0, 120));
"""
FOREIGN = """
return performance.getEntriesByType('resource').map(r => r.name)
  .filter(u => !u.startsWith(location.origin));
"""
OVERFLOW = "return document.documentElement.scrollWidth - window.innerWidth;"


@pytest.fixture
def finished_run(services, alice) -> tuple[str, str]:
    """A studyset of alice's and a finished ALE of it: (studyset id, run id)."""
    imported = import_example(services, alice)
    snapshot = services.snapshots.create(alice, imported.studyset.id,
                                         annotation_id=imported.annotation.id,
                                         include="include")[0]
    run = services.analysis_runs.create(alice, {"snapshot": snapshot["id"], "estimator": "ALE"})
    assert execute(services, run["id"]) == "succeeded"
    return imported.studyset.id, run["id"]


@pytest.fixture
def pages(services, files, tmp_path, alice, finished_run) -> list[str]:
    """Paths of the pages to check, on the bundled sample (and a study of alice's with a
    map and an edit, for the study pages)."""
    ingest_bundled_sample(services, tmp_path)
    run_studyset, run = finished_run
    base = next(b for b in services.session_factory().execute(
        select(Study.base_study_id).group_by(Study.base_study_id)
        .having(func.count() > 1)).scalars())
    payload = study_payload(n_analyses=2, n_points=4)
    payload["analyses"][0]["images"] = [{
        "filename": "pain_01_z.nii.gz", "value_type": "Z", "space": "MNI",
        "sha256": files.put_file(PAIN / "pain_01_z.nii.gz", suffix=".nii.gz")[:64]}]
    study = services.studies.create(alice.actor, payload)
    services.studies.update(alice.actor, study.id, {"name": "Renamed"}, if_match=1)
    image = study.state["analyses"][0]["images"][0]["id"]
    with services.session_factory() as session:
        studies = list(session.execute(select(Study.id).order_by(Study.id).limit(12)).scalars())
    studyset = services.studysets.create(alice, {"name": "Quality", "studies": studies})
    services.studysets.screen(alice, studyset.id, studies[:2], "excluded", "wrong population")
    annotation = services.annotations.create(alice, {
        "studyset": studyset.id, "note_keys": {"included": "boolean", "task": "string"}})
    return ["/", "/search?search=memory", "/search?x=-40&y=20&z=30&radius=15", "/signin",
            f"/base-studies/{base}", f"/base-studies/{study.state['base_study']}",
            f"/studies/{study.id}/edit", f"/studies/{study.id}/history",
            f"/studies/{study.id}/diff?from=1&to=2", f"/studies/{study.id}/images/{image}",
            "/studysets", "/studysets/new", f"/studysets/{studyset.id}",
            f"/studysets/{studyset.id}/edit", f"/studysets/{studyset.id}/clone",
            f"/annotations/{annotation.id}", f"/studysets/{run_studyset}/meta-analysis",
            "/meta-analyses", f"/meta-analyses/{run}"]


def test_every_page_is_accessible_self_contained_and_fits_a_phone(browser, site, pages,
                                                                  alice):
    sign_in(browser, site, alice.token)
    problems = _problems(browser, site, pages)
    assert not problems, "\n".join(problems)


def test_the_admin_pages_are_accessible_self_contained_and_fit_a_phone(browser, site, admin):
    sign_in(browser, site, admin.token)
    problems = _problems(browser, site, ["/admin/ingest-runs", "/admin/users"])
    assert not problems, "\n".join(problems)


def _problems(browser, site: str, pages: list[str]) -> list[str]:
    """What each page at a laptop's and a phone's width does wrong."""
    problems = []
    for width in (1280, 375):
        browser.set_window_size(width, 900)
        for path in pages:
            browser.get(site + path)
            where = f"{path} at {width}px"
            if len(browser.find_elements(By.TAG_NAME, "h1")) != 1:
                problems.append(f"{where}: not exactly one h1")
            for control in browser.execute_script(UNLABELLED):
                problems.append(f"{where}: no label for {control}")
            for url in browser.execute_script(FOREIGN):
                problems.append(f"{where}: request to another site: {url}")
            if browser.execute_script(OVERFLOW) > 1:
                problems.append(f"{where}: wider than the window")
            if path != "/signin" and not browser.find_elements(By.CSS_SELECTOR,
                                                               "p.api a[href^='/api/']"):
                problems.append(f"{where}: no link to the API")
    browser.set_window_size(1280, 900)
    return problems
