"""Meta-analysis run specifications: what can be asked for, checked before anything runs.

A spec names an estimator, its parameters, a correction and, optionally, how the results
are reported (which does not change any map)::

    {"estimator": "ALE", "parameters": {"fwhm": null},
     "correction": {"method": "montecarlo", "n_iters": 1000, "seed": 0},
     "report": {"min_cluster_size": 10}}

:func:`validate` checks it against the estimator table below and against what the
snapshot holds (:mod:`analysis.runinputs`), naming every bad field; :func:`build` turns a
valid spec into the engine's estimator object. Estimators, kernels, nulls and corrections
are the explicit classes of :mod:`analysis.meta`; this module only maps names to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from analysis import meta, rungroups
from analysis.runparams import (
    LIKELIHOOD,
    NULL,
    NULL_ITERS,
    RADIUS,
    SEED,
    TWO_SIDED,
    UNKNOWN_SPACE,
    VALUE,
    Param,
)
from neurostore.plugins import SpecInvalid


@dataclass(frozen=True)
class EstimatorSpec:
    """An estimator that can be requested by name.

    Attributes
    ----------
    name : str
    kind : str
        ``"coordinates"`` (CBMA) or ``"images"`` (IBMA).
    params : tuple of Param
    make : callable
        ``make(parameters, corrections) -> Estimator``.
    images : tuple of str
        Image types each experiment needs (IBMA).
    description : str
    pairwise : bool
        Compares two groups of experiments (:mod:`analysis.rungroups`); ``fit`` takes both.
    """

    name: str
    kind: str
    params: tuple[Param, ...]
    make: Callable[[dict[str, Any], list], Any]
    images: tuple[str, ...] = ()
    description: str = ""
    pairwise: bool = False

    def as_json(self) -> dict[str, Any]:
        """The estimator as the API lists it."""
        return {"name": self.name, "inputs": self.kind, "images": list(self.images),
                "groups": self.pairwise, "parameters": [p.as_json() for p in self.params],
                "corrections": list(corrections_for(self)), "description": self.description}


def _null(p: dict[str, Any]) -> Any:
    if p["null"] == "montecarlo":
        return meta.MonteCarloNull(n_iters=p["null_iters"], seed=p["seed"])
    return meta.ApproximateNull()


def _ale_kernel(p: dict[str, Any]) -> Any:
    return meta.ALEKernel(fwhm=p["fwhm"], sample_size=p["sample_size"])


def _ale(p: dict[str, Any], corrections: list) -> Any:
    return meta.ALE(_ale_kernel(p), _null(p), corrections=corrections)


def _ale_subtraction(p: dict[str, Any], corrections: list) -> Any:
    return meta.ALESubtraction(_ale_kernel(p), n_iters=p["n_iters"], seed=p["seed"],
                               corrections=corrections)


def _mkda_chi2(p: dict[str, Any], corrections: list) -> Any:
    return meta.MKDAChi2(meta.MKDAKernel(r=p["r"], value=p["value"]), prior=p["prior"],
                         corrections=corrections)


def _mkda(p: dict[str, Any], corrections: list) -> Any:
    return meta.MKDADensity(meta.MKDAKernel(r=p["r"], value=p["value"]), _null(p),
                            corrections=corrections)


def _kda(p: dict[str, Any], corrections: list) -> Any:
    return meta.KDA(meta.KDAKernel(r=p["r"], value=p["value"]), _null(p),
                    corrections=corrections)


_CBMA_COMMON = (NULL, NULL_ITERS, SEED, UNKNOWN_SPACE)
_ALE_KERNEL = (
    Param("fwhm", float, None, 1.0, 40.0, nullable=True,
          description="fixed kernel FWHM in mm (default: from each sample size)"),
    Param("sample_size", int, None, 1, 100_000, nullable=True,
          description="one sample size for every experiment's kernel"),
)

ESTIMATORS = {
    e.name: e
    for e in (
        EstimatorSpec("ALE", "coordinates", (*_ALE_KERNEL, *_CBMA_COMMON), _ale,
                      description="activation likelihood estimation"),
        EstimatorSpec("MKDADensity", "coordinates", (RADIUS, VALUE, *_CBMA_COMMON), _mkda,
                      description="multilevel kernel density analysis"),
        EstimatorSpec("KDA", "coordinates", (RADIUS, VALUE, *_CBMA_COMMON), _kda,
                      description="kernel density analysis"),
        EstimatorSpec(
            "MKDAChi2", "coordinates",
            (RADIUS, VALUE,
             Param("prior", float, 0.5, 1e-6, 1.0 - 1e-6, nullable=True,
                   description="prior probability of group 1 for the posterior maps "
                               "(null: none)"),
             UNKNOWN_SPACE),
            _mkda_chi2, pairwise=True,
            description="MKDA chi-square: group 1's uniformity and its association with "
                        "group 1 against group 2 (Neurosynth)"),
        EstimatorSpec(
            "ALESubtraction", "coordinates",
            (*_ALE_KERNEL,
             Param("n_iters", int, 5000, 10, 100_000,
                   description="random relabellings of the pooled experiments"),
             SEED, UNKNOWN_SPACE),
            _ale_subtraction, pairwise=True,
            description="ALE subtraction: group 1 minus group 2, by relabelling"),
        EstimatorSpec("Fishers", "images", (TWO_SIDED,),
                      lambda p, c: meta.Fishers(p["two_sided"], corrections=c),
                      ("z",), "Fisher's combination of z maps"),
        EstimatorSpec(
            "Stouffers", "images",
            (Param("use_sample_size", bool, False,
                   description="weight by the square root of sample size"), TWO_SIDED),
            lambda p, c: meta.Stouffers(p["use_sample_size"], p["two_sided"], corrections=c),
            ("z",), "Stouffer's combination of z maps"),
        EstimatorSpec(
            "WeightedLeastSquares", "images",
            (Param("tau2", float, 0.0, 0.0, 1e6, description="between-study variance"),),
            lambda p, c: meta.WeightedLeastSquares(p["tau2"], corrections=c),
            ("beta", "varcope"), "weighted least squares"),
        EstimatorSpec("DerSimonianLaird", "images", (),
                      lambda p, c: meta.DerSimonianLaird(corrections=c),
                      ("beta", "varcope"), "DerSimonian-Laird random effects"),
        EstimatorSpec("Hedges", "images", (), lambda p, c: meta.Hedges(corrections=c),
                      ("beta", "varcope"), "Hedges random effects"),
        EstimatorSpec("VarianceBasedLikelihood", "images", (LIKELIHOOD,),
                      lambda p, c: meta.VarianceBasedLikelihood(p["method"], corrections=c),
                      ("beta", "varcope"), "variance-based likelihood random effects"),
        EstimatorSpec("SampleSizeBasedLikelihood", "images", (LIKELIHOOD,),
                      lambda p, c: meta.SampleSizeBasedLikelihood(p["method"], corrections=c),
                      ("beta",), "sample-size-based likelihood random effects"),
        EstimatorSpec(
            "PermutedOLS", "images",
            (Param("n_perm", int, 1000, 1, 100_000, description="sign flips"), SEED),
            lambda p, c: meta.PermutedOLS(p["n_perm"], p["seed"], corrections=c),
            ("beta",), "ordinary least squares with sign-flipping permutations"),
    )
}

CORRECTIONS = {
    "none": (),
    "fdr": (Param("fdr_method", str, "indep", choices=("indep", "negcorr"),
                  description="Benjamini-Hochberg or Benjamini-Yekutieli"),),
    "bonferroni": (),
    "montecarlo": (Param("n_iters", int, 1000, 10, 100_000, description="random datasets"),
                   Param("voxel_thresh", float, 0.001, 1e-7, 0.05,
                         description="cluster-forming uncorrected p"),
                   SEED),
}

#: How results are reported, whatever the estimator and correction: nothing here changes a map.
REPORT = (Param("min_cluster_size", int, 1, 1, 1_000_000,
                description="smallest cluster listed in the cluster table, in voxels (the "
                            "minimum cluster extent; a 2 mm voxel is 8 mm3)"),)


def corrections_for(estimator: EstimatorSpec) -> tuple[str, ...]:
    """Correction methods an estimator supports (Monte Carlo FWE is CBMA only)."""
    if estimator.kind == "coordinates":
        return tuple(CORRECTIONS)
    return ("none", "fdr", "bonferroni")


def needs_sample_sizes(estimator: str, parameters: dict[str, Any]) -> bool:
    """Whether every experiment needs a sample size for these parameters."""
    if estimator in ("ALE", "ALESubtraction"):
        return parameters["fwhm"] is None and parameters["sample_size"] is None
    if estimator == "Stouffers":
        return parameters["use_sample_size"]
    return estimator == "SampleSizeBasedLikelihood"


def _params(given: Any, params: tuple[Param, ...], where: str,
            errors: dict[str, str]) -> dict[str, Any]:
    if given is None:
        given = {}
    if not isinstance(given, dict):
        errors[where] = "must be an object"
        return {}
    known = {p.name: p for p in params}
    for name in sorted(set(given) - set(known)):
        errors[f"{where}.{name}"] = (f"unknown parameter (known: {', '.join(known) or 'none'})")
    out = {}
    for p in params:
        try:
            out[p.name] = p.check(given.get(p.name, p.default))
        except ValueError as exc:
            errors[f"{where}.{p.name}"] = str(exc)
    return out


def _against_inputs(estimator: EstimatorSpec, parameters: dict[str, Any],
                    inputs: dict[str, Any]) -> dict[str, str]:
    """Why the snapshot cannot feed the estimator (empty when it can)."""
    if estimator.kind == "coordinates":
        n = inputs.get("with_coordinates", 0)
        if n == 0:
            return {"snapshot": f"has no analysis with peak coordinates; {estimator.name} "
                                "needs them"}
        missing = n - inputs.get("with_sample_size", 0)
        if missing and needs_sample_sizes(estimator.name, parameters):
            return {"snapshot": f"{missing} of {n} analyses with coordinates have no sample "
                                "size; ALE derives its kernel from it (add sample sizes, or "
                                "set parameters.fwhm or parameters.sample_size)"}
        return {}
    images = inputs.get("images", {})
    lacking = [t for t in estimator.images if images.get(t, 0) == 0]
    if lacking:
        return {"snapshot": f"has no analysis with a {' or '.join(lacking)} image in the file "
                            f"store; {estimator.name} needs {' and '.join(estimator.images)} "
                            "images"}
    if needs_sample_sizes(estimator.name, parameters) and not inputs.get("images_with_n", 0):
        return {"snapshot": f"no analysis with images has a sample size; {estimator.name} "
                            "needs them with these parameters"}
    return {}


def validate(spec: Any, inputs: dict[str, Any] | None, *, annotation: Any = None,
             snapshot_id: str = "", lookup: Callable[[str], Any] | None = None
             ) -> dict[str, Any]:
    """Check a spec and return it normalised (defaults filled in).

    Parameters
    ----------
    spec : dict
        ``estimator``, ``parameters``, ``correction``, ``report`` and, for a pairwise
        estimator, ``groups`` (other keys are ignored).
    inputs : dict or None
        What the snapshot holds (:func:`analysis.runinputs.InputsTally.as_json`); None
        skips those checks.
    annotation : dict, optional
        The annotation frozen with the snapshot (a column split of the groups reads it).
    snapshot_id : str, optional
        The snapshot's id (group 2 must be another one).
    lookup : callable, optional
        ``lookup(snapshot_id) -> inputs or None`` of the snapshots the requester may read,
        for group 2's snapshot; None skips that check.

    Returns
    -------
    dict
        ``{"estimator", "parameters", "correction", "report"}`` and, for a pairwise
        estimator, ``groups``.

    Raises
    ------
    SpecInvalid
        Naming each bad field (``estimator``, ``parameters.<name>``, ``correction.<name>``,
        ``report.<name>``, ``groups.<name>``, ``snapshot``).
    """
    if not isinstance(spec, dict):
        raise SpecInvalid({"_schema": "expected an object"})
    name = spec.get("estimator")
    estimator = ESTIMATORS.get(name) if isinstance(name, str) else None
    if estimator is None:
        raise SpecInvalid({"estimator": f"unknown estimator {name!r} (known: "
                                        f"{', '.join(ESTIMATORS)})"})
    errors: dict[str, str] = {}
    parameters = _params(spec.get("parameters"), estimator.params, "parameters", errors)
    correction_in = spec.get("correction") or {"method": "none"}
    correction: dict[str, Any] = {}
    if not isinstance(correction_in, dict):
        errors["correction"] = "must be an object with a method"
    else:
        method = correction_in.get("method", "none")
        allowed = corrections_for(estimator)
        if method not in allowed:
            errors["correction.method"] = (f"{estimator.name} supports {', '.join(allowed)}, "
                                           f"not {method!r}")
        else:
            rest = {k: v for k, v in correction_in.items() if k != "method"}
            correction = {"method": method,
                          **_params(rest, CORRECTIONS[method], "correction", errors)}
    report = _params(spec.get("report"), REPORT, "report", errors)
    groups, inputs2 = {}, None
    if estimator.pairwise:
        groups, inputs2 = rungroups.check(spec.get("groups"), annotation=annotation,
                                          snapshot_id=snapshot_id, lookup=lookup,
                                          errors=errors)
    elif spec.get("groups") is not None:
        pairwise = ", ".join(e.name for e in ESTIMATORS.values() if e.pairwise)
        errors["groups"] = f"{estimator.name} takes one group; two-group estimators: {pairwise}"
    if not errors and inputs is not None:
        errors.update(_against_inputs(estimator, parameters, inputs))
    if not errors and inputs2:
        errors.update({f"groups.{k}": v for k, v in
                       _against_inputs(estimator, parameters, inputs2).items()})
    if errors:
        raise SpecInvalid(errors)
    out = {"estimator": estimator.name, "parameters": parameters, "correction": correction,
           "report": report}
    return {**out, "groups": groups} if estimator.pairwise else out


def report_options(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec's report options with their defaults.

    Parameters
    ----------
    spec : dict
        A validated run spec (runs queued before report options existed have none).

    Returns
    -------
    dict
        Every :data:`REPORT` option, given or default.
    """
    given = spec.get("report") or {}
    return {p.name: given.get(p.name, p.default) for p in REPORT}


def build(spec: dict[str, Any], *, cache: Any = None) -> Any:
    """The engine estimator of a validated spec.

    Parameters
    ----------
    spec : dict
        As returned by :func:`validate`.
    cache : NullCache, optional
        Where Monte Carlo FWE nulls are cached.
    """
    correction = spec["correction"]
    corrections: list = []
    if correction["method"] == "fdr":
        corrections.append(meta.FDRCorrection(correction["fdr_method"]))
    elif correction["method"] == "bonferroni":
        corrections.append(meta.BonferroniCorrection())
    elif correction["method"] == "montecarlo":
        corrections.append(meta.MonteCarloFWE(n_iters=correction["n_iters"],
                                              voxel_thresh=correction["voxel_thresh"],
                                              seed=correction["seed"], cache=cache))
    return ESTIMATORS[spec["estimator"]].make(spec["parameters"], corrections)
