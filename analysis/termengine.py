"""The terms engine the store reads through (:class:`neurostore.plugins.TermsEngine`).

A term-maps build's files (weights, activation matrix, per-term activation counts, the
standardised association maps, the foci) are loaded once per process and memory-mapped
where they are large; a term's maps are recomputed from its counts in milliseconds (every
map of a term depends only on how many of its studies activate each voxel), and an
expression's counts are kept in a small LRU cache, so asking twice costs one count.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from nilearn.image import resample_to_img

from analysis.meta import Mask
from analysis.pictures import background, draw
from analysis.termfiles import load_activation, load_foci, load_weights
from analysis.termparams import check
from analysis.terms import (
    DEFAULT_MAP,
    MAP_NAMES,
    ActivationMatrix,
    ExpressionError,
    TermMapMatrix,
    TermsInputError,
    TermWeights,
    brainmap_decode,
    masked_values,
    neurosynth_decode,
    studies_in_mask,
    studies_near,
)
from analysis.terms.chi2maps import FDR_SUFFIX, count_maps
from analysis.terms.expressions import And, Or, Term
from analysis.textbuild import query_model
from neurostore.plugins import SpecInvalid

#: Expressions whose activation counts are kept per loaded build.
EXPRESSION_CACHE = 64
#: Loaded builds kept per process.
BUILD_CACHE = 2
#: FDR-corrected p below which a term map's picture shows a voxel (Neurosynth's level).
PICTURE_ALPHA = 0.01
#: Terms a decoding or a related-terms list returns by default.
TOP = 20


def _named_terms(node: Any) -> list[int]:
    """The terms an expression selects by (those under no NOT)."""
    if isinstance(node, Term):
        return [node.index]
    if isinstance(node, And | Or):
        return [i for operand in node.operands for i in _named_terms(operand)]
    return []


def nifti_from_bytes(data: bytes, field_name: str) -> nib.Nifti1Image:
    """A NIfTI image from an upload (gzipped or not), or :class:`SpecInvalid`."""
    try:
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        img = nib.Nifti1Image.from_bytes(data)
        np.asanyarray(img.dataobj[(0,) * len(img.shape)])
    except Exception as exc:  # noqa: BLE001 - any failure to read is a bad upload
        raise SpecInvalid({field_name: f"not a readable NIfTI-1 image ({exc})"}) from exc
    if len(img.shape) == 4 and img.shape[3] == 1:
        img = nib.Nifti1Image(np.asanyarray(img.dataobj)[..., 0], img.affine, img.header)
    if len(img.shape) != 3:
        raise SpecInvalid({field_name: f"expected a 3D image, got shape {img.shape}"})
    return img


@dataclass(eq=False)
class LoadedBuild:
    """One term-maps build's files, loaded."""

    weights: TermWeights
    activation: ActivationMatrix
    counts: np.ndarray
    decoding: TermMapMatrix
    listed: list[dict[str, Any]]
    foci_path: Path
    threshold: float
    mask: Mask = field(default_factory=Mask.default)
    _expressions: OrderedDict = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, files: Mapping[str, Path]) -> LoadedBuild:
        """Read a build's files (the large ones memory-mapped)."""
        activation = load_activation(files["activation"])
        table = json.loads(Path(files["terms"]).read_text())
        listed = table["terms"]
        built = [t["term"] for t in sorted((t for t in listed if t["row"] is not None),
                                           key=lambda t: t["row"])]
        decoding = TermMapMatrix(tuple(built), np.load(files["decoding"], mmap_mode="r"))
        return cls(load_weights(files["weights"]).reindex(activation.study_ids), activation,
                   np.load(files["counts"], mmap_mode="r"), decoding, listed,
                   Path(files["foci"]), float(table["threshold"]))

    @cached_property
    def foci(self) -> Any:
        """The foci of the build's studies (for decoding regions)."""
        return load_foci(self.foci_path)

    @cached_property
    def indicator(self) -> Any:
        """Terms x studies selections at the build's threshold."""
        return self.weights.indicator(self.threshold)

    @cached_property
    def rows(self) -> dict[str, int]:
        """Row of each built term in the counts and decoding matrices."""
        return {t["term"]: t["row"] for t in self.listed if t["row"] is not None}

    def selection(self, query: str) -> tuple[str, np.ndarray, list[int], np.ndarray]:
        """(canonical name, counts per voxel, terms named, selected studies) of a query."""
        query = query.strip()
        if not query:
            raise SpecInvalid({"term": "a term or an expression is required"})
        try:
            node = self.weights.parse(query)
        except ExpressionError as exc:
            raise SpecInvalid({"term": str(exc)}) from exc
        named = _named_terms(node)
        selected = self.weights.select(query, self.threshold)
        if isinstance(node, Term):
            name = self.weights.terms[node.index]
            if name in self.rows:
                return name, np.asarray(self.counts[self.rows[name]]), named, selected
        else:
            name = query
        n1 = int(selected.sum())
        if not 0 < n1 < self.activation.n_studies:
            raise SpecInvalid({"term": f"{query!r} selects {n1} of "
                               f"{self.activation.n_studies} studies; its maps need at "
                               "least one study in and one out"})
        key = " ".join(query.split())
        with self._lock:
            if key in self._expressions:
                self._expressions.move_to_end(key)
                return name, self._expressions[key], named, selected
        counts1 = self.activation.count(np.flatnonzero(selected))
        with self._lock:
            self._expressions[key] = counts1
            while len(self._expressions) > EXPRESSION_CACHE:
                self._expressions.popitem(last=False)
        return name, counts1, named, selected

    def maps(self, query: str) -> tuple[str, dict[str, np.ndarray], list[int], np.ndarray]:
        """Every map of a query, from its counts."""
        name, counts1, named, selected = self.selection(query)
        return name, count_maps(counts1, int(selected.sum()), self.activation), named, selected


