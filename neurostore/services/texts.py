"""Texts of publications: titles, abstracts, keywords and full texts, one per source.

A source's text of a publication replaces its earlier one (a re-fetched abstract is the
newer abstract); texts of different sources live side by side. Titles are also the base
studies' ``name``; :meth:`TextService.corpus` reads both, for feature sets built from texts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    cast,
    func,
    literal,
    literal_column,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import sessionmaker

from neurostore.models import BaseStudy, StudyText
from neurostore.services.actors import Actor
from neurostore.services.errors import Invalid, NotFound
from neurostore.services.permissions import DEFAULT_POLICY, Policy
from neurostore.services.uow import UnitOfWork
from neurostore.vocabulary import TextKind, values

#: Longest text stored (a full text is a few hundred kB; anything larger is not one text).
MAX_TEXT = 2_000_000
#: Texts read from the database at a time by :meth:`TextService.corpus`.
CORPUS_BATCH = 5_000


def _checked(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows to write, or :class:`Invalid` naming the first bad one."""
    out, kinds = [], set(values(TextKind))
    for i, row in enumerate(rows):
        where = f"texts[{i}]"
        if not isinstance(row, Mapping):
            raise Invalid({where: "expected an object"})
        study, source, kind, body = (row.get(k) for k in ("base_study", "source", "kind", "text"))
        if not isinstance(study, str) or not study:
            raise Invalid({f"{where}.base_study": "the id of a base study is required"})
        if not isinstance(source, str) or not source.strip() or len(source) > 64:
            raise Invalid({f"{where}.source": "a source name of 1 to 64 characters is required"})
        if kind not in kinds:
            raise Invalid({f"{where}.kind": f"must be one of {', '.join(sorted(kinds))}"})
        if not isinstance(body, str) or not body.strip():
            raise Invalid({f"{where}.text": "must be a non-empty string"})
        if len(body) > MAX_TEXT:
            raise Invalid({f"{where}.text": f"longer than {MAX_TEXT} characters"})
        out.append({"base_study_id": study, "source": source.strip(), "kind": kind,
                    "text": body.strip()})
    return out


