"""The demo's meta-analysis leg: snapshot, exports, and an ALE with FWE run by a worker."""

from __future__ import annotations

from analysis.demo import run_demo_meta_analysis
from neurostore.config import Settings


def test_the_demo_leg_runs_on_a_worker_and_says_where_everything_is(
        services, alice, imported, database_url, data_dir, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("NEUROSTORE_DATA_DIR", str(data_dir))
    summary = run_demo_meta_analysis(services, Settings.from_env(), imported.studyset.id,
                                     imported.annotation.id, alice, include="include",
                                     n_iters=30)
    assert summary.status == "succeeded"
    assert set(summary.exports) == {"nimads", "nimare", "sleuth-mni", "sleuth-tal", "tsv",
                                    "release"}
    assert all(path.exists() for path in summary.exports.values())
    assert summary.pictures["z_corr-FWE_level-cluster"].read_bytes().startswith(b"\x89PNG")
    assert summary.maps["z"].exists() and "Monte Carlo" in summary.methods
