"""search indexes: full text over publications, MNI peak locations, keyset list order

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:00:00

Expression indexes only (no new columns), so upgrading is online-safe apart from the
index builds. The expressions are frozen here on purpose: ``neurostore/models/search.py``
holds the same text, and ``alembic check`` fails if they ever drift apart.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FULLTEXT = "to_tsvector('english'::regconfig, (((((COALESCE(name, ''::text) || ' '::text) || COALESCE(description, ''::text)) || ' '::text) || COALESCE(authors, ''::text)) || ' '::text) || COALESCE(publication, ''::text))"
# Talairach peaks converted to MNI with the inverse of Lancaster's icbm_other2tal, written
# the way PostgreSQL prints it back (so `alembic check` compares equal).
MNI_XY = "point(\nCASE\n    WHEN space::text = 'TAL'::text THEN 1.0686002::double precision * x + '-0.0039592069'::numeric::double precision * y + 0.008259711::double precision * z + 1.0781555::double precision\n    ELSE x\nEND,\nCASE\n    WHEN space::text = 'TAL'::text THEN 0.006402499::double precision * x + 1.057407::double precision * y + 0.085662813::double precision * z + 1.1682435::double precision\n    ELSE y\nEND)"


def upgrade() -> None:
    op.create_index("ix_base_studies_created_at_id", "base_studies", ["created_at", "id"])
    op.create_index("ix_studies_created_at_id", "studies", ["created_at", "id"])
    op.create_index(
        "ix_base_studies_fulltext", "base_studies", [sa.literal_column(FULLTEXT)],
        postgresql_using="gin",
    )
    op.create_index(
        "ix_studies_fulltext", "studies", [sa.literal_column(FULLTEXT)], postgresql_using="gin"
    )
    op.create_index(
        "ix_points_mni_xy", "points", [sa.literal_column(MNI_XY)], postgresql_using="gist"
    )


def downgrade() -> None:
    op.drop_index("ix_points_mni_xy", table_name="points")
    op.drop_index("ix_studies_fulltext", table_name="studies")
    op.drop_index("ix_base_studies_fulltext", table_name="base_studies")
    op.drop_index("ix_studies_created_at_id", table_name="studies")
    op.drop_index("ix_base_studies_created_at_id", table_name="base_studies")
