"""Export a frozen studyset (NIMADS studyset + annotation, as plain data) to other formats.

Every writer streams to a binary file object and returns an
:class:`~neurostore.snapshot.output.ExportSummary` (counts, sha256 of the bytes, what was
skipped and why). The canonical NIMADS form itself is the store's
(:mod:`neurostore.snapshot`); these writers are plugged into it (:mod:`analysis.plugin`).

- :mod:`~analysis.snapshot.nimare`: the dataset dict NiMARE's ``Dataset`` loads, as JSON.
- :mod:`~analysis.snapshot.sleuth`: Sleuth text, one file per space.
- :mod:`~analysis.snapshot.tsv`: one row per point.
- :mod:`~analysis.snapshot.release`: parquet tables NiMARE's ``fetch_neurostore`` loads.
"""

from analysis.snapshot.nimare import nimare_dict, write_nimare
from analysis.snapshot.sleuth import write_sleuth
from analysis.snapshot.tsv import write_tsv

__all__ = ["nimare_dict", "write_nimare", "write_sleuth", "write_tsv"]
