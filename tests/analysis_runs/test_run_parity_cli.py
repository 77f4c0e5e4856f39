"""The user path reproduces NiMARE: the NIMADS studysets NiMARE ships, imported with
``manage.py ingest nimads``, frozen with ``manage.py export snapshot`` and run with
``manage.py analysis run`` (each a subprocess, as a user types them), give the maps NiMARE
0.22.1 gives on the original file, downloaded from the API; and the same maps from two
fresh stores, whatever ids each assigned."""

from __future__ import annotations

import gzip
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from analysis.meta import Mask
from neurostore import migrate
from neurostore.app import create_app
from neurostore.config import Settings
from neurostore.db import make_engine, make_session_factory
from neurostore.scratch_db import scratch_database
from tests.support.factories import make_user

#: Whole journeys through the command line, each compared with NiMARE.
pytestmark = pytest.mark.slow

nimare_io = pytest.importorskip("nimare.io")
nimare_cbma = pytest.importorskip("nimare.meta.cbma")

ROOT = Path(__file__).resolve().parents[2]
NIMARE_DATA = Path(nimare_io.__file__).parent / "tests" / "data"
#: (file, estimator, our parameters, NiMARE's keyword arguments)
CASES = [
    ("nimads_studyset.json", "ALE", {}, {}),
    ("nimads_studyset.json", "MKDADensity", {}, {}),
    ("nimads_studyset.json", "KDA", {}, {}),
    ("sample_size_nimads_studyset.json", "ALE", {}, {}),
    ("neurosynth_laird_studyset.json", "ALE", {"fwhm": "10"}, {"kernel__fwhm": 10}),
    ("neurosynth_laird_studyset.json", "MKDADensity", {"r": "8"}, {"kernel__r": 8}),
]


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


class Store:
    """A fresh database and data folder, driven through the command line."""

    def __init__(self, url: str, data_dir: Path, user: str) -> None:
        self.env = {**os.environ, "DATABASE_URL": url, "NEUROSTORE_DATA_DIR": str(data_dir),
                    "COLUMNS": "200"}
        self.user = user
        self._snapshots: dict[str, str] = {}
        self.api = create_app(Settings(database_url=url, data_dir=data_dir)).test_client()

    def snapshot(self, file_name: str) -> str:
        if file_name not in self._snapshots:
            out = _manage(self.env, "ingest", "nimads", str(NIMARE_DATA / file_name))
            studyset = re.search(r"^studyset (\w+)$", out, re.MULTILINE).group(1)
            out = _manage(self.env, "export", "snapshot", studyset, "--as", self.user)
            self._snapshots[file_name] = re.search(r"snapshot (\w+)", out).group(1)
        return self._snapshots[file_name]

    def run(self, file_name: str, estimator: str, params: dict[str, str], *more: str) -> dict:
        args = [f"--param={k}={v}" for k, v in params.items()]
        out = _manage(self.env, "analysis", "run", self.snapshot(file_name), "--estimator",
                      estimator, *args, *more, "--as", self.user, "--inline")
        assert "succeeded" in out, out
        run_id = re.search(r"run (\w+)", out).group(1)
        return self.api.get(f"/api/meta-analyses/{run_id}").json

    def file(self, run: dict, name: str) -> bytes:
        r = self.api.get(f"/api/meta-analyses/{run['id']}/files/{name}")
        assert r.status_code == 200, r.json
        return r.data

    def map(self, run: dict, name: str) -> np.ndarray:
        data = gzip.decompress(self.file(run, run["results"]["maps"][name]))
        return np.asarray(nib.Nifti1Image.from_bytes(data).dataobj)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """Two fresh stores (each its own database and data folder) with one user each."""
    made, drops = [], []
    for name in ("first", "second"):
        url, drop = scratch_database(f"parity_{name}")
        drops.append(drop)
        migrate.upgrade(url)
        engine = make_engine(url)
        user = make_user(make_session_factory(engine), name="researcher")
        engine.dispose()
        made.append(Store(url, tmp_path_factory.mktemp(name), user.id))
    yield made
    for drop in drops:
        drop()


