"""Views of the parts of a study (analyses, tables, points, images).

A part has no life of its own: every write is a PATCH of its study through the study
service, so the study's version is the part's ETag and the study's history records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Response, url_for
from marshmallow import Schema, missing

from neurostore.api import http
from neurostore.api.aggregates import check_patch, provenance
from neurostore.api.context import actor, reads, services
from neurostore.api.studies import split_list_args
from neurostore.schemas.points import AXES
from neurostore.services.errors import Invalid, NotFound
from neurostore.services.reads.children import CHILD_LABELS, find_child
from neurostore.services.studies import expand_refs
from neurostore.services.versioning import Record

PARENT = {"analyses": "study", "tables": "study", "points": "analysis", "images": "analysis"}


def _defaults(schema: Schema) -> dict[str, Any]:
    """Load defaults of a schema's fields: what a PUT resets the fields it omits to."""
    out = {}
    for name, field in schema.fields.items():
        default = field.load_default
        if default is not missing:
            out[name] = default() if callable(default) else default
    return out


def _point(point: dict[str, Any], order: int) -> dict[str, Any]:
    x, y, z = point["coordinates"]
    return {**point, "x": x, "y": y, "z": z, "order": order}


def _flat(kind: str, child: dict[str, Any], nested: bool) -> dict[str, Any]:
    """A part as NeuroStore shows it: with the fields its clients read (an analysis's
    ``table_id`` and ``point_count``, a point's ``x``, ``y``, ``z``), points and images as
    ids unless ``nested``."""
    if kind == "points":
        return _point(child, child["order"])
    if kind != "analyses":
        return child
    shown = {**child, "table_id": child["table"], "point_count": len(child["points"])}
    if nested:
        return {**shown, "points": [_point(p, n) for n, p in enumerate(child["points"])]}
    return {**shown, "points": [p["id"] for p in child["points"]],
            "images": [i["id"] for i in child["images"]]}


def _neurostore_names(fields: dict[str, Any], current: dict[str, Any]) -> None:
    """Fold NeuroStore's names sent alone (a point's ``x``, an analysis's ``table_id``) into
    ours, so a change of one of them is not undone by the current value of the other."""
    axes = [k for k in AXES if k in fields]
    if axes and "coordinates" not in fields and isinstance(current.get("coordinates"), list):
        fields["coordinates"] = [fields.get(k, c) for k, c in
                                 zip(AXES, current["coordinates"], strict=True)]
    if "table_id" in fields and "table" not in fields:
        fields["table"] = fields["table_id"]


