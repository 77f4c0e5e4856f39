"""What other packages plug into the store: export writers and the meta-analysis run specs.

The store freezes snapshots and keeps runs; how a snapshot is written as NiMARE, Sleuth,
TSV or a release, and which estimators a run may ask for, are another package's knowledge
(:mod:`analysis`). That package declares a :class:`Plugins` under the ``neurostore.plugins``
entry point group (``pyproject.toml``), and the composition root
(:func:`neurostore.services.registry.build_services`) hands what :func:`installed` finds to
the services; nothing under :mod:`neurostore` imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol

from neurostore.snapshot.formats import Writer
from neurostore.snapshot.selection import Selection

#: The entry point group plugins are declared under.
GROUP = "neurostore.plugins"


class SpecInvalid(ValueError):
    """A run spec the service refuses; ``field_errors`` maps dotted field names to messages."""

    def __init__(self, field_errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in field_errors.items()))
        self.field_errors = field_errors


class InputsTally(Protocol):
    """Counts, while a snapshot is written, of what its analyses can feed an estimator."""

    def add(self, study: Mapping, selection: Selection) -> None:
        """Count the included analyses of one study document."""

    def as_json(self) -> dict[str, Any]:
        """The counts, as stored with the snapshot (a run spec is checked against them)."""


@dataclass(frozen=True)
class RunSpecs:
    """The estimators a run may ask for.

    Attributes
    ----------
    validate : callable
        ``validate(spec, inputs, *, annotation, snapshot_id, lookup) -> dict``: the spec
        normalised, or :class:`SpecInvalid`.
    catalogue : callable
        ``catalogue() -> dict``: the estimators and corrections, as the API lists them.
    schemas : callable
        ``schemas() -> list[dict]``: one JSON Schema per estimator's spec.
    tally : callable
        ``tally() -> InputsTally``: a fresh tally for a snapshot being written.
    """

    validate: Callable[..., dict[str, Any]]
    catalogue: Callable[[], dict[str, Any]]
    schemas: Callable[[], list[dict[str, Any]]]
    tally: Callable[[], InputsTally]


@dataclass(frozen=True)
class Plugins:
    """Export writers by format name, and the run specs (None: no runs can be asked for)."""

    writers: Mapping[str, Writer] = field(default_factory=dict)
    runs: RunSpecs | None = None


def installed() -> Plugins:
    """Every plugin declared under :data:`GROUP`, merged (a later one's run specs win)."""
    writers: dict[str, Writer] = {}
    runs = None
    for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
        plugin = point.load()
        writers.update(plugin.writers)
        runs = plugin.runs or runs
    return Plugins(writers=writers, runs=runs)