def _nimare(file_name: str, estimator: str, kwargs: dict):
    dataset = nimare_io.convert_nimads_to_dataset(str(NIMARE_DATA / file_name))
    return getattr(nimare_cbma, estimator)(**kwargs).fit(dataset)


@pytest.mark.parametrize("file_name,estimator,params,theirs", CASES,
                         ids=[f"{c[0].split('.')[0]}-{c[1]}" for c in CASES])
def test_the_user_path_gives_nimares_maps(stores, file_name, estimator, params, theirs):
    first, second = stores
    run = first.run(file_name, estimator, params)
    reference = _nimare(file_name, estimator, theirs)
    mask = Mask.default().data
    for name in ("stat", "p", "z"):
        ours = first.map(run, name)[mask]
        expected = np.asarray(reference.get_map(name).dataobj)[mask]
        scale = np.abs(expected).max()
        assert np.abs(ours - expected).max() <= 1e-6 * scale, (name, np.abs(ours - expected).max())
    # Another store assigns other ids: the maps are the same, bit for bit.
    again = second.run(file_name, estimator, params)
    for name in ("stat", "p", "z"):
        assert np.array_equal(first.map(run, name), second.map(again, name)), name


#: (estimator, our parameters, NiMARE's keyword arguments, maps compared)
PAIRWISE = [
    ("MKDAChi2", {}, {}, [f"{kind}_desc-{desc}" for kind in ("z", "p", "chi2")
                          for desc in ("uniformity", "group1", "group2", "association")]),
    ("ALESubtraction", {"fwhm": "10", "n_iters": "20"}, {"kernel__fwhm": 10, "n_iters": 20},
     ["stat_desc-group1MinusGroup2", "stat_desc-group1", "stat_desc-group2", "z_desc-group1",
      "z_desc-group2"]),
]


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")
@pytest.mark.parametrize("estimator,params,theirs,names", PAIRWISE,
                         ids=[c[0] for c in PAIRWISE])
def test_two_snapshots_give_nimares_two_group_maps(stores, estimator, params, theirs, names):
    store = stores[0]
    first = store.snapshot("nimads_studyset.json")
    second = store.snapshot("neurosynth_laird_studyset.json")
    args = [f"--param={k}={v}" for k, v in params.items()]
    out = _manage(store.env, "analysis", "run", first, "--estimator", estimator, *args,
                  "--groups-snapshot", second, "--as", store.user, "--inline")
    assert "succeeded" in out, out
    run_id = re.search(r"run (\w+)", out).group(1)
    run = store.api.get(f"/api/meta-analyses/{run_id}").json
    datasets = [nimare_io.convert_nimads_to_dataset(str(NIMARE_DATA / name))
                for name in ("nimads_studyset.json", "neurosynth_laird_studyset.json")]
    reference = getattr(nimare_cbma, estimator)(**theirs).fit(*datasets)
    mask = Mask.default().data
    for name in names:
        ours = store.map(run, name)[mask]
        expected = np.asarray(reference.get_map(name).dataobj)[mask]
        scale = np.abs(expected).max()
        assert np.abs(ours - expected).max() <= 1e-6 * scale, (name, np.abs(ours - expected).max())


#: Monte Carlo FWE: (estimator, iterations). NiMARE draws other random foci, so the two agree
#: statistically (as tests/analysis/meta/test_meta_fwe.py holds the library to).
MONTE_CARLO = [("ALE", 100), ("MKDADensity", 100)]
NULLS = ("values_level-voxel_corr-fwe_method-montecarlo",
         "values_desc-size_level-cluster_corr-fwe_method-montecarlo")
FWE_MAPS = ("z_level-voxel_corr-FWE_method-montecarlo",
            "z_desc-size_level-cluster_corr-FWE_method-montecarlo")


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * float((a & b).sum()) / max(int(a.sum() + b.sum()), 1)


