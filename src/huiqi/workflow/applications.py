"""Applications: create (with the 预审 estimate), act on them through the state machine, read them.

Every function takes the caller (a :class:`huiqi.web.auth.Principal` or anything with
``username, role, region, department, enterprise``) and a connection inside a write
transaction (:func:`huiqi.store.db.write_tx`); scope is checked here, not in the router:

* an enterprise sees and acts on its own applications only;
* a county (区) official on applications from its own region (county or district);
* a department official on applications in rounds of its own department;
* finance sees every round (it pays), admin and supervisor read everything.

An application outside the caller's scope does not exist for the caller (404).
A state change locks the row (``FOR UPDATE``) and also requires the version it read, so
two reviewers at the same moment produce exactly one transition; the other gets 409.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from huiqi.errors import HuiqiError, InputError, NotFoundError, StateError
from huiqi.profile import profile_from_data
from huiqi.rules.calculator import calculate, fmt_money, plan_for
from huiqi.rules.packs import RuleBase, load_packs
from huiqi.store import audit
from huiqi.store.db import utc_now
from huiqi.workflow import ledger
from huiqi.workflow.machine import ACTION_LABELS, STATE_LABELS, allowed_actions, next_state
from huiqi.workflow.model import ActionRequest, ApplicationCreate, RoundSpec
from huiqi.workflow.tables import (
    wf_applications,
    wf_attachments,
    wf_events,
    wf_objections,
    wf_rounds,
)

__all__ = [
    "READ_ALL_ROLES",
    "act",
    "application_view",
    "create_application",
    "default_rulebase",
    "get_application",
    "list_applications",
    "load_round",
    "round_spec",
    "today",
    "visible",
]

READ_ALL_ROLES = ("finance", "admin", "supervisor")


@lru_cache(maxsize=1)
def default_rulebase() -> RuleBase:
    """The built-in rule packs, loaded once per process."""
    return load_packs()


def today() -> date:
    """The business date; ``HUIQI_TODAY=YYYY-MM-DD`` pins it (demos, tests of the publicity period)."""
    pinned = os.environ.get("HUIQI_TODAY")
    return date.fromisoformat(pinned) if pinned else date.today()


def round_spec(row: Any) -> RoundSpec:
    return RoundSpec.model_validate_json(row.spec_json)


def load_round(conn: sa.Connection, round_id: int, *, lock: bool = False) -> Any:
    query = sa.select(wf_rounds).where(wf_rounds.c.id == round_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFoundError(f"申报批次 {round_id} 不存在", field="round")
    return row


def visible(who: Any, app: Any, round_row: Any) -> bool:
    """May ``who`` see this application?"""
    if who.role in READ_ALL_ROLES:
        return True
    if who.role == "enterprise":
        return bool(who.enterprise) and who.enterprise in (app.enterprise, app.enterprise_name)
    if who.role == "county":
        return bool(who.region) and who.region in (app.county, app.district)
    if who.role == "department":
        return bool(who.department) and who.department == round_row.department
    return False


def _get(conn: sa.Connection, who: Any, app_id: int, *, lock: bool = False) -> tuple[Any, Any]:
    query = sa.select(wf_applications).where(wf_applications.c.id == app_id)
    app = conn.execute(query.with_for_update() if lock else query).first()
    if app is None:
        raise NotFoundError(f"申报 {app_id} 不存在或无权查看", field="application")
    round_row = load_round(conn, app.round_id)
    if not visible(who, app, round_row):
        raise NotFoundError(f"申报 {app_id} 不存在或无权查看", field="application")
    return app, round_row


def _estimate(rulebase: RuleBase, profile: Any, spec: RoundSpec, rule: str | None,
              project: str | None) -> tuple[str, str, dict[str, Any], int | None, bool]:
    """(rule, subject, estimate, bound, upper_bound) from the calculator for the round's rules."""
    # Rank and quota rules need the cohort: the 预审 estimate takes the applicant alone (first
    # place, inside the quota); round close decides them over every applicant.
    report = calculate(rulebase, profile, spec.calc_date, list(spec.rules), cohort=[profile])
    if rule is None:
        if len(spec.rules) == 1:
            rule = spec.rules[0]
        else:
            granted = sorted((r for r in report.results if r.status == "granted" and r.amount),
                             key=lambda r: -(r.amount or 0))
            if not granted:
                raise InputError("本批次包含多条规则,按画像没有可享受的规则,请用 rule 指定申报哪一条",
                                 field="rule", hint="可选:" + "、".join(spec.rules))
            rule = granted[0].rule
    if rule not in spec.rules:
        raise InputError(f"规则 {rule} 不在本批次中", field="rule", hint="可选:" + "、".join(spec.rules))
    compiled = rulebase.rule(rule)
    if compiled.per_project:
        ids = [p.id for p in profile.projects]
        if project is None and len(ids) == 1:
            project = ids[0]
        if project is None or project not in ids:
            raise InputError("项目类规则须指定画像中的一个项目(project)", field="project",
                             hint=("画像中的项目:" + "、".join(ids)) if ids else "画像中没有项目")
        subject = project
    else:
        subject = "enterprise"
    result = report.find(rule, subject)
    if result is None:
        raise InputError(f"计算结果中没有规则 {rule}", field="rule")
    plan_rule = next(pr for pr in plan_for(rulebase).rules if pr.rule.id == rule)
    bound: int | None = None
    upper = bool(result.upper_bound)
    cohort_rule = plan_rule.rank_by is not None or plan_rule.quota_by is not None
    if result.status == "granted" and result.amount is not None:
        bound = result.amount
        upper = upper or plan_rule.rank_by is not None  # 排名奖励:最高一档,批次关闭时按名次决定
    estimate = {
        "status": result.status,
        "reason": result.reason,
        "amount": result.amount if result.amount is not None else bound,
        "upper_bound": upper,
        "explanation": result.explanation,
        "formula": result.formula,
        "conditions": [c.text for c in result.conditions],
        "missing": [m.label for m in result.missing],
        "caps_applied": list(result.caps_applied),
        "stacking": list(result.stacking),
        "citations": [{"document": result.document, "document_title": result.document_title,
                       "doc_number": result.doc_number, "clause": result.clause, "quote": result.quote}],
        "rule_title": result.title,
        "department": list(result.department),
        "policy_date": spec.calc_date.isoformat(),
        "cohort_note": ("排名、名额类规则:预审按单独一家计算,批次关闭时在全部申报企业中决定" if cohort_rule else None),
    }
    return rule, subject, estimate, bound, upper


