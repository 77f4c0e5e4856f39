"""NeuroQuery text-to-brain models: fitted from a feature set and the store's coordinates,
kept in the file store as one archive, and queried.

The model is the ``neuroquery`` package's own (:mod:`analysis.terms.textmodel`); its files
go into the file store as one tar archive written in a fixed order with fixed times, so
the same model is the same file. A process unpacks an archive once, into a folder named
by its hash, and keeps the loaded model for the next queries.
"""

from __future__ import annotations

import gzip
import shutil
import tarfile
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from analysis.meta.space import tal_to_mni
from analysis.termfiles import load_weights
from analysis.terms import TermsInputError, TextModel, fit_text_model
from neurostore.plugins import SpecInvalid
from neurostore.services.registry import Services

#: Loaded models kept per process.
MODEL_CACHE = 2
#: Answers kept per loaded model (the same text asked twice costs one prediction).
ANSWER_CACHE = 256

_models: OrderedDict[str, tuple[TextModel, OrderedDict]] = OrderedDict()
_lock = threading.Lock()


def _archive(directory: Path, target: Path) -> None:
    """Tar ``directory``'s files in name order, with no times or owners (reproducible)."""
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(directory)))
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with path.open("rb") as handle:
                tar.addfile(info, handle)


def build_text_model(services: Services, build: dict[str, Any],
                     progress: Callable[[str, int, int], None]) -> dict[str, Any]:
    """Fit NeuroQuery's model on a feature set's studies that have coordinates."""
    params = build["parameters"]
    files = services.terms.files
    feature_set = services.terms.feature_set(build["feature_set"])
    weights = load_weights(files.path(feature_set["file"]))
    rows = services.terms.coordinates(list(weights.study_ids), prefer=params.get("source"))
    if not rows:
        raise TermsInputError("no study of the feature set has coordinates in the store")
    index = {study: i for i, study in enumerate(weights.study_ids)}
    xyz = np.array([r[1:4] for r in rows], dtype=np.float64)
    tal = np.array([r[4] == "TAL" for r in rows])
    if tal.any():
        xyz[tal] = tal_to_mni(xyz[tal])
    study_index = np.array([index[r[0]] for r in rows], dtype=np.int64)
    model = fit_text_model(weights.weights, list(weights.terms), (study_index, xyz),
                           study_ids=weights.study_ids, voxel_size=params["voxel_size"],
                           fwhm=params["fwhm"], progress=progress)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "model"
        model.save(folder)
        _archive(folder, Path(scratch) / "model.tar")
        stored = files.put_file(Path(scratch) / "model.tar", ".tar")
    return {"files": {"model": stored}, "n_studies": len(model.study_ids),
            "dropped": {k: len(v) for k, v in model.dropped.items()},
            "voxel_size": params["voxel_size"], "fwhm": params["fwhm"]}


def _model(path: Path) -> tuple[TextModel, OrderedDict]:
    key = path.name
    with _lock:
        if key in _models:
            _models.move_to_end(key)
            return _models[key]
    folder = Path(tempfile.gettempdir()) / "neurostore-text-models" / key
    if not folder.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        # Unpacked beside, then renamed: another process never sees half an archive.
        unpacked = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".unpacking-"))
        with tarfile.open(path) as tar:
            tar.extractall(unpacked, filter="data")
        try:
            unpacked.rename(folder)
        except OSError:
            shutil.rmtree(unpacked)
    loaded = (TextModel.load(folder), OrderedDict())
    with _lock:
        _models[key] = loaded
        while len(_models) > MODEL_CACHE:
            _models.popitem(last=False)
    return loaded


def query_model(files: Mapping[str, Path], text: str, *, top: int) -> dict[str, Any]:
    """A model's answer to ``text``: the z map (gzipped NIfTI), terms, similar terms and
    studies; :class:`SpecInvalid` for a text with no term the model knows."""
    model, answers = _model(Path(files["model"]))
    key = (" ".join(text.split()).lower(), top)
    with _lock:
        if key in answers:
            answers.move_to_end(key)
            return dict(answers[key])
    try:
        found = model.query(text, n_terms=top, n_studies=top)
    except TermsInputError as exc:
        raise SpecInvalid({"text": str(exc)}) from exc
    answer = {"text": text, "map": gzip.compress(found["z_map"].to_bytes(), mtime=0),
              "terms": found["query_terms"], "similar_terms": found["similar_terms"],
              "similar_studies": found["similar_studies"]}
    with _lock:
        answers[key] = answer
        while len(answers) > ANSWER_CACHE:
            answers.popitem(last=False)
    return dict(answer)
