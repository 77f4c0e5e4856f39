"""Private stays private: each leak found from outside, as the reader who must not see it,
and a sweep of every GET route as another user and anonymously."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tests.support.factories import study_payload

MARK = "Zebrafinch-private-7c1e"


def _post(client, caller, url, body=None, status=200):
    r = client.post(url, json=body, headers=caller.headers)
    assert r.status_code == status, r.json
    return r.json


def _private_study(client, caller, **fields):
    body = {**study_payload(2, 3, seed=7), "name": f"{MARK} title", "public": False,
            "doi": "10.1234/zebrafinch.7c1e", "tables": [{"name": f"{MARK} table"}], **fields}
    body["analyses"][0]["images"] = [{"url": "https://example.org/zf.nii.gz",
                                      "filename": "zf.nii.gz", "value_type": "T"}]
    return _post(client, caller, "/api/studies?nested=true", body)


def test_annotation_of_a_private_studyset_is_hidden(client, alice, bob):
    study = _post(client, alice, "/api/studies", study_payload(1, 1))
    ss = _post(client, alice, "/api/studysets",
               {"name": "mine", "studies": [study["id"]], "public": False})
    note = _post(client, alice, "/api/annotations",
                 {"studyset": ss["id"], "note_keys": {"included": "boolean"}})
    assert note["public"] is True    # its own flag says public; its studyset's does not
    for headers in (bob.headers, {}):
        assert client.get(f"/api/annotations/{note['id']}", headers=headers).status_code == 404
        for arg in ("studyset_id", "studyset"):
            listed = client.get(f"/api/annotations?{arg}={ss['id']}", headers=headers).json
            assert listed["results"] == [] and listed["metadata"]["total_count"] == 0
        assert client.get("/api/annotations", headers=headers).json["results"] == []
        assert client.get(f"/api/annotations/{note['id']}/notes",
                          headers=headers).status_code == 404
        assert client.get(f"/api/annotations/{note['id']}/revisions",
                          headers=headers).status_code == 404
    assert client.patch(f"/api/annotations/{note['id']}", json={"name": "x"},
                        headers=bob.headers).status_code == 404
    assert client.get(f"/api/annotations/{note['id']}", headers=alice.headers).status_code == 200


def test_base_study_of_a_private_study_is_hidden(client, alice, bob):
    study = _private_study(client, alice)
    base = study["base_study"]
    for headers in (bob.headers, {}):
        assert client.get(f"/api/base-studies/{base}", headers=headers).status_code == 404
        assert client.get(f"/api/base-studies/{base}/revisions",
                          headers=headers).status_code == 404
        for query in (f"search={MARK}", f"name={MARK}", "doi=10.1234/zebrafinch.7c1e"):
            found = client.get(f"/api/base-studies?{query}", headers=headers).json
            assert found["results"] == [], query
    mine = client.get(f"/api/base-studies?search={MARK}", headers=alice.headers).json
    assert [b["id"] for b in mine["results"]] == [base]
    # Once a version is public, the publication is public with it (only that version shown).
    client.patch(f"/api/studies/{study['id']}", json={"public": True}, headers=alice.headers)
    assert client.get(f"/api/base-studies/{base}").json["versions"] == [study["id"]]


def test_public_studyset_hides_private_members(client, alice, bob):
    public = _post(client, alice, "/api/studies", study_payload(1, 2, seed=1))
    private = _private_study(client, alice)
    ss = _post(client, alice, "/api/studysets",
               {"name": "open", "studies": [private["id"], public["id"]]})
    note = _post(client, alice, "/api/annotations",
                 {"studyset": ss["id"], "note_keys": {"included": "boolean"}})
    for headers in (bob.headers, {}):
        for url in (f"/api/studysets/{ss['id']}", f"/api/studysets/{ss['id']}?nested=true",
                    "/api/studysets", "/api/studysets?nested=true",
                    f"/api/annotations/{note['id']}", f"/api/annotations/{note['id']}?nested=true",
                    f"/api/annotations/{note['id']}/notes", "/api/annotations?nested=true",
                    f"/api/studysets/{ss['id']}/revisions/1",
                    f"/api/annotations/{note['id']}/revisions/1"):
            r = client.get(url, headers=headers)
            assert r.status_code == 200 and private["id"] not in r.text, url
    assert client.get(f"/api/studysets/{ss['id']}", headers=bob.headers).json["studies"] == \
        [public["id"]]
    # Bob's snapshot of the public studyset freezes what he can read, and is public.
    snap = _post(client, bob, "/api/snapshots", {"studyset": ss["id"], "annotation": note["id"]},
                 status=201)
    assert snap["n_studies"] == 1 and snap["public"] is True
    export = client.get(f"/api/snapshots/{snap['id']}/export?format=nimads", headers=bob.headers)
    assert export.status_code == 200 and private["id"] not in export.text
    assert MARK not in export.text
    # Alice's holds her private study, so it is not public.
    hers = _post(client, alice, "/api/snapshots", {"studyset": ss["id"]}, status=201)
    assert hers["n_studies"] == 2 and hers["public"] is False
    assert client.get(f"/api/snapshots/{hers['id']}", headers=bob.headers).status_code == 404
    # A write by the owner of what others see keeps the members they were not shown.
    bobs = _post(client, bob, "/api/studysets", {"name": "b", "studies": [public["id"]]})
    client.patch(f"/api/studies/{public['id']}", json={"public": False}, headers=alice.headers)
    r = client.patch(f"/api/studysets/{bobs['id']}", json={"name": "renamed", "studies": []},
                     headers=bob.headers)
    assert r.status_code == 200 and r.json["studies"] == []
    assert client.get(f"/api/studysets/{bobs['id']}", headers=alice.headers).json["studies"] \
        == [public["id"]]


def test_snapshot_frozen_by_admin_first_is_readable_by_its_owner(client, alice, bob, admin):
    study = _post(client, alice, "/api/studies", {**study_payload(1, 2), "public": False})
    ss = _post(client, alice, "/api/studysets",
               {"name": "private", "studies": [study["id"]], "public": False})
    first = _post(client, admin, f"/api/studysets/{ss['id']}/snapshots", status=201)
    assert first["user"] == admin.actor.id and first["public"] is False
    again = client.post("/api/snapshots", json={"studyset": ss["id"]}, headers=alice.headers)
    assert again.status_code == 200 and again.json["id"] == first["id"]
    url = f"/api/snapshots/{first['id']}"
    assert client.get(url, headers=alice.headers).status_code == 200
    assert client.get(f"{url}/export?format=nimare", headers=alice.headers).status_code == 200
    listed = client.get("/api/snapshots", headers=alice.headers).json["results"]
    assert [s["id"] for s in listed] == [first["id"]]
    run = client.post("/api/meta-analyses", json={"snapshot": first["id"], "estimator": "ALE"},
                      headers=alice.headers)
    assert run.status_code == 202, run.json
    for headers in (bob.headers, {}):
        assert client.get(url, headers=headers).status_code == 404
        assert client.get(f"{url}/export", headers=headers).status_code == 404
        assert client.get("/api/snapshots", headers=headers).json["results"] == []
        assert client.get(f"/api/meta-analyses/{run.json['id']}",
                          headers=headers).status_code == 404
    assert client.post("/api/meta-analyses", json={"snapshot": first["id"], "estimator": "ALE"},
                       headers=bob.headers).status_code == 422
    # Only its first owner (or an admin) deletes it: alice may read it, not take it away.
    assert client.delete(url, headers=alice.headers).status_code == 403


@dataclass
class Secrets:
    """Alice's private objects: ids by the route parameter kinds they fill, and all ids."""

    ids: dict[str, list[str]] = field(default_factory=dict)

    def all(self) -> set[str]:
        return {i for ids in self.ids.values() for i in ids}


