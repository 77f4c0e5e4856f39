"""Meta-analyses in a real browser (Debian Chromium) with a real worker process.

A user opens a studyset's meta-analysis form (built from the server's estimator
catalogue), freezes the studyset and runs an ALE; ``manage.py worker`` runs it while the
page follows its progress by itself; the result page shows the map slices, the cluster
table and the methods, and its downloads are a zip, NIfTI maps and the snapshot itself.
Bad parameters re-render the form naming the field; a queued run is cancelled; another
user cannot see a private run, nor cancel someone else's public one.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zipfile
from pathlib import Path

import nibabel as nib
import pytest
import requests
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.browser import sign_in, submit
from tests.support.examples import import_example
from tests.support.web_session import post_form, signed_in

ROOT = Path(__file__).resolve().parents[2]
LOADED = "return Array.from(document.querySelectorAll('figure.slice-viewer img'))" \
         ".every(i => i.complete && i.naturalWidth > 0);"


@pytest.fixture
def imported(services, alice):
    """The bundled NIMADS example (public) imported by alice, with sample sizes."""
    return import_example(services, alice)


@pytest.fixture
def private_studyset(services, alice, imported) -> str:
    """A private studyset of alice's holding the example's studies."""
    studies = imported.studyset.state["studies"]
    return services.studysets.create(alice, {"name": "alice's private set", "public": False,
                                             "studies": studies}).id


def _browser_session(browser) -> requests.Session:
    """A plain HTTP session holding the browser's cookies (to download as the user)."""
    session = requests.Session()
    for cookie in browser.get_cookies():
        session.cookies.set(cookie["name"], cookie["value"])
    return session


def _run_id(browser) -> str:
    return browser.current_url.rstrip("/").rsplit("/", 1)[1]


