"""``manage.py ingest nimads FILE --images DIR|URL`` as a user runs it (separate processes on
the test database): the maps a NIMADS file references (loose files, a file:// URL, a
NIDM-Results pack) come into the file store, a snapshot of the import runs Stouffer's and
DerSimonian-Laird on the server path, and the maps equal NiMARE 0.22.1's on the same
images. The same maps served over HTTP give the same stored files; a map that is missing or
not a NIfTI refuses the file, naming it, and writes nothing."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from sqlalchemy import func, select

from analysis.meta import Mask
from neurostore.app import create_app
from neurostore.config import Settings
from neurostore.models import Image, Study
from tests.support.factories import make_user
from tests.support.statmaps import nidm_pack, on_mni_grid, pain

#: Whole journeys through the command line, each compared with NiMARE.
pytestmark = pytest.mark.slow

nimare_dataset = pytest.importorskip("nimare.dataset")
nimare_ibma = pytest.importorskip("nimare.meta.ibma")
nimare_transforms = pytest.importorskip("nimare.transforms")
nilearn_image = pytest.importorskip("nilearn.image")

ROOT = Path(__file__).resolve().parents[2]
MASK_FILE = (ROOT / "analysis" / "meta" / "data"
             / "tpl-MNI152NLin6Asym_res-02_desc-brain_mask.nii.gz")
REAL_HOST = "https://neurovault.org"


def _manage(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    if ok:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def env(database_url, session_factory, tmp_path) -> dict[str, str]:
    """A command's environment: the test database (emptied after the test) and a data folder."""
    return {**os.environ, "DATABASE_URL": database_url,
            "NEUROSTORE_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}


@pytest.fixture
def maps(tmp_path) -> dict[str, dict[str, Path]]:
    """Three pain studies on the MNI grid, under ``tmp_path/data``: study 1 as loose z, beta
    and varcope maps, study 2 as z, beta and standard error, study 3 as a NIDM-Results pack
    (T, Z, contrast and standard error). Pain kind -> file, by study."""
    data = tmp_path / "data"
    loose = {1: ("z", "beta", "varcope"), 2: ("z", "beta", "se")}
    made = {f"pain_{n:02d}": {k: on_mni_grid(pain(n, k), data / "maps" / f"pain_{n:02d}_{k}.nii.gz")
                              for k in kinds} for n, kinds in loose.items()}
    packed = {k: on_mni_grid(pain(3, k), tmp_path / "packing" / f"{k}.nii.gz")
              for k in ("t", "z", "beta", "se")}
    nidm_pack(data / "packs" / "pain_03.nidm.zip", packed)
    made["pain_03"] = packed
    return made


def _document(maps: dict[str, dict[str, Path]], *, study_2_by_file_url: bool = True) -> dict:
    images = {
        "pain_01": [{"url": "maps/pain_01_z.nii.gz", "value_type": "z", "space": "MNI"},
                    {"url": "maps/pain_01_beta.nii.gz", "value_type": "beta", "space": "MNI"},
                    {"filename": "maps/pain_01_varcope.nii.gz", "value_type": "varcope"}],
        "pain_02": [{"filename": "maps/pain_02_z.nii.gz", "value_type": "Z"},
                    {"url": "maps/pain_02_beta.nii.gz", "value_type": "BETA"},
                    {"url": maps["pain_02"]["se"].as_uri() if study_2_by_file_url
                     else "maps/pain_02_se.nii.gz", "value_type": "se"}],
        "pain_03": [{"url": "packs/pain_03.nidm.zip", "space": "MNI"}],
    }
    return {"id": "pain_images", "name": "pain, with maps", "studies": [
        {"id": study, "name": study, "analyses": [
            {"id": "1", "name": "pain vs rest", "images": listed, "points": []}]}
        for study, listed in images.items()]}


def _write(tmp_path: Path, document: dict, name: str = "pain.json") -> Path:
    path = tmp_path / "import" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def _made(output: str, kind: str) -> str:
    found = re.search(rf"^{kind} (\w+)$", output, re.MULTILINE)
    assert found, output
    return found.group(1)


def _nimare_dataset(maps: dict[str, dict[str, Path]], scratch: Path):
    scratch.mkdir(parents=True, exist_ok=True)
    source = {}
    for study, kinds in maps.items():
        images = {k: str(kinds[k]) for k in ("z", "beta")}
        if "varcope" in kinds:
            images["varcope"] = str(kinds["varcope"])
        else:  # NiMARE's own rule for a standard error map without a varcope, in float64
            se = nib.load(kinds["se"])
            varcope = nimare_transforms.se_to_varcope(se.get_fdata(dtype=np.float64))
            images["varcope"] = str(scratch / f"{study}_varcope.nii.gz")
            nib.save(nib.Nifti1Image(varcope, se.affine), images["varcope"])
        source[study] = {"contrasts": {"1": {"images": images}}}
    return nimare_dataset.Dataset(source, mask=str(MASK_FILE))


def _run_maps(env, api, snapshot: str, user: str, estimator: str) -> dict[str, np.ndarray]:
    out = _manage(env, "analysis", "run", snapshot, "--estimator", estimator,
                  "--correction", "none", "--as", user, "--inline").stdout
    assert "succeeded" in out, out
    run_id = re.search(r"run (\w+)", out).group(1)
    run = api.get(f"/api/meta-analyses/{run_id}").json
    assert run["results"]["n_experiments"] == 3, run["results"]
    found = {}
    for name, file in run["results"]["maps"].items():
        r = api.get(f"/api/meta-analyses/{run['id']}/files/{file}")
        assert r.status_code == 200
        data = np.asarray(nib.Nifti1Image.from_bytes(gzip.decompress(r.data)).dataobj)
        found[name] = data[Mask.default().data].astype(np.float64)
    return found


def test_an_import_with_its_maps_gives_nimares_ibma_maps(env, session_factory, maps,
                                                         tmp_path):
    studyset_file = _write(tmp_path, _document(maps))
    done = _manage(env, "ingest", "nimads", str(studyset_file), "--images",
                   str(tmp_path / "data"))
    assert "map 7/7: pain_03.nidm.zip" in done.stdout  # a line per map, in a log
    studyset = _made(done.stdout, "studyset")
    with session_factory() as s:
        stored = {(i.value_type, i.sha256) for i in s.scalars(select(Image))}
    expected = {("Z", _sha(maps["pain_01"]["z"])), ("VARCOPE", _sha(maps["pain_01"]["varcope"])),
                ("SE", _sha(maps["pain_02"]["se"])), ("T", _sha(maps["pain_03"]["t"])),
                ("BETA", _sha(maps["pain_03"]["beta"])), ("SE", _sha(maps["pain_03"]["se"]))}
    assert expected <= stored and len(stored) == 10
    files = Settings(data_dir=tmp_path / "var").files_dir
    assert all((files / sha[:2]).glob(f"{sha}.nii.gz") for _, sha in stored)

    user = make_user(session_factory, name="researcher").id
    out = _manage(env, "export", "snapshot", studyset, "--as", user).stdout
    snapshot = re.search(r"snapshot (\w+)", out).group(1)
    api = create_app(Settings(database_url=env["DATABASE_URL"],
                              data_dir=tmp_path / "var")).test_client()
    dataset = _nimare_dataset(maps, tmp_path / "nimare")
    mask = Mask.default()
    for ours_name, theirs_name, names in [
        ("Stouffers", "Stouffers", ("z", "p")),
        ("DerSimonianLaird", "DerSimonianLaird", ("est", "se", "tau2", "z", "p")),
    ]:
        ours = _run_maps(env, api, snapshot, user, ours_name)
        theirs = getattr(nimare_ibma, theirs_name)(aggressive_mask=True).fit(dataset)
        for name in names:
            expected = np.asarray(theirs.get_map(name, return_type="array"), dtype=np.float64)
            assert expected.shape == (mask.n_voxels,)
            fitted = ~np.isnan(expected)
            assert fitted.sum() > 500, (ours_name, name)  # the cube the three maps share
            np.testing.assert_allclose(ours[name][fitted], expected[fitted], rtol=1e-6,
                                       atol=1e-6, err_msg=f"{ours_name} {name}")


def test_maps_from_a_base_url_are_the_same_files(env, session_factory, maps, tmp_path, replay):
    for path in (tmp_path / "data").rglob("*.*"):
        replay.add(f"{REAL_HOST}/nimads/{path.relative_to(tmp_path / 'data').as_posix()}",
                   path.read_bytes())
    document = _document(maps, study_2_by_file_url=False)
    studyset_file = _write(tmp_path, document)
    args = ("ingest", "nimads", str(studyset_file), "--images", f"{replay.https_url}/nimads/")
    first = _manage(env, *args)
    with session_factory() as s:
        stored = sorted((i.value_type, i.sha256) for i in s.scalars(select(Image)))
    assert ("SE", _sha(maps["pain_02"]["se"])) in stored and len(stored) == 10
    # Imported again into the same studyset: nothing is downloaded twice, nothing changes.
    again = _manage(env, *args, "--into", _made(first.stdout, "studyset"))
    assert "unchanged" in again.stdout
    assert replay.count(f"{REAL_HOST}/nimads/packs/pain_03.nidm.zip") == 1
    assert replay.count(f"{REAL_HOST}/nimads/maps/pain_01_z.nii.gz") == 1
    with session_factory() as s:
        assert sorted((i.value_type, i.sha256) for i in s.scalars(select(Image))) == stored
    # A map the server does not have: the file is refused, naming it.
    document["studies"][0]["analyses"][0]["images"][0]["url"] = "maps/gone.nii.gz"
    missing = _manage(env, "ingest", "nimads", str(_write(tmp_path, document, "gone.json")),
                      "--images", f"{replay.https_url}/nimads/", ok=False)
    assert missing.returncode == 1
    message = " ".join(missing.stderr.split())
    assert "pain_01: image not downloaded: analysis '1': image 'maps/gone.nii.gz': " in message
    assert f"{replay.https_url}/nimads/maps/gone.nii.gz answered 404" in message
    assert "Nothing was written" in message and "Traceback" not in message


def test_a_missing_or_unreadable_map_refuses_the_file(env, session_factory, maps, tmp_path):
    document = _document(maps)
    document["studies"][0]["analyses"][0]["images"][0]["url"] = "maps/absent.nii.gz"
    (tmp_path / "data" / "maps" / "notes.nii.gz").write_text("these are notes, not a map")
    document["studies"][1]["analyses"][0]["images"][1]["url"] = "maps/notes.nii.gz"
    studyset_file = _write(tmp_path, document)
    base = str(tmp_path / "data")
    refused = _manage(env, "ingest", "nimads", str(studyset_file), "--images", base, ok=False)
    assert refused.returncode == 1, refused.stdout
    output = " ".join(refused.stderr.split())
    assert "pain_01: analysis '1': image 'maps/absent.nii.gz': file" in output
    assert "absent.nii.gz' does not exist" in output
    assert "pain_02: analysis '1': image 'maps/notes.nii.gz': notes.nii.gz: cannot be read " \
           "as NIfTI" in output
    assert "Nothing was written" in output and "Traceback" not in refused.stderr
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Study)) == 0
    # Leaving out what cannot be had: those two studies, whole; the pack's study stays.
    kept = _manage(env, "ingest", "nimads", str(studyset_file), "--images", base, "--skip-bad")
    with session_factory() as s:
        assert s.scalars(select(Study.name)).all() == ["pain_03"]
        assert s.scalar(select(func.count()).select_from(Image)) == 4
    assert "skipped" in kept.stdout


