"""Study documents: each study as built JSON text, reused while the study row is unchanged.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "study_documents",
        sa.Column("study_id", sa.String(length=32), nullable=False),
        sa.Column("row_xmin", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["studies.id"],
                                name=op.f("fk_study_documents_study_id_studies"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("study_id", name=op.f("pk_study_documents")),
    )
    # Keep a compressed document (about 8 KB of JSON, 3.6 KB compressed) in the row
    # instead of in TOAST chunks: a 1,000-study read then does no TOAST index lookups.
    op.execute("ALTER TABLE study_documents SET (toast_tuple_target = 8160)")


def downgrade() -> None:
    op.drop_table("study_documents")
