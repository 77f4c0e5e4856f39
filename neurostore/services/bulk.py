"""Set-based row loading through PostgreSQL's COPY, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session


def copy_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Append ``rows`` (dicts keyed by column name) to ``table`` with ``COPY ... FROM STDIN``.

    COPY sends the rows as one stream, without building or parsing a statement per batch,
    which is what makes saving hundreds of thousands of peaks fast.
    """
    if not rows:
        return
    columns = list(rows[0])
    json_columns = {c for c in columns if isinstance(table.c[c].type, JSONB)}
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor.copy(statement) as copy:
        if json_columns:
            for row in rows:
                copy.write_row(
                    [Jsonb(row[c]) if c in json_columns and row[c] is not None else row[c]
                     for c in columns]
                )
        else:
            for row in rows:
                copy.write_row([row[c] for c in columns])
