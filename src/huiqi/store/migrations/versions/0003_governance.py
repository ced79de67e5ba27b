"""Governance: 督办 tasks (events, progress reports, notices sent), monitored targets and actuals,
the key-project ledger (项目库) with monthly completed investment.

Revision ID: 0003_governance
Revises: 0001_platform
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_governance"
down_revision = "0001_platform"
branch_labels = ("governance",)
depends_on = None


def upgrade() -> None:
    op.create_table('gov_actuals',
    sa.Column('indicator', sa.String(length=80), nullable=False),
    sa.Column('region', sa.String(length=100), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('value', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=300), server_default='', nullable=False),
    sa.Column('imported_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('indicator', 'region', 'period', name=op.f('pk_gov_actuals'))
    )
    op.create_table('gov_projects',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('enterprise', sa.Text(), server_default='', nullable=False),
    sa.Column('region', sa.String(length=100), nullable=False),
    sa.Column('industry', sa.String(length=100), server_default='', nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('total_investment', sa.BigInteger(), nullable=False),
    sa.Column('annual_plan', sa.BigInteger(), nullable=False),
    sa.Column('plan_year', sa.Integer(), nullable=False),
    sa.Column('signed_on', sa.String(length=10), nullable=True),
    sa.Column('start_planned', sa.String(length=10), nullable=True),
    sa.Column('started_on', sa.String(length=10), nullable=True),
    sa.Column('production_planned', sa.String(length=10), nullable=True),
    sa.Column('production_on', sa.String(length=10), nullable=True),
    sa.Column('full_production_planned', sa.String(length=10), nullable=True),
    sa.Column('full_production_on', sa.String(length=10), nullable=True),
    sa.Column('land_mu', sa.String(length=40), nullable=True),
    sa.Column('land_status', sa.String(length=20), server_default='none', nullable=False),
    sa.Column('energy_tce', sa.String(length=40), nullable=True),
    sa.Column('energy_status', sa.String(length=20), server_default='none', nullable=False),
    sa.Column('funding', sa.BigInteger(), nullable=True),
    sa.Column('funding_status', sa.String(length=20), server_default='none', nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('updated_at', sa.String(length=32), nullable=False),
    sa.CheckConstraint("energy_status IN ('secured', 'partial', 'pending', 'none')", name=op.f('ck_gov_projects_energy_status')),
    sa.CheckConstraint("funding_status IN ('secured', 'partial', 'pending', 'none')", name=op.f('ck_gov_projects_funding_status')),
    sa.CheckConstraint("land_status IN ('secured', 'partial', 'pending', 'none')", name=op.f('ck_gov_projects_land_status')),
    sa.CheckConstraint("level IN ('province', 'city', 'county')", name=op.f('ck_gov_projects_level')),
    sa.CheckConstraint('funding IS NULL OR funding >= 0', name=op.f('ck_gov_projects_funding')),
    sa.CheckConstraint('total_investment >= 0 AND annual_plan >= 0 AND annual_plan <= total_investment', name=op.f('ck_gov_projects_investment')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_gov_projects'))
    )
    op.create_table('gov_targets',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('document_identity', sa.String(length=300), nullable=False),
    sa.Column('series', sa.String(length=80), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=False),
    sa.Column('spec_json', sa.Text(), nullable=False),
    sa.Column('retired', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('updated_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gov_targets'))
    )
    op.create_index('ix_gov_targets_document', 'gov_targets', ['document_identity'], unique=False)
    op.create_table('gov_tasks',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('document_identity', sa.String(length=300), nullable=False),
    sa.Column('document_id', sa.String(length=64), nullable=False),
    sa.Column('document_title', sa.Text(), nullable=False),
    sa.Column('measure_key', sa.String(length=200), nullable=False),
    sa.Column('measure_title', sa.Text(), nullable=False),
    sa.Column('measure_excerpt', sa.Text(), server_default='', nullable=False),
    sa.Column('unit', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('deadline_json', sa.Text(), nullable=False),
    sa.Column('due', sa.String(length=10), nullable=True),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('retired', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('last_report_on', sa.String(length=10), nullable=True),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('updated_at', sa.String(length=32), nullable=False),
    sa.CheckConstraint("role IN ('lead', 'support', 'responsible')", name=op.f('ck_gov_tasks_role')),
    sa.CheckConstraint("status IN ('not_started', 'in_progress', 'completed', 'overdue', 'closed')", name=op.f('ck_gov_tasks_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gov_tasks'))
    )
    op.create_index('ix_gov_tasks_document', 'gov_tasks', ['document_identity', 'measure_key'], unique=False)
    op.create_index('ix_gov_tasks_unit', 'gov_tasks', ['unit'], unique=False)
    op.create_table('gov_notices',
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('task_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.String(length=32), nullable=False),
    sa.CheckConstraint("kind IN ('reminder', 'escalation')", name=op.f('ck_gov_notices_kind')),
    sa.ForeignKeyConstraint(['task_id'], ['gov_tasks.id'], name=op.f('fk_gov_notices_task_id_gov_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_gov_notices'))
    )
    op.create_table('gov_project_investments',
    sa.Column('project_code', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_gov_project_investments_amount')),
    sa.ForeignKeyConstraint(['project_code'], ['gov_projects.code'], name=op.f('fk_gov_project_investments_project_code_gov_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_code', 'period', name=op.f('pk_gov_project_investments'))
    )
    op.create_table('gov_task_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=40), nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=True),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['gov_tasks.id'], name=op.f('fk_gov_task_events_task_id_gov_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gov_task_events'))
    )
    op.create_index('ix_gov_task_events_task', 'gov_task_events', ['task_id'], unique=False)
    op.create_table('gov_task_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=40), nullable=False),
    sa.Column('reported_on', sa.String(length=10), nullable=False),
    sa.Column('author', sa.String(length=100), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('attachments_json', sa.Text(), server_default='[]', nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['gov_tasks.id'], name=op.f('fk_gov_task_reports_task_id_gov_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gov_task_reports'))
    )
    op.create_index('ix_gov_task_reports_task', 'gov_task_reports', ['task_id'], unique=False)


def downgrade() -> None:
    for table in ("gov_project_investments", "gov_projects", "gov_actuals", "gov_targets", "gov_notices",
                  "gov_task_reports", "gov_task_events", "gov_tasks"):
        op.drop_table(table)
