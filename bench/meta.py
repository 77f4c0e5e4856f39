"""Benchmark analysis.meta against NiMARE on the same data, in the same run.

Each case runs in a fresh child process (so peak memory is that case's own), ours then
NiMARE's, and prints wall seconds (the timed call only, after a warm-up that loads
compiled code), peak resident memory and the ratios. Coordinates come from the Neurosynth
dump (MNI-space studies, 5-20 foci each, a seeded sample of experiments); sample sizes are
drawn from a fixed seeded distribution since Neurosynth has none. IBMA cases use N noisy
copies (seeded) of a real whole-brain group map.

Examples
--------
Quick run::

    .venv/bin/python bench/meta.py --experiments 100 --n-iters 200

Two-group cases (``chi2_fwe``, ``ale_subtraction``) split the sampled experiments into
two halves by id; the chi-square case runs ``--chi2-iters`` permutations.

Full run (about an hour, NiMARE dominates)::

    .venv/bin/python bench/meta.py --experiments 100 900 --n-iters 1000
"""

import argparse
import csv
import gzip
import multiprocessing
import os
import queue as queues
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# The shared data folder sits next to the repository (as bench/api.py expects it).
DATA = ROOT.parent / "shared" / "data"
# A script run from anywhere: make the repository's packages importable (also in children).
sys.path.insert(0, str(ROOT))


def load_experiments(coordinates, metadata, n_experiments, seed=0):
    """Return rows (id, x, y, z, sample_size) for a seeded sample of MNI experiments."""
    with gzip.open(metadata, "rt") as handle:
        mni = {r["id"] for r in csv.DictReader(handle, delimiter="\t") if r["space"] == "MNI"}
    foci = {}
    with gzip.open(coordinates, "rt", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["id"] in mni:
                foci.setdefault(row["id"], []).append(
                    (float(row["x"]), float(row["y"]), float(row["z"]))
                )
    eligible = sorted(k for k, v in foci.items() if 5 <= len(v) <= 20)
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(eligible, size=n_experiments, replace=False))
    sizes = rng.integers(10, 41, size=n_experiments)
    return [(e, *xyz, int(n)) for e, n in zip(chosen, sizes, strict=True) for xyz in foci[e]]


def ours_inputs(rows):
    from analysis.meta import CoordinateInputs

    ids, x, y, z, n = zip(*rows, strict=True)
    return CoordinateInputs.from_table(ids, x, y, z, "MNI", n)


def nimare_dataset(rows):
    from nimare.dataset import Dataset

    source = {}
    for exp_id, x, y, z, n in rows:
        contrast = source.setdefault(exp_id, {"contrasts": {"1": {"coords": {"space": "MNI"}}}})
        contrast = contrast["contrasts"]["1"]
        for key, value in (("x", x), ("y", y), ("z", z)):
            contrast["coords"].setdefault(key, []).append(value)
        contrast["metadata"] = {"sample_sizes": [n]}
    return Dataset(source)


def ibma_images(template, affine, n_images, seed=0):
    """Return n noisy copies of a real group map, as z, beta and varcope images.

    The copies are written on the analysis mask's affine (the template is on the same
    91 x 109 x 91 grid but its header stores the affine differently).
    """
    import nibabel as nib

    img = nib.load(template)
    img = nib.Nifti1Image(np.asanyarray(img.dataobj), affine)
    data = np.asanyarray(img.dataobj).astype(np.float32)
    rng = np.random.default_rng(seed)
    out = {"z": [], "beta": [], "varcope": []}
    for _ in range(n_images):
        z = data + rng.normal(0, 1, data.shape).astype(np.float32)
        varcope = rng.uniform(0.5, 2.0, data.shape).astype(np.float32)
        out["z"].append(nib.Nifti1Image(z, img.affine))
        out["beta"].append(nib.Nifti1Image(z * np.sqrt(varcope), img.affine))
        out["varcope"].append(nib.Nifti1Image(varcope, img.affine))
    return out


# --- cases: each returns a callable doing the timed work, after any warm-up ---------------


