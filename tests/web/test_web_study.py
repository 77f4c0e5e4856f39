"""The study pages in a real browser (Debian Chromium) over real HTTP: a publication's
versions side by side, curation of fields and peaks (typed, pasted into the table and into
the paste box), history, diff and revert, a stale edit that is shown and redone rather than
overwriting, a forbidden edit, a private study, bad input named by field, and maps."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from ingest.demo import ingest_bundled_sample
from tests.support.browser import sign_in, submit
from tests.support.factories import study_payload

PAIN = Path(__file__).resolve().parents[1] / "data" / "pain"
PASTE = """
const dt = new DataTransfer();
dt.setData('text/plain', arguments[1]);
arguments[0].dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true,
                                                        cancelable: true}));
"""


@pytest.fixture
def owned(services, alice):
    """A public study of alice's: two analyses of three peaks with a Z value each."""
    return services.studies.create(alice.actor, study_payload(n_analyses=2, n_points=3,
                                                              pmid="31234567"))


def _nested(site: str, study_id: str, headers: dict | None = None) -> dict:
    response = requests.get(f"{site}/api/studies/{study_id}", params={"nested": "true"},
                            headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


def _peaks(study: dict, n: int = 0) -> list[list[float]]:
    return [p["coordinates"] for p in study["analyses"][n]["points"]]


def _field(browser, name: str):
    return browser.find_element(By.NAME, name)


def _type(browser, name: str, text: str) -> None:
    box = _field(browser, name)
    box.clear()
    box.send_keys(text)


def _save(browser) -> None:
    submit(browser, browser.find_element(By.ID, "save"))


def test_an_anonymous_visitor_sees_each_source_s_version_side_by_side(browser, site,
                                                                      services, tmp_path,
                                                                      shot):
    ingest_bundled_sample(services, tmp_path)
    rows = requests.get(f"{site}/api/base-studies", params={"limit": 1000}).json()["results"]
    base = next(r for r in rows if len(r["versions"]) >= 2)
    versions = [_nested(site, v) for v in base["versions"]]
    browser.get(f"{site}/base-studies/{base['id']}")
    shot("publication")
    assert browser.find_element(By.TAG_NAME, "h1").text == base["name"]
    heads = browser.find_elements(By.CSS_SELECTOR, "table.versions thead th .tag")
    assert [h.text for h in heads] == [v["source"] for v in versions]
    counts = [int(c.text) for c in browser.find_elements(By.CSS_SELECTOR, "td.n-points")]
    assert counts == [sum(len(a["points"]) for a in v["analyses"]) for v in versions]
    sections = browser.find_elements(By.CSS_SELECTOR, "section.version")
    assert [s.get_attribute("id") for s in sections] == [f"version-{v['id']}" for v in versions]
    first = sections[0].find_elements(By.CSS_SELECTOR, "table.peaks tbody tr")
    assert len(first) == sum(len(a["points"]) for a in versions[0]["analyses"])
    # Anonymous: no editing offered; the page names the API call with the same data.
    assert not browser.find_elements(By.CSS_SELECTOR, "a.edit")
    link = browser.find_element(By.CSS_SELECTOR, "p.api a").get_attribute("href")
    assert requests.get(link).json()["id"] == base["id"]
    # A version's own address opens the publication on it.
    browser.get(f"{site}/studies/{versions[1]['id']}")
    assert browser.current_url.endswith(f"#version-{versions[1]['id']}")
    assert "focus" in browser.find_element(By.ID, f"version-{versions[1]['id']}") \
        .get_attribute("class")


def test_a_curator_fixes_and_pastes_peaks_sees_the_diff_and_reverts(browser, site, curator,
                                                                    owned, shot):
    before = _nested(site, owned.id)
    sign_in(browser, site, curator.token)
    browser.get(f"{site}/base-studies/{owned.state['base_study']}")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "a.edit"))
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Edit")
    _type(browser, "analyses-0-points-0-x", "12.5")
    # A block copied from a spreadsheet, pasted into a new row of the table...
    browser.find_elements(By.CSS_SELECTOR, "button.add-row")[0].click()
    new_x = browser.find_element(By.CSS_SELECTOR, "table.peaks-edit tbody tr:last-child "
                                                  "input[name$='-x']")
    browser.execute_script(PASTE, new_x, "-40\t20\t30\t4.5\n8\t-60\t12\t3.1\n")
    # ...and a list typed into the second analysis's paste box (works without JavaScript).
    _field(browser, "analyses-1-paste").send_keys("x,y,z\n1,2,3\n-4 5 6 2.5")
    _field(browser, "message").send_keys("Fix the sign of peak 1; add table 2's peaks")
    shot("editing")
    _save(browser)
    shot("saved")
    assert "Saved as version 2" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    after = _nested(site, owned.id)
    assert after["version"] == 2
    expected = [[12.5, *_peaks(before)[0][1:]], *_peaks(before)[1:], [-40, 20, 30],
                [8, -60, 12]]
    assert _peaks(after) == expected
    assert [p["values"][0]["value"] for p in after["analyses"][0]["points"][-2:]] == [4.5, 3.1]
    assert _peaks(after, 1) == [*_peaks(before, 1), [1, 2, 3], [-4, 5, 6]]
    # The history names the curator's message; the diff shows the changed cell.
    browser.get(f"{site}/studies/{owned.id}/history")
    shot("history")
    latest = browser.find_element(By.ID, "revision-2")
    assert "Fix the sign of peak 1" in latest.find_element(By.CSS_SELECTOR, ".message").text
    assert "carol" in latest.text
    submit(browser, latest.find_element(By.LINK_TEXT, "changes"))
    shot("diff")
    changed = browser.find_elements(By.CSS_SELECTOR, "table.changes.peaks td.cell-changed")
    assert {c.text for c in changed} >= {str(_peaks(before)[0][0]), "12.5"}
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.changes tr.added")) == 4
    # Revert to revision 1: the API gives the old peaks back, as a new revision.
    browser.find_element(By.ID, "message").send_keys("undo: checked the paper")
    submit(browser, browser.find_element(By.ID, "revert"))
    assert "Reverted to revision 1" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    reverted = _nested(site, owned.id)
    assert reverted["version"] == 3 and _peaks(reverted) == _peaks(before)
    assert _peaks(reverted, 1) == _peaks(before, 1)
    assert "undo: checked the paper" in browser.find_element(By.ID, "revision-3").text


