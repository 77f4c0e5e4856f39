"""The maps of a study version: thumbnails on its publication page, a page with the map in
the slice viewer, and the PNG slices the viewer asks for.

Maps are read from the content-addressed file store (their stored name is their sha256 and
the file's own suffix); a map whose file the store does not hold is listed without a picture.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, url_for

from neurostore import json_codec
from neurostore.api.context import reads, services
from neurostore.services.errors import NotFound
from neurostore.web.context import protect, web_actor
from neurostore.web.map_slices import png_response, slice_response, stored_volume
from neurostore.web.slices import Volume, thumbnail_png

blp = Blueprint("web-study-images", __name__)
blp.before_request(protect)

#: Suffixes a stored map's name may carry (as the file it came from was named).
MAP_SUFFIXES = (".nii.gz", ".nii")
#: Browsers may keep a slice for a day: a stored name always means the same bytes.
CACHE_RULE = "private, max-age=86400"


def stored_name(image: dict[str, Any]) -> str | None:
    """The file store's name of an image's map, or ``None`` when the store lacks it."""
    if not image.get("sha256"):
        return None
    files = services().snapshots.files
    lowered = (image.get("filename") or image.get("url") or "").lower()
    suffixes = [s for s in MAP_SUFFIXES if lowered.endswith(s)] or [*MAP_SUFFIXES, ""]
    return next((image["sha256"] + s for s in suffixes if files.exists(image["sha256"] + s)),
                None)


def shown_images(study_id: str, images: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An analysis's images as its page lists them: a thumbnail and viewer link for each
    map the store holds."""
    out = []
    for image in images:
        held = stored_name(image) is not None
        out.append({**image, "held": held,
                    "page": url_for("web-study-images.image", id=study_id, image=image["id"]),
                    "thumbnail": url_for("web-study-images.thumbnail", id=study_id,
                                         image=image["id"]) if held else None})
    return out


def _find(id: str, image_id: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The readable study, the analysis and the image (404 for another study's image)."""
    doc = json_codec.loads(reads().study_tree(web_actor(), id).document)
    for analysis in doc["analyses"]:
        for image in analysis["images"]:
            if image["id"] == image_id:
                return doc, analysis, image
    raise NotFound(f"study {id} has no image {image_id}")


def _volume(image: dict[str, Any]) -> Volume:
    name = stored_name(image)
    if name is None:
        raise NotFound(f"the store does not hold the map of image {image['id']}")
    return stored_volume(name, f"image {image['id']}")


@blp.route("/studies/<id>/images/<image>", methods=["GET"])
def image(id: str, image: str) -> Any:
    """One map in the slice viewer, with what the store knows of it."""
    doc, analysis, found = _find(id, image)
    info = _volume(found).viewer() if stored_name(found) else None
    return render_template("study_image.html", doc=doc, analysis=analysis, image=found,
                           info=info)


@blp.route("/studies/<id>/images/<image>/slice", methods=["GET"])
def slice_(id: str, image: str) -> Any:
    """One slice of the map as a PNG (``axis`` x, y or z; ``index`` a voxel index)."""
    return slice_response(_volume(_find(id, image)[2]), CACHE_RULE)


@blp.route("/studies/<id>/images/<image>/thumbnail", methods=["GET"])
def thumbnail(id: str, image: str) -> Any:
    """The three slices through the map's peak, as one PNG."""
    return png_response(thumbnail_png(_volume(_find(id, image)[2])), CACHE_RULE)