def test_images_are_references_only_without_the_option(env, session_factory, maps, tmp_path):
    plain = _manage(env, "ingest", "nimads", str(_write(tmp_path, _document(maps))))
    assert "map " not in plain.stdout
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Image)) == 7
        assert s.scalar(select(func.count()).select_from(Image)
                        .where(Image.sha256.is_not(None))) == 0
    # --images alone: paths are relative to the file's own folder.
    beside = tmp_path / "data" / "beside.json"
    beside.write_text(json.dumps(_document(maps)))
    done = _manage(env, "ingest", "nimads", str(beside), "--images")
    assert "map 7/7" in done.stdout
    bad = _manage(env, "ingest", "nimads", str(beside), "--images", str(tmp_path / "nowhere"),
                  ok=False)
    assert bad.returncode == 2 and "does not exist" in bad.stderr


def _to_3mm(path: Path) -> None:
    """Rewrite a map on a 3 mm grid over the same field of view (as many NeuroVault maps
    are), so that the run must resample it."""
    img = nib.load(path)
    affine = img.affine.copy()
    affine[:3, :3] = np.diag([3.0 * np.sign(affine[i, i]) for i in range(3)])
    coarse = nilearn_image.resample_img(img, target_affine=affine, target_shape=(61, 73, 61),
                                        interpolation="nearest", copy_header=True,
                                        force_resample=True)
    nib.save(nib.Nifti1Image(np.asarray(coarse.dataobj, dtype=np.float32), affine), path)


