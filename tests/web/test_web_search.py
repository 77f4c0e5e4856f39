"""Sign-in and search in a real browser (Debian Chromium), on the bundled real sample.

The journey of an anonymous visitor and of a user: the search page finds the same
publications as the API with the same query (the page links to that API call), shows each
result's sources and peak counts, pages by keyset, searches by coordinate radius, names a
bad field; sign-in with a token, sign-out, and a revoked token signing the browser out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from selenium.webdriver.common.by import By

from ingest.demo import ingest_bundled_sample
from neurostore.services.actors import Actor
from tests.support.browser import sign_in, submit

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sample(services, tmp_path):
    """The bundled NeuroQuery, Neurosynth and Sleuth samples, ingested."""
    return ingest_bundled_sample(services, tmp_path)


def _titles(browser) -> list[str]:
    return [e.text for e in browser.find_elements(By.CSS_SELECTOR, "ol.results h2 a")]


def test_an_anonymous_visitor_searches_like_the_api(browser, site, sample, shot):
    browser.get(site)
    assert browser.title.startswith("Search")
    box = browser.find_element(By.ID, "search")
    box.send_keys("memory")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form.search button"))
    shot("results")
    api = requests.get(f"{site}/api/base-studies", params={"search": "memory"}).json()
    assert api["metadata"]["total_count"] > 0
    shown = int(browser.find_element(By.ID, "total").text.replace(",", ""))
    assert shown == api["metadata"]["total_count"]
    assert _titles(browser) == [row["name"] for row in api["results"]]
    # The page names the API call that returns the same data; following it agrees.
    link = browser.find_element(By.CSS_SELECTOR, "p.api a").get_attribute("href")
    assert "/api/base-studies?" in link and "search=memory" in link
    assert requests.get(link).json()["metadata"]["total_count"] == shown
    # Each result shows its sources and its peak count (that of its richest version).
    card = browser.find_element(By.CSS_SELECTOR, "ol.results li.card")
    first = api["results"][0]
    tags = [t.text for t in card.find_elements(By.CSS_SELECTOR, ".tag")]
    versions = [requests.get(f"{site}/api/studies/{v}", params={"nested": "true"}).json()
                for v in first["versions"]]
    sources = sorted({v.get("source") or "curated" for v in versions})
    assert [t for t in tags if t in sources] == sources
    peaks = max(sum(len(a["points"]) for a in v["analyses"]) for v in versions)
    assert f"{peaks} peak{'' if peaks == 1 else 's'}" in tags


def test_keyset_pages_and_a_radius_search(browser, site, sample):
    total = requests.get(f"{site}/api/base-studies").json()["metadata"]["total_count"]
    browser.get(f"{site}/search?limit=7&sort=name&desc=false")
    seen = []
    while True:
        seen += _titles(browser)
        following = browser.find_elements(By.CSS_SELECTOR, "a[rel=next]")
        if not following:
            break
        submit(browser, following[0])
    assert len(seen) == total
    assert seen == sorted(seen, key=str.casefold) or len(set(seen)) == total
    params = {"x": -40, "y": 20, "z": 30, "radius": 15}
    api = requests.get(f"{site}/api/base-studies", params=params).json()
    browser.get(f"{site}/search?x=-40&y=20&z=30&radius=15")
    assert int(browser.find_element(By.ID, "total").text.replace(",", "")) == \
        api["metadata"]["total_count"]
    assert _titles(browser) == [row["name"] for row in api["results"]]


def test_a_bad_field_is_named_and_nothing_is_listed(browser, site, sample):
    browser.get(f"{site}/search?year_min=1700")
    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert "year_min" in alert
    assert not browser.find_elements(By.ID, "total")
    assert requests.get(f"{site}/search", params={"year_min": "1700"}).status_code == 400


def test_sign_in_and_out_with_a_token(browser, site, alice, shot):
    browser.get(f"{site}/signin")
    browser.find_element(By.ID, "token").send_keys("nst_not-a-token")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]"))
    assert "unknown, revoked or expired" in browser.find_element(By.ID, "signin-error").text
    shot("refused")
    sign_in(browser, site, alice.token)
    account = browser.find_element(By.CSS_SELECTOR, "header .account").text
    assert "Signed in as" in account and "(user)" in account
    shot("signed-in")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "header .account button"))
    assert "Sign in" in browser.find_element(By.CSS_SELECTOR, "header .account").text


def test_a_revoked_token_signs_the_browser_out(browser, site, services, alice):
    sign_in(browser, site, alice.token)
    assert "Signed in as" in browser.find_element(By.CSS_SELECTOR, "header .account").text
    services.users.deactivate(Actor.system(), alice.id)
    browser.get(site)
    assert "Sign in" in browser.find_element(By.CSS_SELECTOR, "header .account").text


def test_forms_without_the_session_s_csrf_token_are_refused(site, alice):
    with requests.Session() as http:
        http.get(f"{site}/signin")
        refused = http.post(f"{site}/signin", data={"token": alice.token})
        assert refused.status_code == 400 and "did not come from this site" in refused.text
        assert "Signed in as" not in http.get(site).text


def test_a_sign_in_link_signs_in_and_leaves_the_address_bar(browser, site, services, alice):
    issued = services.users.issue_token(Actor.system(), alice.id, name="sign-in link")
    browser.get(f"{site}/signin/link?token={issued.token}&next=/search?search=memory")
    assert "token=" not in browser.current_url and "search=memory" in browser.current_url
    assert "Signed in as" in browser.find_element(By.CSS_SELECTOR, "header .account").text
    browser.delete_all_cookies()
    browser.get(f"{site}/signin/link?token=nst_wrong")
    assert "unknown, revoked or expired" in browser.find_element(By.ID, "signin-error").text
    for outside in ("https://evil.example/", "//evil.example/", "/\\evil.example/"):
        browser.get(f"{site}/signin/link?token={issued.token}&next={outside}")
        assert browser.current_url.startswith(site), outside


def test_the_signin_link_command_opens_a_signed_in_page(browser, site, database_url,
                                                        tmp_path, alice):
    env = {**os.environ, "DATABASE_URL": database_url, "NEUROSTORE_DATA_DIR": str(tmp_path)}
    command = [sys.executable, "manage.py", "users", "signin-link", alice.id, "--base-url",
               site, "--next", "/search?search=memory"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=env)
    assert done.returncode == 0, done.stderr
    link = done.stdout.strip()
    assert link.startswith(f"{site}/signin/link?token=")
    browser.get(link)
    assert "Signed in as" in browser.find_element(By.CSS_SELECTOR, "header .account").text
    assert browser.current_url == f"{site}/search?search=memory"
    unknown = subprocess.run([*command[:4], "nobody"], cwd=ROOT, capture_output=True,
                             text=True, timeout=120, env=env)
    assert unknown.returncode == 1 and "nobody" in unknown.stderr + unknown.stdout
    bad_site = subprocess.run([*command[:5], "--base-url", "localhost:8000"], cwd=ROOT,
                              capture_output=True, text=True, timeout=120, env=env)
    assert bad_site.returncode == 2 and "localhost:8000" in bad_site.stderr
