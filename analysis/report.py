"""How a run's results are reported: the thresholded maps drawn and tabulated, the cluster
table (with the map and threshold it comes from) and the paragraph that says so.

A threshold keeps the voxels whose p-value (of a named p map, uncorrected or corrected) is
below alpha, and shows them by the value of a z map. The cluster table is taken from the
most stringent threshold the result has (cluster-level FWE, then voxel-level FWE, FDR,
Bonferroni, and the uncorrected p < 0.001 last) and lists clusters of at least
``min_cluster_size`` voxels. It is written as TSV with one row per cluster; the map and
threshold it was taken from are columns of every row, so any TSV reader (pandas, R, a
spreadsheet) keeps them.
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


CLUSTER_FWE = Threshold("z_corr-FWE_level-cluster", "z",
                        "p_desc-size_level-cluster_corr-FWE_method-montecarlo", 0.05,
                        "cluster-level FWE p < 0.05 (cluster size)")

#: Every threshold a result may have, most stringent kind first; a key is used once (the
#: two FDR methods never occur together).
THRESHOLDS = (
    CLUSTER_FWE,
    Threshold("z_corr-FWE_level-voxel", "z", "p_level-voxel_corr-FWE_method-montecarlo", 0.05,
              "voxel-level FWE p < 0.05"),
    Threshold("z_corr-FDR", "z", "p_corr-FDR_method-indep", 0.05,
              "FDR q < 0.05 (Benjamini-Hochberg)"),
    Threshold("z_corr-FDR", "z", "p_corr-FDR_method-negcorr", 0.05,
              "FDR q < 0.05 (Benjamini-Yekutieli)"),
    Threshold("z_corr-FWE_method-bonferroni", "z", "p_corr-FWE_method-bonferroni", 0.05,
              "Bonferroni FWE p < 0.05"),
    Threshold("z_uncorrected", "z", "p", 0.001, "uncorrected p < 0.001"),
)

#: Columns of the cluster table file, in order.
COLUMNS = ("cluster_id", "peak_x", "peak_y", "peak_z", "peak_value", "size_voxels",
           "size_mm3", "map", "threshold", "peak_map", "min_cluster_size")


def thresholds(result: Any) -> list[Threshold]:
    """The thresholds whose maps ``result`` has, in :data:`THRESHOLDS` order."""
    out: list[Threshold] = []
    for threshold in THRESHOLDS:
        if threshold.key in {t.key for t in out}:
            continue
        if threshold.p_map in result.maps and threshold.value_map in result.maps:
            out.append(threshold)
    return out


def cluster_threshold(result: Any) -> Threshold | None:
    """The threshold the cluster table is taken from (None: the result has no z and p)."""
    found = thresholds(result)
    return found[0] if found else None


def _plain(value: float, digits: int) -> float | int:
    """``value`` rounded to ``digits`` decimals, as an int when that is whole."""
    rounded = round(float(value), digits)
    return int(rounded) if rounded.is_integer() else rounded


def _significant(value: float, figures: int = 4) -> float:
    """``value`` rounded to ``figures`` significant figures."""
    return float(f"{float(value):.{figures}g}")


def cluster_rows(result: Any, threshold: Threshold, min_cluster_size: int = 1
                 ) -> list[dict[str, Any]]:
    """The cluster table of ``result`` at ``threshold``, rounded for people.

    Coordinates are in mm (to 0.01 mm; whole numbers on the usual grids), peak values have
    four significant figures, volumes are whole mm3 on whole-mm3 voxels (``62480``, never
    ``62479.999999999985``).
    """
    clusters = result.significant_clusters(threshold.p_map, threshold.alpha,
                                           peak_map=threshold.value_map,
                                           min_size=min_cluster_size)
    rows = []
    for cluster in clusters:
        row = asdict(cluster)
        rows.append({
            **row,
            "peak_x": _plain(row["peak_x"], 2), "peak_y": _plain(row["peak_y"], 2),
            "peak_z": _plain(row["peak_z"], 2), "peak_value": _significant(row["peak_value"]),
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


def report_text(table: Threshold | None, n_clusters: int, min_cluster_size: int,
                voxel_mm3: float, pictured: list[Threshold]) -> str:
    """The paragraph that says how the results were reported.

    Parameters
    ----------
    table : Threshold or None
        Where the cluster table comes from (None: no table).
    n_clusters : int
        Clusters in the table.
    min_cluster_size : int
        Minimum cluster extent, in voxels.
    voxel_mm3 : float
        Volume of a voxel, to give the extent in mm3 too.
    pictured : list of Threshold
        The thresholds drawn as pictures.
    """
    sentences = []
    if table is not None:
        extent = ""
        if min_cluster_size > 1:
            volume = min_cluster_size * voxel_mm3
            extent = (f" and of at least {min_cluster_size} voxels "
                      f"({_plain(volume, 2)} mm3, the minimum cluster extent)")
        sentences.append(
            f"The cluster table lists the {n_clusters} cluster{'s' if n_clusters != 1 else ''}"
            f" of voxels with {table.label} (map {table.p_map}){extent}, formed with face "
            f"connectivity with positive and negative {table.value_map} values apart; each "
            f"peak is the voxel of largest |{table.value_map}|, in MNI mm."
        )
        if table is CLUSTER_FWE:
            sentences.append("A cluster was significant when its cluster-level FWE p-value "
                             "(from its size) was below 0.05.")
        if table.uncorrected:
            sentences.append("These clusters are not corrected for multiple comparisons.")
    if pictured:
        drawn = "; ".join(f"{t.key}, {t.label}" for t in pictured)
        sentences.append(
            f"Pictures show the {pictured[0].value_map} map at each threshold ({drawn}), as "
            "three orthogonal slices over the MNI152 T1 template and as a glass brain "
            "(maximum-intensity projections), the colour bar starting at the smallest "
            f"|{pictured[0].value_map}| shown."
        )
        if any(t.uncorrected for t in pictured) and len(pictured) > 1:
            sentences.append("The uncorrected picture is for orientation only: it is not "
                             "corrected for multiple comparisons.")
    return " ".join(sentences)
