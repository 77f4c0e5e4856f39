"""Keyset pagination and sort orders, shared by every list of the read side.

Pages are addressed by an opaque cursor holding the sort key and id of the last row, so a
page deep in the result set costs the same as the first (no OFFSET scan).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, tuple_
from sqlalchemy.orm import Session

from neurostore.services.errors import Invalid

MAX_LIMIT = 1000


@dataclass(frozen=True)
class ListQuery:
    """Which page of a list: its size, the cursor of the previous page and the order."""

    limit: int = 20
    cursor: str | None = None
    sort: str = "created_at"
    desc: bool = True
    page: int | None = None
    everything: bool = False


@dataclass
class Page:
    """One page: the rows, the total count of the filtered list and the next cursor."""

    rows: list[Any]
    total_count: int
    next: str | None
    extra: dict[str, Any] = field(default_factory=dict)


def timestamps_sort(table: Any) -> dict[str, SortKey]:
    """The sort orders every versioned aggregate offers."""
    return {
        "created_at": SortKey(table.c.created_at, dt.datetime),
        "updated_at": SortKey(func.coalesce(table.c.updated_at, table.c.created_at), dt.datetime),
    }


def _encode(value: Any, id_: str) -> str:
    if isinstance(value, dt.datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps([value, id_], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, kind: type) -> tuple[Any, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, id_ = json.loads(raw)
        if isinstance(value, dict):
            value = dt.datetime.fromisoformat(value["t"])
        # A cursor of another sort order (or a forged one) must not reach the SQL.
        if not isinstance(id_, str) or type(value) is not kind or "\x00" in id_ + str(value):
            raise ValueError(value)
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError) as exc:
        raise Invalid(
            {"cursor": ["not a cursor of this list and order; start from the first page"]}
        ) from exc
    return value, id_


@dataclass(frozen=True)
class SortKey:
    """A documented sort order: a non-null SQL expression and the Python type of its values."""

    expression: ColumnElement
    kind: type


def paginate(
    session: Session, stmt: Select, id_column: Any, sort_keys: dict[str, SortKey],
    query: ListQuery, *, count: bool = True, selective: bool = False,
) -> Page:
    """Run ``stmt`` (a select of rows, filters applied) one keyset page at a time.

    ``sort_keys`` maps the documented sort names to their keys; the row id breaks ties.
    The rows come back as ``Row`` objects with an extra ``_sort`` column.

    With ``selective`` (costly filters that match few rows, such as a text or radius
    search), the filters run once for both the count and the page; otherwise the page is
    read in sort order from an index and the count is a separate statement.
    """
    if query.sort not in sort_keys:
        raise Invalid({"sort": [f"one of {', '.join(sorted(sort_keys))}"]})
    if query.page is not None and query.cursor:
        raise Invalid({"page": ["give either page or cursor"]})
    if not 1 <= query.limit <= MAX_LIMIT:
        raise Invalid({"limit": [f"between 1 and {MAX_LIMIT}"]})
    key = sort_keys[query.sort].expression
    after = _decode(query.cursor, sort_keys[query.sort].kind) if query.cursor else None
    if selective and count:
        return _paginate_matches(session, stmt.add_columns(key.label("_sort")), id_column.name,
                                 query, after)
    total = (
        session.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))
        .scalar_one() if count else -1
    )
    rows = session.execute(_page(stmt.add_columns(key.label("_sort")), key, id_column,
                                 query, after)).all()
    return _page_of(rows, total, query)


def _page(stmt: Select, key: Any, id_column: Any, query: ListQuery,
          after: tuple[Any, str] | None) -> Select:
    if after is not None:
        position, last = tuple_(key, id_column), tuple_(*after)
        stmt = stmt.where(position < last if query.desc else position > last)
    order = (key.desc(), id_column.desc()) if query.desc else (key.asc(), id_column.asc())
    stmt = stmt.order_by(*order).limit(query.limit + 1)
    # A page number skips rows: NeuroStore's clients page that way. Its next page can
    # still be asked for by cursor, which does not.
    return stmt.offset((query.page - 1) * query.limit) if query.page else stmt


def _paginate_matches(session: Session, stmt: Select, id_name: str, query: ListQuery,
                      after: tuple[Any, str] | None) -> Page:
    # Referenced twice, the CTE is computed once (PostgreSQL materialises it).
    matches = stmt.cte("matches")
    total = select(func.count()).select_from(matches).scalar_subquery()
    paged = _page(select(*matches.c, total.label("_total")), matches.c._sort,
                  matches.c[id_name],
                  query, after)
    rows = session.execute(paged).all()
    if rows:
        count = rows[0]._total
    else:
        count = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    return _page_of(rows, count, query)


def _page_of(rows: list[Any], total: int, query: ListQuery) -> Page:
    nxt = None
    if len(rows) > query.limit and query.everything:
        raise Invalid({"paginate": [f"{total} matches: more than {query.limit} cannot come in"
                                    " one page; page through them"]})
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        nxt = _encode(rows[-1]._sort, rows[-1].id)
    return Page(rows=rows, total_count=total, next=nxt)
