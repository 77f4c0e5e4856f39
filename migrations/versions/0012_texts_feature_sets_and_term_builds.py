"""Texts of publications, content-addressed feature sets, and term builds (the jobs that
make feature sets, term maps and text-to-brain models).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('feature_sets',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('vocabulary', sa.String(length=128), nullable=False),
    sa.Column('weighting', sa.String(length=16), nullable=False),
    sa.Column('n_studies', sa.Integer(), nullable=False),
    sa.Column('n_terms', sa.Integer(), nullable=False),
    sa.Column('nnz', sa.Integer(), nullable=False),
    sa.Column('file', sa.String(length=80), nullable=False),
    sa.Column('built_from', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('name IS NULL OR length(btrim(name)) > 0', name=op.f('ck_feature_sets_name_not_blank')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_feature_sets_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feature_sets'))
    )
    op.create_index(op.f('ix_feature_sets_name'), 'feature_sets', ['name'], unique=False)
    op.create_table('study_texts',
    sa.Column('base_study_id', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('title', 'abstract', 'keywords', 'body')", name=op.f('ck_study_texts_kind_known')),
    sa.CheckConstraint('text IS NULL OR length(btrim(text)) > 0', name=op.f('ck_study_texts_text_not_blank')),
    sa.ForeignKeyConstraint(['base_study_id'], ['base_studies.id'], name=op.f('fk_study_texts_base_study_id_base_studies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('base_study_id', 'source', 'kind', name=op.f('pk_study_texts'))
    )
    op.create_table('term_builds',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('feature_set_id', sa.String(length=64), nullable=True),
    sa.Column('parameters', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('progress', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claim', sa.String(length=32), nullable=True),
    sa.Column('job_id', sa.BigInteger(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('result', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('requested_by', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('features', 'term_maps', 'text_model')", name=op.f('ck_term_builds_kind_known')),
    sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')", name=op.f('ck_term_builds_status_known')),
    sa.ForeignKeyConstraint(['feature_set_id'], ['feature_sets.id'], name=op.f('fk_term_builds_feature_set_id_feature_sets'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_term_builds_requested_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_term_builds'))
    )
    op.create_index('ix_term_builds_feature_set_id_kind', 'term_builds', ['feature_set_id', 'kind'], unique=False)
    op.create_index(op.f('ix_term_builds_status'), 'term_builds', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_term_builds_status'), table_name='term_builds')
    op.drop_index('ix_term_builds_feature_set_id_kind', table_name='term_builds')
    op.drop_table('term_builds')
    op.drop_table('study_texts')
    op.drop_index(op.f('ix_feature_sets_name'), table_name='feature_sets')
    op.drop_table('feature_sets')
