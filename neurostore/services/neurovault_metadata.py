"""What a result looks like as a NeuroVault collection: its fields and each image's fields.

NeuroVault's API takes codes where its pages show names: ``map_type`` ``T``, ``Z``, ``F``,
``X2`` (chi squared), ``P`` (p given the null hypothesis), ``U`` (univariate beta),
``Other``...; ``analysis_level`` ``M`` is "meta-analysis"; ``modality`` ``fMRI-BOLD``. The
codes are those of its ``BaseStatisticMap`` model (github.com/NeuroVault/NeuroVault). A
collection's ``name`` is unique on the whole site, so the default one names the run.

Everything here is pure: a run's state and what its snapshot says in, plain dicts out. The
same :class:`Plan` feeds the bundle download and the upload job, so both send the same thing.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import quote, urlencode

#: NeuroVault's analysis level code for "meta-analysis".
META_ANALYSIS_LEVEL = "M"
#: The modality of the maps (coordinate and image meta-analyses of fMRI studies).
MODALITY = "fMRI-BOLD"
#: A map name's first part (NiMARE's naming: ``z``, ``z_desc-size_level-cluster...``) ->
#: NeuroVault's map type code; any other map is ``Other``.
MAP_TYPES = {"z": "Z", "t": "T", "p": "P", "chi2": "X2", "f": "F", "est": "U"}
OTHER = "Other"
#: NeuroVault's limits on a collection's and an image's name.
NAME_LENGTH = 200


def map_type(name: str) -> str:
    """NeuroVault's ``map_type`` code of a result map, from its name.

    Parameters
    ----------
    name : str
        A result map's name (``z``, ``p_desc-size_level-cluster_corr-FWE_method-montecarlo``).

    Returns
    -------
    str
        ``Z``, ``T``, ``P``, ``X2``, ``F``, ``U`` or ``Other``.
    """
    return MAP_TYPES.get(name.split("_", 1)[0].lower(), OTHER)


def subjects(studies: Iterable[Any], used: Iterable[str]) -> int | None:
    """The number of subjects behind the experiments a run used, or None when unknown.

    A study's experiments usually share their subjects, so each study counts once, with the
    largest total sample size among its experiments used; an experiment with no sample size
    makes the whole figure unknown (a partial sum would understate it).

    Parameters
    ----------
    studies : iterable of StudyRecord
        The snapshot's studies (:func:`neurostore.snapshot.experiments.read_studies`).
    used : iterable of str
        The experiments used (``<study id>-<analysis id>``, the run's provenance).
    """
    wanted = set(used)
    per_study: dict[str, float] = {}
    for record in studies:
        for experiment in record.experiments:
            key = f"{experiment.study_id}-{experiment.analysis_id}"
            if key not in wanted:
                continue
            wanted.discard(key)
            if not experiment.sample_sizes:
                return None
            size = sum(experiment.sample_sizes)
            per_study[experiment.study_id] = max(per_study.get(experiment.study_id, 0), size)
    if wanted or not per_study:
        return None
    return round(sum(per_study.values()))


@dataclass(frozen=True)
class ImageEntry:
    """One map to send: where its bytes are, its name in a bundle, NeuroVault's fields.

    A stored map (a run's) is named by ``file`` in the file store; a map computed on demand
    (a term's) comes as its ``content``.
    """

    name: str
    file: str | None
    filename: str
    fields: dict[str, Any]
    content: bytes | None = field(default=None, repr=False)

    def open(self, files: Any) -> BinaryIO:
        """The map's bytes as a stream (from ``files``, the file store, when stored)."""
        if self.content is not None:
            return io.BytesIO(self.content)
        if self.file is None:
            raise ValueError(f"map {self.name} has neither a stored file nor content")
        return files.open(self.file)


@dataclass(frozen=True)
class Plan:
    """A collection to publish: its fields, its images, and the text shipped beside them."""

    collection: dict[str, Any]
    images: list[ImageEntry] = field(default_factory=list)
    methods: str = ""

    def images_json(self) -> list[dict[str, Any]]:
        """The images' fields with each one's file in the bundle (``images.json``)."""
        return [{"file": image.filename, **image.fields} for image in self.images]


def links(site: str | None, run_id: str, snapshot_id: str) -> dict[str, str | None]:
    """The run's and the snapshot's addresses on this store (None without a site address)."""
    if not site:
        return {"run": None, "snapshot": None}
    base = site.rstrip("/")
    return {"run": f"{base}/api/meta-analyses/{run_id}",
            "snapshot": f"{base}/api/snapshots/{snapshot_id}"}


def run_plan(run: Mapping[str, Any], snapshot_name: str | None, n_subjects: int | None,
             methods: str, options: Mapping[str, Any]) -> Plan:
    """The collection and images of a finished meta-analysis run.

    Parameters
    ----------
    run : mapping
        The run's state (:func:`neurostore.services.analysis_runs.run_state`), succeeded.
    snapshot_name : str or None
        The name of the snapshot's studyset.
    n_subjects : int or None
        :func:`subjects` of the run's experiments.
    methods : str
        The run's methods text (the collection's and each image's description).
    options : mapping
        ``name`` (the collection's; default: one naming the run), ``private`` (bool),
        ``cognitive_paradigm_cogatlas`` (a Cognitive Atlas task id), ``site`` (this store's
        address, for the links back).

    Returns
    -------
    Plan
    """
    run_id, snapshot_id = run["id"], run["snapshot"]
    about = links(options.get("site"), run_id, snapshot_id)
    what = f"{run['estimator']} meta-analysis"
    of = f" of {snapshot_name}" if snapshot_name else ""
    name = options.get("name") or _clip(f"{what}{of}", NAME_LENGTH - 30) + f" (run {run_id})"
    source = [f"Published from neurostore: {what} run {run_id} of snapshot {snapshot_id}"
              " (the sha256 of its canonical NIMADS document)."]
    if about["run"]:
        source.append(f"Run: {about['run']}\nSnapshot: {about['snapshot']}")
    collection: dict[str, Any] = {
        "name": name,
        "description": "\n\n".join([methods.strip(), *source]).strip(),
        "private": bool(options.get("private", False)),
    }
    if about["snapshot"]:
        collection["full_dataset_url"] = about["snapshot"]
    images = []
    maps = (run.get("results") or {}).get("maps", {})
    for map_name in sorted(maps):
        fields: dict[str, Any] = {
            "name": _clip(f"{run['estimator']} {map_name}", NAME_LENGTH),
            "description": f"{map_name} map of {what} run {run_id}.",
            "map_type": map_type(map_name),
            "analysis_level": META_ANALYSIS_LEVEL,
            "modality": MODALITY,
        }
        if n_subjects is not None:
            fields["number_of_subjects"] = n_subjects
        if options.get("cognitive_paradigm_cogatlas"):
            fields["cognitive_paradigm_cogatlas"] = options["cognitive_paradigm_cogatlas"]
        images.append(ImageEntry(map_name, maps[map_name], f"maps/{map_name}.nii.gz", fields))
    return Plan(collection, images, methods)


def term_page(site: str | None, term: str, feature_set: str | None) -> str | None:
    """The API page of a term in a feature set on this store (None without a site)."""
    if not site:
        return None
    query = f"?{urlencode({'feature_set': feature_set})}" if feature_set else ""
    return f"{site.rstrip('/')}/api/terms/{quote(term, safe='')}{query}"


def term_plan(term: Mapping[str, Any], build: Mapping[str, Any],
              feature_set: Mapping[str, Any], maps: Mapping[str, bytes],
              options: Mapping[str, Any]) -> Plan:
    """The collection and images of a term's maps (Neurosynth's term-based meta-analysis).

    Parameters
    ----------
    term : mapping
        The term as the terms service describes it: ``term`` (its canonical name),
        ``expression`` (computed on demand), ``n_studies``.
    build : mapping
        The term-maps build (:func:`neurostore.services.terms.build_state`), succeeded.
    feature_set : mapping
        Its feature set (:func:`neurostore.services.terms.feature_set_state`).
    maps : mapping
        Map name -> the map as gzipped NIfTI.
    options : mapping
        As :func:`run_plan`'s.

    Returns
    -------
    Plan
    """
    name, build_id = term["term"], build["id"]
    what = "boolean expression of terms" if term["expression"] else "term"
    set_name = feature_set.get("name") or feature_set["id"]
    threshold = (build.get("parameters") or {}).get("threshold")
    weight = f"at least {threshold:g}" if isinstance(threshold, int | float) else "above zero"
    methods = (
        f"Term-based meta-analysis of the {what} '{name}' (Neurosynth's method): the "
        f"{term['n_studies']} studies whose weight for it in feature set {set_name} "
        f"({feature_set['id']}; {feature_set.get('weighting') or 'weights'} of "
        f"{feature_set.get('n_studies')} studies x {feature_set.get('n_terms')} terms) is "
        f"{weight}, compared with every other study of the feature set by MKDA chi-square "
        "tests of their peaks: the uniformity test (forward inference, desc-uniformity) and "
        "the association test (reverse inference, desc-association), each also FDR-corrected"
        f" (Benjamini-Hochberg). Term-maps build {build_id}.")
    page = term_page(options.get("site"), name, feature_set["id"])
    source = [f"Published from neurostore: the maps of {what} '{name}' of term-maps build "
              f"{build_id} (feature set {set_name})."]
    if page:
        source.append(f"Term: {page}")
    collection: dict[str, Any] = {
        "name": options.get("name") or (_clip(f"{what.capitalize()} '{name}' maps",
                                              NAME_LENGTH - 60)
                                        + f" ({_clip(set_name, 30)}, build {build_id})"),
        "description": "\n\n".join([methods, *source]),
        "private": bool(options.get("private", False)),
    }
    if page:
        collection["full_dataset_url"] = page
    images = []
    for map_name in sorted(maps):
        fields: dict[str, Any] = {
            "name": _clip(f"{name} {map_name}", NAME_LENGTH),
            "description": f"{map_name} map of the {what} '{name}' ({term['n_studies']} "
                           f"studies; feature set {set_name}, term-maps build {build_id}).",
            "map_type": map_type(map_name),
            "analysis_level": META_ANALYSIS_LEVEL,
            "modality": MODALITY,
        }
        if options.get("cognitive_paradigm_cogatlas"):
            fields["cognitive_paradigm_cogatlas"] = options["cognitive_paradigm_cogatlas"]
        images.append(ImageEntry(map_name, None, f"maps/{map_name}.nii.gz", fields,
                                 maps[map_name]))
    return Plan(collection, images, methods)


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 3].rstrip() + "..."


@dataclass(frozen=True)
class Target:
    """A thing to publish, resolved: its publication's key and how it is called.

    ``kind`` and ``source_id`` key its publication row; ``label`` names it in messages
    ("meta-analysis 3xK...", "term 'pain'"); ``filename``, ``title`` and ``upload`` are its
    bundle's file name, README title and how neurostore would upload it.
    """

    kind: str
    source_id: str
    label: str
    filename: str
    title: str
    upload: str
