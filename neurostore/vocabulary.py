"""The store's closed vocabularies: one enum per value domain, with the spellings it accepts.

Everything that names a point space, an image value type, a user role, a run status or a
revision action takes it from here: the models' CHECK constraints, the API schemas, the
ingest parsers and the exports. This module imports nothing of the project, so every layer
(and the pure parsers) may import it.

Members are :class:`enum.StrEnum`, so a member *is* its string: it compares equal to the
stored text, is written to the database and to JSON as that text, and ``str(member)`` is
the value.

Image value type codes follow NeuroVault's (the ``map_type`` codes NeuroStore also keeps:
``T``, ``Z``, ``F``, ``X2``, ``P``, ``IP``, ``M`` multivariate-beta, ``U`` univariate-beta,
``R``, ``PA``, ``A``, ``VARIANCE`` for NeuroVault's ``V``, ``OTHER``), plus the NIMADS /
NiMARE statistics ``BETA``, ``SE`` and ``VARCOPE``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class PointSpace(StrEnum):
    """The coordinate space of a peak (and the prefix of an image's template space)."""

    MNI = "MNI"
    TAL = "TAL"
    UNKNOWN = "UNKNOWN"


class ValueType(StrEnum):
    """The statistic an image holds."""

    T = "T"
    Z = "Z"
    F = "F"
    X2 = "X2"
    P = "P"
    IP = "IP"
    BETA = "BETA"
    SE = "SE"
    VARCOPE = "VARCOPE"
    VARIANCE = "VARIANCE"
    M = "M"
    U = "U"
    R = "R"
    PA = "PA"
    A = "A"
    OTHER = "OTHER"


class Role(StrEnum):
    """What a user may do: own work only, curate everything, or administer the store."""

    USER = "user"
    CURATOR = "curator"
    ADMIN = "admin"


class RunStatus(StrEnum):
    """Where an ingest run or a meta-analysis run is."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class RevisionAction(StrEnum):
    """What a revision did to its aggregate."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    RESTORE = "restore"
    REVERT = "revert"
    CLONE = "clone"
    MERGE = "merge"


class TextKind(StrEnum):
    """What part of a publication a stored text is."""

    TITLE = "title"
    ABSTRACT = "abstract"
    KEYWORDS = "keywords"
    BODY = "body"


class TermBuildKind(StrEnum):
    """What a term build makes: a feature set, the term maps of one, or a text-to-brain model."""

    FEATURES = "features"
    TERM_MAPS = "term_maps"
    TEXT_MODEL = "text_model"


class PublicationKind(StrEnum):
    """What is published to NeuroVault as a collection: a meta-analysis run's maps, or a
    term map (the same collection and image metadata, from a term build)."""

    META_ANALYSIS = "meta-analysis"
    TERM_MAP = "term-map"


#: Statuses of a run that has not finished (at most one such ingest run per source).
ACTIVE_STATUSES: tuple[RunStatus, ...] = (RunStatus.QUEUED, RunStatus.RUNNING)
#: Statuses a run ends in; it never leaves them.
FINISHED_STATUSES: tuple[RunStatus, ...] = (
    RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED,
)

#: Spellings of a point space (upper case) -> the space.
POINT_SPACE_ALIASES: Mapping[str, PointSpace] = {
    **{space.value: space for space in PointSpace},
    "TALAIRACH": PointSpace.TAL,
}

#: NeuroVault's ``map_type`` display labels (what its API returns) -> the value type.
NEUROVAULT_MAP_TYPES: Mapping[str, ValueType] = {
    "T map": ValueType.T,
    "Z map": ValueType.Z,
    "F map": ValueType.F,
    "Chi squared map": ValueType.X2,
    "P map (given null hypothesis)": ValueType.P,
    '1-P map ("inverted" probability)': ValueType.IP,
    "multivariate-beta map": ValueType.M,
    "univariate-beta map": ValueType.U,
    "ROI/mask": ValueType.R,
    "parcellation": ValueType.PA,
    "anatomical": ValueType.A,
    "variance": ValueType.VARIANCE,
    "other": ValueType.OTHER,
}

#: Spellings of a value type the API accepts (upper case, single spaces) -> the value type:
#: the codes, NeuroVault's codes and short labels, and the names NIMADS files and NiMARE
#: write (``"t"``, ``"beta"``, ``"varcope"``, in any case). The API documents them (the
#: OpenAPI ``pattern`` of ``value_type``).
VALUE_TYPE_ALIASES: Mapping[str, ValueType] = {
    **{code.value: code for code in ValueType},
    "T MAP": ValueType.T,
    "Z MAP": ValueType.Z,
    "F MAP": ValueType.F,
    "CHI2": ValueType.X2,
    "CHI-SQUARED MAP": ValueType.X2,
    "P MAP": ValueType.P,
    "1-P MAP": ValueType.IP,
    "V": ValueType.VARIANCE,
    "MULTIVARIATE-BETA MAP": ValueType.M,
    "UNIVARIATE-BETA MAP": ValueType.U,
    "ROI/MASK": ValueType.R,
    "PARCELLATION": ValueType.PA,
    "ANATOMICAL": ValueType.A,
}

#: What ingest reads: the API's spellings and all of NeuroVault's display labels.
VALUE_TYPE_LABELS: Mapping[str, ValueType] = {
    **VALUE_TYPE_ALIASES,
    **{label.upper(): code for label, code in NEUROVAULT_MAP_TYPES.items()},
}

def values(vocabulary: type[StrEnum]) -> tuple[str, ...]:
    """The plain strings of a vocabulary, in its order.

    Parameters
    ----------
    vocabulary : StrEnum subclass
        One of this module's enums.

    Returns
    -------
    tuple of str
        The members' values, for code that wants plain text (CLI choices, documented
        ``enum`` lists).
    """
    return tuple(member.value for member in vocabulary)