@pytest.mark.filterwarnings("ignore:.*Dataset is deprecated:FutureWarning")
@pytest.mark.parametrize("estimator,n_iters", MONTE_CARLO, ids=[c[0] for c in MONTE_CARLO])
def test_monte_carlo_fwe_on_the_user_path_agrees_with_nimare(stores, estimator, n_iters):
    """The run's stored null distributions (downloaded as its ``null_distributions_file``)
    and NiMARE's: a two-sample Kolmogorov-Smirnov test does not reject (alpha 0.001) and
    the 95th percentiles (the thresholds) are within three bootstrap standard errors;
    the voxels significant at FWE p < 0.05 overlap with a Dice coefficient of 0.8 or more."""
    from nimare.correct import FWECorrector
    from scipy import stats

    store = stores[0]
    run = store.run("nimads_studyset.json", estimator, {}, "--correction", "montecarlo",
                    f"--correction-param=n_iters={n_iters}", "--correction-param=seed=11")
    with np.load(io.BytesIO(store.file(run, run["results"]["null_distributions_file"]))) as f:
        ours = {name: f[name] for name in f.files}
    fitted = _nimare("nimads_studyset.json", estimator, {"random_state": 11})
    theirs = FWECorrector(method="montecarlo", n_iters=n_iters, n_cores=1).transform(fitted)
    nulls = theirs.estimator.null_distributions_
    rng = np.random.default_rng(0)
    for key in NULLS:
        assert ours[key].shape == (n_iters,), key
        assert stats.ks_2samp(ours[key], nulls[key]).pvalue > 0.001, key
        boot = [np.percentile(rng.choice(ours[key], n_iters), 95)
                - np.percentile(rng.choice(nulls[key], n_iters), 95) for _ in range(500)]
        difference = np.percentile(ours[key], 95) - np.percentile(nulls[key], 95)
        assert abs(difference) < 3 * np.std(boot), key
    mask = Mask.default().data
    for name in FWE_MAPS:
        significant = store.map(run, name)[mask] > 1.6448536
        expected = np.asarray(theirs.get_map(name).dataobj)[mask] > 1.6448536
        assert expected.sum() > 0, name
        assert _dice(significant, expected) >= 0.8, (name, _dice(significant, expected))


def test_a_later_run_reuses_the_null_an_earlier_one_stored(stores):
    """Each ``--inline`` run is its own process with an empty null cache: the second run of
    the same design takes the first's stored null (the same FWE maps), another seed
    simulates its own."""
    store = stores[1]
    args = ("--correction", "montecarlo", "--correction-param=n_iters=30")
    first = store.run("nimads_studyset.json", "MKDADensity", {}, *args,
                      "--correction-param=seed=3")
    again = store.run("nimads_studyset.json", "MKDADensity", {}, *args,
                      "--correction-param=seed=3")
    other = store.run("nimads_studyset.json", "MKDADensity", {}, *args,
                      "--correction-param=seed=4")
    assert first["provenance"]["null_source"] == "simulated"
    assert again["provenance"]["null_source"] == "earlier run"
    assert other["provenance"]["null_source"] == "simulated"
    files = [r["results"]["null_distributions_file"] for r in (first, again, other)]
    assert files[0] == files[1] != files[2]
    for name in FWE_MAPS:
        assert np.array_equal(store.map(first, name), store.map(again, name)), name
    assert set(first["provenance"]["timings"]) >= {"read_snapshot", "build_inputs", "fit",
                                                   "maps", "pictures", "clusters", "total"}


def test_a_null_file_that_cannot_be_read_is_simulated_again(stores):
    """An earlier run's null distributions file missing from this worker's file store (as
    on a worker with a local store of its own): the run simulates its null and succeeds."""
    store = stores[1]
    args = ("--correction", "montecarlo", "--correction-param=n_iters=30",
            "--correction-param=seed=8")
    first = store.run("nimads_studyset.json", "KDA", {}, *args)
    name = first["results"]["null_distributions_file"]
    stored = next(Path(store.env["NEUROSTORE_DATA_DIR"]).rglob(name))
    stored.unlink()
    again = store.run("nimads_studyset.json", "KDA", {}, *args)
    assert again["status"] == "succeeded"
    assert again["provenance"]["null_source"] == "simulated"
    assert again["results"]["null_distributions_file"] == name
