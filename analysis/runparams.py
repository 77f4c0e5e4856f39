"""The parameters of a run spec: each one's type, default, and allowed range or choices,
as :mod:`analysis.runspec` checks them and the API and CLI list them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SEED_MAX = 2**32 - 1


@dataclass(frozen=True)
class Param:
    """One parameter: its type, default, and allowed range or choices."""

    name: str
    kind: type
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    nullable: bool = False
    description: str = ""

    def check(self, value: Any) -> Any:
        """Return the value (ints given for floats become floats) or raise ValueError."""
        if value is None:
            if self.nullable:
                return None
            raise ValueError("must not be null")
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ValueError("must be true or false")
            return value
        if self.kind is str:
            if value not in self.choices:
                raise ValueError(f"must be one of {', '.join(self.choices)}, not {value!r}")
            return value
        if self.kind is int and isinstance(value, float) and value.is_integer():
            # JSON Schema's integers include 3.0.
            value = int(value)
        numeric = (int,) if self.kind is int else (int, float)
        if isinstance(value, bool) or not isinstance(value, numeric):
            raise ValueError(f"must be {'an integer' if self.kind is int else 'a number'}")
        if not (self.low <= value <= self.high):
            raise ValueError(f"must be between {self.low:g} and {self.high:g}, not {value!r}")
        return self.kind(value)

    def json_schema(self) -> dict[str, Any]:
        """The values :meth:`check` accepts, as JSON Schema."""
        if self.kind is bool:
            out: dict[str, Any] = {"type": "boolean"}
        elif self.kind is str:
            out = {"type": "string", "enum": list(self.choices)}
        else:
            out = {"type": "integer" if self.kind is int else "number",
                   "minimum": self.low, "maximum": self.high}
        if self.nullable:
            out["type"] = [out["type"], "null"]
            if self.choices:
                out["enum"].append(None)
        return {**out, "default": self.default, "description": self.description}

    def as_json(self) -> dict[str, Any]:
        """The parameter as the API lists it."""
        out: dict[str, Any] = {"name": self.name, "type": self.kind.__name__,
                               "default": self.default, "nullable": self.nullable,
                               "description": self.description}
        if self.choices:
            out["choices"] = list(self.choices)
        if self.low is not None:
            out.update(minimum=self.low, maximum=self.high)
        return out


NULL = Param("null", str, "approximate", choices=("approximate", "montecarlo"),
             description="null model of the uncorrected p-values")
NULL_ITERS = Param("null_iters", int, 1000, 10, 100_000,
                   description="random datasets of a Monte Carlo null")
SEED = Param("seed", int, 0, 0, SEED_MAX, description="seed of random draws")
UNKNOWN_SPACE = Param("unknown_space", str, "MNI", choices=("MNI", "TAL"),
                      description="space assumed for peaks whose space is not recorded")
RADIUS = Param("r", float, 10.0, 1.0, 50.0, description="sphere radius in mm")
VALUE = Param("value", float, 1.0, 1e-6, 1e6, description="value inside a sphere")
LIKELIHOOD = Param("method", str, "ml", choices=("ml", "reml"),
                   description="maximum or restricted maximum likelihood")
TWO_SIDED = Param("two_sided", bool, True,
                  description="test for an effect in either direction (false: positive only)")
