"""Keyset pagination and sort orders, shared by every list of the read side.

Pages are addressed by an opaque cursor holding the sort key and id of the last row, so a
page deep in the result set costs the same as the first (no OFFSET scan).

Searches (full text, radius) over the large tables keep their cost flat as the store
grows. A fixed-size sample of rows first estimates how many match. A search estimated to
match at most :data:`EXACT_COUNT_LIMIT` rows finds them all through its indexes, once,
for an exact count and the page. A larger one reports the estimate (the page says so)
and looks for its page among the next rows in sort order, checked one by one: twice as
many as the sample says should hold a page, at least :data:`PROBE_ROWS`. Only when that
is more than :data:`MAX_PROBE_ROWS`, or the probe comes back short, do its indexes find
the page, at a cost that grows with its matches, not with the store.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column, select, text, tuple_
from sqlalchemy.orm import Session

from neurostore.services.errors import Invalid

MAX_LIMIT = 1000
#: Rows a search checks one by one, in sort order, before it turns to its indexes: at
#: least this many, more for a search the sample found rarer, up to the maximum.
PROBE_ROWS = 500
MAX_PROBE_ROWS = 5000
#: Counts up to this are exact; larger ones are estimated.
EXACT_COUNT_LIMIT = 1000
#: Rows in the sample an estimated count is made from.
SAMPLE_ROWS = 1000


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
    """One page: the rows, the total count of the filtered list and the next cursor.

    ``exact`` is false when ``total_count`` is an estimate (a count above
    :data:`EXACT_COUNT_LIMIT`, rounded to two significant digits).
    """

    rows: list[Any]
    total_count: int
    next: str | None
    extra: dict[str, Any] = field(default_factory=dict)
    exact: bool = True


def timestamps_sort(table: Any) -> dict[str, SortKey]:
    """The sort orders every versioned aggregate offers."""
    return {
        "created_at": SortKey(table.c.created_at, dt.datetime, indexed=True),
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
    """A documented sort order: a non-null SQL expression and the Python type of its values.

    ``indexed`` when an index on (expression, id) reads the table in this order.
    """

    expression: ColumnElement
    kind: type
    indexed: bool = False


def paginate(
    session: Session, stmt: Select, id_column: Any, sort_keys: dict[str, SortKey],
    query: ListQuery, *, scan: Select | None = None, sampled: bool = False,
) -> Page:
    """Run ``stmt`` (a select of rows, filters applied) one keyset page at a time.

    ``sort_keys`` maps the documented sort names to their keys; the row id breaks ties.
    The rows come back as ``Row`` objects with an extra ``_sort`` column.

    ``scan`` is given for a costly search: the same select with its conditions in a
    form checked row by row (no index), used on the next rows in sort order and on the
    count's sample. ``sampled`` tables have an index on ``hashtext(id)``; their counts
    above :data:`EXACT_COUNT_LIMIT` are estimated.
    """
    if query.sort not in sort_keys:
        raise Invalid({"sort": [f"one of {', '.join(sorted(sort_keys))}"]})
    if query.page is not None and query.cursor:
        raise Invalid({"page": ["give either page or cursor"]})
    if not 1 <= query.limit <= MAX_LIMIT:
        raise Invalid({"limit": [f"between 1 and {MAX_LIMIT}"]})
    sort = sort_keys[query.sort]
    after = _decode(query.cursor, sort.kind) if query.cursor else None
    keyed = stmt.add_columns(sort.expression.label("_sort"))
    estimate, share = _estimate(session, stmt, scan, id_column) if sampled else (None, None)
    if estimate is None or estimate <= EXACT_COUNT_LIMIT:
        if scan is not None:
            return _paginate_matches(session, keyed, id_column.name, query, after)
        rows = session.execute(_page(keyed, sort.expression, id_column, query, after)).all()
        return _page_of(rows, _count(session, stmt), query)
    rows = None
    span = _probe_rows(query, share)
    if scan is not None and sort.indexed and not query.page and span:
        rows = _probe(session, scan.add_columns(sort.expression.label("_sort")),
                      sort.expression, id_column, query, after, span)
    if rows is None and scan is not None:
        # Materialised, the search's own indexes find every match before they are sorted:
        # a plan walking the sort order would check row after row for a rare search.
        matches = keyed.cte("matches").prefix_with("MATERIALIZED")
        rows = session.execute(_page(select(*matches.c), matches.c._sort,
                                     matches.c[id_column.name], query, after)).all()
    elif rows is None:
        rows = session.execute(_page(keyed, sort.expression, id_column, query, after)).all()
    return _page_of(rows, _rounded(estimate), query, exact=False)


def _probe_rows(query: ListQuery, share: float) -> int:
    """How many rows to check in sort order: twice what should hold a page, given the
    share of rows the sample found matching, and at least :data:`PROBE_ROWS`; 0 (go to
    the indexes) when that is more than :data:`MAX_PROBE_ROWS`."""
    needed = math.ceil(2 * (query.limit + 1) / share) if share else MAX_PROBE_ROWS + 1
    return max(PROBE_ROWS, needed) if needed <= MAX_PROBE_ROWS else 0


def _count(session: Session, stmt: Select) -> int:
    counted = stmt.order_by(None)
    return session.execute(select(func.count()).select_from(counted.subquery())).scalar_one()


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


def _probe(session: Session, scan: Select, key: Any, id_column: Any, query: ListQuery,
           after: tuple[Any, str] | None, span: int) -> list[Any] | None:
    """The page found among the next ``span`` rows in sort order, or None when they hold
    too few matches (the search is rare: its indexes find it faster)."""
    ahead = select(key, id_column).select_from(id_column.table)
    edge = session.execute(
        _page(ahead, key, id_column, ListQuery(limit=span, desc=query.desc), after)
        .offset(span - 1)).first()
    if edge is not None:
        position, last = tuple_(key, id_column), tuple_(*edge)
        scan = scan.where(position >= last if query.desc else position <= last)
    rows = session.execute(_page(scan, key, id_column, query, after)).all()
    # Without an edge the probe covered every remaining row: its answer is complete.
    return rows if edge is None or len(rows) > query.limit else None


def _estimate(session: Session, stmt: Select, scan: Select | None, id_column: Any
              ) -> tuple[float | None, float | None]:
    """(estimated count, share of rows matching) from a sample of :data:`SAMPLE_ROWS` rows
    taken in id-hash order; (None, None) for a table small enough to count."""
    rows = session.execute(
        select(literal_column("reltuples")).select_from(text("pg_class"))
        .where(literal_column("oid") == func.to_regclass(id_column.table.name))).scalar()
    if rows is None or rows <= 4 * SAMPLE_ROWS:
        # Small (or never analysed) tables are counted.
        return None, None
    # hashtext is uniform over int4: the rows whose id hashes lowest are a random sample.
    fraction = SAMPLE_ROWS / rows
    in_sample = func.hashtext(id_column) < int(-(2**31) + fraction * 2**32)
    # Split across parallel workers, a scan of the whole table can look cheaper to the
    # planner than reading the sample through its index; it is not, and it grows.
    session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    hits = _count(session, (scan if scan is not None else stmt).where(in_sample))
    session.execute(text("RESET max_parallel_workers_per_gather"))
    return hits / fraction, hits / SAMPLE_ROWS


def _paginate_matches(session: Session, stmt: Select, id_name: str, query: ListQuery,
                      after: tuple[Any, str] | None) -> Page:
    """A search with few matches: its indexes find them all once, for both the exact
    count and the page (referenced twice, the CTE is computed once)."""
    matches = stmt.cte("matches")
    total = select(func.count()).select_from(matches).scalar_subquery()
    rows = session.execute(_page(select(*matches.c, total.label("_total")), matches.c._sort,
                                 matches.c[id_name], query, after)).all()
    if rows:
        count = rows[0]._total
    else:
        count = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    return _page_of(rows, count, query)


def _rounded(value: float) -> int:
    """``value`` to two significant digits: an estimate should not look exact."""
    return int(float(f"{value:.2g}"))


def _page_of(rows: list[Any], total: int, query: ListQuery, *, exact: bool = True) -> Page:
    nxt = None
    if len(rows) > query.limit and query.everything:
        raise Invalid({"paginate": [f"{total} matches: more than {query.limit} cannot come in"
                                    " one page; page through them"]})
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        nxt = _encode(rows[-1]._sort, rows[-1].id)
    return Page(rows=rows, total_count=total, next=nxt, exact=exact)
