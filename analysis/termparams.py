"""The parameters of each kind of term build: checked, with defaults filled in.

A build's parameters are stored on its row and are all a worker has, so they are checked
when the build is asked for: an unknown name, a wrong type or an out-of-range value is
refused with :class:`~neurostore.plugins.SpecInvalid` naming the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.terms import DEFAULT_THRESHOLD
from neurostore.plugins import SpecInvalid
from neurostore.vocabulary import TermBuildKind, TextKind, values

#: Default smallest number of studies of a term whose maps are built.
DEFAULT_MIN_STUDIES = 50
#: Text kinds a feature set is built from by default.
DEFAULT_KINDS = ("title", "abstract", "keywords")
#: Files (by content-addressed name) each way of building features needs.
FEATURE_FILES = {"matrix": ("matrix", "ids", "vocabulary"), "texts": ("vocabulary",)}
#: How a matrix's values become weights: NeuroQuery's tf-idf of counts, or as given.
WEIGHTINGS = ("tfidf", "none")

_ALLOWED = {
    TermBuildKind.FEATURES: {"name", "from", "vocabulary", "files", "weighting", "kinds",
                             "tool"},
    TermBuildKind.TERM_MAPS: {"feature_set", "min_studies", "threshold", "source"},
    TermBuildKind.TEXT_MODEL: {"feature_set", "voxel_size", "fwhm", "source"},
}


def _string(params: Mapping[str, Any], name: str, *, default: str | None = None,
            limit: int = 128) -> str | None:
    value = params.get(name, default)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise SpecInvalid({name: f"expected a non-empty string of at most {limit} characters"})
    return value.strip()


def _number(params: Mapping[str, Any], name: str, default: float, low: float, high: float,
            *, integer: bool = False) -> float | int:
    value = params.get(name, default)
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise SpecInvalid({name: f"expected {'an integer' if integer else 'a number'}"})
    if not low <= value <= high:
        raise SpecInvalid({name: f"must be from {low:g} to {high:g}"})
    return value


def _features(params: Mapping[str, Any]) -> dict[str, Any]:
    origin = params.get("from", "texts")
    if origin not in FEATURE_FILES:
        raise SpecInvalid({"from": "must be matrix or texts"})
    files = params.get("files")
    if not isinstance(files, Mapping):
        raise SpecInvalid({"files": "expected an object of stored file names"})
    needed = FEATURE_FILES[origin]
    missing = [n for n in needed if not isinstance(files.get(n), str) or not files.get(n)]
    if missing or set(files) - set(needed):
        raise SpecInvalid({"files": f"features from {origin} need exactly the files "
                                    f"{', '.join(needed)}"})
    weighting = params.get("weighting", "tfidf")
    if weighting not in WEIGHTINGS or (origin == "texts" and weighting != "tfidf"):
        raise SpecInvalid({"weighting": "must be tfidf, or none (values as given) for a "
                                        "matrix"})
    kinds = params.get("kinds", list(DEFAULT_KINDS))
    if (not isinstance(kinds, list) or not kinds
            or any(k not in values(TextKind) for k in kinds)):
        raise SpecInvalid({"kinds": f"expected a list of {', '.join(values(TextKind))}"})
    name = _string(params, "name")
    if name is None:
        raise SpecInvalid({"name": "a name is required"})
    return {"name": name, "from": origin, "files": dict(files), "weighting": weighting,
            "vocabulary": _string(params, "vocabulary", default=name),
            "kinds": list(dict.fromkeys(kinds)) if origin == "texts" else None,
            "tool": _string(params, "tool")}


def check(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """A build's parameters, checked and with defaults.

    Raises
    ------
    SpecInvalid
        Naming the first bad parameter.
    """
    unknown = sorted(set(params) - _ALLOWED[TermBuildKind(kind)])
    if unknown:
        raise SpecInvalid({unknown[0]: f"unknown parameter; known: "
                                       f"{', '.join(sorted(_ALLOWED[TermBuildKind(kind)]))}"})
    if kind == TermBuildKind.FEATURES:
        return _features(params)
    checked: dict[str, Any] = {"feature_set": _string(params, "feature_set"),
                               "source": _string(params, "source", limit=64)}
    if kind == TermBuildKind.TERM_MAPS:
        checked["min_studies"] = _number(params, "min_studies", DEFAULT_MIN_STUDIES, 1, 10**6,
                                         integer=True)
        checked["threshold"] = float(_number(params, "threshold", DEFAULT_THRESHOLD, 1e-12, 1e6))
    else:
        checked["voxel_size"] = float(_number(params, "voxel_size", 4.0, 2.0, 10.0))
        checked["fwhm"] = float(_number(params, "fwhm", 9.0, 1.0, 30.0))
    return checked
