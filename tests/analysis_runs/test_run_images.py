"""Image-based runs read each experiment's images from the file store by their sha256."""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np

from analysis.meta import Mask
from analysis.runner import execute


def _z_image(files, seed: int) -> str:
    mask = Mask.default()
    values = np.random.default_rng(seed).normal(0.5, 0.1, mask.n_voxels).astype(np.float32)
    data = gzip.compress(mask.to_image(values).to_bytes(), mtime=0)
    return files.put_bytes(data, ".nii.gz").split(".")[0]


def test_stouffers_runs_on_z_images_found_by_sha256(services, alice):
    files = services.snapshots.files
    studies = []
    for n in range(3):
        sha = _z_image(files, n)
        studies.append(services.studies.create(alice, {
            "name": f"imaging study {n}", "metadata": {"sample_size": 20 + n},
            "analyses": [{"name": "task", "images": [
                {"filename": f"z{n}.nii.gz", "sha256": sha, "value_type": "Z",
                 "space": "MNI152NLin6Asym"}]}],
        }).id)
    studyset = services.studysets.create(alice, {"name": "images", "studies": studies})
    snapshot, _ = services.snapshots.create(alice, studyset.id)
    assert snapshot["inputs"]["images"] == {"z": 3}
    run = services.analysis_runs.create(alice, {
        "snapshot": snapshot["id"], "estimator": "Stouffers",
        "parameters": {"use_sample_size": True}, "correction": {"method": "fdr"}})
    assert execute(services, run["id"]) == "succeeded"
    done = services.analysis_runs.get(alice, run["id"])
    assert done["results"]["n_experiments"] == 3
    with files.open(done["results"]["maps"]["z"]) as fp:
        z = np.asarray(nib.Nifti1Image.from_bytes(gzip.decompress(fp.read())).dataobj)
    # Three maps of mean 0.5 combine to about 0.5 * 3 / sqrt(3) (weights barely differ).
    assert 0.75 < z[Mask.default().data].mean() < 1.0


def test_a_corrupt_stored_image_fails_the_run_with_a_clear_error(services, alice):
    files = services.snapshots.files
    good = _z_image(files, 0)
    bad = files.put_bytes(gzip.compress(b"not a nifti at all", mtime=0), ".nii.gz").split(".")[0]
    studies = [services.studies.create(alice, {
        "name": f"imaging study {n}", "metadata": {"sample_size": 20},
        "analyses": [{"name": "task", "images": [
            {"filename": f"z{n}.nii.gz", "sha256": sha, "value_type": "Z",
             "space": "MNI152NLin6Asym"}]}],
    }).id for n, sha in enumerate((good, bad))]
    studyset = services.studysets.create(alice, {"name": "images", "studies": studies})
    snapshot, _ = services.snapshots.create(alice, studyset.id)
    run = services.analysis_runs.create(alice, {
        "snapshot": snapshot["id"], "estimator": "Stouffers", "parameters": {},
        "correction": {"method": "fdr"}})
    assert execute(services, run["id"]) == "failed"
    done = services.analysis_runs.get(alice, run["id"])
    assert bad in done["error"] and "NIfTI" in done["error"]


def test_experiments_left_out_are_reported_with_their_reason(services, alice):
    files = services.snapshots.files
    mask = Mask.default()
    values = np.random.default_rng(3).normal(0.5, 0.1, mask.n_voxels).astype(np.float32)
    nifti2 = nib.Nifti2Image(mask.to_image(values).get_fdata(dtype=np.float32), mask.affine)
    shas = {
        "nifti1": _z_image(files, 0),
        "nifti2": files.put_bytes(gzip.compress(nifti2.to_bytes(), mtime=0),
                                  ".nii.gz").split(".")[0],
        "absent": "a" * 64,
    }
    studies = [services.studies.create(alice, {
        "name": name, "metadata": {"sample_size": 20},
        "analyses": [{"name": "task", "images": [
            {"filename": f"{name}.nii.gz", "sha256": sha, "value_type": "Z",
             "space": "MNI152NLin6Asym"}]}],
    }).id for name, sha in shas.items()]
    studies.append(services.studies.create(alice, {
        "name": "t only", "metadata": {"sample_size": 20},
        "analyses": [{"name": "task", "images": [
            {"filename": "t.nii.gz", "sha256": shas["nifti1"], "value_type": "T",
             "space": "MNI152NLin6Asym"}]}],
    }).id)
    studyset = services.studysets.create(alice, {"name": "images", "studies": studies})
    snapshot, _ = services.snapshots.create(alice, studyset.id)
    run = services.analysis_runs.create(alice, {
        "snapshot": snapshot["id"], "estimator": "Stouffers", "parameters": {},
        "correction": {"method": "fdr"}})
    assert execute(services, run["id"]) == "succeeded"
    results = services.analysis_runs.get(alice, run["id"])["results"]
    assert results["n_experiments"] == 2
    reasons = {e["experiment"].split("-")[0]: e["reason"] for e in results["excluded"]}
    assert reasons == {studies[2]: f"image {'a' * 64} is not in the file store",
                       studies[3]: "no z image"}


