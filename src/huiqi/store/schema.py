"""The one SQLAlchemy ``metadata`` and the core tables defined against it.

Features define their own tables in their own modules on this same ``metadata``
(``huiqi.workflow.tables``, ``huiqi.governance.tables``). The Alembic scripts in
``migrations/versions`` create them explicitly; these definitions are what the code queries.

Conventions: timestamps are ISO-8601 UTC text (as the policy base always stored them),
money is BIGINT integer yuan, JSON payloads are TEXT (canonical JSON), enumerations are
CHECK constraints.
"""

from __future__ import annotations

import sqlalchemy as sa

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

ROLES = ("enterprise", "county", "department", "finance", "supervisor", "admin")
JOB_STATES = ("queued", "running", "done", "failed", "cancelled")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# ---- accounts ----------------------------------------------------------------------------

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(100), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("region", sa.String(100)),
    sa.Column("department", sa.String(100)),
    sa.Column("enterprise", sa.String(200)),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.CheckConstraint(_in("role", ROLES), name="role"),
)

sessions = sa.Table(
    "sessions",
    metadata,
    # sha256 of the cookie value: a stolen database does not yield live sessions.
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("expires_at", sa.String(32), nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("expires_at", sa.String(32), nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
)

# Failed logins, per user name and client address, for the rate limit (shared by all workers).
login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(100), nullable=False),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Index("ix_login_failures_username_at", "username", "at"),
)

saved_profiles = sa.Table(
    "saved_profiles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("profile_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("user_id", "name", name="uq_saved_profiles_user_name"),
)

# ---- audit log (hash chain) ----------------------------------------------------------------

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(100)),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("entity", sa.String(100), nullable=False),
    sa.Column("entity_id", sa.String(200), nullable=False),
    sa.Column("before_json", sa.Text),
    sa.Column("after_json", sa.Text),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
    sa.Index("ix_audit_log_entity", "entity", "entity_id"),
)

# ---- background jobs -----------------------------------------------------------------------

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(50), nullable=False),
    sa.Column("params_json", sa.Text, nullable=False),
    sa.Column("state", sa.String(20), nullable=False, server_default="queued"),
    # Per mille: an integer keeps the column exact and portable.
    sa.Column("progress", sa.Integer, nullable=False, server_default="0"),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("result_json", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("owner", sa.String(100)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("worker", sa.String(100)),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("started_at", sa.String(32)),
    sa.Column("heartbeat_at", sa.String(32)),
    sa.Column("finished_at", sa.String(32)),
    sa.CheckConstraint(_in("state", JOB_STATES), name="state"),
    sa.CheckConstraint("progress >= 0 AND progress <= 1000", name="progress"),
    sa.Index("ix_jobs_state_id", "state", "id"),
)

# ---- the policy base -------------------------------------------------------------------------
# The full Document JSON is the source of truth; the other columns are its queryable
# projection, rewritten whenever the document is saved. Children are keyed by the document id
# and their position. Exact numbers (Decimal) are TEXT, money in yuan BIGINT, dates ISO TEXT.

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("doc_number", sa.Text, index=True),
    sa.Column("issuers", sa.Text, nullable=False, server_default="[]"),
    sa.Column("province", sa.Text),
    sa.Column("city", sa.Text),
    sa.Column("county", sa.Text),
    sa.Column("signed_date", sa.Text),
    sa.Column("published_date", sa.Text),
    sa.Column("effective_from", sa.Text),
    sa.Column("effective_to", sa.Text),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("status_label", sa.Text),
    sa.Column("script", sa.Text, nullable=False),
    sa.Column("source_path", sa.Text),
    sa.Column("source_sha256", sa.Text),
    sa.Column("schema_version", sa.Text, nullable=False),
    sa.Column("json_sha256", sa.Text, nullable=False),
    sa.Column("ingested_at", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Text, nullable=False),
    sa.Column("json", sa.Text, nullable=False),
    sa.CheckConstraint("status IN ('final', 'draft')", name="status"),
    sa.Index("ix_documents_title", "title"),
    sa.Index("ix_documents_region", "province", "city", "county"),
)