def _secrets(client, alice) -> tuple[Secrets, list[str]]:
    study = _private_study(client, alice)
    analyses = [a["id"] for a in study["analyses"]]
    points = [p["id"] for a in study["analyses"] for p in a["points"]]
    images = [i["id"] for a in study["analyses"] for i in a["images"]]
    tables = list(study["tables"])
    ss = _post(client, alice, "/api/studysets",
               {"name": f"{MARK} set", "studies": [study["id"]], "public": False})
    note = _post(client, alice, "/api/annotations",
                 {"studyset": ss["id"], "name": f"{MARK} notes",
                  "note_keys": {"included": "boolean"}})
    snap = _post(client, alice, "/api/snapshots",
                 {"studyset": ss["id"], "annotation": note["id"]}, status=201)
    run = _post(client, alice, "/api/meta-analyses",
                {"snapshot": snap["id"], "estimator": "ALE"}, status=202)
    # Public things around them that must not give them away.
    public = _post(client, alice, "/api/studies", study_payload(1, 1, seed=3))
    open_set = _post(client, alice, "/api/studysets",
                     {"name": "open", "studies": [study["id"], public["id"]]})
    open_note = _post(client, alice, "/api/annotations",
                      {"studyset": open_set["id"], "note_keys": {"included": "boolean"}})
    secrets = Secrets({
        "study": [study["id"]], "base": [study["base_study"]], "analysis": analyses,
        "point": points, "image": images, "table": tables, "studyset": [ss["id"]],
        "annotation": [note["id"]], "snapshot": [snap["id"]], "run": [run["id"]],
        "note": [f"{note['id']}_{analyses[0]}"],
    })
    return secrets, [public["id"], open_set["id"], open_note["id"]]


