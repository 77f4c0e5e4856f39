"""Column shapes and CHECK fragments shared by several aggregates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from neurostore.db import JSON


def not_blank(column: str) -> CheckConstraint:
    """CHECK that a nullable text column is never empty or whitespace only."""
    return CheckConstraint(
        f"{column} IS NULL OR length(btrim({column})) > 0", name=f"{column}_not_blank"
    )


def one_of(column: str, values: Iterable[str], *, nullable: bool = False) -> str:
    """SQL saying that a column holds one of a vocabulary's values.

    Parameters
    ----------
    column : str
        The column's name.
    values : iterable of str
        The allowed values, in the order the SQL lists them (an enum of
        :mod:`neurostore.vocabulary` gives its members' order).
    nullable : bool, optional
        Also allow NULL.

    Returns
    -------
    str
        ``column IN ('a', 'b', ...)``, prefixed by ``column IS NULL OR`` when nullable: the
        text of a CHECK constraint or of a partial index's condition.
    """
    listed = ", ".join(f"'{value}'" for value in values)
    return f"{column} IS NULL OR {column} IN ({listed})" if nullable else f"{column} IN ({listed})"


def identifier_checks() -> tuple[CheckConstraint, ...]:
    """CHECKs on the normalised publication identifiers."""
    return (
        CheckConstraint(
            r"doi IS NULL OR doi ~ '^10\.[0-9]{4,9}(\.[0-9]+)*/[^[:space:]]+$'", name="doi_format"
        ),
        CheckConstraint("pmid IS NULL OR pmid ~ '^[1-9][0-9]*$'", name="pmid_format"),
        CheckConstraint("pmcid IS NULL OR pmcid ~ '^PMC[1-9][0-9]*$'", name="pmcid_format"),
        CheckConstraint("year IS NULL OR year BETWEEN 1800 AND 2200", name="year_range"),
    )


class PublicationFields:
    """Descriptive fields a publication and each of its versions carry."""

    name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    publication: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[str | None] = mapped_column(Text)
    year: Mapped[int | None] = mapped_column(Integer)
    doi: Mapped[str | None] = mapped_column(String(255))
    pmid: Mapped[str | None] = mapped_column(String(20))
    pmcid: Mapped[str | None] = mapped_column(String(20))
    metadata_: Mapped[JSON | None] = mapped_column("metadata")


class Versioned:
    """An editable aggregate root: version counter, timestamps and a tombstone."""

    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[dt.datetime | None]
    deleted_at: Mapped[dt.datetime | None]


class Owned:
    """An aggregate with an owner and a public flag."""

    public: Mapped[bool] = mapped_column(default=True, server_default="true")

    @declared_attr
    def owner_id(cls) -> Mapped[str | None]:  # noqa: N805
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
