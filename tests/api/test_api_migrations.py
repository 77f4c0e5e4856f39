"""The search migration: models and migrations agree, and 0002 downgrades and upgrades."""

from __future__ import annotations

from sqlalchemy import select, text

from neurostore import migrate
from neurostore.models import Point, Study
from neurostore.services import coordinates, search

SEARCH_INDEXES = {"ix_studies_fulltext", "ix_base_studies_fulltext", "ix_points_mni_xy",
                  "ix_studies_created_at_id", "ix_base_studies_created_at_id"}


def _indexes(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT indexname FROM pg_indexes")).scalars())


def test_models_match_migrations_and_0002_round_trips(database_url, engine):
    migrate.check(database_url)
    assert _indexes(engine) >= SEARCH_INDEXES
    migrate.downgrade(database_url, "0001")
    assert not SEARCH_INDEXES & _indexes(engine)
    migrate.upgrade(database_url)
    assert _indexes(engine) >= SEARCH_INDEXES
    migrate.check(database_url)


def test_searches_use_the_indexes(engine):
    queries = [
        select(Study.id).where(search.matches("pain OR memory")),
        select(Point.id).where(coordinates.within(10, -20, 30, 8)),
    ]
    with engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        for query in queries:
            compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
            plan = "\n".join(conn.execute(text(f"EXPLAIN {compiled}")).scalars())
            assert "ix_studies_fulltext" in plan or "ix_points_mni_xy" in plan, plan
