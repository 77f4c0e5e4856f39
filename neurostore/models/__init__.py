"""ORM models, one module per aggregate; importing this package registers them all."""

from neurostore.models.analysis_runs import AnalysisRun
from neurostore.models.annotations import Annotation, AnnotationNote
from neurostore.models.base_studies import BaseStudy
from neurostore.models.conditions import Condition
from neurostore.models.history import Revision
from neurostore.models.ingest_runs import IngestRun
from neurostore.models.neurovault import NeuroVaultPublication
from neurostore.models.snapshots import Snapshot, SnapshotExport, SnapshotReader
from neurostore.models.studies import (
    Analysis,
    AnalysisCondition,
    Image,
    Point,
    PointValue,
    Study,
    StudyDocument,
    Table,
)
from neurostore.models.studysets import Studyset, StudysetStudy
from neurostore.models.terms import FeatureSet, StudyText, TermBuild
from neurostore.models.users import ApiToken, User

__all__ = [
    "Analysis",
    "AnalysisCondition",
    "AnalysisRun",
    "Annotation",
    "AnnotationNote",
    "ApiToken",
    "BaseStudy",
    "Condition",
    "FeatureSet",
    "Image",
    "IngestRun",
    "NeuroVaultPublication",
    "Point",
    "PointValue",
    "Revision",
    "Snapshot",
    "SnapshotExport",
    "SnapshotReader",
    "Study",
    "StudyDocument",
    "Studyset",
    "StudysetStudy",
    "StudyText",
    "Table",
    "TermBuild",
    "User",
]