def split_groups(rows):
    """Split rows into two groups: the first half of the experiment ids, then the rest."""
    ids = sorted({row[0] for row in rows})
    first = set(ids[: len(ids) // 2])
    return [r for r in rows if r[0] in first], [r for r in rows if r[0] not in first]


def case_ours(kind, rows, n_iters, cache_dir, images):
    import analysis.meta as meta

    mask = meta.Mask.default()
    inputs = ours_inputs(rows)
    warm = ours_inputs(rows[:40])
    cache = meta.NullCache(cache_dir)
    if kind in ("chi2_fwe", "ale_subtraction"):
        groups = [ours_inputs(group) for group in split_groups(rows)]
        warm_groups = [ours_inputs(group) for group in split_groups(rows[:80])]
        if kind == "chi2_fwe":
            fwe = meta.MonteCarloFWE(n_iters=n_iters, seed=0, cache=None)
            meta.MKDAChi2(mask=mask, corrections=[meta.MonteCarloFWE(n_iters=2)]).fit(*warm_groups)
            return lambda: meta.MKDAChi2(mask=mask, corrections=[fwe]).fit(*groups)
        meta.ALESubtraction(mask=mask, n_iters=2).fit(*warm_groups)
        return lambda: meta.ALESubtraction(mask=mask, n_iters=n_iters, seed=0).fit(*groups)
    if kind == "ale_approx":
        meta.ALE(mask=mask).fit(warm)
        return lambda: meta.ALE(mask=mask).fit(inputs)
    if kind in ("ale_fwe", "ale_fwe_cached", "mkda_fwe"):
        estimator = meta.MKDADensity if kind == "mkda_fwe" else meta.ALE
        fwe = meta.MonteCarloFWE(n_iters=n_iters, seed=0, cache=cache)
        estimator(mask=mask, corrections=[meta.MonteCarloFWE(n_iters=2, cache=None)]).fit(warm)
        if kind == "ale_fwe_cached":
            estimator(mask=mask, corrections=[fwe]).fit(inputs)
        return lambda: estimator(mask=mask, corrections=[fwe]).fit(inputs)
    estimator = meta.Stouffers() if kind == "ibma_stouffer" else meta.DerSimonianLaird()

    # Each side reads the images its estimator uses (NiMARE's Stouffers loads only z).
    kinds = ("z",) if kind == "ibma_stouffer" else ("beta", "varcope")

    def run():
        paths = {k: images["paths"][k] for k in kinds}
        return estimator.fit(meta.ImageInputs.from_images(mask, **paths))

    return run


def case_nimare(kind, rows, n_iters, cache_dir, images):
    from nimare.correct import FWECorrector
    from nimare.meta import cbma, ibma

    dataset = nimare_dataset(rows)
    warm = nimare_dataset(rows[:40])
    if kind == "chi2_fwe":
        groups = [nimare_dataset(group) for group in split_groups(rows)]

        def run_chi2():
            result = cbma.MKDAChi2(random_state=0).fit(*groups)
            return FWECorrector(method="montecarlo", n_iters=n_iters, n_cores=1).transform(result)

        return run_chi2
    if kind == "ale_subtraction":
        groups = [nimare_dataset(group) for group in split_groups(rows)]
        return lambda: cbma.ALESubtraction(n_iters=n_iters, random_state=0).fit(*groups)
    if kind == "ale_approx":
        cbma.ALE().fit(warm)
        return lambda: cbma.ALE().fit(dataset)
    if kind in ("ale_fwe", "ale_fwe_cached", "mkda_fwe"):
        estimator = cbma.MKDADensity if kind == "mkda_fwe" else cbma.ALE

        def run():
            result = estimator(random_state=0).fit(dataset)
            return FWECorrector(method="montecarlo", n_iters=n_iters, n_cores=1).transform(result)

        return run
    from nimare.dataset import Dataset

    source = {
        f"s{i}": {
            "contrasts": {
                "1": {
                    "images": {
                        "z": images["paths"]["z"][i],
                        "beta": images["paths"]["beta"][i],
                        "varcope": images["paths"]["varcope"][i],
                    }
                }
            }
        }
        for i in range(len(images["paths"]["z"]))
    }
    dataset = Dataset(source, mask=images["mask_path"])
    estimator = ibma.Stouffers() if kind == "ibma_stouffer" else ibma.DerSimonianLaird()
    return lambda: estimator.fit(dataset)


def _child(side, kind, rows, n_iters, cache_dir, images, queue):
    warnings.simplefilter("ignore")
    import logging

    logging.disable(logging.CRITICAL)
    try:
        build = case_ours if side == "ours" else case_nimare
        run = build(kind, rows, n_iters, cache_dir, images)
        start = time.perf_counter()
        run()
        seconds = time.perf_counter() - start
    except Exception as error:  # reported by the parent, which would otherwise wait forever
        queue.put(repr(error))
        raise
    peak_mb = _peak_rss_mb()
    queue.put((seconds, peak_mb))


def _peak_rss_mb():
    """Peak resident memory of this process in MB.

    Read from /proc (VmHWM), which starts afresh at exec; ``ru_maxrss`` would carry over the
    parent's peak into a spawned child.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(side, kind, rows, n_iters, cache_dir, images=None):
    """Run one side of one case in a fresh process; return (seconds, peak MB)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(
        target=_child, args=(side, kind, rows, n_iters, cache_dir, images, queue)
    )
    process.start()
    while True:
        try:
            result = queue.get(timeout=5)
            break
        except queues.Empty:
            if not process.is_alive():
                code = process.exitcode
                raise RuntimeError(f"{side} {kind} died with exit code {code}") from None
    process.join()
    if isinstance(result, str):
        raise RuntimeError(f"{side} {kind} failed: {result}")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA,
                        help="shared data folder (default: ../shared/data next to the repository)")
    parser.add_argument("--experiments", type=int, nargs="+", default=[100, 900])
    parser.add_argument("--n-iters", type=int, default=1000)
    parser.add_argument(
        "--chi2-iters",
        type=int,
        default=200,
        help="iterations of the chi-square case (NiMARE needs about 0.7 s each)",
    )
    parser.add_argument("--n-images", type=int, default=50)
    parser.add_argument(
        "--cases",
        nargs="+",
        default=[
            "ale_approx",
            "ale_fwe",
            "ale_fwe_cached",
            "mkda_fwe",
            "chi2_fwe",
            "ale_subtraction",
            "ibma_stouffer",
            "ibma_dl",
        ],
    )
    args = parser.parse_args()
    coordinates = args.data / "neurosynth" / "data-neurosynth_version-7_coordinates.tsv.gz"
    metadata = args.data / "neurosynth" / "data-neurosynth_version-7_metadata.tsv.gz"
    template = args.data / "neurovault" / "statmaps" / "motor_lips.nii.gz"
    mask_path = args.data / "templates" / "tpl-MNI152NLin6Asym_res-02_desc-brain_mask.nii.gz"

    print("load average (1, 5, 15 min) at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(
        f"{'case':<34}{'ours s':>9}{'NiMARE s':>10}{'speed-up':>10}{'ours MB':>9}{'NiMARE MB':>11}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        images = _save_images(template, mask_path, args.n_images, Path(tmp))
        for n_exp in args.experiments:
            rows = load_experiments(coordinates, metadata, n_exp)
            for kind in args.cases:
                if kind.startswith("ibma") and n_exp != args.experiments[0]:
                    continue
                n_iters = args.chi2_iters if kind == "chi2_fwe" else args.n_iters
                label = _label(kind, n_exp, len(rows), n_iters, args)
                case_images = images if kind.startswith("ibma") else None
                cache_dir = str(Path(tmp) / f"cache-{kind}-{n_exp}")
                ours = measure("ours", kind, rows, n_iters, cache_dir, case_images)
                theirs = measure("nimare", kind, rows, n_iters, cache_dir, case_images)
                print(
                    f"{label:<34}{ours[0]:>9.2f}{theirs[0]:>10.2f}{theirs[0] / ours[0]:>9.1f}x"
                    f"{ours[1]:>9.0f}{theirs[1]:>11.0f}",
                    flush=True,
                )
    print("load average (1, 5, 15 min) at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


def _label(kind, n_exp, n_foci, n_iters, args):
    if kind.startswith("ibma"):
        return f"{kind} ({args.n_images} images)"
    iters = "" if kind == "ale_approx" else f", {n_iters} it"
    return f"{kind} ({n_exp} exp, {n_foci} foci{iters})"


def _save_images(template, mask_path, n_images, folder):
    """Write seeded IBMA images next to each other and return their paths."""
    import nibabel as nib

    made = ibma_images(template, nib.load(mask_path).affine, n_images)
    paths = {}
    for key, imgs in made.items():
        paths[key] = []
        for index, img in enumerate(imgs):
            path = folder / f"img{index:03d}_{key}.nii.gz"
            nib.save(img, path)
            paths[key].append(str(path))
    return {"paths": paths, "mask_path": str(mask_path)}


if __name__ == "__main__":
    main()
