"""Studysets, screening and annotations in a real browser (Debian Chromium), on the bundled
real sample.

A curator's journey: create a studyset, add ten search results at once, screen them
(two excluded with reasons, one as a duplicate) and read the PRISMA counts the API agrees
with; annotate analyses in the grid and see the change through the API; a stale save is
refused. Others' studysets: a public one is cloned, a private one is not found, an
anonymous visitor browses public ones but cannot change them, and adding to a studyset
one may not change is forbidden.
"""

from __future__ import annotations

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from sqlalchemy import select

from ingest.demo import ingest_bundled_sample
from neurostore.models import Analysis, Study
from tests.support.browser import sign_in, submit


@pytest.fixture
def sample(services, tmp_path):
    """The bundled NeuroQuery, Neurosynth and Sleuth samples, ingested."""
    return ingest_bundled_sample(services, tmp_path)


def _studyset(site: str, id_: str, caller=None) -> dict:
    headers = caller.headers if caller else {}
    answer = requests.get(f"{site}/api/studysets/{id_}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _count(browser, name: str) -> int:
    return int(browser.find_element(By.ID, f"n-{name}").text)


def _studies_of(services, n: int) -> list[str]:
    """Ids of ``n`` public study versions with analyses."""
    with services.session_factory() as session:
        return list(session.execute(
            select(Study.id).where(Study.public, Study.id.in_(select(Analysis.study_id)))
            .order_by(Study.id).limit(n)).scalars())


def _pick(browser, ids: list[str]) -> None:
    for study_id in ids:
        browser.find_element(By.CSS_SELECTOR, f"tr[data-id='{study_id}'] input").click()


def test_build_a_studyset_from_search_and_screen_it(browser, site, sample, alice, shot):
    sign_in(browser, site, alice.token)
    browser.get(f"{site}/studysets/new")
    browser.find_element(By.ID, "name").send_keys("Working memory")
    browser.find_element(By.ID, "description").send_keys("fMRI studies of working memory")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form.stack button"))
    studyset_id = browser.current_url.rsplit("/", 1)[1]
    assert browser.find_element(By.TAG_NAME, "h1").text == "Working memory"

    # Ten results picked at once, each as its version with the most peaks.
    browser.get(f"{site}/search?limit=10&sort=name&desc=false")
    boxes = browser.find_elements(By.CSS_SELECTOR, "ol.results input[name=study]")
    assert len(boxes) == 10
    picked = [box.get_attribute("value") for box in boxes]
    for box in boxes:
        box.click()
    assert Select(browser.find_element(By.ID, "add-target")).first_selected_option.text \
        == "Working memory"
    shot("search-picked")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "#add-form button[type=submit]"))
    assert "Added 10 studies" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    assert _studyset(site, studyset_id)["studies"] == picked
    rows = browser.find_elements(By.CSS_SELECTOR, "table.members tbody tr")
    assert [r.get_attribute("data-id") for r in rows] == picked
    # Each row: title, year, authors, analyses and peaks of that version, as the API says.
    first = requests.get(f"{site}/api/studies/{picked[0]}", params={"nested": "true"}).json()
    cells = rows[0].find_elements(By.TAG_NAME, "td")
    assert cells[1].text.startswith(first["name"][:40])
    assert cells[4].text == str(len(first["analyses"]))
    assert cells[5].text == str(sum(len(a["points"]) for a in first["analyses"]))

    # Adding again is harmless.
    browser.get(f"{site}/search?limit=10&sort=name&desc=false")
    browser.find_element(By.CSS_SELECTOR, "ol.results input[name=study]").click()
    submit(browser, browser.find_element(By.CSS_SELECTOR, "#add-form button[type=submit]"))
    assert "Added 0 studies (1 already in the studyset)" in \
        browser.find_element(By.CSS_SELECTOR, ".flash").text
    before = _studyset(site, studyset_id)
    assert before["studies"] == picked

    # Excluding needs a reason: the refusal names it and changes nothing.
    _pick(browser, picked[:1])
    submit(browser, browser.find_element(By.CSS_SELECTOR, "button[value=exclude]"))
    assert "reason" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert _studyset(site, studyset_id)["version"] == before["version"]

    browser.get(f"{site}/studysets/{studyset_id}")
    assert _count(browser, "identified") == 10 and _count(browser, "included") == 10
    _pick(browser, picked[2:3])
    Select(browser.find_element(By.ID, "reason")).select_by_visible_text("wrong population")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "button[value=exclude]"))
    _pick(browser, picked[5:6])
    browser.find_element(By.ID, "reason-other").send_keys("no whole-brain analysis")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "button[value=exclude]"))
    shot("screened")
    assert _count(browser, "identified") == 10
    assert _count(browser, "excluded") == 2
    assert _count(browser, "included") == 8
    reasons = browser.find_element(By.ID, "excluded-reasons").text
    assert "wrong population: 1" in reasons and "no whole-brain analysis: 1" in reasons
    # Excluded studies stay listed, marked with their reason.
    marked = browser.find_elements(By.CSS_SELECTOR, "tr.excluded")
    assert [r.get_attribute("data-id") for r in marked] == [picked[2], picked[5]]
    assert "excluded: wrong population" in marked[0].text

    # A duplicate is counted apart: identified, duplicates removed, screened.
    _pick(browser, picked[7:8])
    Select(browser.find_element(By.ID, "reason")).select_by_visible_text("duplicate")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "button[value=exclude]"))
    assert (_count(browser, "identified"), _count(browser, "duplicates"),
            _count(browser, "screened"), _count(browser, "excluded"),
            _count(browser, "included")) == (10, 1, 9, 2, 7)

    # The decisions are versioned in the studyset, and only the included studies remain
    # for a meta-analysis.
    after = _studyset(site, studyset_id)
    decisions = after["metadata"]["screening"]["decisions"]
    assert decisions[picked[5]] == {"status": "excluded", "reason": "no whole-brain analysis"}
    assert after["version"] == before["version"] + 3


