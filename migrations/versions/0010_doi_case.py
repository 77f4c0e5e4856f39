"""DOIs keep their case: a base study's DOI is unique without regard to case.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ACTIVE = sa.text("deleted_at IS NULL AND merged_into_id IS NULL")


def upgrade() -> None:
    op.drop_index("uq_base_studies_active_doi", table_name="base_studies")
    op.create_index("uq_base_studies_active_doi", "base_studies", [sa.text("lower(doi)")],
                    unique=True, postgresql_where=ACTIVE)


def downgrade() -> None:
    # Stored DOIs already differing only in case cannot come back under the old index:
    # lower-case them first, as the old code stored them.
    op.execute("UPDATE base_studies SET doi = lower(doi) WHERE doi <> lower(doi)")
    op.execute("UPDATE studies SET doi = lower(doi) WHERE doi <> lower(doi)")
    op.drop_index("uq_base_studies_active_doi", table_name="base_studies")
    op.create_index("uq_base_studies_active_doi", "base_studies", ["doi"], unique=True,
                    postgresql_where=ACTIVE)