def test_a_stale_edit_shows_their_change_and_redoes_mine_without_overwriting(
        browser, site, curator, alice, owned, shot):
    sign_in(browser, site, curator.token)
    browser.get(f"{site}/studies/{owned.id}/edit")
    # alice saves through the API while the curator is editing.
    renamed = requests.patch(f"{site}/api/studies/{owned.id}", json={"name": "Renamed by alice"},
                             headers={**alice.headers, "If-Match": '"1"'})
    assert renamed.status_code == 200, renamed.text
    _type(browser, "analyses-0-points-1-y", "33")
    _field(browser, "message").send_keys("fix y of peak 2")
    _save(browser)
    shot("stale")
    notice = browser.find_element(By.CSS_SELECTOR, "section.stale")
    assert "Someone saved this study" in notice.text
    fields = notice.find_element(By.CSS_SELECTOR, "table.changes.fields").text
    assert "Renamed by alice" in fields and owned.state["name"] in fields
    current = _nested(site, owned.id)
    assert current["version"] == 2 and current["name"] == "Renamed by alice"
    assert current["analyses"][0]["points"][1]["coordinates"][1] != 33  # not written
    # The form holds the curator's edit on top of alice's version; saving it keeps both.
    assert _field(browser, "version").get_attribute("value") == "2"
    assert _field(browser, "name").get_attribute("value") == "Renamed by alice"
    assert _field(browser, "analyses-0-points-1-y").get_attribute("value") == "33"
    assert _field(browser, "message").get_attribute("value") == "fix y of peak 2"
    _save(browser)
    assert "Saved as version 3" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    saved = _nested(site, owned.id)
    assert saved["name"] == "Renamed by alice"
    assert saved["analyses"][0]["points"][1]["coordinates"][1] == 33


def _signed_in(site: str, token: str) -> requests.Session:
    http = requests.Session()
    page = http.get(f"{site}/signin").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    assert http.post(f"{site}/signin", data={"csrf_token": csrf, "token": token}).ok
    return http


def test_a_stale_save_is_a_412_and_writes_nothing(site, curator, alice, owned):
    http = _signed_in(site, curator.token)
    page = http.get(f"{site}/studies/{owned.id}/edit").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    assert requests.patch(f"{site}/api/studies/{owned.id}", json={"year": 2001},
                          headers={**alice.headers, "If-Match": '"1"'}).ok
    stale = http.post(f"{site}/studies/{owned.id}/edit",
                      data={"csrf_token": csrf, "version": "1", "name": "Mine"})
    assert stale.status_code == 412 and "Someone saved this study" in stale.text
    assert _nested(site, owned.id)["name"] == owned.state["name"]


def test_a_user_without_permission_gets_a_403_page_saying_why(browser, site, bob, owned,
                                                              shot):
    browser.get(f"{site}/studies/{owned.id}/edit")
    assert "/signin?next=" in browser.current_url  # anonymous: sign in first
    sign_in(browser, site, bob.token)
    browser.get(f"{site}/studies/{owned.id}/edit")
    shot("forbidden")
    assert "Forbidden" in browser.find_element(By.TAG_NAME, "h1").text
    reason = browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert "only its owner, a curator" in reason
    assert requests.get(f"{site}/studies/{owned.id}/edit", cookies={
        c["name"]: c["value"] for c in browser.get_cookies()}).status_code == 403
    http = _signed_in(site, bob.token)
    page = http.get(f"{site}/base-studies/{owned.state['base_study']}").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    refused = http.post(f"{site}/studies/{owned.id}/edit",
                        data={"csrf_token": csrf, "version": "1", "name": "bob's"})
    assert refused.status_code == 403
    assert _nested(site, owned.id)["name"] == owned.state["name"]
    # bob may make his own copy of it instead, and edit that.
    browser.get(f"{site}/base-studies/{owned.state['base_study']}")
    submit(browser, browser.find_element(By.XPATH, "//button[text()='Make my own copy']"))
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Edit {owned.state['name']}"
    copy_id = browser.current_url.split("/studies/")[1].split("/")[0]
    copy = _nested(site, copy_id, bob.headers)
    assert copy["user"] == bob.id and _peaks(copy) == _peaks(_nested(site, owned.id))


