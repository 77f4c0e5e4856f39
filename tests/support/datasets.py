"""Loaders of the small real datasets in ``tests/data`` as engine inputs and NiMARE datasets
(shared by the engine tests)."""

import csv
import gzip

import numpy as np
from nimare.dataset import Dataset

from analysis.meta import CoordinateInputs
from tests.support.data import DATA
from tests.support.examples import example

NEUROSYNTH = DATA / "neurosynth"


def _sample_sizes(ids, seed=0):
    """Seeded sample sizes (10..40) for sources that report none, one per experiment."""
    unique = sorted(set(ids))
    drawn = np.random.default_rng(seed).integers(10, 41, size=len(unique))
    return dict(zip(unique, drawn.tolist(), strict=True))


def neurosynth_rows():
    """Rows (id, x, y, z, space, sample_size) of the Neurosynth 20-study NiMARE subset.

    Neurosynth's ``UNKNOWN`` space is read as MNI.
    """
    with gzip.open(NEUROSYNTH / "nimare-subset_metadata.tsv.gz", "rt") as handle:
        spaces = {r["id"]: r["space"] for r in csv.DictReader(handle, delimiter="\t")}
    with gzip.open(NEUROSYNTH / "nimare-subset_coordinates.tsv.gz", "rt") as handle:
        records = list(csv.DictReader(handle, delimiter="\t"))
    sizes = _sample_sizes(r["id"] for r in records)
    return [
        (
            r["id"],
            float(r["x"]),
            float(r["y"]),
            float(r["z"]),
            "TAL" if spaces[r["id"]] == "TAL" else "MNI",
            sizes[r["id"]],
        )
        for r in records
    ]


def nimads_rows():
    """Rows of the NIMADS example studyset: included analyses with non-null coordinates."""
    studyset = example("nimads_studyset.json")
    annotation = example("nimads_annotation.json")
    included = {n["analysis"] for n in annotation["notes"] if n["note"].get("include")}
    points = []
    for study in studyset["studies"]:
        for analysis in study["analyses"]:
            if analysis["id"] not in included:
                continue
            for point in analysis["points"]:
                coords = point.get("coordinates")
                if coords is None or any(c is None for c in coords):
                    continue
                space = "TAL" if (point.get("space") or "").upper().startswith("TAL") else "MNI"
                points.append((analysis["id"], *map(float, coords), space))
    sizes = _sample_sizes(p[0] for p in points)
    return [(*p, sizes[p[0]]) for p in points]


def to_inputs(rows):
    """Build CoordinateInputs from rows."""
    ids, x, y, z, space, n = zip(*rows, strict=True)
    return CoordinateInputs.from_table(ids, x, y, z, space, n)


def to_nimare_dataset(rows):
    """Build the equivalent NiMARE Dataset (one contrast per experiment)."""
    source = {}
    for exp_id, x, y, z, space, n in rows:
        study = source.setdefault(exp_id, {"contrasts": {"1": {"coords": {}, "metadata": {}}}})
        contrast = study["contrasts"]["1"]
        coords = contrast["coords"]
        coords.setdefault("space", space)
        for key, value in (("x", x), ("y", y), ("z", z)):
            coords.setdefault(key, []).append(value)
        contrast["metadata"]["sample_sizes"] = [n]
    return Dataset(source)
