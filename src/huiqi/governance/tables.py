"""Governance tables (Alembic revision 0003_governance creates them).

Dates are ISO text (``YYYY-MM-DD``) and months ``YYYY-MM``, as everywhere in the store.
Money is BIGINT integer yuan; indicator values are exact decimal text (an actual of 20.35
万元/亩 must read back as 20.35, and SQLite has no exact decimal type).
"""

from __future__ import annotations

import sqlalchemy as sa

from huiqi.store.schema import metadata

TASK_STATUSES = ("not_started", "in_progress", "completed", "overdue", "closed")
TASK_ROLES = ("lead", "support", "responsible")
FACTOR_STATUSES = ("secured", "partial", "pending", "none")
PROJECT_LEVELS = ("province", "city", "county")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


gov_tasks = sa.Table(
    "gov_tasks",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("document_identity", sa.String(300), nullable=False),
    sa.Column("document_id", sa.String(64), nullable=False),
    sa.Column("document_title", sa.Text, nullable=False),
    sa.Column("measure_key", sa.String(200), nullable=False),
    sa.Column("measure_title", sa.Text, nullable=False),
    sa.Column("measure_excerpt", sa.Text, nullable=False, server_default=""),
    sa.Column("unit", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("deadline_json", sa.Text, nullable=False),
    sa.Column("due", sa.String(10)),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("retired", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("last_report_on", sa.String(10)),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.CheckConstraint(_in("status", TASK_STATUSES), name="status"),
    sa.CheckConstraint(_in("role", TASK_ROLES), name="role"),
    sa.Index("ix_gov_tasks_document", "document_identity", "measure_key"),
    sa.Index("ix_gov_tasks_unit", "unit"),
)

gov_task_events = sa.Table(
    "gov_task_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("task_id", sa.String(40), sa.ForeignKey("gov_tasks.id", ondelete="CASCADE"), nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("from_status", sa.String(20)),
    sa.Column("to_status", sa.String(20)),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Index("ix_gov_task_events_task", "task_id"),
)

gov_task_reports = sa.Table(
    "gov_task_reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("task_id", sa.String(40), sa.ForeignKey("gov_tasks.id", ondelete="CASCADE"), nullable=False),
    sa.Column("reported_on", sa.String(10), nullable=False),
    sa.Column("author", sa.String(100), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("attachments_json", sa.Text, nullable=False, server_default="[]"),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Index("ix_gov_task_reports_task", "task_id"),
)

gov_notices = sa.Table(
    "gov_notices",
    metadata,
    sa.Column("key", sa.String(120), primary_key=True),
    sa.Column("task_id", sa.String(40), sa.ForeignKey("gov_tasks.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("sent_at", sa.String(32), nullable=False),
    sa.CheckConstraint(_in("kind", ("reminder", "escalation")), name="kind"),
)

gov_targets = sa.Table(
    "gov_targets",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("document_identity", sa.String(300), nullable=False),
    sa.Column("series", sa.String(80)),
    sa.Column("region", sa.String(100), nullable=False),
    sa.Column("spec_json", sa.Text, nullable=False),
    sa.Column("retired", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.Index("ix_gov_targets_document", "document_identity"),
)

gov_actuals = sa.Table(
    "gov_actuals",
    metadata,
    sa.Column("indicator", sa.String(80), primary_key=True),
    sa.Column("region", sa.String(100), primary_key=True),
    sa.Column("period", sa.String(7), primary_key=True),
    sa.Column("value", sa.String(40), nullable=False),
    sa.Column("source", sa.String(300), nullable=False, server_default=""),
    sa.Column("imported_at", sa.String(32), nullable=False),
)

gov_projects = sa.Table(
    "gov_projects",
    metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("enterprise", sa.Text, nullable=False, server_default=""),
    sa.Column("region", sa.String(100), nullable=False),
    sa.Column("industry", sa.String(100), nullable=False, server_default=""),
    sa.Column("level", sa.String(20), nullable=False),
    sa.Column("total_investment", sa.BigInteger, nullable=False),
    sa.Column("annual_plan", sa.BigInteger, nullable=False),
    sa.Column("plan_year", sa.Integer, nullable=False),
    sa.Column("signed_on", sa.String(10)),
    sa.Column("start_planned", sa.String(10)),
    sa.Column("started_on", sa.String(10)),
    sa.Column("production_planned", sa.String(10)),
    sa.Column("production_on", sa.String(10)),
    sa.Column("full_production_planned", sa.String(10)),
    sa.Column("full_production_on", sa.String(10)),
    sa.Column("land_mu", sa.String(40)),
    sa.Column("land_status", sa.String(20), nullable=False, server_default="none"),
    sa.Column("energy_tce", sa.String(40)),
    sa.Column("energy_status", sa.String(20), nullable=False, server_default="none"),
    sa.Column("funding", sa.BigInteger),
    sa.Column("funding_status", sa.String(20), nullable=False, server_default="none"),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.CheckConstraint(_in("level", PROJECT_LEVELS), name="level"),
    sa.CheckConstraint("total_investment >= 0 AND annual_plan >= 0 AND annual_plan <= total_investment",
                       name="investment"),
    sa.CheckConstraint("funding IS NULL OR funding >= 0", name="funding"),
    sa.CheckConstraint(_in("land_status", FACTOR_STATUSES), name="land_status"),
    sa.CheckConstraint(_in("energy_status", FACTOR_STATUSES), name="energy_status"),
    sa.CheckConstraint(_in("funding_status", FACTOR_STATUSES), name="funding_status"),
)

gov_project_investments = sa.Table(
    "gov_project_investments",
    metadata,
    sa.Column("project_code", sa.String(64), sa.ForeignKey("gov_projects.code", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("period", sa.String(7), primary_key=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.CheckConstraint("amount >= 0", name="amount"),
)

TABLES = (gov_tasks, gov_task_events, gov_task_reports, gov_notices, gov_targets, gov_actuals, gov_projects,
          gov_project_investments)
