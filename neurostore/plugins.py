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
from pathlib import Path
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


class TermsEngine(Protocol):
    """Term-based meta-analysis, decoding and text-to-brain maps over a build's files.

    ``files`` maps the names a build's result gives its files to their paths; an engine
    may keep what it loaded from them (they never change: they are content-addressed).
    Bad input raises :class:`SpecInvalid`.
    """

    def check(self, kind: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """A build's parameters, normalised (:class:`SpecInvalid` if they are wrong)."""

    def terms(self, files: Mapping[str, Path]) -> list[dict[str, Any]]:
        """Every term of a term-maps build: ``term``, ``n_studies``, ``maps`` (built or not)."""

    def describe(self, files: Mapping[str, Path], query: str, *, top: int) -> dict[str, Any]:
        """A term or boolean expression: its studies (top ``top`` by weight) and, for a
        built term, its most related terms."""

    def map_image(self, files: Mapping[str, Path], query: str, name: str, *,
                  picture: bool) -> bytes:
        """One map of a term or expression, as gzipped NIfTI bytes (a PNG with ``picture``)."""

    def decode(self, files: Mapping[str, Path], request: Mapping[str, Any]) -> dict[str, Any]:
        """Terms ranked for a map (``image``: NIfTI bytes) or a region (``coordinates`` and
        ``radius``, or ``roi``: NIfTI bytes)."""

    def study_features(self, weights: Path, study_id: str, *, top: int) -> list[dict[str, Any]]:
        """A study's heaviest terms in a feature set's file: ``term``, ``weight``."""

    def text_query(self, files: Mapping[str, Path], text: str, *, top: int) -> dict[str, Any]:
        """A text-to-brain model's prediction for ``text``: ``map`` (gzipped NIfTI bytes),
        ``terms``, ``similar_terms``, ``similar_studies`` (``id``, ``similarity``)."""


@dataclass(frozen=True)
class Plugins:
    """Export writers by format name, the run specs (None: no runs can be asked for), and
    the terms engine (None: no term maps, decoding or text-to-brain maps)."""

    writers: Mapping[str, Writer] = field(default_factory=dict)
    runs: RunSpecs | None = None
    terms: TermsEngine | None = None


def installed() -> Plugins:
    """Every plugin declared under :data:`GROUP`, merged (a later one's run specs and terms
    engine win)."""
    writers: dict[str, Writer] = {}
    runs = terms = None
    for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
        plugin = point.load()
        writers.update(plugin.writers)
        runs = plugin.runs or runs
        terms = plugin.terms or terms
    return Plugins(writers=writers, runs=runs, terms=terms)
