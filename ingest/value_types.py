"""Map the many spellings of an image's statistic to the store's ``value_type`` codes.

NeuroVault stores a code and shows a display label (``("T", "T map")``,
``("Pa", "parcellation")``, ...); its API returns the label. NIMADS files and
NiMARE write short lower-case names (``"beta"``, ``"se"``, ``"t"``, ``"varcope"``).
Codes follow NeuroVault's where it has one (``U`` univariate-beta, ``M``
multivariate-beta, ``R`` ROI/mask, ``PA`` parcellation, ``A`` anatomical); the spellings
are :data:`neurostore.vocabulary.VALUE_TYPE_LABELS` (the API's and NeuroVault's).
"""

from __future__ import annotations

from neurostore.vocabulary import VALUE_TYPE_LABELS, ValueType

#: Every spelling :mod:`neurostore.vocabulary` knows, in lower case.
_BY_LABEL = {label.lower(): code.value for label, code in VALUE_TYPE_LABELS.items()}


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
    return _BY_LABEL.get(" ".join(label.lower().split()), ValueType.OTHER.value)