def _event(conn: sa.Connection, app_id: int, action: str, before: str | None, after: str, who: Any,
           reason: str | None = None, amount: int | None = None, role: str | None = None) -> None:
    conn.execute(sa.insert(wf_events).values(
        application_id=app_id, action=action, from_status=before, to_status=after, actor=who.username,
        role=role or who.role, reason=reason, amount=amount, at=utc_now()))


def _audit_row(app: Any) -> dict[str, Any]:
    keys = ("status", "approved_amount", "claim_amount", "allocated_amount", "paid_amount", "voucher",
            "bank_account", "reason", "version", "publicized_on", "batch_id")
    return {k: getattr(app, k) for k in keys}


def create_application(conn: sa.Connection, who: Any, req: ApplicationCreate, *,
                       rulebase: RuleBase | None = None) -> tuple[dict[str, Any], bool]:
    """(the application, created?) — an existing application for (round, enterprise, rule) is returned."""
    if who.role != "enterprise" or not who.enterprise:
        raise HuiqiError("只有企业用户可以申报", field="role")
    rb = rulebase or default_rulebase()
    round_row = load_round(conn, req.round)
    spec = round_spec(round_row)
    if round_row.status != "open" or round_row.kind != "application":
        raise StateError(f"申报批次「{round_row.title}」不接受申报(已关闭或为免申即享批次)", field="round")
    now = today()
    if not spec.opens_on <= now <= spec.closes_on:
        raise StateError(f"不在申报时间内:{spec.opens_on} 至 {spec.closes_on}", field="round")
    profile = profile_from_data(req.profile, fields=rb.fields, source="profile")
    region = profile.region
    if spec.regions and not {region.county, region.district} & set(spec.regions):
        where = region.county or region.district or "未填写"
        raise InputError(f"企业所在地区({where})不在本批次的申报范围内:{'、'.join(spec.regions)}",
                         field="profile.region")
    rule, subject, estimate, bound, upper = _estimate(rb, profile, spec, req.rule, req.project)
    existing = conn.execute(sa.select(wf_applications.c.id).where(
        wf_applications.c.round_id == round_row.id, wf_applications.c.enterprise == who.enterprise,
        wf_applications.c.rule == rule)).scalar()
    if existing is not None:
        return get_application(conn, who, existing), False
    stamp = utc_now()
    values = {
        "round_id": round_row.id, "enterprise": who.enterprise, "enterprise_name": profile.name or who.enterprise,
        "rule": rule, "subject": subject, "county": region.county, "district": region.district, "status": "draft",
        "source": "application", "profile_json": json.dumps(req.profile, ensure_ascii=False, default=str),
        "estimate_json": json.dumps(estimate, ensure_ascii=False, default=str), "bound": bound,
        "upper_bound": upper, "bank_account": req.bank_account, "created_by": who.username,
        "created_at": stamp, "updated_at": stamp,
    }
    try:
        with conn.begin_nested():
            app_id = int(conn.execute(sa.insert(wf_applications).values(**values)
                                      .returning(wf_applications.c.id)).scalar_one())
    except sa.exc.IntegrityError:
        # A concurrent double click won the race: the unique constraint kept one row.
        existing = conn.execute(sa.select(wf_applications.c.id).where(
            wf_applications.c.round_id == round_row.id, wf_applications.c.enterprise == who.enterprise,
            wf_applications.c.rule == rule)).scalar_one()
        return get_application(conn, who, existing), False
    _event(conn, app_id, "create", None, "draft", who)
    audit.record(conn, actor=who.username, action="application.create", entity="application",
                 entity_id=str(app_id), before=None,
                 after={"round": round_row.id, "enterprise": who.enterprise, "rule": rule, "subject": subject,
                        "status": "draft", "bound": bound})
    return get_application(conn, who, app_id), True


