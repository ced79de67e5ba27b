"""Workflow tables on the platform's one ``metadata`` (created by Alembic revision 0002_workflow).

Money invariants are CHECK constraints, so no code path can break them:
a pool's ``balance`` = ``amount`` − ``allocated`` and is never negative; nothing is paid
beyond what was allocated; an adjusted amount stays within the rule's computed bound.
``wf_ledger`` is append-only (triggers refuse UPDATE and DELETE) and each row carries a
hash over the previous row of the same pool.
"""

from __future__ import annotations

import sqlalchemy as sa

from huiqi.store.schema import metadata
from huiqi.workflow.machine import STATES

__all__ = [
    "LEDGER_KINDS",
    "wf_applications",
    "wf_attachments",
    "wf_events",
    "wf_idempotency",
    "wf_ledger",
    "wf_messages",
    "wf_objections",
    "wf_outbox",
    "wf_payout_batches",
    "wf_pools",
    "wf_rounds",
]

LEDGER_KINDS = ("decided", "allocated", "adjusted", "released", "paid")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


wf_pools = sa.Table(
    "wf_pools",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("allocated", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("paid", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("balance", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.CheckConstraint("amount >= 0", name="amount"),
    sa.CheckConstraint("balance >= 0", name="balance_not_negative"),
    sa.CheckConstraint("balance = amount - allocated", name="balance_sum"),
    sa.CheckConstraint("allocated >= 0", name="allocated"),
    sa.CheckConstraint("paid >= 0 AND paid <= allocated", name="paid"),
)

wf_rounds = sa.Table(
    "wf_rounds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("department", sa.String(100), nullable=False),
    sa.Column("spec_json", sa.Text, nullable=False),
    sa.Column("opens_on", sa.String(10), nullable=False),
    sa.Column("closes_on", sa.String(10), nullable=False),
    sa.Column("pool_id", sa.Integer, sa.ForeignKey("wf_pools.id"), nullable=False),
    sa.Column("method", sa.String(20), nullable=False),
    sa.Column("publicity_days", sa.Integer, nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("closed_at", sa.String(32)),
    sa.Column("closed_by", sa.String(100)),
    sa.Column("summary_json", sa.Text),
    sa.CheckConstraint(_in("kind", ("application", "proactive")), name="kind"),
    sa.CheckConstraint(_in("status", ("open", "closed")), name="status"),
    sa.CheckConstraint(_in("method", ("pro_rata", "rank", "first_come")), name="method"),
)

wf_applications = sa.Table(
    "wf_applications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("round_id", sa.Integer, sa.ForeignKey("wf_rounds.id"), nullable=False),
    sa.Column("enterprise", sa.String(200), nullable=False),
    sa.Column("enterprise_name", sa.String(200), nullable=False),
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("county", sa.String(100)),
    sa.Column("district", sa.String(100)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("source", sa.String(20), nullable=False, server_default="application"),
    sa.Column("profile_json", sa.Text, nullable=False),
    sa.Column("estimate_json", sa.Text, nullable=False),
    sa.Column("bound", sa.BigInteger),
    sa.Column("upper_bound", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("approved_amount", sa.BigInteger),
    sa.Column("claim_amount", sa.BigInteger),
    sa.Column("allocated_amount", sa.BigInteger),
    sa.Column("paid_amount", sa.BigInteger),
    sa.Column("voucher", sa.String(64)),
    sa.Column("bank_account", sa.String(64)),
    sa.Column("reason", sa.Text),
    sa.Column("decision_note", sa.Text),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.Column("submitted_at", sa.String(32)),
    sa.Column("publicized_on", sa.String(10)),
    sa.Column("paid_at", sa.String(32)),
    sa.Column("batch_id", sa.Integer),
    sa.UniqueConstraint("round_id", "enterprise", "rule", name="uq_wf_applications_round_enterprise_rule"),
    sa.CheckConstraint(_in("status", STATES), name="status"),
    sa.CheckConstraint(_in("source", ("application", "proactive")), name="source"),
    sa.CheckConstraint("approved_amount IS NULL OR (approved_amount >= 0 AND bound IS NOT NULL "
                       "AND approved_amount <= bound)", name="approved_within_bound"),
    sa.CheckConstraint("allocated_amount IS NULL OR allocated_amount >= 0", name="allocated"),
    sa.CheckConstraint("paid_amount IS NULL OR paid_amount = allocated_amount", name="paid_as_allocated"),
    sa.Index("ix_wf_applications_round_status", "round_id", "status"),
    sa.Index("ix_wf_applications_enterprise", "enterprise"),
)

wf_events = sa.Table(
    "wf_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("application_id", sa.Integer, sa.ForeignKey("wf_applications.id"), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("from_status", sa.String(20)),
    sa.Column("to_status", sa.String(20), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("amount", sa.BigInteger),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Index("ix_wf_events_application", "application_id"),
)

wf_ledger = sa.Table(
    "wf_ledger",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("pool_id", sa.Integer, sa.ForeignKey("wf_pools.id"), nullable=False),
    sa.Column("round_id", sa.Integer, sa.ForeignKey("wf_rounds.id"), nullable=False),
    sa.Column("application_id", sa.Integer, sa.ForeignKey("wf_applications.id"), nullable=False),
    sa.Column("enterprise", sa.String(200), nullable=False),
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("pool_balance", sa.BigInteger, nullable=False),
    sa.Column("voucher", sa.String(64)),
    sa.Column("note", sa.Text),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
    sa.CheckConstraint(_in("kind", LEDGER_KINDS), name="kind"),
    sa.CheckConstraint("pool_balance >= 0", name="pool_balance"),
    sa.Index("ix_wf_ledger_round", "round_id"),
    sa.Index("ix_wf_ledger_pool", "pool_id", "id"),
)

wf_attachments = sa.Table(
    "wf_attachments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("application_id", sa.Integer, sa.ForeignKey("wf_applications.id"), nullable=False),
    sa.Column("document", sa.String(200), nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("storage_path", sa.Text, nullable=False),
    sa.Column("uploaded_by", sa.String(100), nullable=False),
    sa.Column("uploaded_at", sa.String(32), nullable=False),
    sa.CheckConstraint("size > 0", name="size"),
    sa.Index("ix_wf_attachments_application", "application_id"),
)

wf_objections = sa.Table(
    "wf_objections",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("application_id", sa.Integer, sa.ForeignKey("wf_applications.id"), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("resolution", sa.Text),
    sa.Column("recorded_by", sa.String(100), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("resolved_by", sa.String(100)),
    sa.Column("resolved_at", sa.String(32)),
    sa.CheckConstraint(_in("status", ("open", "dismissed", "upheld")), name="status"),
)

wf_idempotency = sa.Table(
    "wf_idempotency",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("endpoint", sa.String(200), nullable=False),
    sa.Column("request_sha256", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("user_id", "key", name="uq_wf_idempotency_user_key"),
)

wf_payout_batches = sa.Table(
    "wf_payout_batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("round_id", sa.Integer, sa.ForeignKey("wf_rounds.id"), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

wf_messages = sa.Table(
    "wf_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("recipient", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("document", sa.String(200), nullable=False),
    sa.Column("clause", sa.String(100), nullable=False),
    sa.Column("round_id", sa.Integer),
    sa.Column("amount", sa.BigInteger),
    sa.Column("upper_bound", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("missing_json", sa.Text, nullable=False, server_default="[]"),
    sa.Column("dedupe_key", sa.String(500), nullable=False, unique=True),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("read_at", sa.String(32)),
    sa.Index("ix_wf_messages_recipient", "recipient"),
)

wf_outbox = sa.Table(
    "wf_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("address", sa.String(200), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(10), nullable=False, server_default="queued"),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("sent_at", sa.String(32)),
    sa.CheckConstraint(_in("channel", ("email", "sms")), name="channel"),
    sa.CheckConstraint(_in("status", ("queued", "sent", "failed")), name="status"),
)