class TextService:
    """Write and read the texts of base studies.

    Parameters
    ----------
    session_factory : sessionmaker
    policy : Policy, optional
        Writing texts is managing the store's texts (administrators and the system).
    """

    def __init__(self, session_factory: sessionmaker, policy: Policy = DEFAULT_POLICY) -> None:
        self._sf = session_factory
        self.policy = policy

    def put(self, actor: Actor, rows: Iterable[Mapping[str, Any]], *,
            dry_run: bool = False) -> dict[str, int]:
        """Store texts, each ``{base_study, source, kind, text}``, in one transaction.

        With ``dry_run`` the transaction is rolled back: the counts say what it would do.

        Returns
        -------
        dict
            ``created``, ``updated`` and ``unchanged`` counts.

        Raises
        ------
        Invalid
            For a malformed row or an unknown base study (nothing is written).
        """
        self.policy.check_manage(actor, "texts", "write texts")
        checked = _checked(rows)
        if not checked:
            return {"created": 0, "updated": 0, "unchanged": 0}
        # One row per key: the last given wins, as it would had they been sent one by one.
        latest = {(r["base_study_id"], r["source"], r["kind"]): r for r in checked}
        with UnitOfWork(self._sf) as uow:
            wanted = {key[0] for key in latest}
            known = set(uow.session.scalars(
                select(BaseStudy.id).where(BaseStudy.id.in_(wanted))))
            missing = sorted(wanted - known)
            if missing:
                raise Invalid({"base_study": f"no base study {', '.join(missing[:5])}"})
            stmt = pg_insert(StudyText).values(list(latest.values()))
            stmt = stmt.on_conflict_do_update(
                index_elements=["base_study_id", "source", "kind"],
                set_={"text": stmt.excluded.text, "updated_at": func.now()},
                where=StudyText.text.is_distinct_from(stmt.excluded.text),
            ).returning(literal_column("xmax = 0"))
            written = list(uow.session.scalars(stmt))
            if dry_run:
                uow.session.rollback()
            else:
                uow.commit()
        created = sum(written)
        return {"created": created, "updated": len(written) - created,
                "unchanged": len(latest) - len(written)}

    def of(self, actor: Actor, base_study_id: str) -> list[dict[str, Any]]:
        """The texts of one base study, by source and kind."""
        with self._sf() as session:
            if session.get(BaseStudy, base_study_id) is None:
                raise NotFound(f"base study {base_study_id} not found")
            rows = session.scalars(
                select(StudyText).where(StudyText.base_study_id == base_study_id)
                .order_by(StudyText.source, StudyText.kind))
            return [{"source": r.source, "kind": r.kind, "text": r.text,
                     "updated_at": r.updated_at.isoformat()} for r in rows]

    def pmids_without(self, source: str, kind: str, *, limit: int | None = None) -> list[str]:
        """PMIDs of active base studies that have no ``kind`` text from ``source``."""
        return self._pmids(~select(StudyText.base_study_id).where(
            StudyText.base_study_id == BaseStudy.id,
            StudyText.source == source, StudyText.kind == kind).exists(), limit)

    def pmids(self, *, limit: int | None = None) -> list[str]:
        """PMIDs of every active base study that has one."""
        return self._pmids(true(), limit)

    def _pmids(self, condition: ColumnElement[bool], limit: int | None) -> list[str]:
        stmt = (select(BaseStudy.pmid)
                .where(BaseStudy.pmid.is_not(None), BaseStudy.deleted_at.is_(None),
                       BaseStudy.merged_into_id.is_(None), condition)
                .order_by(BaseStudy.pmid).limit(limit))
        with self._sf() as session:
            return list(session.scalars(stmt))

    def base_studies_by_pmid(self, pmids: Sequence[str]) -> dict[str, str]:
        """Active base study id of each PMID that has one."""
        with self._sf() as session:
            rows = session.execute(
                select(BaseStudy.pmid, BaseStudy.id)
                .where(BaseStudy.pmid.in_(list(pmids)), BaseStudy.deleted_at.is_(None),
                       BaseStudy.merged_into_id.is_(None)))
            return {pmid: study for pmid, study in rows}

    def corpus(self, kinds: Sequence[str] = ("title", "abstract", "keywords"),
               ) -> Iterator[tuple[str, str]]:
        """Yield ``(base_study_id, text)`` for every active base study with a text.

        A study's text joins its title (its ``name``, or a source's title) and its texts of
        the other ``kinds`` from every source, in a fixed order, so the same store gives the
        same corpus.
        """
        unknown = set(kinds) - set(values(TextKind))
        if unknown:
            raise Invalid({"kinds": f"unknown text kinds: {', '.join(sorted(unknown))}"})
        active = and_(BaseStudy.deleted_at.is_(None), BaseStudy.merged_into_id.is_(None))
        parts = []
        if "title" in kinds:
            parts.append(select(BaseStudy.id.label("study"), literal("").label("source"),
                                literal("title").label("kind"),
                                cast(BaseStudy.name, String).label("body"))
                         .where(active, BaseStudy.name.is_not(None)))
        others = [k for k in kinds if k != "title"]
        if others:
            parts.append(select(StudyText.base_study_id, StudyText.source, StudyText.kind,
                                StudyText.text)
                         .join(BaseStudy, BaseStudy.id == StudyText.base_study_id)
                         .where(active, StudyText.kind.in_(others)))
        if not parts:
            return
        texts = union_all(*parts).subquery()
        joined = func.string_agg(texts.c.body, aggregate_order_by(
            literal("\n"), texts.c.kind, texts.c.source))
        stmt = (select(texts.c.study, joined)
                .group_by(texts.c.study).order_by(texts.c.study))
        with self._sf() as session:
            rows = session.execute(stmt.execution_options(yield_per=CORPUS_BATCH))
            yield from ((study, body) for study, body in rows)
