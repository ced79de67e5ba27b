"""The money ledger: append-only rows per fund pool, hash-chained, balance checked in the transaction.

Every amount decided, allocated, adjusted, released or paid is one row tied to a rule,
round, enterprise (application) and fund pool. Writers lock the pool row first
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises
writers), so the pool's chain and balance have exactly one writer at a time. The pool's
``balance`` column has CHECK (balance >= 0) and CHECK (balance = amount − allocated): an
allocation the pool cannot cover fails inside the transaction, whatever the code above did.

Row hash = sha256(previous row's hash in the same pool ‖ canonical JSON of the row), the
audit log's formula; :func:`verify_ledger` walks each pool's chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from huiqi.errors import HuiqiError, StateError
from huiqi.store.audit import GENESIS, entry_hash
from huiqi.store.db import utc_now
from huiqi.workflow.tables import wf_ledger, wf_pools

__all__ = ["LedgerReport", "PoolShortfall", "append", "lock_pool", "verify_ledger"]

# Kinds that move money out of (positive) or back into (negative) the pool's balance.
_BALANCE_EFFECT = {"allocated": -1, "released": 1}


class PoolShortfall(StateError):
    """The pool cannot cover an allocation (HTTP 409)."""


def lock_pool(conn: sa.Connection, pool_id: int) -> Any:
    """The pool row, locked for the rest of the transaction."""
    row = conn.execute(sa.select(wf_pools).where(wf_pools.c.id == pool_id).with_for_update()).first()
    if row is None:
        raise HuiqiError(f"资金池 {pool_id} 不存在", field="pool")
    return row


def _chain_entry(values: dict[str, Any]) -> dict[str, Any]:
    keys = ("pool_id", "round_id", "application_id", "enterprise", "rule", "kind", "amount", "pool_balance",
            "voucher", "note", "actor", "at")
    return {k: values.get(k) for k in keys}


def append(conn: sa.Connection, *, pool_id: int, round_id: int, application_id: int, enterprise: str, rule: str,
           kind: str, amount: int, actor: str, note: str | None = None, voucher: str | None = None) -> int:
    """Append one ledger row (the caller holds the pool lock) and move the pool's totals."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError("ledger amounts are integer yuan")
    pool = conn.execute(sa.select(wf_pools).where(wf_pools.c.id == pool_id)).one()
    effect = _BALANCE_EFFECT.get(kind, 0) * amount
    balance = pool.balance + effect
    if balance < 0:
        raise PoolShortfall(f"资金池「{pool.name}」余额 {pool.balance} 元,不足以分配 {amount} 元", field="pool")
    updates: dict[str, Any] = {}
    if effect:
        updates = {"balance": balance, "allocated": pool.allocated - effect}
    if kind == "paid":
        updates["paid"] = pool.paid + amount
    if updates:
        # The CHECK constraints on wf_pools (balance >= 0, balance = amount − allocated,
        # paid <= allocated) reject anything this arithmetic got wrong.
        conn.execute(sa.update(wf_pools).where(wf_pools.c.id == pool_id).values(**updates))
    last = conn.execute(sa.select(wf_ledger.c.hash).where(wf_ledger.c.pool_id == pool_id)
                        .order_by(wf_ledger.c.id.desc()).limit(1)).scalar()
    prev = last or GENESIS
    values = {"pool_id": pool_id, "round_id": round_id, "application_id": application_id, "enterprise": enterprise,
              "rule": rule, "kind": kind, "amount": amount, "pool_balance": balance, "voucher": voucher,
              "note": note, "actor": actor, "at": utc_now()}
    digest = entry_hash(prev, _chain_entry(values))
    return int(conn.execute(sa.insert(wf_ledger).values(**values, prev_hash=prev, hash=digest)
                            .returning(wf_ledger.c.id)).scalar_one())


@dataclass(frozen=True)
class LedgerReport:
    ok: bool
    checked: int
    first_broken: int | None = None
    reason: str | None = None


def verify_ledger(conn: sa.Connection) -> LedgerReport:
    """Walk every pool's chain and re-add its balance; name the first broken row."""
    checked = 0
    prev: dict[int, str] = {}
    balance: dict[int, int] = {}
    amounts = {r.id: r.amount for r in conn.execute(sa.select(wf_pools.c.id, wf_pools.c.amount))}
    for row in conn.execute(sa.select(wf_ledger).order_by(wf_ledger.c.id)):
        before = prev.get(row.pool_id, GENESIS)
        if row.prev_hash != before:
            return LedgerReport(False, checked, row.id, "前一条哈希不符(台账被删改)")
        if entry_hash(before, _chain_entry(row._asdict())) != row.hash:
            return LedgerReport(False, checked, row.id, "内容与哈希不符(台账记录被修改)")
        bal = balance.get(row.pool_id, amounts.get(row.pool_id, 0)) + _BALANCE_EFFECT.get(row.kind, 0) * row.amount
        if bal != row.pool_balance:
            return LedgerReport(False, checked, row.id, f"余额应为 {bal} 元,记录为 {row.pool_balance} 元")
        balance[row.pool_id] = bal
        prev[row.pool_id] = row.hash
        checked += 1
    for pool_id, bal in balance.items():
        current = conn.execute(sa.select(wf_pools.c.balance).where(wf_pools.c.id == pool_id)).scalar()
        if current != bal:
            return LedgerReport(False, checked, None, f"资金池 {pool_id} 余额 {current} 元与台账合计 {bal} 元不符")
    return LedgerReport(True, checked)