measures = sa.Table(
    "measures",
    metadata,
    sa.Column("document_id", sa.Text, sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("ord", sa.Integer, primary_key=True),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False, server_default="[]"),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("style", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("original_text", sa.Text, nullable=False, server_default=""),
    sa.Column("start", sa.Integer, nullable=False),
    sa.Column("end", sa.Integer, nullable=False),
    sa.Column("units_text", sa.Text),
    # jieba tokens of text joined by spaces: the full-text index reads this column
    sa.Column("segmented", sa.Text, nullable=False, server_default=""),
    sa.Index("ix_measures_document_key", "document_id", "key"),
)

def _measure_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["document_id", "measure_ord"], ["measures.document_id", "measures.ord"], ondelete="CASCADE"
    )

units = sa.Table(
    "units",
    metadata,
    sa.Column("document_id", sa.Text, primary_key=True),
    sa.Column("measure_ord", sa.Integer, primary_key=True),
    sa.Column("measure_key", sa.Text, nullable=False),
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("ord", sa.Integer, primary_key=True),
    sa.CheckConstraint("role IN ('lead', 'support', 'member')", name="role"),
    _measure_fk(),
    sa.Index("ix_units_unit_role", "unit", "role"),
    sa.Index("ix_units_measure", "document_id", "measure_key"),
)

provisions = sa.Table(
    "provisions",
    metadata,
    sa.Column("document_id", sa.Text, primary_key=True),
    sa.Column("measure_ord", sa.Integer, primary_key=True),
    sa.Column("measure_key", sa.Text, nullable=False),
    sa.Column("ord", sa.Integer, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("start", sa.Integer, nullable=False),
    sa.Column("end", sa.Integer, nullable=False),
    sa.Column("value", sa.Text),
    sa.Column("unit", sa.Text, nullable=False, server_default=""),
    sa.Column("yuan", sa.BigInteger, index=True),
    sa.Column("comparator", sa.Text),
    sa.Column("upper_bound", sa.Integer, nullable=False, server_default="0"),
    sa.Column("low", sa.Text),
    sa.Column("high", sa.Text),
    sa.Column("low_inclusive", sa.Integer),
    sa.Column("high_inclusive", sa.Integer),
    sa.Column("low_yuan", sa.BigInteger),
    sa.Column("high_yuan", sa.BigInteger),
    sa.Column("per", sa.Text),
    sa.Column("subject", sa.Text),
    sa.Column("scope", sa.Text),
    sa.Column("note", sa.Text),
    sa.CheckConstraint("upper_bound IN (0, 1)", name="upper_bound"),
    sa.CheckConstraint("low_inclusive IN (0, 1)", name="low_inclusive"),
    sa.CheckConstraint("high_inclusive IN (0, 1)", name="high_inclusive"),
    _measure_fk(),
    sa.Index("ix_provisions_measure", "document_id", "measure_key"),
)

targets = sa.Table(
    "targets",
    metadata,
    sa.Column("document_id", sa.Text, sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("ord", sa.Integer, primary_key=True),
    sa.Column("measure_key", sa.Text),
    sa.Column("indicator", sa.Text, nullable=False, index=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("unit", sa.Text, nullable=False, server_default=""),
    sa.Column("comparator", sa.Text),
    sa.Column("stretch_value", sa.Text),
    sa.Column("year", sa.Integer),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("start", sa.Integer, nullable=False),
    sa.Column("end", sa.Integer, nullable=False),
    sa.Index("ix_targets_measure", "document_id", "measure_key"),
)

# kind: boilerplate_removed | repaired | unreadable | unparsed_numbers | warning.
quality_flags = sa.Table(
    "quality_flags",
    metadata,
    sa.Column("document_id", sa.Text, sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("ord", sa.Integer, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False, index=True),
    sa.Column("start", sa.Integer),
    sa.Column("end", sa.Integer),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
)

POLICY_BASE_TABLES = (documents, measures, units, provisions, targets, quality_flags)
