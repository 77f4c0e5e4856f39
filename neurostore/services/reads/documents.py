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

import threading
from collections import OrderedDict
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from neurostore import json_codec
from neurostore.models import StudyDocument
from neurostore.services.trees.read import DOCUMENT_SQL
from neurostore.services.versioning import Root

_STORED_SQL = text("""
SELECT s.id, s.version, s.owner_id, s.public, s.deleted_at, d.body, s.xmin::text::bigint
FROM studies s
LEFT JOIN study_documents d ON d.study_id = s.id AND d.row_xmin = s.xmin::text::bigint
WHERE s.id = ANY(:ids)
""")

_ROW_VERSIONS_SQL = text("SELECT id, xmin::text::bigint FROM studies WHERE id = ANY(:ids)")

# The built trees with the same columns as _STORED_SQL.
# Tree and root columns are both JSON objects as PostgreSQL wrote them ("{...}"): the
# document joins their members.
_BUILD_SQL = text(f"""
SELECT b.id, b.version, b.owner_id, b.public, b.deleted_at,
       left(b.tree, -1) || ',' || substr(b.meta, 2) AS body, b.row_xmin
FROM ({DOCUMENT_SQL.text}) AS b
""")


class TreeText(NamedTuple):
    """One study's root columns and its whole JSON as the API shows it.

    A named tuple, not a dataclass: a 1,000-study studyset makes a thousand of them per
    request, and a tuple is made from a result row at a fraction of the cost.
    """

    id: str
    version: int
    owner_id: str | None
    public: bool
    deleted_at: Any
    document: str | None

    @property
    def root(self) -> Root:
        """The study's root row."""
        return Root(self.id, self.version, self.owner_id, bool(self.public),
                    self.deleted_at is not None)

    @property
    def deleted(self) -> bool:
        """Whether the study is a tombstone (it then has no document)."""
        return self.deleted_at is not None

    def body(self) -> json_codec.RawJSON:
        """The nested study (tree, version and timestamps) as JSON text."""
        if self.document is None or self.deleted:
            raise ValueError(f"study {self.id} has no document (it is deleted)")
        return json_codec.RawJSON(self.document)


class DocumentCache:
    """Study documents this process sent recently, each valid for one version of its row.

    A hit is checked against the row's current ``xmin`` (one index lookup a study), so
    a 1,000-study studyset costs a short query instead of 8 MB read from PostgreSQL. The
    least recently used documents are dropped beyond ``max_bytes``. Thread-safe.

    Parameters
    ----------
    max_bytes : int
        Memory the cached texts may take (about 8 KB a study).
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[int, TreeText]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    @staticmethod
    def _cost(tree: TreeText) -> int:
        return len(tree.document or "") + 200

    def get(self, id_: str, row_xmin: int) -> TreeText | None:
        """The document of ``id_`` if it was cached for this version of its row."""
        with self._lock:
            item = self._items.get(id_)
            if item is None or item[0] != row_xmin:
                return None
            self._items.move_to_end(id_)
            return item[1]

    def put(self, row_xmin: int, tree: TreeText) -> None:
        """Keep ``tree``, built from the row version ``row_xmin``."""
        cost = self._cost(tree)
        if cost > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(tree.id, None)
            if old is not None:
                self._size -= self._cost(old[1])
            self._items[tree.id] = (row_xmin, tree)
            self._size += cost
            while self._size > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._size -= self._cost(dropped)


def read_documents(session: Session, ids: list[str], cache: DocumentCache | None = None
                    ) -> dict[str, TreeText]:
    """The studies among ``ids`` that exist, with the trees of those not deleted.

    Documents come from ``cache`` when it holds them for the current rows, else from the
    stored ones; missing documents are built and added to the session's transaction:
    commit it to keep them (a rolled-back read only loses the saving). For reads only:
    inside a write, a tree may be half changed.
    """
    if not ids:
        return {}
    if cache is None:
        return {i: tree for i, (_, tree) in _read(session, list(ids)).items()}
    out, rest = {}, []
    for id_, row_xmin in session.execute(_ROW_VERSIONS_SQL, {"ids": list(ids)}).all():
        hit = cache.get(id_, row_xmin)
        if hit is None:
            rest.append(id_)
        else:
            out[id_] = hit
    for id_, (row_xmin, tree) in _read(session, rest).items() if rest else ():
        cache.put(row_xmin, tree)
        out[id_] = tree
    return out


def _read(session: Session, ids: list[str]) -> dict[str, tuple[int, TreeText]]:
    """Stored or built documents of ``ids``, with the row version each was built from."""
    rows = session.execute(_STORED_SQL, {"ids": ids}).all()
    out = {row[0]: (row[6], TreeText._make(row[:6])) for row in rows}
    missing = sorted(i for i, (_, t) in out.items() if t.document is None and not t.deleted)
    if missing:
        # The built rows replace the stored ones whole: if the study changed in between,
        # tree, version and timestamps all come from the same (newer) row.
        built = session.execute(_BUILD_SQL, {"ids": missing}).all()
        out.update((row[0], (row[6], TreeText._make(row[:6]))) for row in built)
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
            set_={"row_xmin": stmt.excluded.row_xmin, "body": stmt.excluded.body},
            where=StudyDocument.row_xmin != stmt.excluded.row_xmin,
        ),
        [{"study_id": r[0], "row_xmin": r[6], "body": r[5]}
         for r in sorted(rows, key=lambda r: r[0])],
    )


#: A transaction changing at least this many studies stores their documents as it commits.
BULK_WRITE = 50


def refresh_bulk(session: Session, ids: list[str]) -> None:
    """Build and store the documents of ``ids`` in the session's transaction, if there are
    at least :data:`BULK_WRITE` of them.

    The composition root registers it with :func:`neurostore.services.history.before_commit`
    for studies, so it runs just before each commit that changed studies, when their
    trees are complete. In bulk (an ingest batch, an import) a document costs about
    0.3 ms; a single edit would pay 2-5 ms in its save, so it leaves its document to the
    next read, which builds it for about the same.
    """
    if len(ids) < BULK_WRITE:
        return
    built = session.execute(_BUILD_SQL, {"ids": ids}).all()
    _store(session, [row for row in built if row[4] is None], durable=True)