FILTERS = ("", "nested=true", f"search={MARK}", f"name={MARK}", "study={study}",
           "study_id={study}", "studyset={studyset}", "studyset_id={studyset}",
           "analysis={analysis}", "snapshot={snapshot}", "base_study={base}",
           "doi=10.1234/zebrafinch.7c1e", "x=-23&y=-40&z=-3&radius=20", "user_id={user}")


def _urls(app, secrets: Secrets, public: list[str], user: str) -> list[str]:
    """Every GET route, with each parameter filled by every private (and a public) id."""
    fill = {k: v[0] for k, v in secrets.ids.items()} | {"user": user}
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not rule.rule.startswith("/api"):
            continue
        params = re.findall(r"<(?:[^:>]+:)?([^>]+)>", rule.rule)
        if not params:
            urls += [f"{rule.rule}?{q.format(**fill)}" for q in FILTERS]
            continue
        values = [*secrets.all(), *public]
        for value in values:
            url = rule.rule
            for name in params:
                replacement = {"n": "1", "name": "methods.md"}.get(name, value)
                url = re.sub(rf"<(?:[^:>]+:)?{name}>", replacement, url)
            urls.append(f"{url}?to=1" if url.endswith("/diff") else url)
    return urls


def test_sweep_every_get_route_as_another_user_and_anonymously(app, client, alice, bob):
    secrets, public = _secrets(client, alice)
    urls = _urls(app, secrets, public, alice.actor.id)
    assert len(urls) > 150
    hidden = sorted(secrets.all())
    seen_ok = 0
    for headers in (bob.headers, {}):
        for url in urls:
            r = client.get(url, headers=headers)
            assert r.status_code < 500, (url, r.status_code)
            if r.status_code >= 400:
                continue
            seen_ok += 1
            body = r.get_data(as_text=True)
            leaked = [i for i in hidden if i in body] + ([MARK] if MARK in body else [])
            assert not leaked, (url, leaked)
    assert seen_ok > 50
    # The same routes show alice her own objects (the sweep could not pass by failing).
    for url in (f"/api/studies/{secrets.ids['study'][0]}", f"/api/studysets/"
                f"{secrets.ids['studyset'][0]}", f"/api/base-studies/{secrets.ids['base'][0]}",
                f"/api/annotations/{secrets.ids['annotation'][0]}",
                f"/api/snapshots/{secrets.ids['snapshot'][0]}",
                f"/api/meta-analyses/{secrets.ids['run'][0]}",
                f"/api/points/{secrets.ids['point'][0]}",
                f"/api/tables/{secrets.ids['table'][0]}",
                f"/api/annotation-analyses/{secrets.ids['note'][0]}"):
        assert client.get(url, headers=alice.headers).status_code == 200, url


def _signed_in(app, client, caller):
    """``client`` as a browser signed in to the web pages with ``caller``'s token."""
    _, token_id = app.extensions["neurostore"].services.users.sign_in(caller.token)
    with client.session_transaction() as browser_session:
        browser_session["token"] = token_id
    return token_id


def test_the_web_session_reads_the_api_as_its_user_and_never_writes(app, client, alice, bob,
                                                                     services):
    study = _private_study(client, alice)
    url = f"/api/studies/{study['id']}"
    assert client.get(url).status_code == 404
    token_id = _signed_in(app, client, alice)
    r = client.get(url)
    assert r.status_code == 200 and r.json["name"] == f"{MARK} title"
    assert "Cookie" in r.headers.get("Vary", "")
    # A write needs the token itself: a session cookie can be sent by another site's form.
    created = client.post("/api/studies", json=study_payload(0, 0))
    assert created.status_code == 401, created.json
    # To an anonymous caller the private study does not exist.
    assert client.delete(url).status_code == 404
    assert client.get(url).status_code == 200
    # A bearer token wins over the session.
    assert client.get(url, headers=bob.headers).status_code == 404
    # Revoking the token signs the browser out of the API too.
    services.users.revoke_token(alice.actor, token_id)
    assert client.get(url).status_code == 404
    with client.session_transaction() as browser_session:
        assert "token" not in browser_session
    _signed_in(app, client, bob)
    assert client.get(url).status_code == 404
