"""Points carry their study's id, and the radius index covers what a search reads.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The indexed expression as migration 0002 wrote it (migrations never import models).
MNI_XY = "point(\nCASE\n    WHEN space::text = 'TAL'::text THEN 1.0686002::double precision * x + '-0.0039592069'::numeric::double precision * y + 0.008259711::double precision * z + 1.0781555::double precision\n    ELSE x\nEND,\nCASE\n    WHEN space::text = 'TAL'::text THEN 0.006402499::double precision * x + 1.057407::double precision * y + 0.085662813::double precision * z + 1.1682435::double precision\n    ELSE y\nEND)"


def upgrade() -> None:
    op.add_column("points", sa.Column("study_id", sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE points SET study_id = analyses.study_id FROM analyses"
        " WHERE analyses.id = points.analysis_id"
    )
    op.alter_column("points", "study_id", nullable=False)
    op.create_index("ix_points_study_id", "points", ["study_id"])
    op.drop_index("ix_points_mni_xy", table_name="points")
    op.create_index("ix_points_mni_xy", "points", [sa.literal_column(MNI_XY)],
                    postgresql_using="gist",
                    postgresql_include=["x", "y", "z", "space", "study_id"])


def downgrade() -> None:
    op.drop_index("ix_points_mni_xy", table_name="points")
    op.create_index("ix_points_mni_xy", "points", [sa.literal_column(MNI_XY)],
                    postgresql_using="gist")
    op.drop_index("ix_points_study_id", table_name="points")
    op.drop_column("points", "study_id")