@dataclass(frozen=True)
class ChildViews:
    """The flows of one kind of study part.

    Attributes
    ----------
    kind : str
        ``analyses``, ``tables``, ``points`` or ``images``.
    schema : Schema
        The input schema of one part (its defaults fill what a PUT omits).
    endpoint : str
        The ``blueprint.view`` of the single-part GET, for ``Location``.
    """

    kind: str
    schema: Schema
    endpoint: str

    @property
    def label(self) -> str:
        """Singular name."""
        return CHILD_LABELS[self.kind]

    def list(self, args: dict[str, Any]) -> Response:
        """A page of parts."""
        query, filters = split_list_args(args)

        def fetch() -> Any:
            result = reads().children(actor(), self.kind, query, **filters)
            result.rows = [_flat(self.kind, row, args.get("nested", False))
                           for row in result.rows]
            return result

        return http.page(fetch)

    def _show(self, record: Record, child_id: str, nested: bool, status: int = 200,
              location: bool = False, cacheable: bool = False) -> Response:
        child = find_child(record.state, self.kind, child_id)
        if child is None:
            raise NotFound(f"{self.label} {child_id} not found")
        body = {**_flat(self.kind, child, nested), "study": record.id}
        return http.respond(body, status, version=record.version, cacheable=cacheable,
                            location=url_for(self.endpoint, id=child_id) if location else None)

    def get(self, id: str, args: dict[str, Any]) -> Response:
        """One part, cut out of its study; its ETag is the study's version."""
        study_id = reads().study_of(self.kind, id)
        return self._show(services().studies.get(actor(), study_id), id,
                          args.get("nested", False), cacheable=True)

    def _container(self, state: dict[str, Any], parent: str | None) -> list[dict[str, Any]]:
        if self.kind in ("analyses", "tables"):
            return state[self.kind]
        analysis = next((a for a in state["analyses"] if a["id"] == parent), None)
        if analysis is None:
            raise NotFound(f"analysis {parent} not found")
        return analysis[self.kind]

    def _patch(self, state: dict[str, Any]) -> dict[str, Any]:
        if self.kind == "tables":
            return {"tables": state["tables"], "analyses": state["analyses"]}
        return {"analyses": state["analyses"]}

    def _write(self, study_id: str, args: dict[str, Any], change: Any) -> Record:
        """PATCH the study with ``change(state)`` applied to its current state (under the
        study's row lock, so concurrent writes without If-Match all land)."""

        def patch(state: dict[str, Any]) -> dict[str, Any]:
            change(state)
            return self._patch(state)

        return services().studies.modify(actor(), study_id, patch, if_match=http.if_match(),
                                         provenance=provenance(args))

    def _expanded(self, state: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
        if self.kind != "analyses":
            return child
        return expand_refs({"analyses": [child]}, state)["analyses"][0]

    def create(self, args: dict[str, Any]) -> Response:
        """Add a part to the study (or analysis) its body names."""
        body = http.json_body()
        key = PARENT[self.kind]
        if not isinstance(body, dict):
            raise Invalid({"_schema": [f"expected a {self.label} object"]})
        parent = body.get(key)
        if not isinstance(parent, str) or not parent:
            raise Invalid({key: [f"the id of the {key} to add the {self.label} to"]})
        check_patch(body)
        study_id = parent if key == "study" else reads().study_of("analyses", parent)
        new = {k: v for k, v in body.items() if k not in ("id", "study", "analysis")}
        before: set[str] = set()

        def add(state: dict[str, Any]) -> None:
            container = self._container(state, parent)
            before.update(c["id"] for c in container)
            container.append(self._expanded(state, new))

        record = self._write(study_id, args, add)
        container = self._container(record.state, parent)
        new_id = next(c["id"] for c in container if c["id"] not in before)
        return self._show(record, new_id, args.get("nested", False), http.CREATED,
                          location=True)

    def _locate(self, state: dict[str, Any], id: str) -> tuple[list[dict[str, Any]], int]:
        for container in self._containers(state):
            for n, child in enumerate(container):
                if child["id"] == id:
                    return container, n
        raise NotFound(f"{self.label} {id} not found")

    def _containers(self, state: dict[str, Any]) -> list[list[dict[str, Any]]]:
        if self.kind in ("analyses", "tables"):
            return [state[self.kind]]
        return [a[self.kind] for a in state["analyses"]]

    def change(self, id: str, args: dict[str, Any], *, replace: bool) -> Response:
        """Change the fields sent of one part (``replace``: omitted fields reset)."""
        body = http.json_body()
        if not isinstance(body, dict):
            raise Invalid({"_schema": [f"expected a {self.label} object"]})
        check_patch(body)
        study_id = reads().study_of(self.kind, id)
        fields = {k: v for k, v in body.items() if k not in ("id", "study", "analysis")}

        def apply(state: dict[str, Any]) -> None:
            container, n = self._locate(state, id)
            base = _defaults(self.schema) if replace else container[n]
            _neurostore_names(fields, container[n])
            container[n] = self._expanded(state, {**base, **fields, "id": id})

        return self._show(self._write(study_id, args, apply), id, False)

    def delete(self, id: str, args: dict[str, Any]) -> Response:
        """Remove one part from its study."""
        study_id = reads().study_of(self.kind, id)

        def remove(state: dict[str, Any]) -> None:
            container, n = self._locate(state, id)
            del container[n]
            if self.kind == "tables":
                for analysis in state["analyses"]:
                    if analysis["table"] == id:
                        analysis["table"] = None

        record = self._write(study_id, args, remove)
        return http.respond({"id": id, "version": record.version, "deleted": True},
                            version=record.version)
