"""Workflow: fund pools, rounds, applications, events, the append-only ledger, attachments,
objections, idempotency keys, payout batches, 站内消息 and the e-mail/SMS outbox.

Revision ID: 0002_workflow
Revises: 0001_platform
Create Date: 2025-01-02

The ledger refuses UPDATE and DELETE with a trigger on both backends: rows are only ever
appended. Money invariants are CHECK constraints (see huiqi.workflow.tables).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_workflow"
down_revision = "0001_platform"
branch_labels = ("workflow",)
depends_on = None

_APPEND_ONLY_MESSAGE = "台账只能追加,不能修改或删除"


def upgrade() -> None:
    op.create_table('wf_idempotency',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('endpoint', sa.String(length=200), nullable=False),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response_json', sa.Text(), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wf_idempotency')),
    sa.UniqueConstraint('user_id', 'key', name='uq_wf_idempotency_user_key')
    )
    op.create_table('wf_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('rule', sa.String(length=200), nullable=False),
    sa.Column('document', sa.String(length=200), nullable=False),
    sa.Column('clause', sa.String(length=100), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=True),
    sa.Column('upper_bound', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('missing_json', sa.Text(), server_default='[]', nullable=False),
    sa.Column('dedupe_key', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('read_at', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wf_messages')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_wf_messages_dedupe_key'))
    )
    op.create_index('ix_wf_messages_recipient', 'wf_messages', ['recipient'], unique=False)
    op.create_table('wf_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='queued', nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('sent_at', sa.String(length=32), nullable=True),
    sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f('ck_wf_outbox_channel')),
    sa.CheckConstraint("status IN ('queued', 'sent', 'failed')", name=op.f('ck_wf_outbox_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wf_outbox'))
    )
    op.create_table('wf_pools',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('allocated', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('paid', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.CheckConstraint('allocated >= 0', name=op.f('ck_wf_pools_allocated')),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_wf_pools_amount')),
    sa.CheckConstraint('balance = amount - allocated', name=op.f('ck_wf_pools_balance_sum')),
    sa.CheckConstraint('balance >= 0', name=op.f('ck_wf_pools_balance_not_negative')),
    sa.CheckConstraint('paid >= 0 AND paid <= allocated', name=op.f('ck_wf_pools_paid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wf_pools'))
    )
    op.create_table('wf_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('department', sa.String(length=100), nullable=False),
    sa.Column('spec_json', sa.Text(), nullable=False),
    sa.Column('opens_on', sa.String(length=10), nullable=False),
    sa.Column('closes_on', sa.String(length=10), nullable=False),
    sa.Column('pool_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('publicity_days', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('closed_at', sa.String(length=32), nullable=True),
    sa.Column('closed_by', sa.String(length=100), nullable=True),
    sa.Column('summary_json', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('application', 'proactive')", name=op.f('ck_wf_rounds_kind')),
    sa.CheckConstraint("method IN ('pro_rata', 'rank', 'first_come')", name=op.f('ck_wf_rounds_method')),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_wf_rounds_status')),
    sa.ForeignKeyConstraint(['pool_id'], ['wf_pools.id'], name=op.f('fk_wf_rounds_pool_id_wf_pools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wf_rounds'))
    )
    op.create_table('wf_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('enterprise', sa.String(length=200), nullable=False),
    sa.Column('enterprise_name', sa.String(length=200), nullable=False),
    sa.Column('rule', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('county', sa.String(length=100), nullable=True),
    sa.Column('district', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=20), server_default='application', nullable=False),
    sa.Column('profile_json', sa.Text(), nullable=False),
    sa.Column('estimate_json', sa.Text(), nullable=False),
    sa.Column('bound', sa.BigInteger(), nullable=True),
    sa.Column('upper_bound', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('approved_amount', sa.BigInteger(), nullable=True),
    sa.Column('claim_amount', sa.BigInteger(), nullable=True),
    sa.Column('allocated_amount', sa.BigInteger(), nullable=True),
    sa.Column('paid_amount', sa.BigInteger(), nullable=True),
    sa.Column('voucher', sa.String(length=64), nullable=True),
    sa.Column('bank_account', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('updated_at', sa.String(length=32), nullable=False),
    sa.Column('submitted_at', sa.String(length=32), nullable=True),
    sa.Column('publicized_on', sa.String(length=10), nullable=True),
    sa.Column('paid_at', sa.String(length=32), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("source IN ('application', 'proactive')", name=op.f('ck_wf_applications_source')),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'returned', 'county_approved', 'dept_approved', 'rejected', 'withdrawn', 'lapsed', 'awarded', 'not_awarded', 'publicized', 'paid')", name=op.f('ck_wf_applications_status')),
    sa.CheckConstraint('allocated_amount IS NULL OR allocated_amount >= 0', name=op.f('ck_wf_applications_allocated')),
    sa.CheckConstraint('approved_amount IS NULL OR (approved_amount >= 0 AND bound IS NOT NULL AND approved_amount <= bound)', name=op.f('ck_wf_applications_approved_within_bound')),
    sa.CheckConstraint('paid_amount IS NULL OR paid_amount = allocated_amount', name=op.f('ck_wf_applications_paid_as_allocated')),
    sa.ForeignKeyConstraint(['round_id'], ['wf_rounds.id'], name=op.f('fk_wf_applications_round_id_wf_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wf_applications')),
    sa.UniqueConstraint('round_id', 'enterprise', 'rule', name='uq_wf_applications_round_enterprise_rule')
    )
    op.create_index('ix_wf_applications_enterprise', 'wf_applications', ['enterprise'], unique=False)
    op.create_index('ix_wf_applications_round_status', 'wf_applications', ['round_id', 'status'], unique=False)
    op.create_table('wf_payout_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['wf_rounds.id'], name=op.f('fk_wf_payout_batches_round_id_wf_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wf_payout_batches'))
    )
    op.create_table('wf_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('document', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_path', sa.Text(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=100), nullable=False),
    sa.Column('uploaded_at', sa.String(length=32), nullable=False),
    sa.CheckConstraint('size > 0', name=op.f('ck_wf_attachments_size')),
    sa.ForeignKeyConstraint(['application_id'], ['wf_applications.id'], name=op.f('fk_wf_attachments_application_id_wf_applications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wf_attachments'))
    )
    op.create_index('ix_wf_attachments_application', 'wf_attachments', ['application_id'], unique=False)
    op.create_table('wf_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=True),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['wf_applications.id'], name=op.f('fk_wf_events_application_id_wf_applications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wf_events'))
    )
    op.create_index('ix_wf_events_application', 'wf_events', ['application_id'], unique=False)
    op.create_table('wf_ledger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pool_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('enterprise', sa.String(length=200), nullable=False),
    sa.Column('rule', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('pool_balance', sa.BigInteger(), nullable=False),
    sa.Column('voucher', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint("kind IN ('decided', 'allocated', 'adjusted', 'released', 'paid')", name=op.f('ck_wf_ledger_kind')),
    sa.CheckConstraint('pool_balance >= 0', name=op.f('ck_wf_ledger_pool_balance')),
    sa.ForeignKeyConstraint(['application_id'], ['wf_applications.id'], name=op.f('fk_wf_ledger_application_id_wf_applications')),
    sa.ForeignKeyConstraint(['pool_id'], ['wf_pools.id'], name=op.f('fk_wf_ledger_pool_id_wf_pools')),
    sa.ForeignKeyConstraint(['round_id'], ['wf_rounds.id'], name=op.f('fk_wf_ledger_round_id_wf_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wf_ledger')),
    sa.UniqueConstraint('hash', name=op.f('uq_wf_ledger_hash'))
    )
    op.create_index('ix_wf_ledger_pool', 'wf_ledger', ['pool_id', 'id'], unique=False)
    op.create_index('ix_wf_ledger_round', 'wf_ledger', ['round_id'], unique=False)
    op.create_table('wf_objections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('resolved_by', sa.String(length=100), nullable=True),
    sa.Column('resolved_at', sa.String(length=32), nullable=True),
    sa.CheckConstraint("status IN ('open', 'dismissed', 'upheld')", name=op.f('ck_wf_objections_status')),
    sa.ForeignKeyConstraint(['application_id'], ['wf_applications.id'], name=op.f('fk_wf_objections_application_id_wf_applications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wf_objections'))
    )

    _ledger_append_only()


def _ledger_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION wf_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{_APPEND_ONLY_MESSAGE}'; END $$""")
        op.execute("CREATE TRIGGER wf_ledger_no_change BEFORE UPDATE OR DELETE ON wf_ledger "
                   "FOR EACH ROW EXECUTE FUNCTION wf_ledger_append_only()")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER wf_ledger_no_{event.lower()} BEFORE {event} ON wf_ledger "
                       f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY_MESSAGE}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS wf_ledger_no_change ON wf_ledger")
        op.execute("DROP FUNCTION IF EXISTS wf_ledger_append_only()")
    op.drop_table('wf_outbox')
    op.drop_table('wf_messages')
    op.drop_table('wf_payout_batches')
    op.drop_table('wf_idempotency')
    op.drop_table('wf_objections')
    op.drop_table('wf_attachments')
    op.drop_table('wf_ledger')
    op.drop_table('wf_events')
    op.drop_table('wf_applications')
    op.drop_table('wf_rounds')
    op.drop_table('wf_pools')
