"""政策找企业 (policy push): tell enterprises about a clause their saved profile may be worth.

When a document is ingested or a round opens, every saved enterprise profile is calculated
against the rules concerned. An enterprise gets a message for each rule the calculator
grants, cannot decide yet (无法判定: something is missing), or narrowly misses (差一点).
The message names the clause, the estimated amount (or its ceiling) and what is missing.

Delivery goes through :class:`Notifier` adapters. The 站内消息 inbox (a table, written by
the service) is always used; e-mail and SMS adapters sit behind the same interface and the
defaults only queue into an outbox (:class:`OutboxNotifier`) or memory
(:class:`MemoryNotifier`), so nothing external is needed to run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from huiqi.rules.calculator import calculate as run_calculator
from huiqi.rules.calculator import fmt_money, plan_for

__all__ = ["MemoryNotifier", "Notifier", "OutboxNotifier", "PushMessage", "SavedProfile", "match_profiles",
           "packs_citing"]

PUSH_STATUSES = ("granted", "undecided", "near_miss")


@dataclass
class SavedProfile:
    owner: str  # the enterprise (credit code or name) that saved it
    profile: Any  # huiqi.profile.Profile
    email: str | None = None
    phone: str | None = None


@dataclass
class PushMessage:
    recipient: str
    kind: str  # granted | undecided | near_miss
    rule: str
    document: str
    clause: str
    title: str
    body: str
    amount: int | None
    upper_bound: bool
    missing: list[str] = field(default_factory=list)
    round_id: int | None = None
    email: str | None = None
    phone: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"recipient": self.recipient, "kind": self.kind, "rule": self.rule, "document": self.document,
                "clause": self.clause, "title": self.title, "body": self.body, "amount": self.amount,
                "upper_bound": self.upper_bound, "missing": list(self.missing), "round_id": self.round_id}


class Notifier(Protocol):
    """A delivery channel (站内消息, e-mail, SMS)."""

    channel: str

    def send(self, message: PushMessage) -> None: ...


class MemoryNotifier:
    """Keeps messages in a list (tests, dry runs)."""

    def __init__(self, channel: str = "memory") -> None:
        self.channel = channel
        self.sent: list[PushMessage] = []

    def send(self, message: PushMessage) -> None:
        self.sent.append(message)


class OutboxNotifier:
    """Queues e-mail/SMS for a real gateway: ``write(channel, address, subject, body)`` stores one row."""

    def __init__(self, channel: str, write: Callable[[str, str, str, str], None]) -> None:
        if channel not in ("email", "sms"):
            raise ValueError("channel must be email or sms")
        self.channel = channel
        self._write = write

    def send(self, message: PushMessage) -> None:
        address = message.email if self.channel == "email" else message.phone
        if address:
            self._write(self.channel, address, message.title, message.body)


_BRACKETS = str.maketrans("[]()（）【】﹝﹞", "〔〕〔〕〔〕〔〕〔〕")


def _squash(text: str) -> str:
    return "".join(text.split())


def packs_citing(rulebase: Any, document: Any) -> list[str]:
    """Ids of the rule packs written for an ingested document.

    A pack cites its document by source file name, 文号 or title, the keys ``huiqi rules check``
    uses (an ingested document's id is a hash of its text, so packs cannot name it). Only exact
    matches count: a piece of a title would push a neighbouring document's rules.
    """
    source = Path(document.source.path)
    number = _squash(document.doc_number).translate(_BRACKETS) if document.doc_number else None
    title = _squash(document.title)
    out = []
    for pack in rulebase.packs:
        cited = pack.document
        by_file = bool(cited.source_file) and (Path(cited.source_file).name == source.name
                                               or Path(cited.source_file).stem == source.stem)
        by_number = bool(number and cited.doc_number) and _squash(cited.doc_number).translate(_BRACKETS) == number
        if by_file or by_number or _squash(cited.title) == title:
            out.append(pack.id)
    return out


def _body(doc_title: str, clause: str, rule_title: str, kind: str, amount: int | None, upper: bool,
          missing: list[str], near: str | None, round_title: str | None) -> str:
    parts = [f"《{doc_title}》条款 {clause}:{rule_title}。"]
    if amount:
        parts.append(f"预计可获{'最高' if upper else ''}{fmt_money(amount)}。")
    if kind == "granted":
        parts.append("按您保存的企业信息,符合条件。")
    elif kind == "undecided":
        parts.append(("还缺少以下信息才能判定:" + "、".join(missing) + "。") if missing else f"{near}。")
    else:
        parts.append(f"差一点:{near}。")
    if round_title:
        parts.append(f"申报批次「{round_title}」已开放,可在线申报。")
    return "".join(parts)


def match_profiles(rulebase: Any, profiles: Sequence[SavedProfile], rules: Sequence[str], on: date, *,
                   round_id: int | None = None, round_title: str | None = None) -> list[PushMessage]:
    """One message per (enterprise, rule, subject) the rules grant, cannot decide, or narrowly miss."""
    plan = plan_for(rulebase)
    titles = {pr.rule.id: pr.pack.document.title for pr in plan.rules}
    ceilings = {pr.rule.id: pr.static_max for pr in plan.rules}
    out: list[PushMessage] = []
    for saved in profiles:
        report = run_calculator(rulebase, saved.profile, on, list(rules))
        seen: set[str] = set()
        for r in report.results:
            if r.rule not in rules and r.document not in rules:
                continue
            near = r.near_miss.text if r.near_miss is not None else r.reason
            if r.status == "granted":
                kind, amount = "granted", r.amount
            elif r.status == "undecided":
                ceiling = ceilings.get(r.rule)
                kind, amount = "undecided", r.amount if r.amount is not None else (
                    int(ceiling) if ceiling is not None else None)
            elif r.status == "not_eligible" and r.near_miss is not None and r.near_miss.amount_if_met:
                kind, amount = "near_miss", r.near_miss.amount_if_met
            else:
                continue
            if r.rule in seen:
                continue  # one message per rule even when several projects qualify
            seen.add(r.rule)
            missing = [m.label for m in r.missing]
            doc_title = titles.get(r.rule, r.document_title)
            label = {"granted": "可享受", "undecided": "可能享受", "near_miss": "差一点可享受"}[kind]
            upper = r.upper_bound or (kind == "undecided" and amount is not None)
            out.append(PushMessage(
                recipient=saved.owner, kind=kind, rule=r.rule, document=r.document, clause=r.clause,
                title=f"【政策推送】{label}:{r.title}", amount=amount,
                upper_bound=upper,
                missing=missing, round_id=round_id, email=saved.email, phone=saved.phone,
                body=_body(doc_title, r.clause, r.title, kind, amount, upper, missing, near, round_title)))
    return out
