"""The application state machine: ONE table of (state, action, role) → next state.

Everything else is derived from :data:`TRANSITIONS`: the check made before every write
(:func:`next_state`), the list of actions offered on a page (:func:`allowed_actions`), the
mermaid diagram in docs/workflow.md (:func:`mermaid`, a test checks the doc matches) and
the role × action test matrix.

Role ``system`` is the round close (an official closes the round; the close decides each
application) and is never accepted from a caller of the actions endpoint.

An illegal transition raises :class:`IllegalTransition` (HTTP 409) with a Chinese message
naming the current state and what can be done from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from huiqi.errors import StateError

__all__ = [
    "ACTIONS",
    "ACTION_LABELS",
    "CALLER_ACTIONS",
    "ROLE_LABELS",
    "STATES",
    "STATE_LABELS",
    "TERMINAL",
    "TRANSITIONS",
    "IllegalTransition",
    "Transition",
    "allowed_actions",
    "mermaid",
    "next_state",
    "transition_table_markdown",
]

STATE_LABELS: dict[str, str] = {
    "draft": "草稿",
    "submitted": "已提交(待县区初审)",
    "returned": "退回补充材料",
    "county_approved": "初审通过(待主管部门审核)",
    "dept_approved": "审核通过(待批次决定)",
    "rejected": "未通过",
    "withdrawn": "已撤回",
    "lapsed": "批次截止时未完成审核",
    "awarded": "拟支持(已分配资金)",
    "not_awarded": "未获支持(排名、名额或资金)",
    "publicized": "公示中",
    "paid": "已拨付",
}
STATES: tuple[str, ...] = tuple(STATE_LABELS)
TERMINAL: frozenset[str] = frozenset({"rejected", "withdrawn", "lapsed", "not_awarded", "paid"})

ACTION_LABELS: dict[str, str] = {
    "submit": "提交",
    "withdraw": "撤回",
    "approve": "通过",
    "reject": "不予通过",
    "return": "退回补充材料",
    "adjust": "调整金额",
    "confirm": "确认收款账户",
    "publicize": "公示",
    "object": "登记异议",
    "resolve": "处理异议(维持)",
    "pay": "拨付",
    "award": "批次决定:支持",
    "decline": "批次决定:不支持",
    "lapse": "批次截止:未完成审核",
}
ACTIONS: tuple[str, ...] = tuple(ACTION_LABELS)

ROLE_LABELS: dict[str, str] = {
    "enterprise": "企业",
    "county": "县(区)经信部门",
    "department": "主管部门",
    "finance": "财政部门",
    "system": "批次决定(关闭批次时)",
}


@dataclass(frozen=True)
class Transition:
    state: str
    action: str
    role: str
    next: str
    needs_reason: bool = False
    needs_amount: bool = False


def _t(state: str, action: str, role: str, nxt: str, *, reason: bool = False, amount: bool = False) -> Transition:
    return Transition(state, action, role, nxt, reason, amount)


# The one table. Self-loops (adjust, confirm, object, resolve) change data, not state.
TRANSITIONS: tuple[Transition, ...] = (
    # 申报
    _t("draft", "submit", "enterprise", "submitted"),
    _t("draft", "withdraw", "enterprise", "withdrawn"),
    _t("returned", "submit", "enterprise", "submitted"),
    _t("returned", "withdraw", "enterprise", "withdrawn"),
    _t("submitted", "withdraw", "enterprise", "withdrawn"),
    # 县(区)初审
    _t("submitted", "approve", "county", "county_approved"),
    _t("submitted", "reject", "county", "rejected", reason=True),
    _t("submitted", "return", "county", "returned", reason=True),
    # 主管部门审核
    _t("county_approved", "approve", "department", "dept_approved"),
    _t("county_approved", "reject", "department", "rejected", reason=True),
    _t("county_approved", "return", "department", "returned", reason=True),
    _t("county_approved", "adjust", "department", "county_approved", reason=True, amount=True),
    _t("dept_approved", "adjust", "department", "dept_approved", reason=True, amount=True),
    # 批次关闭(排名、名额、资金分配)
    _t("dept_approved", "award", "system", "awarded"),
    _t("dept_approved", "decline", "system", "not_awarded", reason=True),
    _t("draft", "lapse", "system", "lapsed", reason=True),
    _t("submitted", "lapse", "system", "lapsed", reason=True),
    _t("returned", "lapse", "system", "lapsed", reason=True),
    _t("county_approved", "lapse", "system", "lapsed", reason=True),
    # 免申即享:企业确认收款账户
    _t("awarded", "confirm", "enterprise", "awarded"),
    _t("publicized", "confirm", "enterprise", "publicized"),
    # 公示
    _t("awarded", "publicize", "department", "publicized"),
    _t("publicized", "object", "department", "publicized", reason=True),
    _t("publicized", "resolve", "department", "publicized", reason=True),
    _t("publicized", "reject", "department", "rejected", reason=True),
    # 财政拨付
    _t("publicized", "pay", "finance", "paid"),
)

_BY_KEY: dict[tuple[str, str, str], Transition] = {(t.state, t.action, t.role): t for t in TRANSITIONS}

# Actions a caller may post to /applications/{id}/actions (system ones come from the round close).
CALLER_ACTIONS: tuple[str, ...] = tuple(a for a in ACTIONS if any(
    t.action == a and t.role != "system" for t in TRANSITIONS))


class IllegalTransition(StateError):
    """The action is not allowed from the current state (HTTP 409)."""


def next_state(state: str, action: str, role: str) -> Transition:
    """The transition for ``(state, action, role)`` or IllegalTransition with a clear Chinese message."""
    hit = _BY_KEY.get((state, action, role))
    if hit is not None:
        return hit
    label = STATE_LABELS.get(state, state)
    what = ACTION_LABELS.get(action, action)
    if action not in ACTION_LABELS:
        raise IllegalTransition(f"未知的操作 {action}", field="action",
                                hint="可用:" + "、".join(CALLER_ACTIONS))
    others = [t for t in TRANSITIONS if t.state == state and t.action == action]
    if others:
        who = "、".join(ROLE_LABELS.get(t.role, t.role) for t in others)
        raise IllegalTransition(f"申报当前状态为「{label}」,「{what}」只能由{who}操作", field="action")
    can = allowed_actions(state, role)
    hint = ("当前可做的操作:" + "、".join(ACTION_LABELS[a] for a in can)) if can else (
        "该状态已结束,不能再操作" if state in TERMINAL else "当前没有您可做的操作")
    raise IllegalTransition(f"申报当前状态为「{label}」,不能「{what}」", field="action", hint=hint)


def allowed_actions(state: str, role: str) -> list[str]:
    """Actions ``role`` may take from ``state`` (table order)."""
    return [t.action for t in TRANSITIONS if t.state == state and t.role == role]


def mermaid() -> str:
    """The state diagram (mermaid ``stateDiagram-v2``) generated from :data:`TRANSITIONS`."""
    lines = ["stateDiagram-v2"]
    for s in STATES:
        lines.append(f"    {s}: {s} {STATE_LABELS[s]}")
    lines.append("    [*] --> draft")
    for t in TRANSITIONS:
        lines.append(f"    {t.state} --> {t.next}: {t.action} ({ROLE_LABELS[t.role]})")
    for s in STATES:
        if s in TERMINAL:
            lines.append(f"    {s} --> [*]")
    return "\n".join(lines)


def transition_table_markdown() -> str:
    """The table as markdown rows for docs/workflow.md."""
    rows = ["| 当前状态 | 操作 | 角色 | 下一状态 | 须填原因 | 须填金额 |", "|---|---|---|---|---|---|"]
    for t in TRANSITIONS:
        rows.append(f"| {t.state} {STATE_LABELS[t.state]} | {t.action} {ACTION_LABELS[t.action]} | "
                    f"{t.role} {ROLE_LABELS[t.role]} | {t.next} {STATE_LABELS[t.next]} | "
                    f"{'是' if t.needs_reason else ''} | {'是' if t.needs_amount else ''} |")
    return "\n".join(rows)
