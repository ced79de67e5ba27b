"""Platform: the policy base, accounts, sessions, API tokens, audit log, jobs and saved profiles.

Revision ID: 0001_platform
Revises:
Create Date: 2025-01-01

The policy base tables keep the layout of the former hand-written SQL migrations
(0001_initial + 0002_search), so documents read and write exactly as before. Full-text
search differs per backend: an FTS5 table on SQLite, a generated tsvector column with a
GIN index on PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_platform"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=True),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('entity', sa.String(length=100), nullable=False),
    sa.Column('entity_id', sa.String(length=200), nullable=False),
    sa.Column('before_json', sa.Text(), nullable=True),
    sa.Column('after_json', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_log_hash'))
    )
    op.create_index('ix_audit_log_entity', 'audit_log', ['entity', 'entity_id'], unique=False)
    op.create_table('documents',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('doc_number', sa.Text(), nullable=True),
    sa.Column('issuers', sa.Text(), server_default='[]', nullable=False),
    sa.Column('province', sa.Text(), nullable=True),
    sa.Column('city', sa.Text(), nullable=True),
    sa.Column('county', sa.Text(), nullable=True),
    sa.Column('signed_date', sa.Text(), nullable=True),
    sa.Column('published_date', sa.Text(), nullable=True),
    sa.Column('effective_from', sa.Text(), nullable=True),
    sa.Column('effective_to', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('status_label', sa.Text(), nullable=True),
    sa.Column('script', sa.Text(), nullable=False),
    sa.Column('source_path', sa.Text(), nullable=True),
    sa.Column('source_sha256', sa.Text(), nullable=True),
    sa.Column('schema_version', sa.Text(), nullable=False),
    sa.Column('json_sha256', sa.Text(), nullable=False),
    sa.Column('ingested_at', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.Text(), nullable=False),
    sa.Column('json', sa.Text(), nullable=False),
    sa.CheckConstraint("status IN ('final', 'draft')", name=op.f('ck_documents_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents'))
    )
    op.create_index(op.f('ix_documents_doc_number'), 'documents', ['doc_number'], unique=False)
    op.create_index('ix_documents_region', 'documents', ['province', 'city', 'county'], unique=False)
    op.create_index('ix_documents_title', 'documents', ['title'], unique=False)
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('params_json', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), server_default='queued', nullable=False),
    sa.Column('progress', sa.Integer(), server_default='0', nullable=False),
    sa.Column('message', sa.Text(), server_default='', nullable=False),
    sa.Column('result_json', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('owner', sa.String(length=100), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('worker', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('started_at', sa.String(length=32), nullable=True),
    sa.Column('heartbeat_at', sa.String(length=32), nullable=True),
    sa.Column('finished_at', sa.String(length=32), nullable=True),
    sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed', 'cancelled')", name=op.f('ck_jobs_state')),
    sa.CheckConstraint('progress >= 0 AND progress <= 1000', name=op.f('ck_jobs_progress')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    op.create_index('ix_jobs_state_id', 'jobs', ['state', 'id'], unique=False)
    op.create_table('login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures'))
    )
    op.create_index('ix_login_failures_username_at', 'login_failures', ['username', 'at'], unique=False)
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('department', sa.String(length=100), nullable=True),
    sa.Column('enterprise', sa.String(length=200), nullable=True),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('disabled', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.CheckConstraint("role IN ('enterprise', 'county', 'department', 'finance', 'supervisor', 'admin')", name=op.f('ck_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('expires_at', sa.String(length=32), nullable=False),
    sa.Column('revoked', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('measures',
    sa.Column('document_id', sa.Text(), nullable=False),
    sa.Column('ord', sa.Integer(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('path', sa.Text(), server_default='[]', nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('style', sa.Text(), nullable=False),
    sa.Column('title', sa.Text(), server_default='', nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('original_text', sa.Text(), server_default='', nullable=False),
    sa.Column('start', sa.Integer(), nullable=False),
    sa.Column('end', sa.Integer(), nullable=False),
    sa.Column('units_text', sa.Text(), nullable=True),
    sa.Column('segmented', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_measures_document_id_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', 'ord', name=op.f('pk_measures'))
    )
    op.create_index('ix_measures_document_key', 'measures', ['document_id', 'key'], unique=False)
    op.create_table('quality_flags',
    sa.Column('document_id', sa.Text(), nullable=False),
    sa.Column('ord', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('start', sa.Integer(), nullable=True),
    sa.Column('end', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_quality_flags_document_id_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', 'ord', name=op.f('pk_quality_flags'))
    )
    op.create_index(op.f('ix_quality_flags_kind'), 'quality_flags', ['kind'], unique=False)
    op.create_table('saved_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('profile_json', sa.Text(), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('updated_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_profiles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_profiles')),
    sa.UniqueConstraint('user_id', 'name', name='uq_saved_profiles_user_name')
    )
    op.create_table('sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('expires_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions'))
    )
    op.create_table('targets',
    sa.Column('document_id', sa.Text(), nullable=False),
    sa.Column('ord', sa.Integer(), nullable=False),
    sa.Column('measure_key', sa.Text(), nullable=True),
    sa.Column('indicator', sa.Text(), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('unit', sa.Text(), server_default='', nullable=False),
    sa.Column('comparator', sa.Text(), nullable=True),
    sa.Column('stretch_value', sa.Text(), nullable=True),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('start', sa.Integer(), nullable=False),
    sa.Column('end', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_targets_document_id_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', 'ord', name=op.f('pk_targets'))
    )
    op.create_index(op.f('ix_targets_indicator'), 'targets', ['indicator'], unique=False)
    op.create_index('ix_targets_measure', 'targets', ['document_id', 'measure_key'], unique=False)
    op.create_table('provisions',
    sa.Column('document_id', sa.Text(), nullable=False),
    sa.Column('measure_ord', sa.Integer(), nullable=False),
    sa.Column('measure_key', sa.Text(), nullable=False),
    sa.Column('ord', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('start', sa.Integer(), nullable=False),
    sa.Column('end', sa.Integer(), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('unit', sa.Text(), server_default='', nullable=False),
    sa.Column('yuan', sa.BigInteger(), nullable=True),
    sa.Column('comparator', sa.Text(), nullable=True),
    sa.Column('upper_bound', sa.Integer(), server_default='0', nullable=False),
    sa.Column('low', sa.Text(), nullable=True),
    sa.Column('high', sa.Text(), nullable=True),
    sa.Column('low_inclusive', sa.Integer(), nullable=True),
    sa.Column('high_inclusive', sa.Integer(), nullable=True),
    sa.Column('low_yuan', sa.BigInteger(), nullable=True),
    sa.Column('high_yuan', sa.BigInteger(), nullable=True),
    sa.Column('per', sa.Text(), nullable=True),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('scope', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint('high_inclusive IN (0, 1)', name=op.f('ck_provisions_high_inclusive')),
    sa.CheckConstraint('low_inclusive IN (0, 1)', name=op.f('ck_provisions_low_inclusive')),
    sa.CheckConstraint('upper_bound IN (0, 1)', name=op.f('ck_provisions_upper_bound')),
    sa.ForeignKeyConstraint(['document_id', 'measure_ord'], ['measures.document_id', 'measures.ord'], name=op.f('fk_units_document_id_measures'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', 'measure_ord', 'ord', name=op.f('pk_provisions'))
    )
    op.create_index(op.f('ix_provisions_kind'), 'provisions', ['kind'], unique=False)
    op.create_index('ix_provisions_measure', 'provisions', ['document_id', 'measure_key'], unique=False)
    op.create_index(op.f('ix_provisions_yuan'), 'provisions', ['yuan'], unique=False)
    op.create_table('units',
    sa.Column('document_id', sa.Text(), nullable=False),
    sa.Column('measure_ord', sa.Integer(), nullable=False),
    sa.Column('measure_key', sa.Text(), nullable=False),
    sa.Column('unit', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('ord', sa.Integer(), nullable=False),
    sa.CheckConstraint("role IN ('lead', 'support', 'member')", name=op.f('ck_units_role')),
    sa.ForeignKeyConstraint(['document_id', 'measure_ord'], ['measures.document_id', 'measures.ord'], name=op.f('fk_units_document_id_measures'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', 'measure_ord', 'ord', name=op.f('pk_units'))
    )
    op.create_index('ix_units_measure', 'units', ['document_id', 'measure_key'], unique=False)
    op.create_index('ix_units_unit_role', 'units', ['unit', 'role'], unique=False)
    _create_search_index()


def _create_search_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # measures.segmented holds jieba tokens separated by spaces, so unicode61 splits exactly at
        # jieba's word boundaries. The index keeps its own copy (measures has no integer rowid).
        op.execute(
            "CREATE VIRTUAL TABLE measures_fts USING fts5("
            "segmented, document_id UNINDEXED, ord UNINDEXED, tokenize = 'unicode61')"
        )
    else:
        # 'simple' neither stems nor drops stop words: one lexeme per jieba token, as on SQLite.
        op.execute(
            "ALTER TABLE measures ADD COLUMN search_vector tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', segmented)) STORED"
        )
        op.execute("CREATE INDEX ix_measures_search ON measures USING GIN (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE measures_fts")
    for table in (
        "quality_flags", "targets", "provisions", "units", "measures", "documents",
        "saved_profiles", "api_tokens", "sessions", "login_failures", "jobs", "audit_log", "users",
    ):
        op.drop_table(table)
