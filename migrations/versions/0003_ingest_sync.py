"""Ingest sync: upstream record hash on studies, one active run per source.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("studies", sa.Column("source_hash", sa.String(length=64), nullable=True))
    op.create_index(
        "uq_ingest_runs_active_source",
        "ingest_runs",
        ["source"],
        unique=True,
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_ingest_runs_active_source",
        table_name="ingest_runs",
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.drop_column("studies", "source_hash")
