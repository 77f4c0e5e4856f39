"""Feature sets, the builds that make them and their term maps and text models, and the
term-based reads (terms, a term's maps and studies, decoding, text-to-brain maps).

A build row is the source of truth of its job, as an analysis run is: a worker claims it
with a token and writes progress and the result only while the token is still the row's.
What is computed (tf-idf, chi-square maps, correlations, a NeuroQuery model) is the terms
engine's knowledge (:class:`neurostore.plugins.TermsEngine`, given by the composition root);
this service keeps the rows and the files.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, sessionmaker

from neurostore.db import new_id
from neurostore.jobs import JobQueue
from neurostore.models import BaseStudy, FeatureSet, Point, Study, TermBuild
from neurostore.plugins import SpecInvalid, TermsEngine
from neurostore.services.actors import Actor
from neurostore.services.errors import Invalid, NotFound
from neurostore.services.permissions import DEFAULT_POLICY, Policy
from neurostore.services.trees.state import iso
from neurostore.services.uow import UnitOfWork
from neurostore.storage import FileStore
from neurostore.vocabulary import ACTIVE_STATUSES, RunStatus, TermBuildKind, values

#: The task a worker runs for a build (declared in ``analysis.tasks``).
BUILD_TASK = "analysis.build_terms"
BUILD_QUEUE = "analysis"
#: A feature set may be named by this many leading characters of its id, or more.
SHORT_ID = 8
_HEX = re.compile(r"^[0-9a-f]+$")


def build_state(row: TermBuild) -> dict[str, Any]:
    """A build row as services return it."""
    return {
        "id": row.id, "kind": row.kind, "feature_set": row.feature_set_id,
        "parameters": row.parameters, "status": row.status, "progress": row.progress,
        "attempts": row.attempts, "error": row.error, "result": row.result,
        "user": row.requested_by, "created_at": iso(row.created_at),
        "started_at": iso(row.started_at), "finished_at": iso(row.finished_at),
    }


def feature_set_state(row: FeatureSet) -> dict[str, Any]:
    """A feature set row as services return it."""
    return {
        "id": row.id, "name": row.name, "vocabulary": row.vocabulary,
        "weighting": row.weighting, "n_studies": row.n_studies, "n_terms": row.n_terms,
        "nnz": row.nnz, "file": row.file, "built_from": row.built_from,
        "user": row.created_by, "created_at": iso(row.created_at),
    }


class TermService:
    """Term builds and the term-based reads.

    Parameters
    ----------
    session_factory : sessionmaker
    files : FileStore
        Where feature sets, term maps and models are kept.
    queue : JobQueue or None
        Where builds are enqueued (None: they stay queued for :meth:`claim` callers).
    engine : TermsEngine or None
        What computes; without one, no build can be asked for and nothing can be read.
    """

    def __init__(self, session_factory: sessionmaker, files: FileStore,
                 queue: JobQueue | None, engine: TermsEngine | None,
                 policy: Policy = DEFAULT_POLICY) -> None:
        self._sf = session_factory
        self.files = files
        self.queue = queue
        self.engine = engine
        self.policy = policy

    def _engine(self) -> TermsEngine:
        if self.engine is None:
            raise Invalid({"_schema": "no terms engine is installed on this server"})
        return self.engine

    # builds ------------------------------------------------------------------------------
    def request(self, actor: Actor, kind: str, parameters: Any) -> dict[str, Any]:
        """Check a build's parameters and enqueue it (administrators only).

        Raises
        ------
        Invalid
            Naming the bad field (``kind``, ``parameters.<name>``, ``feature_set``).
        """
        self.policy.check_manage(actor, "terms", "build feature sets, term maps or models")
        if kind not in values(TermBuildKind):
            raise Invalid({"kind": f"must be one of {', '.join(values(TermBuildKind))}"})
        if not isinstance(parameters, dict):
            raise Invalid({"parameters": "expected an object"})
        try:
            checked = self._engine().check(kind, parameters)
        except SpecInvalid as exc:
            raise Invalid({f"parameters.{k}": v for k, v in exc.field_errors.items()}) from exc
        for key, name in checked.get("files", {}).items():
            try:
                stored = self.files.exists(name)
            except ValueError:
                stored = False
            if not stored:
                raise Invalid({f"parameters.files.{key}": f"no stored file {name}"})
        with UnitOfWork(self._sf) as uow:
            feature_set = None
            if kind != TermBuildKind.FEATURES:
                feature_set = self._feature_set(uow.session, checked.get("feature_set")).id
                checked["feature_set"] = feature_set
            row = TermBuild(id=new_id(), kind=kind, feature_set_id=feature_set,
                            parameters=checked, status=RunStatus.QUEUED,
                            progress={"stage": "queued"}, attempts=0, requested_by=actor.id)
            uow.session.add(row)
            uow.session.flush()
            if self.queue is not None:
                row.job_id = self.queue.defer(uow.session, BUILD_TASK, queue=BUILD_QUEUE,
                                              lock=f"term-build-{row.id}", build_id=row.id)
            state = build_state(row)
            uow.commit()
        return state

    def get_build(self, actor: Actor, build_id: str) -> dict[str, Any]:
        """One build: status, progress and, once done, its result."""
        with self._sf() as session:
            row = session.get(TermBuild, build_id)
            if row is None:
                raise NotFound(f"term build {build_id} not found")
            return build_state(row)

    def list_builds(self, actor: Actor, *, kind: str | None = None,
                    limit: int = 100) -> list[dict[str, Any]]:
        """Builds, newest first."""
        query = select(TermBuild).order_by(TermBuild.created_at.desc(), TermBuild.id)
        if kind is not None:
            query = query.where(TermBuild.kind == kind)
        with self._sf() as session:
            return [build_state(r) for r in session.scalars(query.limit(limit))]

    # the worker's side -------------------------------------------------------------------
    def claim(self, build_id: str) -> tuple[str, dict[str, Any]] | None:
        """Take a queued build, or one whose previous attempt died: (token, build), or None
        when it has finished."""
        token = secrets.token_hex(16)
        with UnitOfWork(self._sf) as uow:
            row = uow.session.execute(
                update(TermBuild)
                .where(TermBuild.id == build_id, TermBuild.status.in_(ACTIVE_STATUSES))
                .values(status=RunStatus.RUNNING, claim=token, attempts=TermBuild.attempts + 1,
                        started_at=dt.datetime.now(dt.UTC), progress={"stage": "starting"})
                .returning(TermBuild)
            ).scalar()
            state = None if row is None else build_state(row)
            uow.commit()
        return None if state is None else (token, state)

    def _owned(self, session: Session, build_id: str, token: str, **values: Any) -> bool:
        return session.execute(
            update(TermBuild)
            .where(TermBuild.id == build_id, TermBuild.claim == token,
                   TermBuild.status == RunStatus.RUNNING)
            .values(**values).returning(TermBuild.id)
        ).first() is not None

    def report(self, build_id: str, token: str, progress: dict[str, Any]) -> bool:
        """Record progress; False when the build was taken over."""
        with UnitOfWork(self._sf) as uow:
            owned = self._owned(uow.session, build_id, token, progress=progress)
            uow.commit()
        return owned

    def finish(self, build_id: str, token: str, result: dict[str, Any], *,
               feature_set: dict[str, Any] | None = None) -> bool:
        """Store a build's result once, with the feature set it made (kept if that content
        is already stored); False (nothing stored) when the claim was lost."""
        with UnitOfWork(self._sf) as uow:
            values = {"status": RunStatus.SUCCEEDED, "result": result,
                      "progress": {"stage": "done"}, "finished_at": dt.datetime.now(dt.UTC)}
            if feature_set is not None:
                uow.session.execute(pg_insert(FeatureSet).values(**feature_set)
                                    .on_conflict_do_nothing(index_elements=["id"]))
                values["feature_set_id"] = feature_set["id"]
            owned = self._owned(uow.session, build_id, token, **values)
            if owned:
                uow.commit()
        return owned

    def fail(self, build_id: str, token: str, error: str) -> bool:
        """Record a failure; False when the claim was lost."""
        with UnitOfWork(self._sf) as uow:
            owned = self._owned(uow.session, build_id, token, status=RunStatus.FAILED,
                                error=error, progress={"stage": "failed"},
                                finished_at=dt.datetime.now(dt.UTC))
            uow.commit()
        return owned

    def coordinates(self, base_study_ids: list[str], *, prefer: str | None = None,
                    ) -> list[tuple[str, float, float, float, str]]:
        """The peaks of one study version per base study: ``(base_study, x, y, z, space)``.

        Of a publication's public versions with peaks, the one from source ``prefer`` is
        taken, else the one updated last (a curator's copy over a stale source version).
        """
        with self._sf() as session:
            ranked = (
                select(Study.id, Study.base_study_id)
                .ext(distinct_on(Study.base_study_id))
                .where(Study.base_study_id.in_(base_study_ids), Study.public,
                       Study.deleted_at.is_(None),
                       select(Point.id).where(Point.study_id == Study.id).exists())
                .order_by(Study.base_study_id,
                          case((Study.source == prefer, 0), else_=1),
                          Study.updated_at.desc().nulls_last(), Study.created_at.desc())
            ).subquery()
            rows = session.execute(
                select(ranked.c.base_study_id, Point.x, Point.y, Point.z, Point.space)
                .join(Point, Point.study_id == ranked.c.id)
                .where(Point.x.is_not(None), Point.y.is_not(None), Point.z.is_not(None))
                .order_by(ranked.c.base_study_id, Point.id))
            return [tuple(r) for r in rows]

    # feature sets ------------------------------------------------------------------------
    def _feature_set(self, session: Session, ref: Any) -> FeatureSet:
        if ref is None:
            row = session.scalars(select(FeatureSet).order_by(
                FeatureSet.created_at.desc()).limit(1)).first()
            if row is None:
                raise Invalid({"feature_set": "no feature set is stored; build one first"})
            return row
        if not isinstance(ref, str) or not ref:
            raise Invalid({"feature_set": "expected the id or the name of a feature set"})
        row = None
        if _HEX.match(ref) and len(ref) >= SHORT_ID:
            found = session.scalars(select(FeatureSet).where(
                FeatureSet.id.startswith(ref)).limit(2)).all()
            if len(found) > 1:
                raise Invalid({"feature_set": f"{ref} names more than one feature set"})
            row = found[0] if found else None
        if row is None:
            row = session.scalars(select(FeatureSet).where(FeatureSet.name == ref)
                                  .order_by(FeatureSet.created_at.desc()).limit(1)).first()
        if row is None:
            raise Invalid({"feature_set": f"no feature set {ref}"})
        return row

    def feature_sets(self) -> list[dict[str, Any]]:
        """Every feature set, newest first."""
        with self._sf() as session:
            return [feature_set_state(r) for r in session.scalars(
                select(FeatureSet).order_by(FeatureSet.created_at.desc()))]

    def feature_set(self, ref: str | None) -> dict[str, Any]:
        """A feature set by id, id prefix or name (the newest of that name); the newest
        one for None."""
        with self._sf() as session:
            try:
                return feature_set_state(self._feature_set(session, ref))
            except Invalid as exc:
                raise NotFound(exc.field_errors["feature_set"]) from exc

    # reads ---------------------------------------------------------------------------------
    def _latest(self, kind: str, feature_set: str | None) -> dict[str, Any]:
        """The newest succeeded build of ``kind`` (of a feature set when one is named)."""
        with self._sf() as session:
            query = select(TermBuild).where(TermBuild.kind == kind,
                                            TermBuild.status == RunStatus.SUCCEEDED)
            if feature_set is not None:
                try:
                    fs = self._feature_set(session, feature_set)
                except Invalid as exc:
                    raise NotFound(" ".join(exc.field_errors["feature_set"])) from exc
                query = query.where(TermBuild.feature_set_id == fs.id)
            row = session.scalars(query.order_by(TermBuild.finished_at.desc()).limit(1)).first()
            if row is None:
                what = "term maps" if kind == TermBuildKind.TERM_MAPS else "text-to-brain model"
                raise NotFound(f"no {what} built yet"
                               + (f" for feature set {feature_set}" if feature_set else ""))
            return build_state(row)

    def _maps_build(self, feature_set: str | None, build: str | None) -> dict[str, Any]:
        """The term-maps build named (a succeeded one), else the newest of a feature set."""
        if build is None:
            return self._latest(TermBuildKind.TERM_MAPS, feature_set)
        with self._sf() as session:
            row = session.get(TermBuild, build)
            if (row is None or row.kind != TermBuildKind.TERM_MAPS
                    or row.status != RunStatus.SUCCEEDED):
                raise NotFound(f"no finished term-maps build {build}")
            return build_state(row)

    def _paths(self, build: dict[str, Any]) -> dict[str, Path]:
        return {key: self.files.path(name) for key, name in build["result"]["files"].items()}

    def terms(self, *, feature_set: str | None = None, search: str | None = None,
              built_only: bool = False, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """Terms of the newest term maps: ``search`` matches a substring; most studies first."""
        build = self._latest(TermBuildKind.TERM_MAPS, feature_set)
        listed = self._engine().terms(self._paths(build))
        if search:
            needle = search.strip().lower()
            listed = [t for t in listed if needle in t["term"].lower()]
        if built_only:
            listed = [t for t in listed if t["maps"]]
        listed = sorted(listed, key=lambda t: (-t["n_studies"], t["term"]))
        return {"build": build["id"], "feature_set": build["feature_set"],
                "count": len(listed), "results": listed[offset:offset + limit]}

    def term(self, query: str, *, feature_set: str | None = None, top: int = 20,
             build: str | None = None) -> dict[str, Any]:
        """A term or boolean expression: its studies, maps and related terms (of the newest
        term maps, of a feature set's, or of the ``build`` named)."""
        chosen = self._maps_build(feature_set, build)
        described = self._call(lambda e: e.describe(self._paths(chosen), query, top=top))
        described["top_studies"] = self._named(described["top_studies"])
        return {"build": chosen["id"], "feature_set": chosen["feature_set"], **described}

    def term_map(self, query: str, name: str, *, feature_set: str | None = None,
                 picture: bool = False, build: str | None = None) -> bytes:
        """One map of a term or expression: gzipped NIfTI, or a PNG picture."""
        chosen = self._maps_build(feature_set, build)
        return self._call(lambda e: e.map_image(self._paths(chosen), query, name,
                                                picture=picture))

    def decode(self, request: dict[str, Any], *, feature_set: str | None = None,
               ) -> dict[str, Any]:
        """Terms ranked for a map or a region (see :meth:`TermsEngine.decode`)."""
        build = self._latest(TermBuildKind.TERM_MAPS, feature_set)
        decoded = self._call(lambda e: e.decode(self._paths(build), request))
        if "studies" in decoded:
            decoded["studies"] = self._named(decoded["studies"])
        return {"build": build["id"], "feature_set": build["feature_set"], **decoded}

    def text_query(self, text: str, *, feature_set: str | None = None,
                   top: int = 10) -> dict[str, Any]:
        """A text-to-brain map and what it was made from."""
        if not isinstance(text, str) or not text.strip():
            raise Invalid({"text": "a text is required"})
        build = self._latest(TermBuildKind.TEXT_MODEL, feature_set)
        answer = self._call(lambda e: e.text_query(self._paths(build), text, top=top))
        answer["similar_studies"] = self._named(answer["similar_studies"])
        return {"build": build["id"], "feature_set": build["feature_set"], **answer}

    def study_features(self, actor: Actor, base_study_id: str, *,
                       feature_set: str | None = None, top: int = 20) -> dict[str, Any]:
        """A base study's heaviest terms in a feature set (the newest by default); an
        unknown feature set is a :class:`NotFound`."""
        with self._sf() as session:
            study = session.get(BaseStudy, base_study_id)
            if study is None or study.deleted_at is not None:
                raise NotFound(f"base study {base_study_id} not found")
            try:
                fs = self._feature_set(session, feature_set)
            except Invalid as exc:
                raise NotFound(" ".join(exc.field_errors["feature_set"])) from exc
            fs_id, name, file = fs.id, fs.name, fs.file
        terms = self._engine().study_features(self.files.path(file), base_study_id, top=top)
        return {"base_study": base_study_id, "feature_set": fs_id, "name": name,
                "terms": terms}

    def _call(self, compute: Any) -> Any:
        try:
            return compute(self._engine())
        except SpecInvalid as exc:
            raise Invalid(exc.field_errors) from exc

    def _named(self, studies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Studies given by base study id, with their titles and years added."""
        ids = [s["id"] for s in studies]
        with self._sf() as session:
            found = {r.id: r for r in session.execute(
                select(BaseStudy.id, BaseStudy.name, BaseStudy.year, BaseStudy.pmid)
                .where(BaseStudy.id.in_(ids)))}
        return [{**s, "name": getattr(found.get(s["id"]), "name", None),
                 "year": getattr(found.get(s["id"]), "year", None),
                 "pmid": getattr(found.get(s["id"]), "pmid", None)} for s in studies]
