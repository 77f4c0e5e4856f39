"""How a run's results are reported: the thresholded maps drawn and tabulated, the cluster
table (with the maps and thresholds it comes from) and the paragraph that says so.

A threshold keeps the voxels whose p-value (of a named p map, uncorrected or corrected) is
below alpha, and shows them by the value of a z map. A result reports one or more contrasts
(:data:`CONTRASTS`): a one-group result its ``z`` and ``p``; ALE subtraction the difference
of its two groups; MKDA chi-square the association of activation with group (specificity)
and group 1's uniformity (consistency). The cluster table holds, for each contrast, the
clusters of its most stringent threshold (cluster-level FWE, then voxel-level FWE, FDR,
Bonferroni, and the uncorrected p < 0.001 last) of at least ``min_cluster_size`` voxels. It
is written as TSV with one row per cluster; the map and threshold each row was taken from
are columns, so any TSV reader (pandas, R, a spreadsheet) keeps them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Threshold:
    """Which voxels of a result are reported: those where ``p_map < alpha``.

    Attributes
    ----------
    key : str
        Name of the picture of these voxels in the results.
    value_map : str
        Map the voxels are shown (and cluster peaks taken) by.
    p_map : str
        Map of p-values thresholded.
    alpha : float
    label : str
        What the threshold means, for people (``"FDR q < 0.05"``).
    """

    key: str
    value_map: str
    p_map: str
    alpha: float
    label: str

    @property
    def uncorrected(self) -> bool:
        """Whether the p-values thresholded are uncorrected for multiple comparisons."""
        return "_corr-" not in self.p_map

    @property
    def cluster_level(self) -> bool:
        """Whether the p-values are cluster-level (one per cluster, from its size)."""
        return "_level-cluster_" in self.p_map


#: The contrasts a result may report, as the ``desc`` of their maps, in the order reported:
#: a one-group result's ``z`` and ``p`` (no desc), ALE subtraction's group 1 minus group 2,
#: MKDA chi-square's association (specificity) and group 1's uniformity (consistency). The
#: maps of each group of a two-group run are stored but not reported.
CONTRASTS = ("", "group1MinusGroup2", "association", "uniformity")


def contrast_thresholds(desc: str) -> tuple[Threshold, ...]:
    """Every threshold a contrast may have, most stringent kind first.

    Parameters
    ----------
    desc : str
        The contrast (:data:`CONTRASTS`); ``""`` for the maps named ``z`` and ``p``.

    Returns
    -------
    tuple of Threshold
        Cluster-level FWE, voxel-level FWE, FDR (Benjamini-Hochberg, named with or without
        ``_level-voxel``; Benjamini-Yekutieli), Bonferroni, uncorrected p < 0.001. A key
        is shared by the FDR kinds, which never occur together.
    """
    d = f"_desc-{desc}" if desc else ""
    size = f"_desc-{desc}Size" if desc else "_desc-size"
    z = f"z{d}"
    bh, by = "FDR q < 0.05 (Benjamini-Hochberg)", "FDR q < 0.05 (Benjamini-Yekutieli)"
    return (
        Threshold(f"{z}_corr-FWE_level-cluster", z,
                  f"p{size}_level-cluster_corr-FWE_method-montecarlo", 0.05,
                  "cluster-level FWE p < 0.05 (cluster size)"),
        Threshold(f"{z}_corr-FWE_level-voxel", z,
                  f"p{d}_level-voxel_corr-FWE_method-montecarlo", 0.05,
                  "voxel-level FWE p < 0.05"),
        Threshold(f"{z}_corr-FDR", z, f"p{d}_corr-FDR_method-indep", 0.05, bh),
        Threshold(f"{z}_corr-FDR", z, f"p{d}_level-voxel_corr-FDR_method-indep", 0.05, bh),
        Threshold(f"{z}_corr-FDR", z, f"p{d}_corr-FDR_method-negcorr", 0.05, by),
        Threshold(f"{z}_corr-FWE_method-bonferroni", z, f"p{d}_corr-FWE_method-bonferroni",
                  0.05, "Bonferroni FWE p < 0.05"),
        Threshold(f"{z}_uncorrected", z, f"p{d}", 0.001, "uncorrected p < 0.001"),
    )


#: Columns of the cluster table file, in order.
COLUMNS = ("cluster_id", "peak_x", "peak_y", "peak_z", "peak_value", "size_voxels",
           "size_mm3", "map", "threshold", "peak_map", "min_cluster_size")


def _of_contrast(result: Any, desc: str) -> list[Threshold]:
    out: list[Threshold] = []
    for threshold in contrast_thresholds(desc):
        if threshold.key in {t.key for t in out}:
            continue
        if threshold.p_map in result.maps and threshold.value_map in result.maps:
            out.append(threshold)
    return out


def thresholds(result: Any) -> list[Threshold]:
    """The thresholds whose maps ``result`` has: contrast by contrast (:data:`CONTRASTS`),
    most stringent first.

    Parameters
    ----------
    result : MetaResult

    Returns
    -------
    list of Threshold
    """
    return [t for desc in CONTRASTS for t in _of_contrast(result, desc)]


def cluster_thresholds(result: Any) -> list[Threshold]:
    """The thresholds the cluster table is taken from: each contrast's most stringent.

    Parameters
    ----------
    result : MetaResult

    Returns
    -------
    list of Threshold
        Empty when the result has no z and p maps of a reported contrast.
    """
    found = (_of_contrast(result, desc) for desc in CONTRASTS)
    return [kinds[0] for kinds in found if kinds]


def _plain(value: float, digits: int) -> float | int:
    """``value`` rounded to ``digits`` decimals, as an int when that is whole."""
    rounded = round(float(value), digits)
    return int(rounded) if rounded.is_integer() else rounded


def _significant(value: float, figures: int = 4) -> float:
    """``value`` rounded to ``figures`` significant figures."""
    return float(f"{float(value):.{figures}g}")


def cluster_rows(result: Any, tables: list[Threshold], min_cluster_size: int = 1
                 ) -> list[dict[str, Any]]:
    """The cluster table of ``result``: the clusters of each threshold, rounded for people.

    Parameters
    ----------
    result : MetaResult
    tables : list of Threshold
        One per contrast (:func:`cluster_thresholds`); their clusters follow one another.
    min_cluster_size : int, optional
        Smallest cluster listed, in voxels.

    Returns
    -------
    list of dict
        One per cluster, numbered from 1 through the whole table, with :data:`COLUMNS`.
        Coordinates are in mm (to 0.01 mm; whole numbers on the usual grids), peak values
        have four significant figures, volumes are whole mm3 on whole-mm3 voxels
        (``62480``, never ``62479.999999999985``).
    """
    rows = []
    for threshold in tables:
        clusters = result.significant_clusters(threshold.p_map, threshold.alpha,
                                               peak_map=threshold.value_map,
                                               min_size=min_cluster_size)
        for cluster in clusters:
            row = asdict(cluster)
            rows.append({
                **row, "cluster_id": len(rows) + 1,
                "peak_x": _plain(row["peak_x"], 2), "peak_y": _plain(row["peak_y"], 2),
                "peak_z": _plain(row["peak_z"], 2),
                "peak_value": _significant(row["peak_value"]),
                "size_mm3": _plain(row["size_mm3"], 2),
                "map": threshold.p_map, "threshold": threshold.alpha,
                "peak_map": threshold.value_map, "min_cluster_size": min_cluster_size,
            })
    return rows


def clusters_tsv(rows: list[dict[str, Any]]) -> bytes:
    """The cluster table as tab-separated values with a header line (:data:`COLUMNS`)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([row[c] for c in COLUMNS] for row in rows)
    return out.getvalue().encode()


