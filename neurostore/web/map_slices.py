"""Stored maps as the pages draw them: a map read once from the file store, and the PNG
answers of the slice viewer (``?axis=x|y|z&index=N``), shared by study and run pages."""

from __future__ import annotations

from flask import Response, request

from neurostore.api.context import services
from neurostore.api.errors import BadRequest
from neurostore.services.errors import NotFound
from neurostore.web.slices import AXES, VOLUMES, Volume, slice_png


def stored_volume(name: str, what: str) -> Volume:
    """The map stored as ``name`` (cached by name: names are content addresses); a file
    that is not a 3-D NIfTI map is a 404 naming ``what``."""
    def read() -> bytes:
        with services().snapshots.files.open(name) as stream:
            return stream.read()

    try:
        return VOLUMES.get(name, read)
    except ValueError as exc:
        raise NotFound(f"{what} cannot be shown: {exc}") from exc


def png_response(data: bytes, cache_control: str) -> Response:
    """A PNG answer with its caching rule."""
    response = Response(data, mimetype="image/png")
    response.headers["Cache-Control"] = cache_control
    return response


def slice_response(volume: Volume, cache_control: str) -> Response:
    """The slice the query names (the peak's when ``index`` is left out); a bad axis or
    index is a 400 naming the field."""
    axis = request.args.get("axis", "z")
    if axis not in AXES:
        raise BadRequest("axis must be x, y or z", {"axis": [f"{axis!r} is not x, y or z"]})
    text = request.args.get("index")
    try:
        index = int(text) if text not in (None, "") else None
    except ValueError as exc:
        raise BadRequest("index must be a whole number",
                         {"index": [f"{text!r} is not a whole number"]}) from exc
    try:
        return png_response(slice_png(volume, axis, index), cache_control)
    except ValueError as exc:
        raise BadRequest(str(exc), {"index": [str(exc)]}) from exc
