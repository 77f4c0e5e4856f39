"""Two-group runs through ``/api/meta-analyses``: MKDA chi-square and ALE subtraction of a
snapshot split by an annotation column, or of two snapshots; every bad ``groups`` is a 422
naming the field, and a run reading a private snapshot stays private."""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest

from analysis.meta import Mask
from analysis.runner import execute
from neurostore.services.actors import SYSTEM
from neurostore.services.nimads import import_studyset
from tests.support.examples import example, grouped_annotation
from tests.support.factories import make_user


def _post(client, auth, body):
    return client.post("/api/meta-analyses", json=body, headers=auth)


@pytest.fixture
def split(services, alice):
    """A snapshot of the example whose annotation has the grouping columns."""
    imported = import_studyset(services, alice, example("nimads_studyset.json"),
                               grouped_annotation())
    return services.snapshots.create(alice, imported.studyset.id,
                                     annotation_id=imported.annotation.id)[0]


def _map(client, run, name):
    r = client.get(f"/api/meta-analyses/{run['id']}/files/{run['results']['maps'][name]}")
    return np.asarray(nib.Nifti1Image.from_bytes(gzip.decompress(r.data)).dataobj)


BAD_GROUPS = [
    ({"estimator": "MKDAChi2"}, "groups"),
    ({"estimator": "MKDAChi2", "groups": "pain"}, "groups"),
    ({"estimator": "MKDAChi2", "groups": {"column": "pain", "snapshot": "x"}}, "groups"),
    ({"estimator": "MKDAChi2", "groups": {"column": "pain", "extra": 1}}, "groups"),
    ({"estimator": "MKDAChi2", "groups": {"column": "nope"}}, "groups.column"),
    ({"estimator": "MKDAChi2", "groups": {"column": "task"}}, "groups.values"),
    ({"estimator": "MKDAChi2", "groups": {"column": "task", "values": ["n-back"]}},
     "groups.values"),
    ({"estimator": "MKDAChi2", "groups": {"column": "task", "values": ["rest", "rest"]}},
     "groups.values"),
    ({"estimator": "MKDAChi2", "groups": {"column": "task", "values": ["rest", "yoga"]}},
     "groups.values.1"),
    # 1 is not true: a note that says true is in no group of value 1.
    ({"estimator": "MKDAChi2", "groups": {"column": "pain", "values": [1, False]}},
     "groups.values.0"),
    ({"estimator": "ALESubtraction", "groups": {"snapshot": "0" * 64}}, "groups.snapshot"),
    ({"estimator": "ALE", "groups": {"column": "pain"}}, "groups"),
    ({"estimator": "MKDAChi2", "groups": {"column": "pain"}, "parameters": {"prior": 2}},
     "parameters.prior"),
]


@pytest.mark.parametrize(("spec", "field"), BAD_GROUPS)
def test_bad_groups_are_422_naming_the_field(client, auth, split, spec, field):
    response = _post(client, auth, {"snapshot": split["id"], **spec})
    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json
    assert client.get("/api/meta-analyses").json["results"] == []


def test_the_same_snapshot_twice_and_a_snapshot_without_annotation_are_422(
        client, auth, split, snapshot, services, alice):
    same = _post(client, auth, {"snapshot": split["id"], "estimator": "MKDAChi2",
                                "groups": {"snapshot": split["id"]}})
    assert same.status_code == 422 and "another snapshot" in same.json["errors"][
        "groups.snapshot"][0]
    study = services.studysets.get(alice, split["studyset"]).state["studies"][0]
    bare = services.snapshots.create(
        alice, services.studysets.create(alice, {"name": "bare", "studies": [study]}).id)[0]
    response = _post(client, auth, {"snapshot": bare["id"], "estimator": "MKDAChi2",
                                    "groups": {"column": "pain"}})
    assert response.status_code == 422
    assert "no annotation" in response.json["errors"]["groups.column"][0]


def test_a_column_split_runs_chi2_on_the_annotated_groups(client, auth, services, split):
    response = _post(client, auth, {"snapshot": split["id"], "estimator": "MKDAChi2",
                                    "groups": {"column": "pain"},
                                    "correction": {"method": "fdr"}})
    assert response.status_code == 202, response.json
    run = response.json
    assert run["spec"]["groups"] == {"column": "pain", "values": [True, False]}
    assert run["spec"]["parameters"]["prior"] == 0.5
    assert execute(services, run["id"]) == "succeeded"
    done = client.get(f"/api/meta-analyses/{run['id']}").json
    notes = grouped_annotation()["notes"]
    groups = done["provenance"]["groups"]
    assert len(groups["group1"]) == sum(n["note"]["pain"] is True for n in notes)
    assert len(groups["group2"]) == sum(n["note"]["pain"] is False for n in notes)
    assert [e["reason"] for e in done["results"]["excluded"]] == [
        "pain is None: in neither group"]
    maps = done["results"]["maps"]
    for name in ("z_desc-uniformity", "z_desc-association", "z_desc-group1",
                 "z_desc-group2", "prob_desc-group1", "prob_desc-group2",
                 "z_desc-association_level-voxel_corr-FDR_method-indep",
                 "p_desc-group1_level-voxel_corr-FDR_method-indep"):
        assert name in maps, sorted(maps)
    # group 1's maps are its uniformity test, as NiMARE names them both.
    assert np.array_equal(_map(client, done, "z_desc-group1"),
                          _map(client, done, "z_desc-uniformity"))