def test_maps_on_another_grid_are_resampled_as_nimare_does(env, session_factory, maps,
                                                           tmp_path):
    for study in ("pain_01", "pain_02"):
        for path in maps[study].values():
            _to_3mm(path)
    assert nib.load(maps["pain_01"]["z"]).shape == (61, 73, 61)
    done = _manage(env, "ingest", "nimads", str(_write(tmp_path, _document(maps))),
                   "--images", str(tmp_path / "data"))
    user = make_user(session_factory, name="researcher").id
    out = _manage(env, "export", "snapshot", _made(done.stdout, "studyset"), "--as", user)
    snapshot = re.search(r"snapshot (\w+)", out.stdout).group(1)
    api = create_app(Settings(database_url=env["DATABASE_URL"],
                              data_dir=tmp_path / "var")).test_client()
    dataset = _nimare_dataset(maps, tmp_path / "nimare")
    for estimator, names in [("Stouffers", ("z", "p")),
                             ("DerSimonianLaird", ("est", "se", "tau2", "z", "p"))]:
        ours = _run_maps(env, api, snapshot, user, estimator)
        theirs = getattr(nimare_ibma, estimator)(aggressive_mask=True).fit(dataset)
        for name in names:
            expected = np.asarray(theirs.get_map(name, return_type="array"), dtype=np.float64)
            fitted = ~np.isnan(expected)
            assert fitted.sum() > 500, (estimator, name)
            np.testing.assert_allclose(ours[name][fitted], expected[fitted], rtol=1e-6,
                                       atol=1e-6, err_msg=f"{estimator} {name}")