class TermEngine:
    """Loads builds on first use and answers the store's term-based reads."""

    def __init__(self, cache_size: int = BUILD_CACHE) -> None:
        self._loaded: OrderedDict[tuple, LoadedBuild] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()

    def check(self, kind: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """A build's parameters, normalised (see :mod:`analysis.termparams`)."""
        return check(kind, parameters)

    def _build(self, files: Mapping[str, Path]) -> LoadedBuild:
        key = tuple(sorted((k, str(v)) for k, v in files.items()))
        with self._lock:
            if key in self._loaded:
                self._loaded.move_to_end(key)
                return self._loaded[key]
        loaded = LoadedBuild.load(files)
        with self._lock:
            self._loaded[key] = loaded
            while len(self._loaded) > self._size:
                self._loaded.popitem(last=False)
        return loaded

    def terms(self, files: Mapping[str, Path]) -> list[dict[str, Any]]:
        """Every term: its number of studies and whether its maps were built."""
        return [{"term": t["term"], "n_studies": t["n_studies"], "maps": t["row"] is not None}
                for t in self._build(files).listed]

    def describe(self, files: Mapping[str, Path], query: str, *, top: int) -> dict[str, Any]:
        """A term or expression: its studies (top by summed weight of the terms it names),
        the names of its maps, and the terms whose association maps correlate best."""
        build = self._build(files)
        name, maps, named, selected = build.maps(query)
        studies = np.flatnonzero(selected)
        score = np.asarray(build.weights.weights[studies][:, named].sum(axis=1)).ravel() \
            if named else np.zeros(studies.size)
        order = np.argsort(-score, kind="stable")[:top]
        r = build.decoding.correlate(maps[DEFAULT_MAP])
        ranked = np.argsort(np.where(np.isnan(r), np.inf, -r), kind="stable")
        related = [{"term": build.decoding.terms[i], "r": float(r[i])} for i in ranked
                   if build.decoding.terms[i] != name][:top]
        return {"term": name, "expression": name not in build.rows,
                "n_studies": int(selected.sum()), "maps": list(MAP_NAMES),
                "top_studies": [{"id": build.activation.study_ids[studies[i]],
                                 "weight": float(score[i])} for i in order],
                "related_terms": related}

    def map_image(self, files: Mapping[str, Path], query: str, name: str, *,
                  picture: bool = False) -> bytes:
        """One map of a term or expression as gzipped NIfTI, or as a PNG of its slices with
        the voxels whose FDR-corrected p is below :data:`PICTURE_ALPHA` (z maps only)."""
        if name not in MAP_NAMES:
            raise SpecInvalid({"map": f"unknown map {name!r}; one of {', '.join(MAP_NAMES)}"})
        build = self._build(files)
        shown, maps, _, _ = build.maps(query)
        if not picture:
            img = build.mask.to_image(maps[name])
            return gzip.compress(img.to_bytes(), compresslevel=6, mtime=0)
        if not name.startswith("z_"):
            raise SpecInvalid({"map": "pictures are drawn of z maps"})
        test = name.removeprefix("z_").removesuffix(FDR_SUFFIX)
        mask = build.mask
        p = mask.unmask(maps[f"p_{test}{FDR_SUFFIX}"].astype(np.float64), fill=1.0)
        png, _ = draw(mask.unmask(maps[name].astype(np.float64)),
                      (p < PICTURE_ALPHA) & mask.data, background(mask), mask.data,
                      mask.affine, f"{shown}: {name}, FDR p < {PICTURE_ALPHA:g}", glass=False)
        return png

    def decode(self, files: Mapping[str, Path], request: Mapping[str, Any]) -> dict[str, Any]:
        """Continuous decoding of an image, or discrete decoding of a region."""
        build = self._build(files)
        top = request.get("top", TOP)
        if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 1000:
            raise SpecInvalid({"top": "expected an integer from 1 to 1000"})
        if request.get("image") is not None:
            return self._correlate(build, nifti_from_bytes(request["image"], "image"), top)
        method = request.get("method") or "neurosynth"
        if method not in ("neurosynth", "brainmap"):
            raise SpecInvalid({"method": "must be neurosynth or brainmap"})
        if request.get("roi") is not None:
            roi = nifti_from_bytes(request["roi"], "roi")
            try:
                selected = studies_in_mask(build.foci, roi)
            except TermsInputError as exc:
                raise SpecInvalid({"roi": str(exc)}) from exc
        elif request.get("coordinates") is not None:
            xyz = _coordinates(request["coordinates"])
            radius = _radius(request.get("radius", 6.0))
            selected = studies_near(build.foci, xyz, radius)
        else:
            raise SpecInvalid({"_schema": "give an image, a roi, or coordinates and a radius"})
        n_selected = int(selected.sum())
        if n_selected == 0:
            raise SpecInvalid({"_schema": "no study of the build reports a focus in the region"})
        if method == "neurosynth":
            table = neurosynth_decode(build.indicator, build.weights.terms, selected)
        else:
            table = brainmap_decode(build.indicator, build.weights.terms, selected,
                                    build.foci.foci_per_experiment)
        ranked = table.ranked("probReverse")[:top]
        index = {t: i for i, t in enumerate(table.terms)}
        terms = [{"term": t, **{c: _finite(v[index[t]]) for c, v in table.columns.items()}}
                 for t, _ in ranked]
        studies = [{"id": build.foci.experiment_ids[i]} for i in np.flatnonzero(selected)[:top]]
        return {"method": method, "n_studies_selected": n_selected, "terms": terms,
                "studies": studies}

    def _correlate(self, build: LoadedBuild, img: nib.Nifti1Image, top: int) -> dict[str, Any]:
        mask = build.mask
        if img.shape != mask.shape or not np.allclose(img.affine, mask.affine, atol=1e-3):
            img = resample_to_img(img, mask.img, interpolation="continuous",
                                  force_resample=True, copy_header=True)
        values = np.nan_to_num(masked_values(img, mask), nan=0.0, posinf=0.0, neginf=0.0)
        if not np.any(values != values[0]):
            raise SpecInvalid({"image": "the image is constant inside the brain mask"})
        decoded = build.decoding.decode(values)[:top]
        return {"method": "correlation", "map": DEFAULT_MAP,
                "terms": [{"term": t, "r": _finite(r)} for t, r in decoded]}

    def study_features(self, weights: Path, study_id: str, *, top: int) -> list[dict[str, Any]]:
        """A study's heaviest terms (none when the feature set does not hold the study)."""
        loaded = _weights(str(weights))
        row = loaded.row_of.get(study_id)
        if row is None:
            return []
        values = loaded.weights.weights[row]
        order = np.argsort(-values.data, kind="stable")[:top]
        return [{"term": loaded.weights.terms[values.indices[i]], "weight": float(values.data[i])}
                for i in order]

    def text_query(self, files: Mapping[str, Path], text: str, *, top: int) -> dict[str, Any]:
        """A text-to-brain prediction (see :mod:`analysis.textbuild`)."""
        return query_model(files, text, top=top)


@dataclass(frozen=True, eq=False)
class _Features:
    weights: TermWeights
    row_of: dict[str, int]


@lru_cache(maxsize=BUILD_CACHE)
def _weights(path: str) -> _Features:
    weights = load_weights(path)
    return _Features(weights, {s: i for i, s in enumerate(weights.study_ids)})


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _coordinates(value: Any) -> np.ndarray:
    try:
        xyz = np.asarray(value, dtype=np.float64).reshape(-1, 3)
    except (TypeError, ValueError) as exc:
        raise SpecInvalid({"coordinates": "expected [x, y, z] or a list of them, in mm"}) \
            from exc
    if xyz.size == 0 or not np.isfinite(xyz).all() or np.abs(xyz).max() > 200:
        raise SpecInvalid({"coordinates": "expected finite MNI coordinates within 200 mm"})
    return xyz


def _radius(value: Any) -> float:
    try:
        radius = float(value)
    except (TypeError, ValueError) as exc:
        raise SpecInvalid({"radius": "expected a number of mm"}) from exc
    if not 0 < radius <= 50:
        raise SpecInvalid({"radius": "must be more than 0 and at most 50 mm"})
    return radius
