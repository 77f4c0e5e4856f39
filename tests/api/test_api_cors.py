"""Cross-origin access for browser clients: preflight, exposed ETag, and turning it off."""

from __future__ import annotations

from neurostore.app import create_app
from neurostore.config import Settings
from tests.support.factories import study_payload

ORIGIN = "https://compose.example.org"


def test_a_browser_on_another_site_may_read_and_send_if_match(client, alice):
    study = client.post("/api/studies", json=study_payload(1, 1), headers=alice.headers).json
    url = f"/api/studies/{study['id']}"
    r = client.get(url, headers={"Origin": ORIGIN})
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] in ("*", ORIGIN)
    exposed = {h.strip().lower() for h in r.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"etag", "location"} <= exposed
    pre = client.options(url, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, content-type, if-match"})
    assert pre.status_code == 200
    assert "PATCH" in pre.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in pre.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "if-match"} <= allowed
    assert "Access-Control-Allow-Credentials" not in pre.headers


def test_origins_can_be_listed_or_turned_off(services):
    listed = create_app(Settings(cors_origins=(ORIGIN,)), services=services).test_client()
    assert listed.get("/api/studies", headers={"Origin": ORIGIN}).headers[
        "Access-Control-Allow-Origin"] == ORIGIN
    other = listed.get("/api/studies", headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    off = create_app(Settings(cors_origins=()), services=services).test_client()
    assert "Access-Control-Allow-Origin" not in off.get(
        "/api/studies", headers={"Origin": ORIGIN}).headers


def test_the_origins_come_from_the_environment():
    env = {"NEUROSTORE_CORS_ORIGINS": f" {ORIGIN}, https://b.example ,"}
    assert Settings.from_env(env).cors_origins == (ORIGIN, "https://b.example")
    assert Settings.from_env({}).cors_origins == ("*",)
    assert Settings.from_env({"NEUROSTORE_CORS_ORIGINS": ""}).cors_origins == ()