def test_a_private_study_is_not_found_for_others(browser, site, services, alice, bob):
    private = services.studies.create(alice.actor, study_payload(public=False,
                                                                 name="Alice's draft"))
    paths = [f"/studies/{private.id}", f"/base-studies/{private.state['base_study']}",
             f"/studies/{private.id}/history", f"/studies/{private.id}/diff?from=1&to=1"]
    sign_in(browser, site, bob.token)
    for path in paths:
        browser.get(site + path)
        assert "Not found" in browser.find_element(By.TAG_NAME, "h1").text, path
        assert "Alice's draft" not in browser.page_source
    bad = requests.get(f"{site}/studies/{private.id}/diff", params={"from": "one", "to": 1})
    assert bad.status_code == 400 and "from" in bad.text
    browser.delete_all_cookies()
    sign_in(browser, site, alice.token)
    browser.get(f"{site}/studies/{private.id}")
    assert "Alice's draft" in browser.find_element(By.TAG_NAME, "h1").text


def test_bad_input_names_the_field_and_writes_nothing(browser, site, alice, owned, shot):
    sign_in(browser, site, alice.token)
    browser.get(f"{site}/studies/{owned.id}/edit")
    _type(browser, "analyses-1-points-2-z", "12,5mm")
    _type(browser, "analyses-0-name", "renamed contrast")
    _field(browser, "analyses-0-paste").send_keys("1 2 3\n4 five 6")
    _save(browser)
    shot("bad-coordinate")
    summary = browser.find_element(By.CSS_SELECTOR, ".error-summary").text
    assert "Analysis 2 (contrast 1), peak 3, z" in summary and "'12,5mm' is not a number" \
        in summary
    assert "line 2" in summary
    box = _field(browser, "analyses-1-points-2-z")
    assert box.get_attribute("aria-invalid") == "true"
    assert box.get_attribute("value") == "12,5mm"  # what was typed stays, to be fixed
    assert _field(browser, "analyses-0-name").get_attribute("value") == "renamed contrast"
    assert _nested(site, owned.id)["version"] == 1
    # A blank title is refused by the same rule as the API's, named by its label.
    browser.get(f"{site}/studies/{owned.id}/edit")
    _field(browser, "name").clear()
    _type(browser, "analyses-0-points-0-x", "20000")
    _save(browser)
    summary = browser.find_element(By.CSS_SELECTOR, ".error-summary").text
    assert "Title" in summary and "Analysis 1 (contrast 0), peak 1" in summary
    assert _field(browser, "name").get_attribute("aria-invalid") == "true"
    assert _nested(site, owned.id)["version"] == 1


def test_a_map_shows_as_a_thumbnail_and_in_the_slice_viewer(browser, site, services, files,
                                                           alice, shot):
    stored = files.put_file(PAIN / "pain_01_z.nii.gz", suffix=".nii.gz")
    image = {"url": "https://neurovault.org/media/images/1425/pain_01_z.nii.gz",
             "filename": "pain_01_z.nii.gz", "sha256": stored.split(".")[0], "space": "MNI",
             "value_type": "Z"}
    payload = study_payload(n_analyses=1, n_points=2, source="neurovault", source_id="1425")
    payload["analyses"][0]["images"] = [image]
    study = services.studies.create(alice.actor, payload)
    browser.get(f"{site}/studies/{study.id}")
    thumb = browser.find_element(By.CSS_SELECTOR, "figure.thumb img")
    picture = requests.get(thumb.get_attribute("src"))
    assert picture.status_code == 200 and picture.headers["Content-Type"] == "image/png"
    WebDriverWait(browser, 10).until(lambda b: b.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth > 0", thumb))
    shot("thumbnail")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "figure.thumb a"))
    viewer = browser.find_element(By.CSS_SELECTOR, "figure.slice-viewer")
    src = viewer.get_attribute("data-src")
    shot("viewer")
    one = requests.get(f"{site}{src}?axis=z&index=5")
    assert one.status_code == 200 and one.headers["Content-Type"] == "image/png"
    outside = requests.get(f"{site}{src}?axis=z&index=500")
    assert outside.status_code == 400 and "index must be between 0 and" in outside.text
    bad = requests.get(f"{site}{src}?axis=q")
    assert bad.status_code == 400 and "axis" in bad.text