def test_a_user_runs_an_ale_and_reads_and_downloads_its_results(
        browser, site, shot, alice, imported, worker):
    sign_in(browser, site, alice.token)
    browser.get(f"{site}/studysets/{imported.studyset.id}/meta-analysis")
    # The form offers what the server offers: every estimator, the first one's parameters
    # and corrections, the report options.
    catalogue = requests.get(f"{site}/api/meta-analyses/estimators").json()
    offered = [o.get_attribute("value")
               for o in browser.find_elements(By.CSS_SELECTOR, "#estimator option")]
    assert offered == [e["name"] for e in catalogue["estimators"]]
    ale = next(e for e in catalogue["estimators"] if e["name"] == offered[0])
    shown = {e.get_attribute("name") for e in
             browser.find_elements(By.CSS_SELECTOR, ".run-form [name^='parameters.']")}
    assert shown == {f"parameters.{p['name']}" for p in ale["parameters"]}
    methods = [r.get_attribute("value") for r in
               browser.find_elements(By.CSS_SELECTOR, "input[name='correction.method']")]
    assert methods == ale["corrections"]
    assert browser.find_element(By.CSS_SELECTOR, "p.api a").get_attribute("href") \
        .endswith("/api/meta-analyses/estimators")
    shot("form")

    # The analyses the annotation includes, uncorrected (p < 0.001), clusters of 5+ voxels.
    selection = browser.find_element(By.ID, "selection")
    assert selection.get_attribute("value") == f"{imported.annotation.id}:include"
    browser.find_element(By.ID, "correction-none").click()
    size = browser.find_element(By.ID, "report-min_cluster_size")
    size.clear()
    size.send_keys("5")
    submit(browser, browser.find_element(By.ID, "run-submit"))
    assert "/meta-analyses/" in browser.current_url
    run_id = _run_id(browser)
    shot("progress")

    # The page follows the run by itself (no navigation here) until it shows the results.
    WebDriverWait(browser, 300, poll_frequency=0.5,
                  ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.find_elements(By.ID, "maps-title") or d.find_elements(By.CSS_SELECTOR,
                                                                          "p.error[role=alert]"))
    api = requests.get(f"{site}/api/meta-analyses/{run_id}",
                       headers={"Authorization": f"Bearer {alice.token}"}).json()
    assert api["status"] == "succeeded", (api["error"], worker.read_text()[-3000:])
    assert api["spec"]["report"]["min_cluster_size"] == 5
    assert api["spec"]["correction"] == {"method": "none"}
    results = api["results"]

    # The slice viewer shows the z map; moving a slider loads another slice.
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(LOADED))
    axial = browser.find_element(By.CSS_SELECTOR, "figure.slice-viewer img[data-axis=z]")
    before = axial.get_attribute("src")
    browser.execute_script(
        "const s = document.querySelector('input[type=range][data-axis=z]');"
        "s.value = 20; s.dispatchEvent(new Event('input'));")
    WebDriverWait(browser, 10).until(lambda d: axial.get_attribute("src") != before)
    assert "index=20" in axial.get_attribute("src")
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(LOADED))
    shot("results")

    # The cluster table and the methods are the run's.
    assert results["clusters"], "an uncorrected ALE of this sample has clusters"
    rows = browser.find_elements(By.CSS_SELECTOR, "#clusters tbody tr")
    assert len(rows) == len(results["clusters"])
    first = results["clusters"][0]
    cells = [c.text for c in rows[0].find_elements(By.TAG_NAME, "td")]
    assert cells[:4] == [str(first[k]) for k in ("cluster_id", "peak_x", "peak_y", "peak_z")]
    assert " ".join(browser.find_element(By.ID, "methods").text.split()) == \
        " ".join(results["methods"].split())
    copy = browser.find_element(By.ID, "copy-methods")
    assert copy.is_displayed()
    copy.click()
    WebDriverWait(browser, 5).until(
        lambda d: d.find_element(By.ID, "copy-status").text == "Copied.")
    assert browser.find_element(By.CSS_SELECTOR, "p.api a").get_attribute("href") \
        .endswith(f"/api/meta-analyses/{run_id}")

    # Downloads, with the browser's session: everything as a zip, one map, the snapshot.
    session = _browser_session(browser)
    bundle_link = browser.find_element(By.ID, "download-zip").get_attribute("href")
    bundle = session.get(bundle_link)
    assert bundle.status_code == 200 and bundle.content[:4] == b"PK\x03\x04"
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        names = set(archive.namelist())
        assert {f"maps/{m}.nii.gz" for m in results["maps"]} <= names
        assert {"clusters.tsv", "methods.txt", "run.json"} <= names
        z = nib.Nifti1Image.from_bytes(gzip.decompress(archive.read("maps/z.nii.gz")))
        assert z.shape == (91, 109, 91)
        assert json.loads(archive.read("run.json"))["spec"] == api["spec"]
    map_link = next(a.get_attribute("href") for a in
                    browser.find_elements(By.CSS_SELECTOR, "a.map-download")
                    if a.text == "z")
    nifti = session.get(map_link)
    assert nifti.status_code == 200 and nifti.content[:2] == b"\x1f\x8b"
    assert nib.Nifti1Image.from_bytes(gzip.decompress(nifti.content)).shape == (91, 109, 91)
    snapshot_link = next(a.get_attribute("href") for a in
                         browser.find_elements(By.CSS_SELECTOR, "a.snapshot-download")
                         if a.text == "nimads")
    frozen = session.get(snapshot_link)
    assert frozen.status_code == 200
    # The snapshot's id is the sha256 of its canonical NIMADS bytes.
    assert hashlib.sha256(frozen.content).hexdigest() == api["snapshot"]


def test_bad_parameters_re_render_the_form_naming_the_field(browser, site, shot, alice,
                                                            services, imported):
    sign_in(browser, site, alice.token)
    browser.get(f"{site}/studysets/{imported.studyset.id}/meta-analysis")
    browser.find_element(By.ID, "correction-montecarlo").click()
    iterations = browser.find_element(By.ID, "correction-n_iters")
    iterations.clear()
    iterations.send_keys("lots")
    submit(browser, browser.find_element(By.ID, "run-submit"))
    shot("refused")
    alert = browser.find_element(By.ID, "form-errors").text
    assert "correction.n_iters" in alert and "must be an integer" in alert
    field = browser.find_element(By.ID, "correction-n_iters")
    assert field.get_attribute("aria-invalid") == "true"
    assert field.get_attribute("value") == "lots"  # what was typed is kept to fix
    assert browser.find_element(By.ID, "correction-montecarlo").is_selected()
    # Nothing was frozen or queued.
    assert services.snapshots.list(alice) == []
    assert services.analysis_runs.list(alice) == []


