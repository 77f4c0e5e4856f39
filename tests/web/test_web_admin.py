"""The administration pages: only administrators see them; an administrator changes a
user's role and starts an ingestion run, through the same services as the API."""

from __future__ import annotations

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.support.browser import sign_in, submit
from tests.support.web_session import post_form, signed_in

PAGES = ("/admin/ingest-runs", "/admin/users")


def test_the_admin_pages_are_for_administrators_only(site, alice, curator):
    for page in PAGES:
        anonymous = requests.get(site + page, allow_redirects=False)
        assert anonymous.status_code == 302
        assert "/signin?next=" in anonymous.headers["Location"]
        for caller in (alice, curator):
            refused = signed_in(site, caller.token).get(site + page)
            assert refused.status_code == 403, (caller.role, page)
            assert "only administrators may manage ingestion and users" in refused.text
    # Posting is refused the same way, and changes nothing.
    session = signed_in(site, alice.token)
    answer = post_form(session, site, "/", f"/admin/users/{alice.id}/role",
                       {"role": "admin", "shown_role": "user"})
    assert answer.status_code == 403
    me = requests.get(f"{site}/api/users/me",
                      headers={"Authorization": f"Bearer {alice.token}"}).json()
    assert me["role"] == "user"


def test_an_administrator_changes_a_role(browser, site, shot, admin, bob, services):
    sign_in(browser, site, admin.token)
    browser.get(f"{site}/admin/users")
    shot("users")
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-user='{bob.id}']")
    Select(row.find_element(By.TAG_NAME, "select")).select_by_visible_text("curator")
    submit(browser, row.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "is now curator" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    assert services.users.get(admin, bob.id)["role"] == "curator"
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-user='{bob.id}']")
    assert Select(row.find_element(By.TAG_NAME, "select")).first_selected_option.text == \
        "curator"
    # A form that still shows the old role is stale: refused, naming the change.
    session = signed_in(site, admin.token)
    stale = post_form(session, site, "/admin/users", f"/admin/users/{bob.id}/role",
                      {"role": "admin", "shown_role": "user"})
    assert stale.status_code == 409
    assert "was changed to curator meanwhile" in stale.text
    assert services.users.get(admin, bob.id)["role"] == "curator"
    unknown = post_form(session, site, "/admin/users", f"/admin/users/{bob.id}/role",
                        {"role": "wizard", "shown_role": "curator"})
    assert unknown.status_code == 422 and "unknown role" in unknown.text


def test_an_administrator_starts_an_ingest_run(browser, site, shot, admin):
    sign_in(browser, site, admin.token)
    browser.get(f"{site}/admin/ingest-runs")
    Select(browser.find_element(By.ID, "source")).select_by_visible_text("neurosynth")
    options = browser.find_element(By.ID, "parameters")
    options.clear()
    options.send_keys("{not json")
    submit(browser, browser.find_element(By.ID, "start-run"))
    assert "parameters" in browser.find_element(By.ID, "start-errors").text
    assert "not JSON" in browser.find_element(By.ID, "start-errors").text

    options = browser.find_element(By.ID, "parameters")
    options.clear()
    options.send_keys('{"colour": "blue"}')
    submit(browser, browser.find_element(By.ID, "start-run"))
    assert "parameters.colour" in browser.find_element(By.ID, "start-errors").text

    options = browser.find_element(By.ID, "parameters")
    options.clear()
    options.send_keys("{}")
    submit(browser, browser.find_element(By.ID, "start-run"))
    shot("queued")
    assert "is queued" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    listed = requests.get(f"{site}/api/ingest-runs",
                          headers={"Authorization": f"Bearer {admin.token}"}).json()
    run = listed["results"][0]
    assert run["source"] == "neurosynth" and run["status"] == "queued"
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-run='{run['id']}']")
    assert "neurosynth" in row.text and "queued" in row.text

    # One active run per source: a second one is refused, saying which run is active.
    Select(browser.find_element(By.ID, "source")).select_by_visible_text("neurosynth")
    submit(browser, browser.find_element(By.ID, "start-run"))
    assert f"ingest run {run['id']} of neurosynth is still active" in \
        browser.find_element(By.ID, "start-errors").text
