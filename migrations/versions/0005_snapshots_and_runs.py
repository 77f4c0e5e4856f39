"""Snapshots (content-addressed frozen studysets), their exports, and meta-analysis runs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _json(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, postgresql.JSONB(astext_type=sa.Text()), nullable=nullable)


def _created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def upgrade() -> None:
    op.create_table(
        "snapshots",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("file", sa.String(length=80), nullable=False),
        sa.Column("studyset_id", sa.String(length=32), nullable=True),
        sa.Column("studyset_version", sa.Integer(), nullable=False),
        sa.Column("annotation_id", sa.String(length=32), nullable=True),
        sa.Column("annotation_version", sa.Integer(), nullable=True),
        sa.Column("include", sa.String(length=255), nullable=True),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("public", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("n_studies", sa.Integer(), nullable=False),
        sa.Column("n_analyses", sa.Integer(), nullable=False),
        sa.Column("n_points", sa.Integer(), nullable=False),
        sa.Column("n_excluded", sa.Integer(), nullable=False),
        sa.Column("n_bytes", sa.BigInteger(), nullable=False),
        _json("header"),
        _json("inputs"),
        _created_at(),
        sa.ForeignKeyConstraint(["annotation_id"], ["annotations.id"],
                                name=op.f("fk_snapshots_annotation_id_annotations"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"],
                                name=op.f("fk_snapshots_owner_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["studyset_id"], ["studysets.id"],
                                name=op.f("fk_snapshots_studyset_id_studysets"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshots")),
    )
    op.create_index(op.f("ix_snapshots_owner_id"), "snapshots", ["owner_id"])
    op.create_index(op.f("ix_snapshots_studyset_id"), "snapshots", ["studyset_id"])
    op.create_table(
        "snapshot_exports",
        sa.Column("snapshot_id", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("file", sa.String(length=80), nullable=False),
        sa.Column("n_bytes", sa.BigInteger(), nullable=False),
        _json("summary"),
        _created_at(),
        sa.ForeignKeyConstraint(["snapshot_id"], ["snapshots.id"],
                                name=op.f("fk_snapshot_exports_snapshot_id_snapshots"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("snapshot_id", "format", name=op.f("pk_snapshot_exports")),
    )
    op.create_table(
        "analysis_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("snapshot_id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("estimator", sa.String(length=64), nullable=False),
        _json("spec"),
        sa.Column("status", sa.String(length=16), nullable=False),
        _json("progress"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        _json("results", nullable=True),
        _json("provenance", nullable=True),
        _created_at(),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_analysis_runs_status_known"),
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"],
                                name=op.f("fk_analysis_runs_owner_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["snapshot_id"], ["snapshots.id"],
                                name=op.f("fk_analysis_runs_snapshot_id_snapshots"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_runs")),
    )
    op.create_index(op.f("ix_analysis_runs_owner_id"), "analysis_runs", ["owner_id"])
    op.create_index(op.f("ix_analysis_runs_snapshot_id"), "analysis_runs", ["snapshot_id"])
    op.create_index(op.f("ix_analysis_runs_status"), "analysis_runs", ["status"])


def downgrade() -> None:
    op.drop_table("analysis_runs")
    op.drop_table("snapshot_exports")
    op.drop_table("snapshots")