def _publicity_ends(app: Any, round_row: Any) -> date | None:
    if not app.publicized_on:
        return None
    return date.fromisoformat(app.publicized_on) + timedelta(days=round_row.publicity_days)


def act(conn: sa.Connection, who: Any, app_id: int, req: ActionRequest) -> dict[str, Any]:
    """Apply one action through the state machine, in the caller's transaction."""
    app, round_row = _get(conn, who, app_id, lock=True)
    step = next_state(app.status, req.action, who.role)
    reason = (req.reason or "").strip() or None
    if step.needs_reason and not reason:
        raise InputError(f"「{ACTION_LABELS[req.action]}」须填写原因", field="reason")
    updates: dict[str, Any] = {"status": step.next}
    ledger_rows: list[tuple[str, int, str | None]] = []
    amount_for_event: int | None = None
    if req.action == "submit":
        _check_submit(conn, app, round_row)
        updates["submitted_at"] = app.submitted_at or utc_now()
        updates["reason"] = None
    elif req.action in ("reject", "return"):
        updates["reason"] = reason
        if app.status == "publicized":  # objection upheld during 公示: the allocation goes back to the pool
            _resolve_objections(conn, who, app.id, "upheld", reason)
            if app.allocated_amount:
                ledger_rows.append(("released", app.allocated_amount, f"公示异议成立:{reason}"))
            updates["allocated_amount"] = 0
    elif req.action == "adjust":
        amount_for_event = _check_adjust(app, req.amount)
        updates["approved_amount"] = amount_for_event
        ledger_rows.append(("adjusted", amount_for_event, reason))
    elif req.action == "publicize":
        updates["publicized_on"] = today().isoformat()
    elif req.action == "object":
        conn.execute(sa.insert(wf_objections).values(application_id=app.id, text=reason, status="open",
                                                     recorded_by=who.username, created_at=utc_now()))
    elif req.action == "resolve":
        if not _resolve_objections(conn, who, app.id, "dismissed", reason):
            raise StateError("该申报没有待处理的异议", field="action")
    elif req.action == "confirm":
        if not (req.bank_account or "").strip():
            raise InputError("请填写收款账户", field="bank_account")
        updates["bank_account"] = req.bank_account.strip()  # type: ignore[union-attr]
    elif req.action == "pay":
        _check_pay(conn, app, round_row, req)
        updates.update(paid_amount=app.allocated_amount, voucher=req.voucher.strip(),  # type: ignore[union-attr]
                       paid_at=utc_now())
        amount_for_event = app.allocated_amount
        ledger_rows.append(("paid", app.allocated_amount, None))
    if ledger_rows:
        ledger.lock_pool(conn, round_row.pool_id)
        for kind, amount, note in ledger_rows:
            ledger.append(conn, pool_id=round_row.pool_id, round_id=round_row.id, application_id=app.id,
                          enterprise=app.enterprise, rule=app.rule, kind=kind, amount=amount, actor=who.username,
                          note=note, voucher=updates.get("voucher"))
    updates.update(version=app.version + 1, updated_at=utc_now())
    done = conn.execute(sa.update(wf_applications).where(
        wf_applications.c.id == app.id, wf_applications.c.version == app.version).values(**updates))
    if done.rowcount != 1:
        raise StateError("该申报刚被其他人处理过,请刷新后重试", field="application")
    _event(conn, app.id, req.action, app.status, step.next, who, reason, amount_for_event)
    after = conn.execute(sa.select(wf_applications).where(wf_applications.c.id == app.id)).one()
    audit.record(conn, actor=who.username, action=f"application.{req.action}", entity="application",
                 entity_id=str(app.id), before=_audit_row(app), after=_audit_row(after))
    return get_application(conn, who, app.id)