def test_string_values_split_the_groups_and_swapping_them_flips_the_association(
        client, auth, services, split):
    runs = []
    for values in (["n-back", "stroop"], ["stroop", "n-back"]):
        run = _post(client, auth, {"snapshot": split["id"], "estimator": "MKDAChi2",
                                   "groups": {"column": "task", "values": values}}).json
        assert execute(services, run["id"]) == "succeeded"
        runs.append(client.get(f"/api/meta-analyses/{run['id']}").json)
    forward, backward = runs
    assert forward["provenance"]["groups"]["group1"] == \
        backward["provenance"]["groups"]["group2"]
    rest = {e["experiment"] for e in forward["results"]["excluded"]}
    assert len(rest) == sum(n["note"]["task"] == "rest" for n in grouped_annotation()["notes"])
    z, flipped = (_map(client, r, "z_desc-association") for r in runs)
    assert np.abs(z).max() > 0
    np.testing.assert_allclose(z, -flipped, atol=1e-5)


def _subtraction(client, auth, first, second):
    return _post(client, auth, {
        "snapshot": first["id"], "estimator": "ALESubtraction",
        "parameters": {"n_iters": 50, "seed": 3}, "groups": {"snapshot": second["id"]},
        "correction": {"method": "montecarlo", "n_iters": 50, "seed": 3}})


def test_two_snapshots_run_an_ale_subtraction(client, auth, services, alice, split,
                                              snapshot):
    # Another snapshot of the same studyset (without its annotation) holds the same
    # analyses: the run fails, saying so.
    same = services.snapshots.create(alice, split["studyset"])[0]
    assert same["id"] != split["id"]
    run = _subtraction(client, auth, split, same).json
    assert execute(services, run["id"]) == "failed"
    failed = client.get(f"/api/meta-analyses/{run['id']}").json
    assert "also in group 1" in failed["error"]
    # Another import of the example has analyses of its own: the subtraction runs.
    response = _subtraction(client, auth, split, snapshot)
    assert response.status_code == 202, response.json
    run = response.json
    assert execute(services, run["id"]) == "succeeded"
    done = client.get(f"/api/meta-analyses/{run['id']}").json
    groups = done["provenance"]["groups"]
    assert not set(groups["group1"]) & set(groups["group2"])
    diff = _map(client, done, "stat_desc-group1MinusGroup2")
    # The same coordinates on both sides: every difference is zero, and nothing survives.
    assert np.abs(diff).max() < 1e-6
    p = _map(client, done, "p_desc-group1MinusGroup2_level-voxel_corr-FWE_method-montecarlo")
    assert p[Mask.default().data].min() > 0.05
    # Group 2's snapshot is in use now.
    conflict = client.delete(f"/api/snapshots/{snapshot['id']}", headers=auth)
    assert conflict.status_code == 409, conflict.json


def test_a_run_reading_a_private_snapshot_is_private(client, auth, services, alice, split,
                                                     session_factory):
    bob = make_user(session_factory, name="bob")
    bob_auth = {"Authorization": f"Bearer {services.users.issue_token(SYSTEM, bob.id).token}"}
    theirs = import_studyset(services, bob, example("nimads_studyset.json"))
    studies = services.studysets.get(bob, theirs.studyset.id).state["studies"]
    hidden = services.studysets.create(bob, {"name": "mine", "public": False,
                                             "studies": studies})
    private = services.snapshots.create(bob, hidden.id)[0]
    assert private["public"] is False
    # alice cannot name bob's private snapshot as her group 2.
    refused = _post(client, auth, {"snapshot": split["id"], "estimator": "MKDAChi2",
                                   "groups": {"snapshot": private["id"]}})
    assert refused.status_code == 422
    assert refused.json["errors"]["groups.snapshot"] == [f"snapshot {private['id']} not found"]
    # bob compares alice's public snapshot with his private one: only bob reads the run.
    run = _post(client, bob_auth, {"snapshot": split["id"], "estimator": "MKDAChi2",
                                   "groups": {"snapshot": private["id"]}}).json
    assert run["status"] == "queued"
    assert client.get(f"/api/meta-analyses/{run['id']}", headers=bob_auth).status_code == 200
    for headers in ({}, auth):
        assert client.get(f"/api/meta-analyses/{run['id']}", headers=headers
                          ).status_code == 404
        listed = client.get("/api/meta-analyses", headers=headers).json["results"]
        assert run["id"] not in [r["id"] for r in listed]
