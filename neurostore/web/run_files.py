"""What a run's page downloads and draws beyond the API: all its results as one zip, and
slices of its maps. Single files and snapshot exports are the API's own downloads, which
take the signed-in session for reads."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import zipfile
from typing import Any

from flask import Blueprint, send_file

from neurostore.api.context import services
from neurostore.services.errors import Invalid, NotFound
from neurostore.vocabulary import RunStatus
from neurostore.web.context import protect, web_actor
from neurostore.web.map_slices import slice_response, stored_volume
from neurostore.web.slices import Volume

blp = Blueprint("web-run-files", __name__)
blp.before_request(protect)

#: Above this size a zip being written spills from memory to a temporary file.
SPOOL_BYTES = 32 * 1024 * 1024
#: Bytes copied at a time from the file store into a zip.
COPY_BYTES = 1024 * 1024


def _copy_in(bundle: zipfile.ZipFile, name: str, stored: str,
             compression: int = zipfile.ZIP_STORED) -> None:
    """Stream the stored file ``stored`` into ``bundle`` as ``name`` (never whole in memory)."""
    entry = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    entry.compress_type = compression
    with services().snapshots.files.open(stored) as source, bundle.open(entry, "w") as target:
        shutil.copyfileobj(source, target, COPY_BYTES)


def map_volume(name: str) -> Volume:
    """The result map stored as ``name`` (read once per process)."""
    return stored_volume(name, "the map")


@blp.route("/meta-analyses/<run_id>/maps/<map_name>/slice", methods=["GET"])
def map_slice(run_id: str, map_name: str) -> Any:
    """One slice of a result map as a PNG (``?axis=x|y|z&index=N``; the peak's by default)."""
    run = services().analysis_runs.get(web_actor(), run_id)
    maps = (run["results"] or {}).get("maps", {})
    if map_name not in maps:
        raise NotFound(f"meta-analysis {run_id} has no map {map_name!r}")
    # A result map never changes.
    return slice_response(map_volume(maps[map_name]), "public, max-age=86400")


@blp.route("/meta-analyses/<run_id>/results.zip", methods=["GET"])
def results_zip(run_id: str) -> Any:
    """Every result of a succeeded run in one zip: maps, pictures, the cluster table, the
    methods, the spec and the provenance."""
    run = services().analysis_runs.get(web_actor(), run_id)
    results = run["results"] or {}
    if run["status"] != RunStatus.SUCCEEDED:
        raise Invalid({"meta_analysis": f"meta-analysis {run_id} has no results "
                                        f"(it is {run['status']})"})
    # Closed by the response once sent (send_file owns it from here).
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    # Maps and pictures are compressed already: stored as they are, only text is deflated.
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as bundle:
        for name, file in sorted(results.get("maps", {}).items()):
            _copy_in(bundle, f"maps/{name}.nii.gz", file)
        for name, file in sorted(results.get("pictures", {}).items()):
            _copy_in(bundle, f"pictures/{name}.png", file)
        texts = {"clusters.tsv": results.get("clusters_file"),
                 "methods.txt": results.get("methods_file")}
        for name, file in texts.items():
            if file:
                _copy_in(bundle, name, file, zipfile.ZIP_DEFLATED)
        about = {"id": run["id"], "snapshot": run["snapshot"], "spec": run["spec"],
                 "provenance": run["provenance"], "citations": results.get("citations")}
        bundle.writestr("run.json", json.dumps(about, indent=2, sort_keys=True),
                        zipfile.ZIP_DEFLATED)
    spool.seek(0)
    return send_file(spool, mimetype="application/zip", as_attachment=True,
                     download_name=f"meta-analysis-{run_id}.zip")