def _check_submit(conn: sa.Connection, app: Any, round_row: Any) -> None:
    spec = round_spec(round_row)
    if round_row.status != "open":
        raise StateError("批次已关闭,不能提交", field="round")
    if not spec.opens_on <= today() <= spec.closes_on:
        raise StateError(f"不在申报时间内:{spec.opens_on} 至 {spec.closes_on}", field="round")
    have = {r.document for r in conn.execute(sa.select(wf_attachments.c.document)
                                             .where(wf_attachments.c.application_id == app.id))}
    missing = [d for d in spec.required_documents if d not in have]
    if missing:
        raise InputError("缺少申报材料:" + "、".join(missing), field="attachments",
                         hint="上传材料后再提交")


def _check_adjust(app: Any, amount: int | None) -> int:
    if amount is None:
        raise InputError("调整金额须填写 amount(元)", field="amount")
    if app.bound is None:
        raise InputError("规则未算出金额上限(无法判定),不能调整金额;可退回企业补充材料", field="amount")
    if amount > app.bound:
        raise InputError(f"调整金额 {fmt_money(amount)} 超过规则计算的上限 {fmt_money(app.bound)}",
                         field="amount")
    return amount


def _check_pay(conn: sa.Connection, app: Any, round_row: Any, req: ActionRequest) -> None:
    if not (req.voucher or "").strip():
        raise InputError("拨付须填写凭证号", field="voucher")
    ends = _publicity_ends(app, round_row)
    if ends is None or today() < ends:
        raise StateError(f"公示期未满({app.publicized_on} 起 {round_row.publicity_days} 天,{ends} 后可拨付)",
                         field="action")
    open_objections = conn.execute(sa.select(sa.func.count()).select_from(wf_objections).where(
        wf_objections.c.application_id == app.id, wf_objections.c.status == "open")).scalar_one()
    if open_objections:
        raise StateError("有未处理的公示异议,不能拨付", field="action")
    if not app.bank_account:
        raise StateError("企业尚未确认收款账户,不能拨付", field="bank_account")
    if app.batch_id is None:
        raise StateError("该申报不在任何拨付批次中,请先生成拨付批次", field="action")


