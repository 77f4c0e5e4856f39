"""Users and tokens over HTTP."""

from __future__ import annotations


def test_tokens_life_cycle(client, alice, bob):
    assert client.post("/api/tokens", json={"name": "ci"}).status_code == 401
    r = client.post("/api/tokens", json={"name": "ci", "expires_in_days": 30},
                    headers=alice.headers)
    assert r.status_code == 201 and r.json["token"].startswith("nst_")
    token, token_id = r.json["token"], r.json["id"]
    me = client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"}).json
    assert me["id"] == alice.actor.id and "email" in me
    listed = client.get("/api/tokens", headers=alice.headers).json["results"]
    assert {t["name"] for t in listed} == {"default", "ci"}
    assert all("token" not in t for t in listed)
    assert client.post("/api/tokens", json={"user": alice.actor.id},
                       headers=bob.headers).status_code == 403
    assert client.delete(f"/api/tokens/{token_id}", headers=bob.headers).status_code == 404
    assert client.delete(f"/api/tokens/{token_id}", headers=alice.headers).status_code == 204
    assert client.get("/api/users/me",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.post("/api/tokens", json={"expires_in_days": 0},
                       headers=alice.headers).status_code == 422


def test_users(client, alice, bob, admin):
    profile = client.get(f"/api/users/{alice.actor.id}").json
    assert set(profile) == {"id", "name", "role"}
    assert client.get("/api/users").json["metadata"]["total_count"] == 3
    body = {"name": "Carol", "role": "curator", "email": "carol@example.org"}
    assert client.post("/api/users", json=body, headers=bob.headers).status_code == 403
    assert client.post("/api/users", json=body).status_code == 401
    r = client.post("/api/users", json=body, headers=admin.headers)
    assert r.status_code == 201 and r.json["role"] == "curator"
    assert client.post("/api/users", json={"name": "x", "role": "god"},
                       headers=admin.headers).status_code == 422
    r = client.post("/api/tokens", json={"user": r.json["id"]}, headers=admin.headers)
    assert r.status_code == 201


def test_patch_user_own_profile_roles_by_admins(client, alice, bob, admin):
    me = f"/api/users/{alice.actor.id}"
    r = client.patch(me, json={"name": " Alice ", "email": "a@example.org"},
                     headers=alice.headers)
    assert r.status_code == 200 and r.json["name"] == "Alice"
    assert r.json["email"] == "a@example.org"
    assert client.patch(me, json={"name": "x"}).status_code == 401
    assert client.patch(me, json={"name": "x"}, headers=bob.headers).status_code == 403
    assert client.patch(me, json={"role": "admin"}, headers=alice.headers).status_code == 403
    for body in ({"email": "not an address"}, {"name": ""}, {"role": "god"}, ["x"]):
        r = client.patch(me, json=body, headers=admin.headers)
        assert r.status_code == 422, body
    r = client.patch(me, json={"role": "curator"}, headers=admin.headers)
    assert r.status_code == 200 and r.json["role"] == "curator"
    assert client.get("/api/users/me", headers=alice.headers).json["role"] == "curator"
    assert client.patch("/api/users/nope", json={}, headers=admin.headers).status_code == 404


def test_delete_user_deactivates_by_revoking_tokens(client, alice, bob, admin):
    url = f"/api/users/{alice.actor.id}"
    assert client.delete(url, headers=bob.headers).status_code == 403
    assert client.delete(url).status_code == 401
    assert client.delete("/api/users/nope", headers=admin.headers).status_code == 404
    assert client.delete(url, headers=admin.headers).status_code == 204
    assert client.get("/api/users/me", headers=alice.headers).status_code == 401
    assert client.get(url).json["name"], "the account and its profile stay"
    token = client.post("/api/tokens", json={"user": alice.actor.id},
                        headers=admin.headers).json["token"]
    me = client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
