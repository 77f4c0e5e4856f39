"""Coordinate spaces: names, and what counts as a plausible MNI coordinate.

Plausibility uses the field of view of the MNI152 template grid that FSL, SPM and
NiMARE share (91 x 109 x 91 voxels at 2 mm): x -90..90, y -126..90, z -72..108 mm.
That box already holds the whole head, not just the brain, so a reported peak
further than ``DEFAULT_MARGIN_MM`` outside it cannot be a brain location, even after
allowing for normalisation error and rounding. In the NeuroQuery release this
flags 204 of 469,260 peaks (in 68 papers), e.g. x = 149 or y = 141: almost always
extraction errors (a column of cluster sizes or statistics read as a coordinate).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from neurostore.vocabulary import POINT_SPACE_ALIASES, PointSpace

MNI_BOX_MM = ((-90.0, 90.0), (-126.0, 90.0), (-72.0, 108.0))
DEFAULT_MARGIN_MM = 10.0



def normalise_space(label: str | None) -> str | None:
    """Map a coordinate-space label to ``"MNI"``, ``"TAL"``, ``"UNKNOWN"`` or None.

    Parameters
    ----------
    label : str or None
        A label as sources write it: ``"MNI"``, ``"Talairach"``, ``"TAL"``,
        ``"MNI152NLin2009cAsym"``, ``"UNKNOWN"``, ``""``.

    Returns
    -------
    str or None
        None for a missing or blank label; ``"MNI"`` for any MNI template name;
        ``"UNKNOWN"`` for a label that names no space we know.
    """
    if label is None or not label.strip():
        return None
    key = label.strip().upper()
    if key.startswith("MNI") or key == "ICBM152":
        return PointSpace.MNI.value
    return POINT_SPACE_ALIASES.get(key, PointSpace.UNKNOWN).value


def mni_box_excess(xyz: Sequence[float]) -> float:
    """How far (mm, largest over the three axes) a point lies outside the MNI box.

    Parameters
    ----------
    xyz : sequence of three floats
        The coordinate in mm.

    Returns
    -------
    float
        0.0 for a point inside the box, ``inf`` for a non-finite coordinate.
    """
    excess = 0.0
    for value, (low, high) in zip(xyz, MNI_BOX_MM, strict=True):
        if not math.isfinite(value):
            return math.inf
        excess = max(excess, low - value, value - high)
    return excess
