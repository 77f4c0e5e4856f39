"""Term builds, from claim to result: feature sets, all term maps of one, text models.

:func:`execute` is what a worker (and ``manage.py terms build --inline``) runs for a
build id. It claims the build, computes in a scratch folder, puts each output file in the
content-addressed file store and records the result once; a failure is recorded on the
build with its reason. Nothing here imports the API.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.format import open_memmap
from scipy import sparse

from analysis.meta import CoordinateInputs, Mask
from analysis.termfiles import (
    load_weights,
    save_activation,
    save_foci,
    save_weights,
    weights_digest,
)
from analysis.terms import (
    DEFAULT_MAP,
    ActivationMatrix,
    TermMapMatrix,
    TermWeights,
    tfidf_from_counts,
    vectorize_texts,
)
from analysis.terms.chi2maps import count_maps
from analysis.textbuild import build_text_model
from neurostore.services.registry import Services
from neurostore.vocabulary import TermBuildKind

#: Progress callback of a build: (stage, done, total).
Progress = Callable[[str, int, int], None]


class BuildError(ValueError):
    """A build that cannot be done with what the store holds (no coordinates, no texts)."""


def _read_ids(path: Path) -> list[str]:
    """The ``id`` column of a (gzipped) TSV, quote-aware (a title may hold a newline)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8")), delimiter="\t")
    if reader.fieldnames is None or "id" not in reader.fieldnames:
        raise BuildError("ids: the table has no 'id' column")
    return [row["id"].strip() for row in reader]


def _vocabulary(path: Path) -> list[str]:
    terms = [t.strip() for t in path.read_text(encoding="utf-8").splitlines() if t.strip()]
    if not terms:
        raise BuildError("vocabulary: the file holds no term")
    return terms


def features_from_matrix(services: Services, params: dict[str, Any],
                         progress: Progress) -> tuple[TermWeights, dict[str, Any]]:
    """A release's studies x terms matrix (scipy sparse ``.npz``), rows named by PMID, over
    the store's base studies: counts weighted by NeuroQuery's tf-idf, or values as given
    (a released tf-idf). Rows whose PMID no base study has are left out."""
    files = services.terms.files
    try:
        counts = sparse.load_npz(files.path(params["files"]["matrix"])).tocsr()
    except (ValueError, OSError) as exc:
        raise BuildError(f"matrix: not a scipy sparse .npz file ({exc})") from exc
    pmids = _read_ids(files.path(params["files"]["ids"]))
    terms = _vocabulary(files.path(params["files"]["vocabulary"]))
    if counts.shape != (len(pmids), len(terms)):
        raise BuildError(f"matrix: shape {counts.shape} does not match {len(pmids)} ids x "
                         f"{len(terms)} terms")
    progress("matching studies", 0, len(pmids))
    found = services.texts.base_studies_by_pmid(sorted(set(pmids)))
    keep, ids, seen = [], [], set()
    for row, pmid in enumerate(pmids):
        study = found.get(pmid)
        if study is not None and study not in seen:
            keep.append(row)
            ids.append(study)
            seen.add(study)
    if not keep:
        raise BuildError("no row of the matrix names the PMID of a base study in the store")
    matrix = counts[np.asarray(keep)]
    if params["weighting"] == "tfidf":
        weighted = tfidf_from_counts(counts)[np.asarray(keep)]
    else:
        weighted = matrix.astype(np.float64)
    progress("matching studies", len(pmids), len(pmids))
    return TermWeights.from_matrix(weighted, ids, terms), {
        "from": "matrix", "rows": len(pmids), "matched": len(keep),
        "unmatched": len(pmids) - len(keep)}


def features_from_texts(services: Services, params: dict[str, Any],
                        progress: Progress) -> tuple[TermWeights, dict[str, Any]]:
    """The store's texts (titles, abstracts, keywords) as tf-idf on a vocabulary."""
    ids, texts = [], []
    for study, body in services.texts.corpus(params["kinds"]):
        ids.append(study)
        texts.append(body)
    if not ids:
        raise BuildError("the store holds no texts to build features from")
    progress("vectorizing", 0, len(ids))
    features = vectorize_texts(texts, services.terms.files.path(params["files"]["vocabulary"]))
    progress("vectorizing", len(ids), len(ids))
    return TermWeights.from_matrix(features.tfidf, ids, features.terms), {
        "from": "texts", "kinds": params["kinds"], "studies": len(ids)}


