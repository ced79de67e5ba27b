"""The audit log: an append-only hash chain of every write.

Each entry's hash is sha256(previous hash ‖ canonical JSON of the entry), so editing,
deleting or reordering any row breaks the chain from that row on, and ``verify`` names it.
Entries are appended in the caller's transaction: the write and its audit row commit together.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from huiqi.store.db import utc_now
from huiqi.store.schema import audit_log

GENESIS = "0" * 64
AUDIT_TAIL_LOCK = 0x41554454  # "AUDT": any constant shared by every writer of one database


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(entry)).encode("utf-8")).hexdigest()


def _entry(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at,
        "actor": row.actor,
        "action": row.action,
        "entity": row.entity,
        "entity_id": row.entity_id,
        "before": json.loads(row.before_json) if row.before_json is not None else None,
        "after": json.loads(row.after_json) if row.after_json is not None else None,
    }


def record(
    conn: sa.Connection,
    *,
    actor: str | None,
    action: str,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> int:
    """Append one entry in the caller's transaction; returns its id.

    The last row is read under a lock (``FOR UPDATE`` on PostgreSQL; on SQLite the caller's
    ``BEGIN IMMEDIATE`` already serialises writers), so two writers never fork the chain.
    """
    if conn.dialect.name == "postgresql":
        # FOR UPDATE … LIMIT 1 alone is not enough: a writer that waited on the lock gets the
        # row it first found (now the second-to-last), computes the same next id and fails
        # on the primary key. A transaction-scoped advisory lock serialises the tail read.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_TAIL_LOCK})
    last = conn.execute(
        sa.select(audit_log.c.id, audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1).with_for_update()
    ).first()
    prev = last.hash if last is not None else GENESIS
    new_id = (last.id if last is not None else 0) + 1
    before_json = canonical_json(before) if before is not None else None
    after_json = canonical_json(after) if after is not None else None
    row = {
        "id": new_id,
        "at": utc_now(),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "before_json": before_json,
        "after_json": after_json,
    }
    digest = entry_hash(prev, _entry(_RowView(row)))
    conn.execute(sa.insert(audit_log).values(**row, prev_hash=prev, hash=digest))
    return new_id


class _RowView:
    """Attribute access over a dict, so new and stored entries hash through one function."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    checked: int
    first_broken: int | None = None
    reason: str | None = None


def verify(conn: sa.Connection) -> AuditReport:
    """Walk the chain from the first entry; the first broken entry is named with the reason."""
    prev = GENESIS
    checked = 0
    expected_id = 1
    rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.id))
    for row in rows:
        if row.id != expected_id:
            return AuditReport(False, checked, expected_id, f"缺少第 {expected_id} 条记录(可能被删除)")
        if row.prev_hash != prev:
            return AuditReport(False, checked, row.id, "前一条哈希不符(链条被改动)")
        if entry_hash(prev, _entry(row)) != row.hash:
            return AuditReport(False, checked, row.id, "内容与哈希不符(记录被修改)")
        prev = row.hash
        checked += 1
        expected_id += 1
    return AuditReport(True, checked)
