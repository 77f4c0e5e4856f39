"""A two-group meta-analysis run may compare its snapshot with a second one.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("analysis_runs",
                  sa.Column("comparison_snapshot_id", sa.String(length=64), nullable=True))
    op.create_foreign_key("fk_analysis_runs_comparison_snapshot_id_snapshots", "analysis_runs",
                          "snapshots", ["comparison_snapshot_id"], ["id"], ondelete="RESTRICT")
    op.create_index("ix_analysis_runs_comparison_snapshot_id", "analysis_runs",
                    ["comparison_snapshot_id"])


def downgrade() -> None:
    op.drop_index("ix_analysis_runs_comparison_snapshot_id", table_name="analysis_runs")
    op.drop_constraint("fk_analysis_runs_comparison_snapshot_id_snapshots", "analysis_runs",
                       type_="foreignkey")
    op.drop_column("analysis_runs", "comparison_snapshot_id")
