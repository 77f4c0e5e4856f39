"""Map the many spellings of an image's statistic to the store's ``value_type`` codes.

NeuroVault stores a code and shows a display label (``("T", "T map")``,
``("Pa", "parcellation")``, ...); its API returns the label. NIMADS files and
NiMARE write short lower-case names (``"beta"``, ``"se"``, ``"t"``, ``"varcope"``).
Codes follow NeuroVault's where it has one (``U`` univariate-beta, ``M``
multivariate-beta, ``R`` ROI/mask, ``PA`` parcellation, ``A`` anatomical).
"""

from __future__ import annotations

_BY_LABEL = {
    # NeuroVault display labels
    "t map": "T",
    "z map": "Z",
    "f map": "F",
    "chi squared map": "X2",
    "p map (given null hypothesis)": "P",
    '1-p map ("inverted" probability)': "IP",
    "multivariate-beta map": "M",
    "univariate-beta map": "U",
    "roi/mask": "R",
    "parcellation": "PA",
    "anatomical": "A",
    "variance": "VARIANCE",
    "other": "OTHER",
    # NeuroVault codes and NIMADS / NiMARE names
    "t": "T",
    "z": "Z",
    "f": "F",
    "x2": "X2",
    "p": "P",
    "ip": "IP",
    "m": "M",
    "u": "U",
    "r": "R",
    "pa": "PA",
    "a": "A",
    "v": "VARIANCE",
    "beta": "BETA",
    "se": "SE",
    "varcope": "VARCOPE",
}


def normalise_value_type(label: str | None) -> str | None:
    """Return the store's code for a statistic label, or None when there is no label.

    Parameters
    ----------
    label : str or None
        ``"T map"``, ``"P map (given null hypothesis)"``, ``"beta"``, ``"Z"``, ...

    Returns
    -------
    str or None
        ``"T"``, ``"Z"``, ``"F"``, ``"X2"``, ``"P"``, ``"IP"``, ``"BETA"``, ``"SE"``,
        ``"VARCOPE"``, ``"VARIANCE"``, ``"R"``, ``"M"``, ``"U"``, ``"PA"``, ``"A"``;
        ``"OTHER"`` for a label we do not know (callers keep the raw label).
    """
    if label is None or not label.strip():
        return None
    return _BY_LABEL.get(" ".join(label.lower().split()), "OTHER")
