"""NeuroVault publications: the collection and image ids of each published result, and the
state of its upload job (a new table; nothing existing changes).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('neurovault_publications',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.String(length=300), nullable=False),
    sa.Column('owner_id', sa.String(length=32), nullable=True),
    sa.Column('options', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('progress', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claim', sa.String(length=32), nullable=True),
    sa.Column('job_id', sa.BigInteger(), nullable=True),
    sa.Column('token', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('server', sa.String(length=300), nullable=True),
    sa.Column('collection_id', sa.BigInteger(), nullable=True),
    sa.Column('collection_url', sa.Text(), nullable=True),
    sa.Column('images', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('meta-analysis', 'term-map')", name=op.f('ck_neurovault_publications_kind_known')),
    sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')", name=op.f('ck_neurovault_publications_status_known')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_neurovault_publications_owner_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_neurovault_publications')),
    sa.UniqueConstraint('kind', 'source_id', name=op.f('uq_neurovault_publications_kind'))
    )
    op.create_index(op.f('ix_neurovault_publications_owner_id'), 'neurovault_publications', ['owner_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_neurovault_publications_owner_id'), table_name='neurovault_publications')
    op.drop_table('neurovault_publications')
