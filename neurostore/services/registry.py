"""The set of services an application or a command works with."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import sessionmaker

from neurostore.config import Settings
from neurostore.jobs import JobQueue
from neurostore.plugins import Plugins, installed
from neurostore.services.analysis_runs import AnalysisRunService
from neurostore.services.annotations import AnnotationService
from neurostore.services.base_studies import BaseStudyService
from neurostore.services.conditions import ConditionService
from neurostore.services.history import before_commit
from neurostore.services.ingest import IngestService
from neurostore.services.neurovault import NeuroVaultService
from neurostore.services.neurovault_terms import TermMapSource
from neurostore.services.reads.documents import refresh_bulk
from neurostore.services.snapshots import SnapshotService
from neurostore.services.studies import StudyService
from neurostore.services.studysets import StudysetService
from neurostore.services.terms import TermService
from neurostore.services.texts import TextService
from neurostore.services.users import UserService
from neurostore.storage import FileStore, open_file_store


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
    snapshots: SnapshotService
    analysis_runs: AnalysisRunService
    conditions: ConditionService
    texts: TextService
    terms: TermService
    neurovault: NeuroVaultService


def build_services(session_factory: sessionmaker, *, files: FileStore | None = None,
                   queue: JobQueue | None = None, plugins: Plugins | None = None) -> Services:
    """Wire the services to one session factory.

    ``files`` defaults to the file store of the environment's settings; ``queue`` (where
    meta-analysis runs are enqueued) to the task queue on the session factory's database;
    ``plugins`` (export writers, run specs) to those installed (:func:`plugins.installed`).
    """
    plugins = plugins if plugins is not None else installed()
    files = files if files is not None else open_file_store(Settings.from_env())
    url = session_factory.kw["bind"].url.render_as_string(hide_password=False)
    queue = queue if queue is not None else JobQueue(url)
    # Reads send stored documents: bulk writes store those of the studies they change.
    before_commit("study", refresh_bulk)
    studies = StudyService(session_factory)
    studysets = StudysetService(session_factory, studies)
    annotations = AnnotationService(session_factory, studysets)
    users = UserService(session_factory)
    snapshots = SnapshotService(
        session_factory, studysets, annotations, files, writers=plugins.writers,
        tally=plugins.runs.tally if plugins.runs is not None else None)
    analysis_runs = AnalysisRunService(session_factory, queue, specs=plugins.runs)
    terms = TermService(session_factory, files, queue, plugins.terms)
    return Services(
        session_factory=session_factory,
        users=users,
        base_studies=BaseStudyService(session_factory),
        studies=studies,
        studysets=studysets,
        annotations=annotations,
        ingest=IngestService(session_factory, studies, users, queue),
        snapshots=snapshots,
        analysis_runs=analysis_runs,
        conditions=ConditionService(session_factory),
        texts=TextService(session_factory),
        terms=terms,
        neurovault=NeuroVaultService(session_factory, analysis_runs, snapshots, queue,
                                     term_maps=TermMapSource(terms)),
    )