def _run_maps(services, alice, snapshot, parameters):
    run = services.analysis_runs.create(alice, {
        "snapshot": snapshot, "estimator": "Stouffers", "parameters": parameters})
    assert execute(services, run["id"]) == "succeeded"
    maps = services.analysis_runs.get(alice, run["id"])["results"]["maps"]
    out = {}
    for name in ("z", "p", "dof"):
        with services.snapshots.files.open(maps[name]) as fp:
            img = nib.Nifti1Image.from_bytes(gzip.decompress(fp.read()))
        out[name] = np.asarray(img.dataobj)[Mask.default().data].astype(np.float64)
    return out


def test_stouffers_on_the_server_is_two_sided_unless_asked_otherwise(services, alice):
    studies = [services.studies.create(alice, {
        "name": f"imaging study {n}", "analyses": [{"name": "task", "images": [
            {"sha256": _z_image(services.snapshots.files, n), "value_type": "Z",
             "space": "MNI"}]}]}).id for n in range(4)]
    studyset = services.studysets.create(alice, {"name": "images", "studies": studies})
    snapshot, _ = services.snapshots.create(alice, studyset.id)
    two = _run_maps(services, alice, snapshot["id"], {})
    one = _run_maps(services, alice, snapshot["id"], {"two_sided": False})
    # Every voxel points the positive way: the two-sided p is twice the one-sided one.
    positive = one["p"] < 0.5
    assert positive.mean() > 0.99
    np.testing.assert_allclose(two["p"][positive], 2 * one["p"][positive], rtol=1e-5)
    np.testing.assert_allclose(np.abs(two["z"]), np.abs(one["z"]), rtol=1e-4, atol=1e-4)
    assert np.all(two["dof"] == 3)


def _map(files, values) -> str:
    data = gzip.compress(Mask.default().to_image(values.astype(np.float32)).to_bytes(), mtime=0)
    return files.put_bytes(data, ".nii.gz").split(".")[0]


def _dl_maps(services, alice, kinds_of) -> dict:
    studies = [services.studies.create(alice, {
        "name": f"imaging study {n}", "analyses": [{"name": "task", "images": [
            {"sha256": sha, "value_type": kind} for kind, sha in kinds.items()]}]}).id
        for n, kinds in enumerate(kinds_of)]
    studyset = services.studysets.create(alice, {"name": "images", "studies": studies})
    snapshot, _ = services.snapshots.create(alice, studyset.id)
    assert snapshot["inputs"]["images"]["varcope"] == len(studies)
    run = services.analysis_runs.create(alice, {
        "snapshot": snapshot["id"], "estimator": "DerSimonianLaird", "parameters": {}})
    assert execute(services, run["id"]) == "succeeded"
    maps = services.analysis_runs.get(alice, run["id"])["results"]["maps"]
    out = {}
    for name in ("est", "se", "tau2", "z"):
        with services.snapshots.files.open(maps[name]) as fp:
            out[name] = np.asarray(nib.Nifti1Image.from_bytes(gzip.decompress(fp.read())).dataobj)
    return out


def test_a_standard_error_map_gives_its_square_as_varcope(services, alice):
    files = services.snapshots.files
    n = Mask.default().n_voxels
    rng = np.random.default_rng(7)
    # Maps with data in 2,000 voxels (a voxel is fitted where every map has some).
    betas = [np.where(np.arange(n) < 2000, rng.normal(0.5, 0.2, n), 0.0) for _ in range(4)]
    # Exactly representable in float32, squared too: the two ways read the same numbers.
    ses = [np.where(np.arange(n) < 2000, 0.25 + 0.125 * k, 0.0) for k in range(4)]
    by_se = [{"beta": _map(files, b), "se": _map(files, s)}
             for b, s in zip(betas, ses, strict=True)]
    by_varcope = [{"beta": _map(files, b), "varcope": _map(files, s ** 2)}
                  for b, s in zip(betas, ses, strict=True)]
    with_se, with_varcope = _dl_maps(services, alice, by_se), _dl_maps(services, alice, by_varcope)
    assert np.count_nonzero(with_se["est"]) > 1000
    for name in with_se:
        # Two snapshots may order the experiments differently: sums round differently.
        np.testing.assert_allclose(with_se[name], with_varcope[name], rtol=1e-6, atol=1e-7,
                                   err_msg=name)
