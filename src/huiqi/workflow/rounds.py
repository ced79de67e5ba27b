"""Rounds (申报批次): open, close (decide + allocate, all or nothing), publicize, payout batches,
免申即享 rounds, and the policy push when a round opens.

Round close runs in ONE transaction: the round row and the pool row are locked, every
application is decided, every ledger row appended and the round marked closed — or, if
anything fails (or the server dies), nothing of it is visible afterwards.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import sqlalchemy as sa

from huiqi.errors import HuiqiError, InputError, NotFoundError, StateError
from huiqi.profile import profile_from_data
from huiqi.rules.packs import RuleBase
from huiqi.store import audit
from huiqi.store.db import utc_now
from huiqi.workflow import ledger
from huiqi.workflow.applications import (
    default_rulebase,
    load_round,
    round_spec,
    today,
)
from huiqi.workflow.decide import (
    Candidate,
    Claim,
    RoundDecision,
    allocate_pool,
    apply_round_quota,
    evaluate_claims,
)
from huiqi.workflow.machine import next_state
from huiqi.workflow.model import RoundSpec
from huiqi.workflow.proactive import Eligible
from huiqi.workflow.push import PushMessage, SavedProfile, match_profiles, packs_citing
from huiqi.workflow.tables import (
    wf_applications,
    wf_events,
    wf_ledger,
    wf_messages,
    wf_objections,
    wf_outbox,
    wf_payout_batches,
    wf_pools,
    wf_rounds,
)

__all__ = [
    "CLOSE_PAUSE_ENV",
    "close_round",
    "create_payout_batch",
    "create_round",
    "get_round",
    "ledger_rows",
    "list_rounds",
    "payout_rows",
    "publicize_round",
    "push_for_document",
    "push_messages",
    "round_view",
]

# Fault injection for the crash test: seconds to sleep halfway through a close, inside its transaction.
CLOSE_PAUSE_ENV = "HUIQI_WORKFLOW_CLOSE_PAUSE"
_LAPSE_FROM = ("draft", "submitted", "returned", "county_approved")


def _need_department(who: Any) -> None:
    if who.role != "department" or not who.department:
        raise HuiqiError("只有主管部门用户可以操作申报批次", field="role")


def _own_round(who: Any, row: Any) -> None:
    if who.department != row.department:
        raise NotFoundError(f"申报批次 {row.id} 不存在或不属于本部门", field="round")


def _check_rules(who: Any, spec: RoundSpec, rb: RuleBase) -> None:
    for rule_id in spec.rules:
        if not rb.has_rule(rule_id):
            rb.rule(rule_id)  # raises with a suggestion
        compiled = rb.rule(rule_id)
        departments = list(compiled.rule.department or compiled.pack.pack.department)
        if who.department not in departments:
            raise InputError(f"规则 {rule_id} 的主管部门是 {'、'.join(departments) or '未注明'},"
                             f"{who.department} 不能为它开批次", field="rules")


def create_round(conn: sa.Connection, who: Any, spec: RoundSpec, *, rulebase: RuleBase | None = None,
                 push: bool = True) -> dict[str, Any]:
    """Open a round (and its fund pool); push 站内消息 to enterprises whose saved profile may qualify."""
    _need_department(who)
    rb = rulebase or default_rulebase()
    _check_rules(who, spec, rb)
    stamp = utc_now()
    pool_id = int(conn.execute(sa.insert(wf_pools).values(
        name=spec.pool.name, year=spec.pool.year, amount=spec.pool.amount, balance=spec.pool.amount,
        created_at=stamp).returning(wf_pools.c.id)).scalar_one())
    round_id = int(conn.execute(sa.insert(wf_rounds).values(
        title=spec.title, kind=spec.kind, status="open", department=who.department,
        spec_json=spec.model_dump_json(), opens_on=spec.opens_on.isoformat(), closes_on=spec.closes_on.isoformat(),
        pool_id=pool_id, method=spec.method, publicity_days=spec.publicity_days, created_by=who.username,
        created_at=stamp).returning(wf_rounds.c.id)).scalar_one())
    audit.record(conn, actor=who.username, action="round.create", entity="round", entity_id=str(round_id),
                 before=None, after={**json.loads(spec.model_dump_json()), "pool_id": pool_id})
    if push and spec.kind == "application":
        push_messages(conn, who, rb, spec.rules, spec, round_id=round_id, round_title=spec.title)
    return get_round(conn, who, round_id)


def round_view(conn: sa.Connection, row: Any) -> dict[str, Any]:
    pool = conn.execute(sa.select(wf_pools).where(wf_pools.c.id == row.pool_id)).one()
    counts = dict(conn.execute(sa.select(wf_applications.c.status, sa.func.count()).where(
        wf_applications.c.round_id == row.id).group_by(wf_applications.c.status)).all())
    spec = round_spec(row)
    return {
        "id": row.id, "title": row.title, "kind": row.kind, "status": row.status, "department": row.department,
        "rules": spec.rules, "opens_on": row.opens_on, "closes_on": row.closes_on,
        "policy_date": spec.calc_date.isoformat(), "regions": spec.regions, "method": row.method,
        "quota": spec.quota.model_dump() if spec.quota else None, "required_documents": spec.required_documents,
        "publicity_days": row.publicity_days,
        "pool": {"id": pool.id, "name": pool.name, "year": pool.year, "amount": pool.amount,
                 "allocated": pool.allocated, "paid": pool.paid, "balance": pool.balance},
        "applications": counts, "created_by": row.created_by, "created_at": row.created_at,
        "closed_at": row.closed_at, "summary": json.loads(row.summary_json) if row.summary_json else None,
    }


def get_round(conn: sa.Connection, who: Any, round_id: int) -> dict[str, Any]:
    row = load_round(conn, round_id)
    if who.role == "department" and who.department != row.department:
        raise NotFoundError(f"申报批次 {round_id} 不存在或不属于本部门", field="round")
    return round_view(conn, row)


def list_rounds(conn: sa.Connection, who: Any) -> list[dict[str, Any]]:
    query = sa.select(wf_rounds).order_by(wf_rounds.c.id.desc())
    if who.role == "department":
        query = query.where(wf_rounds.c.department == who.department)
    return [round_view(conn, r) for r in conn.execute(query)]


def _system_transition(conn: sa.Connection, who: Any, app: Any, action: str, values: dict[str, Any],
                       reason: str | None, amount: int | None = None) -> None:
    step = next_state(app.status, action, "system")
    values = {**values, "status": step.next, "version": app.version + 1, "updated_at": utc_now()}
    conn.execute(sa.update(wf_applications).where(wf_applications.c.id == app.id).values(**values))
    conn.execute(sa.insert(wf_events).values(application_id=app.id, action=action, from_status=app.status,
                                             to_status=step.next, actor=who.username, role="system",
                                             reason=reason, amount=amount, at=utc_now()))
    audit.record(conn, actor=who.username, action=f"application.{action}", entity="application",
                 entity_id=str(app.id), before={"status": app.status},
                 after={"status": step.next, "reason": reason, "amount": amount})


def _apply_decision(conn: sa.Connection, who: Any, row: Any, apps: dict[int, Any], decision: RoundDecision) -> None:
    pause = float(os.environ.get(CLOSE_PAUSE_ENV) or 0)
    for i, claim in enumerate(decision.claims):
        if pause and i == len(decision.claims) // 2:
            time.sleep(pause)  # the crash test kills the server here, mid-transaction
        app = apps[claim.key]
        note = ";".join(claim.notes) or None
        if claim.supported and claim.allocated > 0:
            for kind, amount in (("decided", claim.claim), ("allocated", claim.allocated)):
                ledger.append(conn, pool_id=row.pool_id, round_id=row.id, application_id=app.id,
                              enterprise=app.enterprise, rule=app.rule, kind=kind, amount=amount,
                              actor=who.username, note=note)
            _system_transition(conn, who, app, "award", {
                "claim_amount": claim.claim, "allocated_amount": claim.allocated, "decision_note": note,
                "reason": None}, claim.reason, claim.allocated)
        else:
            _system_transition(conn, who, app, "decline", {
                "claim_amount": claim.claim or None, "allocated_amount": 0, "decision_note": note,
                "reason": claim.reason}, claim.reason)


def close_round(conn: sa.Connection, who: Any, round_id: int, *, rulebase: RuleBase | None = None,
                claims: list[Claim] | None = None) -> dict[str, Any]:
    """Decide rank and quota over all applicants, allocate the pool, write the ledger — all or nothing."""
    _need_department(who)
    row = load_round(conn, round_id, lock=True)
    _own_round(who, row)
    if row.status != "open":
        raise StateError(f"申报批次「{row.title}」已关闭", field="round")
    spec = round_spec(row)
    pool = ledger.lock_pool(conn, row.pool_id)
    apps = {a.id: a for a in conn.execute(sa.select(wf_applications).where(
        wf_applications.c.round_id == row.id).order_by(wf_applications.c.id).with_for_update())}
    for app in apps.values():
        if app.status in _LAPSE_FROM:
            _system_transition(conn, who, app, "lapse", {}, "批次截止时审核未完成(未提交或未审核通过)")
    standing = sorted((a for a in apps.values() if a.status == "dept_approved"),
                      key=lambda a: (a.submitted_at or a.created_at, a.id))
    if claims is None:
        rb = rulebase or default_rulebase()
        candidates = [Candidate(a.id, profile_from_data(json.loads(a.profile_json), fields=rb.fields), a.rule,
                                a.subject, a.county, a.district, order, a.approved_amount)
                      for order, a in enumerate(standing)]
        claims = evaluate_claims(rb, candidates, spec.calc_date)
    apply_round_quota(claims, spec.quota)
    decision = allocate_pool(claims, pool.balance, spec.method)
    _apply_decision(conn, who, row, apps, decision)
    summary = {"candidates": len(decision.claims), "supported": sum(1 for c in decision.claims if c.supported),
               "demand": decision.demand, "allocated": decision.allocated, "balance_before": decision.balance_before,
               "balance_after": decision.balance_after, "method": spec.method}
    conn.execute(sa.update(wf_rounds).where(wf_rounds.c.id == row.id).values(
        status="closed", closed_at=utc_now(), closed_by=who.username, summary_json=json.dumps(summary)))
    audit.record(conn, actor=who.username, action="round.close", entity="round", entity_id=str(row.id),
                 before={"status": "open"}, after={"status": "closed", **summary})
    return round_view(conn, load_round(conn, row.id))


def create_proactive_round(conn: sa.Connection, who: Any, spec: RoundSpec, eligible: list[Eligible]) -> dict[str, Any]:
    """免申即享: the reviewed eligible list becomes a round with no applications, closed at once."""
    if spec.kind != "proactive":
        spec = spec.model_copy(update={"kind": "proactive"})
    wanted = set(spec.rules)
    stray = sorted({e.rule for e in eligible} - wanted)
    if stray:
        raise InputError("名单中有不属于本批次的规则:" + "、".join(stray), field="rules")
    created = create_round(conn, who, spec, push=False)
    round_id = created["id"]
    stamp = utc_now()
    claims: list[Claim] = []
    for order, e in enumerate(eligible):
        estimate = {"status": "granted", "reason": "免申即享:按政府掌握的数据计算", "amount": e.amount,
                    "upper_bound": e.upper_bound, "citations": [], "policy_date": spec.calc_date.isoformat()}
        app_id = int(conn.execute(sa.insert(wf_applications).values(
            round_id=round_id, enterprise=e.enterprise, enterprise_name=e.name, rule=e.rule, subject=e.subject,
            county=e.county, district=e.district, status="dept_approved", source="proactive",
            profile_json=json.dumps(e.profile.model_dump(mode="json"), ensure_ascii=False),
            estimate_json=json.dumps(estimate, ensure_ascii=False), bound=e.amount, upper_bound=e.upper_bound,
            created_by=who.username, created_at=stamp, updated_at=stamp, submitted_at=stamp,
        ).returning(wf_applications.c.id)).scalar_one())
        conn.execute(sa.insert(wf_events).values(application_id=app_id, action="create", from_status=None,
                                                 to_status="dept_approved", actor=who.username, role="department",
                                                 reason="免申即享名单确认", at=stamp))
        audit.record(conn, actor=who.username, action="application.proactive", entity="application",
                     entity_id=str(app_id), before=None,
                     after={"round": round_id, "enterprise": e.enterprise, "rule": e.rule, "amount": e.amount})
        claims.append(Claim(app_id, e.rule, e.county, e.district, order, claim=e.amount, reason="免申即享"))
    return close_round(conn, who, round_id, claims=claims)


def publicize_round(conn: sa.Connection, who: Any, round_id: int) -> dict[str, Any]:
    """Put every awarded application of the round into 公示 (one action each, audited)."""
    from huiqi.workflow.applications import act
    from huiqi.workflow.model import ActionRequest

    _need_department(who)
    row = load_round(conn, round_id)
    _own_round(who, row)
    ids = [r.id for r in conn.execute(sa.select(wf_applications.c.id).where(
        wf_applications.c.round_id == round_id, wf_applications.c.status == "awarded"))]
    for app_id in ids:
        act(conn, who, app_id, ActionRequest(action="publicize"))
    return {"round": round_id, "publicized": len(ids)}


def create_payout_batch(conn: sa.Connection, who: Any, round_id: int) -> dict[str, Any]:
    """财政: collect the payable applications (publicity over, no open objection, account confirmed)."""
    if who.role != "finance":
        raise HuiqiError("只有财政部门可以生成拨付批次", field="role")
    row = load_round(conn, round_id, lock=True)
    candidates = conn.execute(sa.select(wf_applications).where(
        wf_applications.c.round_id == round_id, wf_applications.c.status == "publicized",
        wf_applications.c.batch_id.is_(None)).with_for_update()).all()
    payable = []
    now = today()
    from datetime import date, timedelta

    for app in candidates:
        ends = date.fromisoformat(app.publicized_on) + timedelta(days=row.publicity_days)
        objections = conn.execute(sa.select(sa.func.count()).select_from(wf_objections).where(
            wf_objections.c.application_id == app.id, wf_objections.c.status == "open")).scalar_one()
        if now >= ends and not objections and app.bank_account and app.allocated_amount:
            payable.append(app)
    if not payable:
        raise StateError("没有可拨付的申报(公示期未满、有未处理异议、未确认收款账户或已在拨付批次中)", field="round")
    total = sum(a.allocated_amount for a in payable)
    batch_id = int(conn.execute(sa.insert(wf_payout_batches).values(
        round_id=round_id, count=len(payable), total=total, created_by=who.username, created_at=utc_now(),
    ).returning(wf_payout_batches.c.id)).scalar_one())
    conn.execute(sa.update(wf_applications).where(wf_applications.c.id.in_([a.id for a in payable])).values(
        batch_id=batch_id))
    audit.record(conn, actor=who.username, action="payout.batch", entity="payout_batch", entity_id=str(batch_id),
                 before=None, after={"round": round_id, "count": len(payable), "total": total,
                                     "applications": [a.id for a in payable]})
    return {"id": batch_id, "round": round_id, "count": len(payable), "total": total,
            "applications": [a.id for a in payable]}


def payout_rows(conn: sa.Connection, batch_id: int) -> tuple[Any, list[Any]]:
    batch = conn.execute(sa.select(wf_payout_batches).where(wf_payout_batches.c.id == batch_id)).first()
    if batch is None:
        raise NotFoundError(f"拨付批次 {batch_id} 不存在", field="batch")
    rows = conn.execute(sa.select(wf_applications).where(wf_applications.c.batch_id == batch_id)
                        .order_by(wf_applications.c.id)).all()
    return batch, rows


def ledger_rows(conn: sa.Connection, who: Any, round_id: int) -> list[dict[str, Any]]:
    """The round's ledger, limited to what the caller may see."""
    row = load_round(conn, round_id)
    if who.role == "department" and who.department != row.department:
        raise NotFoundError(f"申报批次 {round_id} 不存在或不属于本部门", field="round")
    query = sa.select(wf_ledger, wf_applications.c.county, wf_applications.c.district,
                      wf_applications.c.enterprise_name).join(
        wf_applications, wf_applications.c.id == wf_ledger.c.application_id).where(wf_ledger.c.round_id == round_id)
    if who.role == "enterprise":
        query = query.where(sa.or_(wf_applications.c.enterprise == (who.enterprise or ""),
                                   wf_applications.c.enterprise_name == (who.enterprise or "")))
    elif who.role == "county":
        query = query.where(sa.or_(wf_applications.c.county == (who.region or ""),
                                   wf_applications.c.district == (who.region or "")))
    return [dict(r._mapping) for r in conn.execute(query.order_by(wf_ledger.c.id))]


