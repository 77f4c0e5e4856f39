"""How the export formats the store declares (:mod:`neurostore.snapshot.formats`) other
than its own canonical NIMADS are written."""

from __future__ import annotations

from typing import Any, BinaryIO

from analysis.snapshot import write_nimare, write_sleuth, write_tsv
from analysis.snapshot.release import write_release
from neurostore.snapshot import ExportSummary
from neurostore.snapshot.formats import Writer
from neurostore.vocabulary import PointSpace


def _sleuth(space: str) -> Writer:
    def write(studyset: Any, out: BinaryIO, annotation: Any) -> ExportSummary:
        return write_sleuth(studyset, out, annotation, space=space)
    return write


#: Format name -> writer.
WRITERS: dict[str, Writer] = {
    "nimare": write_nimare,
    "sleuth-mni": _sleuth(PointSpace.MNI),
    "sleuth-tal": _sleuth(PointSpace.TAL),
    "tsv": write_tsv,
    "release": write_release,
}
