"""Benchmark: the full NeuroQuery then the full Neurosynth release into an empty store.

For each release it prints the seconds, studies, peaks/s and this process's peak memory
(VmHWM, reset before each step) of the first run, then the seconds of a re-run that finds
nothing changed. Runs on a fresh embedded PostgreSQL in a temporary folder, or on a
scratch database created on ``DATABASE_URL`` (and dropped). Release files are read from
``--data`` (default ``../shared/data``), else downloaded from the public releases.

    ./dev bench ingest [--batch-size 1000] [--data ../shared/data]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as ``python bench/ingest.py``, this file's folder comes first on sys.path and its
# own name would hide the ``ingest`` package: look in the repository root first.
ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import tempfile  # noqa: E402

from ingest.load import DEFAULT_BATCH_SIZE  # noqa: E402
from ingest.neuroquery import parse as neuroquery  # noqa: E402
from ingest.neurosynth import parse as neurosynth  # noqa: E402
from ingest.runs import run_now  # noqa: E402
from ingest.sources import Environment  # noqa: E402
from neurostore import migrate  # noqa: E402
from neurostore.db import make_engine, make_session_factory  # noqa: E402
from neurostore.scratch_db import scratch_database  # noqa: E402
from neurostore.services.registry import build_services  # noqa: E402
from neurostore.storage import LocalFileStore  # noqa: E402

RELEASES = (("neuroquery", neuroquery), ("neurosynth", neurosynth))


def peak_mib() -> float:
    """This process's peak resident memory since the last :func:`reset_peak`, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> None:
    """Start a new peak-memory window (Linux: writing 5 to clear_refs resets VmHWM)."""
    Path("/proc/self/clear_refs").write_text("5")


def release_files(module, data: Path) -> dict[str, str]:
    """Local release files under ``data/<source>`` when present, else the release URLs."""
    folder = data / module.SOURCE
    files = {"coordinates": module.COORDINATES_FILE, "metadata": module.METADATA_FILE}
    return {key: str(folder / name) if (folder / name).is_file() else module.RELEASE_URL + name
            for key, name in files.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data",
                        help="folder holding neuroquery/ and neurosynth/ release files")
    args = parser.parse_args()
    url, drop = scratch_database("bench")
    try:
        migrate.upgrade(url)
        engine = make_engine(url)
        services = build_services(make_session_factory(engine))
        scratch = Path(tempfile.mkdtemp(prefix="neurostore-bench-data-"))
        env = Environment(services, scratch, LocalFileStore(scratch / "files"))
        print(f"{'release':<11} {'run':<8} {'seconds':>8} {'studies':>8} {'peaks':>8} "
              f"{'peaks/s':>9} {'created':>8} {'unchanged':>9} {'skipped':>8} {'peak MiB':>9}")
        for source, module in RELEASES:
            params = release_files(module, args.data)
            for label in ("full", "re-run"):
                reset_peak()
                s = run_now(services, source, params, env, batch_size=args.batch_size)
                print(f"{source:<11} {label:<8} {s.seconds:8.1f} {s.studies:8d} {s.peaks:8d} "
                      f"{s.peaks / s.seconds:9.0f} {s.created:8d} {s.unchanged:9d} "
                      f"{s.skipped:8d} {peak_mib():9.0f}", flush=True)
        engine.dispose()
    finally:
        drop()


if __name__ == "__main__":
    main()