def test_included_study_ids_are_what_a_meta_analysis_uses(services, sample, alice):
    ids = _studies_of(services, 4)
    record = services.studysets.create(alice, {"name": "s", "studies": ids})
    services.studysets.screen(alice, record.id, ids[1:2], "excluded", "wrong population",
                              if_match=record.version)
    assert services.studysets.included_study_ids(alice, record.id) == [ids[0], *ids[2:]]


def test_annotation_grid_saves_cells_and_refuses_a_stale_save(browser, site, services, sample,
                                                              alice, shot):
    ids = _studies_of(services, 3)
    studyset_id = services.studysets.create(alice, {"name": "grid", "studies": ids}).id
    sign_in(browser, site, alice.token)
    browser.get(f"{site}/studysets/{studyset_id}")
    assert "No annotation yet" in browser.page_source
    submit(browser, browser.find_element(By.XPATH, "//button[text()='New annotation']"))
    annotation_id = browser.current_url.rsplit("/", 1)[1]
    api = f"{site}/api/annotations/{annotation_id}"
    notes = requests.get(api).json()["notes"]
    assert notes and all(n["note"] == {"included": True} for n in notes)

    # A column is added, a box unticked, a value typed; the API returns them.
    browser.find_element(By.ID, "column-name").send_keys("task")
    Select(browser.find_element(By.ID, "column-type")).select_by_visible_text("string")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "#column-form button"))
    browser.find_element(By.CSS_SELECTOR, "input[name='c0.0']").click()
    browser.find_element(By.CSS_SELECTOR, "input[name='c0.1']").send_keys("n-back")
    shot("grid")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "#grid-form > button"))
    body = requests.get(api).json()
    first = next(n for n in body["notes"] if n["analysis"] == notes[0]["analysis"])
    assert first["note"] == {"included": False, "task": "n-back"}
    assert all(n["note"]["included"] for n in body["notes"] if n is not first)
    assert body["note_keys"]["task"]["type"] == "string"

    # Someone saves through the API meanwhile: the page's save is refused, theirs kept.
    patched = requests.patch(api, headers={**alice.headers, "If-Match": f'"{body["version"]}"'},
                             json={"notes": [{"analysis": notes[1]["analysis"],
                                              "note": {"task": "api edit"}}]})
    assert patched.status_code == 200, patched.text
    browser.find_element(By.CSS_SELECTOR, "input[name='c1.1']").send_keys("page edit")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "#grid-form > button"))
    assert "412" in browser.find_element(By.TAG_NAME, "h1").text
    shot("stale")
    now = requests.get(api).json()
    second = next(n for n in now["notes"] if n["analysis"] == notes[1]["analysis"])
    assert second["note"]["task"] == "api edit"
    assert now["version"] == patched.json()["version"]


