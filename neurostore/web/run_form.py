"""The meta-analysis form, built from what the server offers.

Every control comes from the run catalogue (:meth:`AnalysisRunService.catalogue`): the
estimators, each one's parameters (type, default, range or choices), the corrections each
estimator takes and their parameters, and the report options. Nothing is copied by hand, so
an estimator or parameter added to the catalogue appears in the form, and the form sends
the spec the API takes (``POST /api/meta-analyses``), named field by field as the API names
its errors (``parameters.fwhm``, ``correction.n_iters``, ``report.min_cluster_size``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Labels of the correction methods (a method the catalogue adds later shows its own name).
METHOD_LABELS = {"none": "none (uncorrected)", "fdr": "false discovery rate",
                 "bonferroni": "Bonferroni", "montecarlo": "family-wise error by Monte Carlo"}


@dataclass(frozen=True)
class Field:
    """One control of the form, for one catalogue parameter.

    Attributes
    ----------
    name : str
        The spec's dotted field name (``parameters.fwhm``), also the form field's name.
    param : dict
        The catalogue's description of the parameter.
    """

    name: str
    param: Mapping[str, Any]

    @property
    def id(self) -> str:
        """The control's HTML id."""
        return self.name.replace(".", "-")

    @property
    def widget(self) -> str:
        """``checkbox``, ``select`` or ``number``."""
        if self.param["type"] == "bool":
            return "checkbox"
        return "select" if self.param.get("choices") else "number"

    @property
    def step(self) -> str:
        """The number input's step (any for floats)."""
        return "1" if self.param["type"] == "int" else "any"

    @property
    def help(self) -> str:
        """The parameter's description with its range and default, for people."""
        p = self.param
        parts = []
        if p.get("minimum") is not None:
            parts.append(f"{_number(p['minimum'])} to {_number(p['maximum'])}")
        if p["default"] is not None:
            parts.append(f"default {_number(p['default'])}")
        elif p["nullable"]:
            parts.append("blank: automatic")
        return p["description"] + (f" ({'; '.join(parts)})" if parts else "")

    def shown(self, form: Mapping[str, str]) -> Any:
        """The value to show: what was sent, else the default."""
        if self.name in form:
            return form[self.name]
        default = self.param["default"]
        return "" if default is None else default

    def parse(self, form: Mapping[str, str]) -> tuple[bool, Any]:
        """The value sent, as the spec takes it: ``(given, value)``.

        A blank number is the default (``given`` False); text that is not a number is
        passed on as it is, so the service names the field and says what it must be.
        """
        kind = self.param["type"]
        if kind == "bool":
            return True, form.get(self.name) == "true"
        raw = form.get(self.name, "").strip()
        if raw == "" or (raw == "none" and self.param["nullable"] and kind == "str"):
            return self.param["nullable"], None
        if kind == "str":
            return True, raw
        try:
            return True, int(raw) if kind == "int" and raw.lstrip("-").isdigit() else float(raw)
        except ValueError:
            return True, raw


@dataclass(frozen=True)
class RunForm:
    """The form of one estimator: its parameters, its corrections and the report options.

    Attributes
    ----------
    estimators : list of dict
        The catalogue's estimators (the choice of estimator).
    estimator : dict
        The chosen one.
    parameters : list of Field
    corrections : list of (method, label, list of Field)
        The methods this estimator takes, each with its own parameters.
    report : list of Field
    """

    estimators: list[dict[str, Any]]
    estimator: dict[str, Any]
    parameters: list[Field]
    corrections: list[tuple[str, str, list[Field]]]
    report: list[Field]

    @classmethod
    def build(cls, catalogue: Mapping[str, Any], name: str | None) -> RunForm | None:
        """The form of estimator ``name`` (the first one when not given or unknown); None
        when the server offers no estimators."""
        estimators = list(catalogue.get("estimators") or [])
        if not estimators:
            return None
        chosen = next((e for e in estimators if e["name"] == name), estimators[0])
        methods = catalogue.get("corrections") or {}
        return cls(
            estimators=estimators, estimator=chosen,
            parameters=[Field(f"parameters.{p['name']}", p) for p in chosen["parameters"]],
            corrections=[(m, METHOD_LABELS.get(m, m),
                          [Field(f"correction.{p['name']}", p) for p in methods.get(m, [])])
                         for m in chosen["corrections"]],
            report=[Field(f"report.{p['name']}", p) for p in catalogue.get("report") or []],
        )

    @property
    def pairwise(self) -> bool:
        """Whether the estimator compares two groups (the form asks for them)."""
        return bool(self.estimator.get("groups"))

    def spec(self, form: Mapping[str, str]) -> dict[str, Any]:
        """The run spec the form sends (without its snapshot), as the API takes it."""
        method = form.get("correction.method") or "none"
        fields = {m: f for m, _, f in self.corrections}
        spec = {"estimator": self.estimator["name"],
                "parameters": _filled(self.parameters, form),
                "correction": {"method": method, **_filled(fields.get(method, []), form)},
                "report": _filled(self.report, form)}
        if self.pairwise:
            spec["groups"] = _groups(form)
        return spec


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _filled(fields: list[Field], form: Mapping[str, str]) -> dict[str, Any]:
    """The values sent for ``fields`` by parameter name (blanks left to their defaults)."""
    out = {}
    for field in fields:
        given, value = field.parse(form)
        if given:
            out[field.param["name"]] = value
    return out


def _groups(form: Mapping[str, str]) -> dict[str, Any]:
    """Group 2 as a second snapshot, or both groups as a column of the annotation (with
    two values, or true and false)."""
    other = form.get("groups.snapshot", "").strip()
    if other:
        return {"snapshot": other}
    groups: dict[str, Any] = {"column": form.get("groups.column", "").strip()}
    values = [form.get(f"groups.values.{n}", "").strip() for n in (0, 1)]
    if any(values):
        groups["values"] = values
    return groups
