"""Declarative base, naming convention, shared column types and the engine/session factory."""

from __future__ import annotations

import datetime as dt
import os
from typing import Annotated, Any

import shortuuid
from psycopg.types.json import set_json_loads
from sqlalchemy import DateTime, Float, MetaData, String, create_engine, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, mapped_column, sessionmaker

from neurostore import json_codec
from neurostore.config import Settings
from neurostore.embedded import embedded_database_url

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_ALPHABET = shortuuid.get_alphabet()


def new_id() -> str:
    """Return a new random 12-character public identifier (the shape NeuroStore uses).

    Twelve base-57 digits hold about 70 random bits; one ``os.urandom`` call per id keeps
    bulk writes of hundreds of thousands of rows cheap.
    """
    n = int.from_bytes(os.urandom(9), "big")
    digits = []
    for _ in range(12):
        n, r = divmod(n, 57)
        digits.append(_ALPHABET[r])
    return "".join(digits)


JSON = dict[str, Any]
JSONList = list[Any]
PublicId = Annotated[str, mapped_column(String(32), primary_key=True, default=new_id)]
Timestamp = Annotated[
    dt.datetime, mapped_column(DateTime(timezone=True), server_default=func.now())
]


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        JSON: JSONB,
        JSONList: JSONB,
        dt.datetime: DateTime(timezone=True),
        float: Float(precision=53),
    }


# JSON columns and json_agg results are parsed with the fast codec.
set_json_loads(json_codec.loads)


def database_url(settings: Settings) -> str:
    """Return the configured database URL, starting the embedded server when none is set."""
    if settings.database_url:
        url = settings.database_url
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    return embedded_database_url(settings.data_dir)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the project's defaults."""
    connect_args = kwargs.pop("connect_args", {})
    # Timestamps read back in UTC whatever the server's zone, so states compare exactly.
    connect_args.setdefault("options", "-c timezone=UTC")
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)
    # Multi-row INSERT ... VALUES instead of executemany: one round trip per table per save.
    engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


def make_session_factory(engine: Engine) -> sessionmaker:
    """Return the session factory bound to ``engine``."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