def _resolve_objections(conn: sa.Connection, who: Any, app_id: int, outcome: str, text: str | None) -> int:
    done = conn.execute(sa.update(wf_objections).where(
        wf_objections.c.application_id == app_id, wf_objections.c.status == "open").values(
        status=outcome, resolution=text, resolved_by=who.username, resolved_at=utc_now()))
    return int(done.rowcount or 0)


def application_view(app: Any, round_row: Any, who: Any | None = None) -> dict[str, Any]:
    """The JSON form of an application (API and pages)."""
    ends = _publicity_ends(app, round_row)
    return {
        "id": app.id, "round": app.round_id, "round_title": round_row.title, "enterprise": app.enterprise,
        "enterprise_name": app.enterprise_name, "rule": app.rule, "subject": app.subject, "county": app.county,
        "district": app.district, "status": app.status, "status_label": STATE_LABELS[app.status],
        "source": app.source, "estimate": json.loads(app.estimate_json), "bound": app.bound,
        "upper_bound": app.upper_bound, "approved_amount": app.approved_amount, "claim_amount": app.claim_amount,
        "allocated_amount": app.allocated_amount, "paid_amount": app.paid_amount, "voucher": app.voucher,
        "bank_account": app.bank_account, "reason": app.reason, "decision_note": app.decision_note,
        "version": app.version, "created_at": app.created_at, "updated_at": app.updated_at,
        "submitted_at": app.submitted_at, "publicized_on": app.publicized_on,
        "publicity_ends": ends.isoformat() if ends else None, "paid_at": app.paid_at, "batch": app.batch_id,
        "actions": allowed_actions(app.status, who.role) if who is not None else [],
    }


def get_application(conn: sa.Connection, who: Any, app_id: int) -> dict[str, Any]:
    app, round_row = _get(conn, who, app_id)
    out = application_view(app, round_row, who)
    out["profile"] = json.loads(app.profile_json)
    out["events"] = [dict(r._mapping) for r in conn.execute(
        sa.select(wf_events).where(wf_events.c.application_id == app_id).order_by(wf_events.c.id))]
    out["attachments"] = [
        {k: v for k, v in r._mapping.items() if k != "storage_path"}
        for r in conn.execute(sa.select(wf_attachments).where(wf_attachments.c.application_id == app_id)
                              .order_by(wf_attachments.c.id))]
    out["objections"] = [dict(r._mapping) for r in conn.execute(
        sa.select(wf_objections).where(wf_objections.c.application_id == app_id).order_by(wf_objections.c.id))]
    return out


def list_applications(conn: sa.Connection, who: Any, round_id: int | None = None,
                      status: str | None = None) -> list[dict[str, Any]]:
    """Applications in the caller's scope (filtered in SQL, checked again row by row)."""
    query = sa.select(wf_applications, wf_rounds.c.department.label("round_department")).join(
        wf_rounds, wf_rounds.c.id == wf_applications.c.round_id)
    if round_id is not None:
        query = query.where(wf_applications.c.round_id == round_id)
    if status is not None:
        query = query.where(wf_applications.c.status == status)
    if who.role == "enterprise":
        query = query.where(sa.or_(wf_applications.c.enterprise == (who.enterprise or ""),
                                   wf_applications.c.enterprise_name == (who.enterprise or "")))
    elif who.role == "county":
        query = query.where(sa.or_(wf_applications.c.county == (who.region or ""),
                                   wf_applications.c.district == (who.region or "")))
    elif who.role == "department":
        query = query.where(wf_rounds.c.department == (who.department or ""))
    elif who.role not in READ_ALL_ROLES:
        return []
    rounds: dict[int, Any] = {}
    out = []
    for app in conn.execute(query.order_by(wf_applications.c.id)):
        if app.round_id not in rounds:
            rounds[app.round_id] = load_round(conn, app.round_id)
        if visible(who, app, rounds[app.round_id]):
            out.append(application_view(app, rounds[app.round_id], who))
    return out
