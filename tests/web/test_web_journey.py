"""A curator's whole journey in a real browser (Debian Chromium), on the bundled real sample,
with a real ``manage.py worker`` process running the meta-analysis.

Sign in; search; build a studyset of ten results; exclude two with reasons; fix a peak,
read the diff and revert it; run an ALE of the studyset (the snapshot holds the eight
included studies only); watch the map appear; download the results. The stale edit, the
forbidden edit and the anonymous visitor have their own tests (test_web_study.py,
test_web_search.py); this one walks the pages in the order a curator meets them, each step
checked against the API.
"""

from __future__ import annotations

import gzip
import io
import zipfile

import nibabel as nib
import pytest
import requests
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from ingest.demo import ingest_bundled_sample
from tests.support.browser import sign_in, submit

LOADED = "return Array.from(document.querySelectorAll('figure.slice-viewer img'))" \
         ".every(i => i.complete && i.naturalWidth > 0);"


@pytest.fixture
def sample(services, tmp_path):
    """The bundled NeuroQuery, Neurosynth and Sleuth samples, ingested."""
    return ingest_bundled_sample(services, tmp_path)


def _api(site: str, path: str, caller) -> dict:
    answer = requests.get(f"{site}/api{path}", headers=caller.headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _flash(browser) -> str:
    return browser.find_element(By.CSS_SELECTOR, ".flash").text


def _pick(browser, study_id: str) -> None:
    browser.find_element(By.CSS_SELECTOR, f"tr[data-id='{study_id}'] input").click()


def test_a_curator_builds_screens_fixes_and_meta_analyses_a_studyset(
        browser, site, sample, curator, worker, shot):
    sign_in(browser, site, curator.token)
    assert "Signed in as" in browser.find_element(By.CSS_SELECTOR, ".account").text

    # A studyset to fill.
    browser.get(f"{site}/studysets/new")
    browser.find_element(By.ID, "name").send_keys("Journey")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form.stack button"))
    studyset_id = browser.current_url.rstrip("/").rsplit("/", 1)[1]
    shot("studyset-new")

    # Search as a user does, then add ten results at once.
    browser.get(site)
    browser.find_element(By.CSS_SELECTOR, "form[role=search] summary").click()  # the filters
    limit = browser.find_element(By.NAME, "limit")
    limit.clear()
    limit.send_keys("10")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form[role=search] button[type=submit]"))
    boxes = browser.find_elements(By.CSS_SELECTOR, "ol.results input[name=study]")
    assert len(boxes) == 10
    picked = [box.get_attribute("value") for box in boxes]
    for box in boxes:
        box.click()
    Select(browser.find_element(By.ID, "add-target")).select_by_visible_text("Journey")
    shot("search")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "#add-form button[type=submit]"))
    assert "Added 10 studies" in _flash(browser)
    assert _api(site, f"/studysets/{studyset_id}", curator)["studies"] == picked

    # Exclude two with reasons: the PRISMA counts follow.
    _pick(browser, picked[3])
    Select(browser.find_element(By.ID, "reason")).select_by_visible_text("wrong population")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "button[value=exclude]"))
    _pick(browser, picked[6])
    browser.find_element(By.ID, "reason-other").send_keys("no whole-brain analysis")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "button[value=exclude]"))
    shot("screened")
    counts = {name: int(browser.find_element(By.ID, f"n-{name}").text)
              for name in ("identified", "excluded", "included")}
    assert counts == {"identified": 10, "excluded": 2, "included": 8}

    # Fix a peak of an included study (a curator may edit public studies), then read the
    # diff in its history and revert it.
    fixed = next(i for i in picked if i not in (picked[3], picked[6])
                 and _api(site, f"/studies/{i}?nested=true", curator)["analyses"][0]["points"])
    before = _api(site, f"/studies/{fixed}?nested=true", curator)
    old_x = before["analyses"][0]["points"][0]["coordinates"][0]
    browser.get(f"{site}/studies/{fixed}/edit")
    x = browser.find_element(By.NAME, "analyses-0-points-0-x")
    x.clear()
    x.send_keys(str(old_x + 4))
    browser.find_element(By.NAME, "message").send_keys("peak 1: x misread from the table")
    shot("edit")
    submit(browser, browser.find_element(By.ID, "save"))
    assert f"Saved as version {before['version'] + 1}" in _flash(browser)
    edited = _api(site, f"/studies/{fixed}?nested=true", curator)
    assert edited["analyses"][0]["points"][0]["coordinates"][0] == old_x + 4

    browser.get(f"{site}/studies/{fixed}/history")
    latest = browser.find_element(By.ID, f"revision-{edited['version']}")
    assert "x misread" in latest.text
    submit(browser, latest.find_element(By.LINK_TEXT, "changes"))
    shot("diff")
    changed = {c.text for c in browser.find_elements(
        By.CSS_SELECTOR, "table.changes.peaks td.cell-changed")}
    assert {f"{old_x:g}", f"{old_x + 4:g}"} <= {f"{float(t):g}" for t in changed}
    browser.find_element(By.ID, "message").send_keys("revert: the table was right")
    submit(browser, browser.find_element(By.ID, "revert"))
    assert "Reverted to revision" in _flash(browser)
    reverted = _api(site, f"/studies/{fixed}?nested=true", curator)
    assert reverted["analyses"][0]["points"][0]["coordinates"][0] == old_x
    assert reverted["version"] == edited["version"] + 1
    shot("reverted")

    # From the studyset page to its meta-analysis: an ALE of the included studies.
    browser.get(f"{site}/studysets/{studyset_id}")
    submit(browser, browser.find_element(
        By.CSS_SELECTOR, f"a[href$='/studysets/{studyset_id}/meta-analysis']"))
    Select(browser.find_element(By.ID, "estimator")).select_by_value("ALE")
    WebDriverWait(browser, 10, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.find_element(By.NAME, "parameters.sample_size"))
    size = browser.find_element(By.NAME, "parameters.sample_size")
    size.clear()
    size.send_keys("20")  # the sample has no sample sizes: one for every experiment
    browser.find_element(By.ID, "correction-none").click()
    shot("run-form")
    submit(browser, browser.find_element(By.ID, "run-submit"))
    run_id = browser.current_url.rstrip("/").rsplit("/", 1)[1]
    shot("run-progress")
    WebDriverWait(browser, 300, poll_frequency=0.5,
                  ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.find_elements(By.ID, "maps-title")
        or d.find_elements(By.CSS_SELECTOR, "p.error[role=alert]"))
    run = _api(site, f"/meta-analyses/{run_id}", curator)
    assert run["status"] == "succeeded", (run.get("error"), worker.read_text()[-3000:])
    snapshot = _api(site, f"/snapshots/{run['snapshot']}", curator)
    assert snapshot["n_studies"] == 8  # the two excluded studies were not frozen
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(LOADED))
    shot("run-results")

    # Download everything as the signed-in browser.
    session = requests.Session()
    for cookie in browser.get_cookies():
        session.cookies.set(cookie["name"], cookie["value"])
    bundle = session.get(browser.find_element(By.ID, "download-zip").get_attribute("href"))
    assert bundle.status_code == 200
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        assert {f"maps/{name}.nii.gz" for name in run["results"]["maps"]} <= set(
            archive.namelist())
        z = nib.Nifti1Image.from_bytes(gzip.decompress(archive.read("maps/z.nii.gz")))
        assert z.shape == (91, 109, 91)
