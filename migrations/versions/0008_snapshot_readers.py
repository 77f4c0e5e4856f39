"""Snapshot readers: every user who froze a snapshot may read it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "snapshot_readers",
        sa.Column("snapshot_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["snapshot_id"], ["snapshots.id"],
                                name=op.f("fk_snapshot_readers_snapshot_id_snapshots"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_snapshot_readers_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("snapshot_id", "user_id", name=op.f("pk_snapshot_readers")),
    )
    op.create_index(op.f("ix_snapshot_readers_user_id"), "snapshot_readers", ["user_id"])
    # The one who froze each existing snapshot reads it, as before.
    op.execute("INSERT INTO snapshot_readers (snapshot_id, user_id)"
               " SELECT id, owner_id FROM snapshots WHERE owner_id IS NOT NULL")


def downgrade() -> None:
    op.drop_index(op.f("ix_snapshot_readers_user_id"), table_name="snapshot_readers")
    op.drop_table("snapshot_readers")
