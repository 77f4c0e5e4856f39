"""Study documents in NeuroStore's shape: stored ones are dropped and rebuilt on read.

The API's study documents now list tables by id and carry the fields NeuroStore's clients
read (points' x, y, z and order; analyses' table_id, order and point_count; the study's
has_coordinates and has_images). A stored document is only valid while its study row is
unchanged, so the old shape would outlive this release without this.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("TRUNCATE study_documents")


def downgrade() -> None:
    op.execute("TRUNCATE study_documents")
