"""Coordinate search: peaks within a radius of an MNI location.

Talairach peaks are matched after conversion to MNI (the inverse of Lancaster's
icbm_other2tal); stored coordinates are never changed. Peaks in other or unknown spaces
are taken as MNI. The GiST index on the converted (x, y) finds candidates inside a circle,
then z and the exact 3-D distance are checked on those rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, func, literal, literal_column

from neurostore.models.search import MNI_X, MNI_XY_POINT, MNI_Y, MNI_Z, TAL_TO_MNI


def tal_to_mni(xyz: Sequence[float]) -> tuple[float, float, float]:
    """Convert one Talairach coordinate (mm) to MNI with the same matrix the index uses."""
    x, y, z = xyz
    return tuple(a * x + b * y + c * z + d for a, b, c, d in TAL_TO_MNI)  # type: ignore[return-value]


def within(x: float, y: float, z: float, radius: float) -> ColumnElement:
    """Condition on the ``points`` table: the peak lies within ``radius`` mm of (x, y, z).

    The GiST index finds the candidates; see :func:`near` for the same test row by row.
    """
    centre = func.point(literal(float(x)), literal(float(y)))
    circle = func.circle(centre, literal(float(radius)))
    return and_(literal_column(MNI_XY_POINT).op("<@")(circle), near(x, y, z, radius))


def near(x: float, y: float, z: float, radius: float) -> ColumnElement:
    """:func:`within` without its index condition: checks one study's few peaks without
    reading the GiST index (a search scanning studies in order checks them this way)."""
    mx, my, mz = (literal_column(f"({expr})") for expr in (MNI_X, MNI_Y, MNI_Z))
    squared = (mx - x) * (mx - x) + (my - y) * (my - y) + (mz - z) * (mz - z)
    return and_(mz.between(z - radius, z + radius), squared <= radius * radius)
