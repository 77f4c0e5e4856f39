"""The set of services an application or a command works with."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import sessionmaker

from neurostore.services.annotations import AnnotationService
from neurostore.services.base_studies import BaseStudyService
from neurostore.services.ingest import IngestService
from neurostore.services.studies import StudyService
from neurostore.services.studysets import StudysetService
from neurostore.services.users import UserService


@dataclass(frozen=True)
class Services:
    """The services, built once per process by :func:`build_services`."""

    session_factory: sessionmaker
    users: UserService
    base_studies: BaseStudyService
    studies: StudyService
    studysets: StudysetService
    annotations: AnnotationService
    ingest: IngestService


def build_services(session_factory: sessionmaker) -> Services:
    """Wire the services to one session factory."""
    studies = StudyService(session_factory)
    studysets = StudysetService(session_factory, studies)
    annotations = AnnotationService(session_factory, studysets)
    users = UserService(session_factory)
    return Services(
        session_factory=session_factory,
        users=users,
        base_studies=BaseStudyService(session_factory),
        studies=studies,
        studysets=studysets,
        annotations=annotations,
        ingest=IngestService(session_factory, studies, users),
    )
