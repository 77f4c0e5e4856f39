"""Study trees as JSON text for reads: stored documents, built and stored when missing.

Building a tree in PostgreSQL costs about 0.2 ms per study (a 1,000-study studyset took
200 ms); reading a stored document is a primary-key lookup. A document is valid while its
study row is the row it was built from (see :class:`neurostore.models.StudyDocument`).
A transaction that changes many studies (an ingest batch, an import) builds their
documents just before it commits, when their trees are complete; a read takes the valid
documents and builds (and stores) the others: those of studies edited one at a time, or
whose row changed without a revision.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from neurostore import json_codec
from neurostore.models import StudyDocument
from neurostore.services.study_trees import TREE_SQL, root_meta_json
from neurostore.services.versioning import Root

_STORED_SQL = text(f"""
SELECT s.id, s.version, s.owner_id, s.public, s.deleted_at, {root_meta_json("s")} AS meta,
       d.tree
FROM studies s
LEFT JOIN study_documents d ON d.study_id = s.id AND d.row_xmin = s.xmin::text::bigint
WHERE s.id = ANY(:ids)
""")

# The built trees with the same leading columns as _STORED_SQL, then the row's xmin.
_BUILD_SQL = text(f"""
SELECT b.id, b.version, b.owner_id, b.public, b.deleted_at, b.meta, b.tree, b.row_xmin
FROM ({TREE_SQL.text}) AS b
""")


class TreeText(NamedTuple):
    """One study's root columns, its version and timestamps, and its tree as JSON text.

    A named tuple, not a dataclass: a 1,000-study studyset makes a thousand of them per
    request, and a tuple is made from a result row at a fraction of the cost.
    """

    id: str
    version: int
    owner_id: str | None
    public: bool
    deleted_at: Any
    meta_json: str
    tree: str | None

    @property
    def root(self) -> Root:
        """The study's root row."""
        return Root(self.id, self.version, self.owner_id, bool(self.public),
                    self.deleted_at is not None)

    @property
    def deleted(self) -> bool:
        """Whether the study is a tombstone (it then has no tree)."""
        return self.deleted_at is not None

    @property
    def meta(self) -> dict[str, Any]:
        """Version and timestamps."""
        return json_codec.loads(self.meta_json)

    def body(self) -> json_codec.RawJSON:
        """The nested study as the API shows it: the tree with version and timestamps."""
        if self.tree is None or self.deleted:
            raise ValueError(f"study {self.id} has no tree (it is deleted)")
        # Both are JSON objects as PostgreSQL wrote them ("{...}"): join their members.
        return json_codec.RawJSON(f"{self.tree[:-1]},{self.meta_json[1:]}")


def read_tree_texts(session: Session, ids: list[str]) -> dict[str, TreeText]:
    """The studies among ``ids`` that exist, with the trees of those not deleted.

    Missing documents are built and added to the session's transaction; commit it to keep
    them (a rolled-back read only loses the saving). For reads only: inside a write, a
    tree may be half changed.
    """
    if not ids:
        return {}
    rows = session.execute(_STORED_SQL, {"ids": list(ids)}).all()
    out = {row[0]: TreeText._make(row) for row in rows}
    missing = sorted(i for i, t in out.items() if t.tree is None and not t.deleted)
    if missing:
        # The built rows replace the stored ones whole: if the study changed in between,
        # tree, version and timestamps all come from the same (newer) row.
        built = session.execute(_BUILD_SQL, {"ids": missing}).all()
        out.update((row[0], TreeText._make(row[:7])) for row in built)
        _store(session, [row for row in built if row[4] is None])
    return out


def _store(session: Session, rows: list[Any], *, durable: bool = False) -> None:
    if not rows:
        return
    if not durable:
        # A read's documents can always be built again: losing them in a crash costs
        # nothing, so its transaction need not wait for the WAL to reach the disk.
        session.execute(text("SET LOCAL synchronous_commit = off"))
    stmt = insert(StudyDocument)
    # Sorted ids lock in one order, so concurrent readers storing overlapping sets
    # cannot deadlock.
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[StudyDocument.study_id],
            set_={"row_xmin": stmt.excluded.row_xmin, "tree": stmt.excluded.tree},
            where=StudyDocument.row_xmin != stmt.excluded.row_xmin,
        ),
        [{"study_id": r[0], "row_xmin": r[7], "tree": r[6]}
         for r in sorted(rows, key=lambda r: r[0])],
    )


#: A transaction changing at least this many studies stores their documents as it commits.
BULK_WRITE = 50


def refresh_bulk(session: Session, ids: list[str]) -> None:
    """Build and store the documents of ``ids`` in the session's transaction, if there are
    at least :data:`BULK_WRITE` of them.

    :mod:`neurostore.services.studies` has it called just before each commit that changed
    studies, when their trees are complete. In bulk (an ingest batch, an import) a
    document costs about 0.3 ms; a single edit would pay 2-5 ms in its save, so it leaves
    its document to the next read, which builds it for about the same.
    """
    if len(ids) < BULK_WRITE:
        return
    built = session.execute(_BUILD_SQL, {"ids": ids}).all()
    _store(session, [row for row in built if row[4] is None], durable=True)
