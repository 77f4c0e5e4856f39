"""Errors raised by the meta-analysis engine."""

from __future__ import annotations


class MetaAnalysisInputError(ValueError):
    """Raised when meta-analysis inputs cannot be analysed as given.

    The message always names the offending field or experiment, so that an API layer can
    turn it into a problem report without inspecting the traceback.
    """