def build_features(services: Services, build: dict[str, Any], progress: Progress,
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A feature set: its row (content-addressed) and the build's result."""
    params = build["parameters"]
    make = features_from_matrix if params["from"] == "matrix" else features_from_texts
    weights, origin = make(services, params, progress)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "features.npz"
        save_weights(weights, path)
        file = services.terms.files.put_file(path, ".npz")
    digest = weights_digest(weights)
    built_from = {**origin, "files": params["files"], "weighting": params["weighting"],
                  "tool": params.get("tool")}
    row = {"id": digest, "name": params["name"], "vocabulary": params["vocabulary"],
           "weighting": params["weighting"], "n_studies": len(weights.study_ids),
           "n_terms": len(weights.terms), "nnz": int(weights.weights.nnz), "file": file,
           "built_from": built_from, "created_by": build["user"]}
    return {"feature_set": digest, "files": {"weights": file}, **origin}, row


def _inputs(services: Services, weights: TermWeights, prefer: str | None) -> CoordinateInputs:
    rows = services.terms.coordinates(list(weights.study_ids), prefer=prefer)
    if not rows:
        raise BuildError("no study of the feature set has coordinates in the store")
    ids, x, y, z, space = zip(*rows, strict=True)
    spaces = ["TAL" if s == "TAL" else "MNI" for s in space]
    return CoordinateInputs.from_table(ids, x, y, z, space=spaces)


def build_term_maps(services: Services, build: dict[str, Any], progress: Progress,
                    ) -> dict[str, Any]:
    """Every term's activation counts (its maps follow from them) and its standardised
    association z map (for decoding), over the feature set's studies with coordinates."""
    params = build["parameters"]
    files = services.terms.files
    feature_set = services.terms.feature_set(build["feature_set"])
    weights = load_weights(files.path(feature_set["file"]))
    inputs = _inputs(services, weights, params.get("source"))
    mask = Mask.default()
    activation = ActivationMatrix.build(
        inputs, mask, progress=lambda done, total: progress("activation", done, total))
    without_coordinates = len(weights.study_ids) - activation.n_studies
    weights = weights.reindex(activation.study_ids)
    indicator = weights.indicator(params["threshold"])
    n_selected = np.diff(indicator.indptr)
    todo = np.flatnonzero((n_selected >= params["min_studies"])
                          & (n_selected < activation.n_studies))
    listed = [{"term": t, "n_studies": int(n), "row": None}
              for t, n in zip(weights.terms, n_selected, strict=True)]
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        counts = open_memmap(scratch / "counts.npy", mode="w+", dtype=np.uint16,
                             shape=(todo.size, activation.n_voxels))
        decoding = open_memmap(scratch / "decoding.npy", mode="w+", dtype=np.float32,
                               shape=(todo.size, activation.n_voxels))

        def association() -> Any:
            for row, term in enumerate(todo):
                studies = indicator.indices[indicator.indptr[term]:indicator.indptr[term + 1]]
                counts1 = activation.count(studies)
                counts[row] = counts1
                listed[term]["row"] = row
                yield count_maps(counts1, int(n_selected[term]), activation)[DEFAULT_MAP]
                progress("term maps", row + 1, int(todo.size))

        TermMapMatrix.from_maps([weights.terms[t] for t in todo], association(),
                                activation.n_voxels, out=decoding)
        counts.flush()
        decoding.flush()
        save_activation(activation, scratch / "activation.npz")
        save_foci(inputs, scratch / "foci.npz")
        (scratch / "terms.json").write_text(json.dumps(
            {"threshold": params["threshold"], "terms": listed}))
        stored = {name: files.put_file(scratch / f"{name}{suffix}", suffix)
                  for name, suffix in (("counts", ".npy"), ("decoding", ".npy"),
                                       ("activation", ".npz"), ("foci", ".npz"),
                                       ("terms", ".json"))}
    stored["weights"] = feature_set["file"]
    return {"files": stored, "n_studies": activation.n_studies,
            "n_studies_without_coordinates": without_coordinates,
            "n_terms": len(listed), "n_terms_built": int(todo.size),
            "min_studies": params["min_studies"], "threshold": params["threshold"],
            "mask": mask.description(), "map": DEFAULT_MAP}


def execute(services: Services, build_id: str, *, progress: Progress | None = None) -> None:
    """Run one build (a no-op for a finished one); failures are recorded, then raised."""
    claimed = services.terms.claim(build_id)
    if claimed is None:
        return
    token, build = claimed

    def report(stage: str, done: int, total: int) -> None:
        services.terms.report(build_id, token, {"stage": stage, "done": done, "total": total})
        if progress is not None:
            progress(stage, done, total)

    try:
        if build["kind"] == TermBuildKind.FEATURES:
            result, feature_set = build_features(services, build, report)
            services.terms.finish(build_id, token, result, feature_set=feature_set)
        elif build["kind"] == TermBuildKind.TERM_MAPS:
            services.terms.finish(build_id, token, build_term_maps(services, build, report))
        else:
            services.terms.finish(build_id, token, build_text_model(services, build, report))
    except Exception as exc:
        services.terms.fail(build_id, token, f"{type(exc).__name__}: {exc}"
                            if not isinstance(exc, BuildError) else str(exc))
        raise
