"""NIDM-Results packs: which maps of a ``.nidm.zip`` an analysis gets, under which value type.

A NIDM-Results pack (exported by SPM, FSL or AFNI with ``nidmresults``) is a zip with a
``nidm.ttl`` (or ``nidm.json``) graph and the maps of one analysis, named by what they hold.
The statistic maps become images: ``TStatistic`` (T), ``ZStatistic`` (Z), ``FStatistic`` (F),
``Contrast`` (BETA, the contrast estimate), ``ContrastStandardError`` (SE) and
``ContrastVariance`` (VARCOPE). A name may carry a contrast suffix (``TStatistic_T001``). The
other maps a pack holds by design (masks, the excursion set, residuals, ...) are left out
without a word; a NIfTI file of any other name is reported, as is a pack holding several
contrasts (one analysis is one contrast: give each its own pack).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from ingest.statmaps import map_suffix
from neurostore.vocabulary import ValueType

#: The store's value type of each statistic map a pack may hold.
VALUE_TYPES = {
    "TStatistic": ValueType.T.value,
    "ZStatistic": ValueType.Z.value,
    "FStatistic": ValueType.F.value,
    "Contrast": ValueType.BETA.value,
    "ContrastStandardError": ValueType.SE.value,
    "ContrastVariance": ValueType.VARCOPE.value,
}
#: Maps a pack holds that are not statistics of the contrast: not imported, not reported.
AUXILIARY = frozenset({
    "Mask", "SearchSpaceMask", "CustomMask", "DisplayMask", "GrandMean",
    "ResidualMeanSquares", "ReselsPerVoxel", "ExcursionSet", "ClusterLabels",
    "ContrastExplainedMeanSquare", "DesignMatrix",
})
#: A pack's own description; a zip without one is not a NIDM-Results pack.
GRAPH_FILES = ("nidm.ttl", "nidm.json", "nidm.jsonld", "nidm.provn")
#: The order images are listed in (the order of :data:`VALUE_TYPES`).
_ORDER = {code: n for n, code in enumerate(VALUE_TYPES.values())}


class PackError(ValueError):
    """A zip that cannot be read as one analysis's NIDM-Results pack."""


@dataclass
class PackContents:
    """What a pack offers.

    Attributes
    ----------
    maps : dict of str to str
        Value type -> member path of the map in the zip.
    unknown : list of str
        NIfTI members of names this module does not know (reported, not imported).
    """

    maps: dict[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)


def is_pack(reference: str | None) -> bool:
    """Whether an image reference (URL, path or file name) names a zip (a pack)."""
    return bool(reference) and reference.split("?", 1)[0].split("#", 1)[0].lower() \
        .endswith(".zip")


def contents(members: list[str]) -> PackContents:
    """Sort a pack's member paths into its statistic maps and the unknown ones.

    Parameters
    ----------
    members : list of str
        Paths of the zip's members (folders and all).

    Returns
    -------
    PackContents

    Raises
    ------
    PackError
        If the zip has no NIDM graph, several maps of one statistic, or no statistic map.
    """
    names = {posixpath.basename(m) for m in members}
    if not names & set(GRAPH_FILES):
        raise PackError("not a NIDM-Results pack: it holds no nidm.ttl or nidm.json")
    found: dict[str, list[str]] = {}
    result = PackContents()
    for member in sorted(members):
        base = posixpath.basename(member)
        suffix = map_suffix(base)
        if not suffix or base.startswith("."):
            continue
        kind = base[: -len(suffix)].partition("_")[0]
        if kind in VALUE_TYPES:
            found.setdefault(VALUE_TYPES[kind], []).append(member)
        elif kind not in AUXILIARY:
            result.unknown.append(member)
    several = {code: paths for code, paths in found.items() if len(paths) > 1}
    if several:
        listed = "; ".join(", ".join(posixpath.basename(p) for p in paths)
                           for paths in several.values())
        raise PackError(f"holds several contrasts ({listed}): give each contrast its own "
                        "pack, one analysis each")
    if not found:
        known = ", ".join(f"{name}.nii.gz" for name in VALUE_TYPES)
        raise PackError(f"holds no statistic map (looked for {known})")
    result.maps = {code: found[code][0] for code in sorted(found, key=_ORDER.__getitem__)}
    return result


def unknown_reason(member: str) -> str:
    """Why an unknown member of a pack is not imported."""
    known = ", ".join(VALUE_TYPES)
    return (f"{posixpath.basename(member)} is not a NIDM-Results statistic map ({known});"
            " not imported")