def test_clone_someone_s_public_studyset(browser, site, services, sample, alice, bob, shot):
    ids = _studies_of(services, 3)
    theirs = services.studysets.create(bob, {"name": "Bob's pain set", "studies": ids})
    services.studysets.screen(bob, theirs.id, ids[:1], "excluded", "wrong population")
    sign_in(browser, site, alice.token)
    browser.get(f"{site}/studysets")
    submit(browser, browser.find_element(By.LINK_TEXT, "Bob's pain set"))
    # Not alice's to change: no screening controls, but a clone link.
    assert not browser.find_elements(By.ID, "screen-form")
    submit(browser, browser.find_element(By.LINK_TEXT, "Clone as mine"))
    submit(browser, browser.find_element(By.XPATH, "//button[text()='Clone as my studyset']"))
    shot("clone")
    copy_id = browser.current_url.rsplit("/", 1)[1]
    assert copy_id != theirs.id and "(yours)" in browser.find_element(By.CSS_SELECTOR,
                                                                       "p.meta").text
    copy = _studyset(site, copy_id, alice)
    assert copy["studies"] == ids and copy["parent"] == theirs.id
    assert copy["user"] == alice.id
    assert _count(browser, "excluded") == 1
    assert browser.find_elements(By.ID, "screen-form")


def test_anonymous_browse_private_is_not_found_and_forbidden_adds(
        browser, site, services, sample, alice, bob):
    ids = _studies_of(services, 2)
    public = services.studysets.create(bob, {"name": "Open set", "studies": ids})
    private = services.studysets.create(bob, {"name": "Hidden set", "public": False,
                                              "studies": ids})
    browser.get(f"{site}/studysets")
    names = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "table.studysets td > a")]
    assert "Open set" in names and "Hidden set" not in names
    browser.get(f"{site}/studysets/{public.id}")
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.members tbody tr")) == 2
    assert not browser.find_elements(By.ID, "screen-form")
    assert not browser.find_elements(By.XPATH, "//button[text()='New annotation']")
    browser.get(f"{site}/studysets/{public.id}/edit")
    assert "/signin?next=" in browser.current_url
    page = requests.get(f"{site}/studysets/{private.id}")
    assert page.status_code == 404 and "Hidden set" not in page.text
    sign_in(browser, site, alice.token)
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    page = requests.get(f"{site}/studysets/{private.id}", cookies=cookies)
    assert page.status_code == 404 and "Hidden set" not in page.text
    assert "Signed in as" in page.text

    # alice may not change bob's studyset: the edit page and an add are 403 pages saying why.
    browser.get(f"{site}/studysets/{public.id}/edit")
    assert "403" in browser.find_element(By.TAG_NAME, "h1").text
    assert "belongs to another user" in browser.find_element(By.CSS_SELECTOR,
                                                              "[role=alert]").text
    services.studysets.create(alice, {"name": "Mine"})
    browser.get(f"{site}/search?limit=3")
    browser.find_element(By.CSS_SELECTOR, "ol.results input[name=study]").click()
    browser.execute_script("document.querySelector('#add-target option').value = arguments[0];",
                           public.id)
    submit(browser, browser.find_element(By.CSS_SELECTOR, "#add-form button[type=submit]"))
    assert "403" in browser.find_element(By.TAG_NAME, "h1").text
    assert _studyset(site, public.id)["studies"] == ids