def push_messages(conn: sa.Connection, who: Any, rb: RuleBase, rules: list[str], spec: RoundSpec | None = None, *,
                  round_id: int | None = None, round_title: str | None = None,
                  document_id: str | None = None) -> list[PushMessage]:
    """站内消息 (and queued e-mail/SMS) to every enterprise whose saved profile the rules grant or could grant.

    Sent when a round opens (``round_id``) or a new document is ingested (``document_id``,
    the policy base's id, named in the audit entry).
    """
    from datetime import date

    from huiqi.store.schema import saved_profiles, users

    on = spec.calc_date if spec is not None else today()
    saved: list[SavedProfile] = []
    for r in conn.execute(sa.select(saved_profiles.c.profile_json, users.c.enterprise).join(
            users, users.c.id == saved_profiles.c.user_id).where(users.c.role == "enterprise")):
        try:
            profile = profile_from_data(json.loads(r.profile_json), fields=rb.fields)
        except (HuiqiError, ValueError):
            continue  # a saved profile that no longer validates is not pushed to (it says so when opened)
        saved.append(SavedProfile(r.enterprise, profile))
    messages = match_profiles(rb, saved, rules, on if isinstance(on, date) else today(), round_id=round_id,
                              round_title=round_title)
    stamp = utc_now()
    for m in messages:
        key = f"{m.recipient}|{m.rule}|{round_id if round_id is not None else 'doc:' + m.document}"
        exists = conn.execute(sa.select(wf_messages.c.id).where(wf_messages.c.dedupe_key == key)).first()
        if exists is not None:
            continue
        conn.execute(sa.insert(wf_messages).values(
            recipient=m.recipient, kind=m.kind, title=m.title, body=m.body, rule=m.rule, document=m.document,
            clause=m.clause, round_id=round_id, amount=m.amount, upper_bound=m.upper_bound,
            missing_json=json.dumps(m.missing, ensure_ascii=False), dedupe_key=key, created_at=stamp))
        for channel, address in (("email", m.email), ("sms", m.phone)):
            if address:
                conn.execute(sa.insert(wf_outbox).values(channel=channel, address=address, subject=m.title,
                                                         body=m.body, created_at=stamp))
    if messages:
        audit.record(conn, actor=who.username if who is not None else None, action="push.send", entity="round"
                     if round_id is not None else "document", entity_id=str(round_id or document_id or ",".join(rules)),
                     before=None, after={"messages": len(messages), "rules": sorted({m.rule for m in messages})})
    return messages


def push_for_document(conn: sa.Connection, who: Any, rb: RuleBase, document: Any) -> list[PushMessage]:
    """The policy push for a newly ingested document: the rules of the packs that cite it, on the business date."""
    packs = packs_citing(rb, document)
    if not packs:
        return []
    selected = rb.select(packs).rule_ids or frozenset()
    return push_messages(conn, who, rb, sorted(selected), document_id=document.id)


def messages_for(conn: sa.Connection, who: Any) -> list[dict[str, Any]]:
    if who.role != "enterprise":
        return []
    return [dict(r._mapping) for r in conn.execute(sa.select(wf_messages).where(
        wf_messages.c.recipient == (who.enterprise or "")).order_by(wf_messages.c.id.desc()))]