def test_a_queued_run_is_cancelled_by_its_owner_and_hidden_from_others(
        browser, site, shot, alice, bob, services, private_studyset):
    sign_in(browser, site, alice.token)
    browser.get(f"{site}/studysets/{private_studyset}/meta-analysis?estimator=KDA")
    assert browser.find_element(By.ID, "estimator").get_attribute("value") == "KDA"
    browser.find_element(By.ID, "correction-montecarlo").click()
    submit(browser, browser.find_element(By.ID, "run-submit"))
    run_id = _run_id(browser)
    assert browser.find_element(By.ID, "run-status").text == "queued"  # no worker here

    # A private run is not there for anyone else, whatever they try.
    others = {"bob": signed_in(site, bob.token), "anonymous": signed_in(site, None)}
    for who, session in others.items():
        for path in ("", "/state", "/results.zip"):
            answer = session.get(f"{site}/meta-analyses/{run_id}{path}")
            assert answer.status_code == 404, (who, path)
            assert "not found" in answer.text
    refused = post_form(others["bob"], site, "/meta-analyses", f"/meta-analyses/{run_id}/cancel",
                        {})
    assert refused.status_code == 404
    assert services.analysis_runs.get(alice, run_id)["status"] == "queued"

    shot("queued")
    submit(browser, browser.find_element(By.ID, "cancel-run"))
    shot("cancelled")
    assert browser.find_element(By.CSS_SELECTOR, "h1 .status").text == "cancelled"
    assert not browser.find_elements(By.ID, "cancel-run")
    assert services.analysis_runs.get(alice, run_id)["status"] == "cancelled"


def test_another_user_may_read_a_public_run_but_not_cancel_it(site, alice, bob, services,
                                                              imported):
    snapshot = services.snapshots.create(alice, imported.studyset.id)[0]
    run = services.analysis_runs.create(alice, {"snapshot": snapshot["id"],
                                                "estimator": "KDA"})
    bob_session = signed_in(site, bob.token)
    page = bob_session.get(f"{site}/meta-analyses/{run['id']}")
    assert page.status_code == 200 and 'id="cancel-run"' not in page.text
    listed = bob_session.get(f"{site}/meta-analyses").text
    assert f"/meta-analyses/{run['id']}" in listed
    refused = post_form(bob_session, site, f"/meta-analyses/{run['id']}",
                        f"/meta-analyses/{run['id']}/cancel", {})
    assert refused.status_code == 403
    assert "you may not" in refused.text
    # Without the form's CSRF token, nothing is even tried.
    forged = bob_session.post(f"{site}/meta-analyses/{run['id']}/cancel",
                              allow_redirects=False)
    assert forged.status_code == 400
    assert services.analysis_runs.get(alice, run["id"])["status"] == "queued"


def test_anonymous_visitors_are_asked_to_sign_in_to_run(site, imported):
    answer = requests.get(f"{site}/studysets/{imported.studyset.id}/meta-analysis",
                          allow_redirects=False)
    assert answer.status_code == 302
    assert "/signin?next=" in answer.headers["Location"]


def test_a_two_group_estimator_asks_for_its_groups(site, alice, services, imported):
    session = signed_in(site, alice.token)
    page = f"/studysets/{imported.studyset.id}/meta-analysis"
    form = session.get(f"{site}{page}?estimator=MKDAChi2").text
    assert 'name="groups.column"' in form and 'name="groups.snapshot"' in form
    refused = post_form(session, site, page, page, {
        "estimator": "MKDAChi2", "selection": f"{imported.annotation.id}:include",
        "correction.method": "fdr", "groups.column": ""})
    assert refused.status_code == 422
    assert "groups.column" in refused.text and "must name a column" in refused.text
    assert services.analysis_runs.list(alice) == []
