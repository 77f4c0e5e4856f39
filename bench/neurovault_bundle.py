"""Benchmark: write NeuroVault bundles (the zip ``GET /api/meta-analyses/{id}/neurovault.zip``
streams) and print MB/s and the most memory the stream held at once.

The maps are ``--maps`` gzipped float32 volumes on the 2 mm MNI152 grid (91 x 109 x 91) of
smooth noise, stored in a scratch file store as a run's maps are; the bundle is consumed
chunk by chunk, as a response is sent, and thrown away.

    ./dev bench neurovault_bundle [--maps 8] [--repeat 5]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as ``python bench/neurovault_bundle.py``, this folder comes first on sys.path, where
# bench/ingest.py would hide the ``ingest`` package: look in the repository root first.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse  # noqa: E402
import gzip  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
from scipy.ndimage import gaussian_filter  # noqa: E402

from neurostore.services.neurovault_bundle import bundle_stream  # noqa: E402
from neurostore.services.neurovault_metadata import ImageEntry, Plan  # noqa: E402
from neurostore.storage import LocalFileStore  # noqa: E402

SHAPE = (91, 109, 91)
AFFINE = np.array([[-2, 0, 0, 90], [0, 2, 0, -126], [0, 0, 2, -72], [0, 0, 0, 1]], float)


def _map(seed: int) -> bytes:
    noise = np.random.default_rng(seed).standard_normal(SHAPE).astype(np.float32)
    image = nib.Nifti1Image(gaussian_filter(noise, 2.0).astype(np.float32), AFFINE)
    return gzip.compress(image.to_bytes(), compresslevel=6, mtime=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--maps", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        files = LocalFileStore(Path(folder) / "files")
        images = [ImageEntry(f"z_{i}", files.put_bytes(_map(i), ".nii.gz"),
                             f"maps/z_{i}.nii.gz", {"name": f"z {i}", "map_type": "Z"})
                  for i in range(args.maps)]
        plan = Plan({"name": "bench", "description": "x" * 2000}, images, "methods")
        seconds, size, largest = [], 0, 0
        for _ in range(args.repeat):
            clock, size = time.perf_counter(), 0
            for chunk in bundle_stream(plan, files, "bench"):
                size += len(chunk)
                largest = max(largest, len(chunk))
            seconds.append(time.perf_counter() - clock)
    best = min(seconds)
    print(f"bundle of {args.maps} maps: {size / 1e6:.1f} MB in {best * 1000:.0f} ms best of "
          f"{args.repeat} ({size / 1e6 / best:.0f} MB/s; median "
          f"{sorted(seconds)[len(seconds) // 2] * 1000:.0f} ms); largest chunk "
          f"{largest / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
