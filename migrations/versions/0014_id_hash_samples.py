"""Sample indexes: studies and base studies by the hash of their id.

A search over a large store estimates how many rows it matches from a fixed-size sample
of rows (those whose id hashes lowest) instead of counting every match. The index reads
that sample in a time that does not grow with the table.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLES = ("studies", "base_studies")


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_id_hash", table, [sa.text("hashtext(id)")])
        # The planner reads the sample through the index once it has the expression's
        # statistics; do not wait for autovacuum to gather them.
        op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_id_hash", table_name=table)