def _clusters_of(threshold: Threshold, n_clusters: int) -> str:
    return (f"the {n_clusters} cluster{'s' if n_clusters != 1 else ''} of voxels with "
            f"{threshold.label} (map {threshold.p_map})")


def _magnitude(value_maps: list[str]) -> str:
    """``|z|`` of the one map shown, or of each contrast's map."""
    if len(value_maps) == 1:
        return f"|{value_maps[0]}|"
    return f"absolute value of its map ({', '.join(value_maps)})"


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def report_text(tables: list[tuple[Threshold, int]], min_cluster_size: int,
                voxel_mm3: float, pictured: list[Threshold]) -> str:
    """The paragraph that says how the results were reported.

    Parameters
    ----------
    tables : list of (Threshold, int)
        Where the cluster table comes from, and how many clusters each gave (empty: no
        table).
    min_cluster_size : int
        Minimum cluster extent, in voxels.
    voxel_mm3 : float
        Volume of a voxel, to give the extent in mm3 too.
    pictured : list of Threshold
        The thresholds drawn as pictures.

    Returns
    -------
    str
    """
    sentences = []
    if tables:
        listed = " and ".join(_clusters_of(t, n) for t, n in tables)
        values = _unique([t.value_map for t, _ in tables])
        sign = values[0] if len(values) == 1 else "z"
        sentences.append(
            f"The cluster table lists {listed}, formed with face connectivity with positive "
            f"and negative {sign} values apart; each peak is the voxel of largest "
            f"{_magnitude(values)}, in MNI mm."
        )
        if min_cluster_size > 1:
            volume = min_cluster_size * voxel_mm3
            sentences.append(f"Only clusters of at least {min_cluster_size} voxels "
                             f"({_plain(volume, 2)} mm3, the minimum cluster extent) are "
                             "listed.")
        if any(t.cluster_level for t, _ in tables):
            sentences.append("A cluster was significant when its cluster-level FWE p-value "
                             "(from its size) was below 0.05.")
        uncorrected = [t.p_map for t, _ in tables if t.uncorrected]
        if uncorrected and len(uncorrected) == len(tables):
            sentences.append("These clusters are not corrected for multiple comparisons.")
        elif uncorrected:
            sentences.append(f"The clusters of {' and '.join(uncorrected)} are not corrected "
                             "for multiple comparisons.")
    if pictured:
        values = _unique([t.value_map for t in pictured])
        drawn = "; ".join(f"{t.key}, {t.label}" for t in pictured)
        shown = (f"the {values[0]} map" if len(values) == 1
                 else f"the {' and '.join(values)} maps")
        sentences.append(
            f"Pictures show {shown} at each threshold ({drawn}), as three orthogonal slices "
            "over the MNI152 T1 template and as a glass brain (maximum-intensity "
            "projections), the colour bar starting at the smallest "
            f"{_magnitude(values)} shown."
        )
        loose = [t for t in pictured if t.uncorrected]
        if loose and len(loose) < len(pictured):
            sentences.append(
                "The uncorrected picture is for orientation only: it is not corrected for "
                "multiple comparisons." if len(loose) == 1 else
                "The uncorrected pictures are for orientation only: they are not corrected "
                "for multiple comparisons.")
    return " ".join(sentences)
