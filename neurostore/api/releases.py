"""``/api/neurostore-studyset-releases``: snapshots as the releases NiMARE downloads.

``nimare.extract.fetch_neurostore(url=<this index>)`` lists the releases, picks one (the
newest ``built_at`` for ``"latest"``), downloads its archive (the snapshot's ``release``
export: parquet tables in a ``.tar.gz``), checks it against ``archive_checksum`` and loads
it. Each snapshot the caller may read is a release whose version is the snapshot id; an
anonymous caller, as NiMARE is, sees the public ones.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, url_for
from flask_smorest import Blueprint

from neurostore.api import http
from neurostore.api.context import actor, services
from neurostore.api.downloads import send_stored
from neurostore.schemas.releases import ReleaseListArgs, ReleaseOut, ReleasePage
from neurostore.snapshot.formats import FORMATS

blp = Blueprint("releases", __name__, url_prefix="/api/neurostore-studyset-releases",
                description="Snapshots published as NeuroStore studyset releases (NiMARE's "
                            "fetch_neurostore)")

RELEASE = FORMATS["release"]
#: Not ``"nightly"``: NiMARE's ``"latest"`` chooses among the other release types.
RELEASE_TYPE = "snapshot"


def _built_at(created_at: str) -> str:
    # One fixed width: NiMARE orders releases by comparing these strings.
    moment = dt.datetime.fromisoformat(created_at).astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _release(state: dict[str, Any]) -> dict[str, Any]:
    """A snapshot as a release, its archive written into the file store on first use."""
    version = state["id"]
    export = services().snapshots.export(actor(), version, RELEASE.name)
    summary = export["summary"]
    return {
        "version": version, "release_type": RELEASE_TYPE,
        "built_at": _built_at(state["created_at"]), "study_count": summary["n_studies"],
        "analysis_count": summary["n_analyses"], "point_count": summary["n_points"],
        "download_path": url_for("releases.download", version=version),
        "archive_name": f"neurostore-studyset-{version}{RELEASE.suffix}",
        # The store names files by the sha256 of their bytes.
        "archive_checksum": export["file"].split(".")[0], "archive_size": export["n_bytes"],
        "snapshot": url_for("snapshots.snapshot", snapshot_id=version),
        "studyset": state["studyset"], "annotation": state["annotation"],
    }


@blp.route("/", methods=["GET"])
@blp.arguments(ReleaseListArgs, location="query", error_status_code=400)
@blp.response(200, ReleasePage)
def list_releases(args: dict[str, Any]) -> Response:
    """Releases you may download (public snapshots, and your own), newest first."""
    snapshots = services().snapshots
    rows = snapshots.list(actor(), limit=args["limit"])
    return http.respond({"metadata": {"total_count": snapshots.count(actor())},
                         "results": [_release(row) for row in rows]})


@blp.route("/<version>", methods=["GET"])
@blp.response(200, ReleaseOut)
def get_release(version: str) -> Response:
    """One release (404 for an unknown version or a snapshot you may not read)."""
    return http.respond(_release(services().snapshots.get(actor(), version)))


@blp.route("/<version>/download", methods=["GET"], endpoint="download")
@blp.doc(responses={"200": {"description": "The release archive (a .tar.gz of parquet tables)",
                            "content": {RELEASE.media_type: {"schema": {}}}}})
def download_release(version: str) -> Response:
    """Download the archive of a release."""
    export = services().snapshots.export(actor(), version, RELEASE.name)
    return send_stored(export["file"], media_type=RELEASE.media_type,
                       download_name=f"neurostore-studyset-{version}{RELEASE.suffix}",
                       max_age=3600)
