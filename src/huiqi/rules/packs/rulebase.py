"""The RuleBase (packs, compiled rules, leads, fields, parameters) and the one policy selection."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from huiqi.errors import HuiqiError
from huiqi.profile import FieldRegistry, Profile, Project, closest, profile_env
from huiqi.rules.packs.compiled import CompiledRule, LoadedLead, LoadedPack
from huiqi.rules.packs.parameters import ParameterSet

__all__ = ["RuleBase", "Selection"]

_BRACKETS = str.maketrans("[]()（）【】﹝﹞〈〉", "〔〕〔〕〔〕〔〕〔〕〔〕")


def _fold(text: str) -> str:
    """文号 / title comparison: drop spaces, unify bracket forms (〔2022〕 [2022] (2022))."""
    return re.sub(r"\s+", "", text).translate(_BRACKETS)


@dataclass(frozen=True)
class Selection:
    """Which rules and which documents' leads a run covers (``None`` = all)."""

    rule_ids: frozenset[str] | None
    documents: frozenset[str] | None

    def has_rule(self, rule_id: str) -> bool:
        return self.rule_ids is None or rule_id in self.rule_ids


class RuleBase:
    """Everything the calculator needs: packs, compiled rules, leads, fields, parameters."""

    def __init__(self, packs: Sequence[LoadedPack], rules: Sequence[CompiledRule], leads: Sequence[LoadedLead],
                 fields: FieldRegistry, params: ParameterSet) -> None:
        self.packs = list(packs)
        self.rules = list(rules)
        self.leads = list(leads)
        self.fields = fields
        self.params = params
        self._by_id = {r.id: r for r in self.rules}

    def __len__(self) -> int:
        return len(self.rules)

    def rule(self, rule_id: str) -> CompiledRule:
        if rule_id in self._by_id:
            return self._by_id[rule_id]
        near = closest(rule_id, self._by_id)
        raise HuiqiError(f"未知的规则 {rule_id}", field="rule", hint=f"您是否要写 {near[0]}?" if near else None)

    def has_rule(self, rule_id: str) -> bool:
        return rule_id in self._by_id

    def pack(self, ref: str) -> LoadedPack:
        hits = self._match(ref)
        if len(hits) == 1:
            return hits[0]
        if not hits:
            near = closest(ref, [p.id for p in self.packs])
            raise HuiqiError(f"没有与「{ref}」对应的规则包", field="policy",
                             hint=f"您是否要写 {near[0]}?" if near else "可用文件简称、文号或标题中的一段")
        listing = "、".join(p.id for p in hits)
        raise HuiqiError(f"「{ref}」匹配到多个规则包:{listing}", field="policy", hint="请写得更具体些")

    def _match(self, ref: str) -> list[LoadedPack]:
        ref = ref.strip()
        folded = _fold(ref)
        tests = (
            lambda p: p.id == ref,
            lambda p: bool(p.document.doc_number) and _fold(p.document.doc_number) == folded,
            lambda p: p.document.title == ref or (p.document.source_file or "") == ref,
            lambda p: folded in _fold(p.document.title) or (bool(p.document.doc_number)
                                                             and folded in _fold(p.document.doc_number)),
        )
        for test in tests:
            hits = [p for p in self.packs if test(p)]
            if hits:
                return hits
        return []

    def select(self, policies: Iterable[str] | None) -> Selection:
        """The one reading of ``--policy`` / ``policies`` for every command and engine.

        Each reference is a rule id, a rule-id prefix (``linhai.tech_upgrade``), a rule
        pack id, a 文号 or a piece of a document title. Rules of a named document are all
        selected and the document's pack-level leads are shown; naming rules alone shows
        no pack leads. An unknown reference is an error with a suggestion.
        """
        if policies is None:
            return Selection(None, None)
        refs = [p.strip() for p in policies if p and p.strip()]
        if not refs:
            return Selection(None, None)
        rules: set[str] = set()
        documents: set[str] = set()
        for ref in refs:
            if ref in self._by_id:
                rules.add(ref)
                continue
            prefix = ref.rstrip(".") + "."
            by_prefix = {r.id for r in self.rules if r.id.startswith(prefix)}
            hits = self._match(ref)
            if not by_prefix and not hits:
                near = closest(ref, [*self._by_id, *(p.id for p in self.packs)])
                raise HuiqiError(f"没有与「{ref}」对应的规则包或规则", field="policy",
                                 hint=f"您是否要写 {near[0]}?" if near else "可用规则 id、规则包 id、文号或标题中的一段")
            rules.update(by_prefix)
            for pack in hits:
                documents.add(pack.document.id)
                rules.update(r.id for r in self.rules if r.pack.id == pack.id)
        return Selection(frozenset(rules), frozenset(documents))

    def filter(self, policies: Iterable[str] | None) -> RuleBase:
        """Only the packs named by document id, 文号 or a piece of the title."""
        if policies is None:
            return self
        wanted: list[LoadedPack] = []
        for ref in policies:
            hits = self._match(ref)
            if not hits:
                self.pack(ref)  # raises with a suggestion
            wanted.extend(h for h in hits if h not in wanted)
        ids = {p.id for p in wanted}
        return RuleBase(wanted, [r for r in self.rules if r.pack.id in ids],
                        [ld for ld in self.leads if ld.pack.id in ids], self.fields, self.params)

    def env(self, profile: Profile, project: Project | str | None = None, on: date | None = None,
            overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The expression environment for one subject (uses this base's fields and parameters)."""
        return profile_env(profile, project, on=on, params=self.params.with_overrides(overrides),
                           fields=self.fields)

    def labels(self) -> dict[str, str]:
        """Field path → Chinese label, incl. parameters (for ``explain``)."""
        out = self.fields.labels()
        out.update({f"param.{n}": d.label for n, d in self.params.defs.items()})
        out["date"] = "计算日期"
        for r in self.rules:
            for name in r.fields:
                if name not in out:
                    spec = self.fields.get(name)
                    if spec is not None:
                        out[name] = spec.label
        return out

    def units(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.fields.units())
        for n, d in self.params.defs.items():
            if d.unit in ("%", "percent"):
                out[f"param.{n}"] = "percent"
            elif d.unit in ("元", "万元"):
                out[f"param.{n}"] = "money"
        return out

    def tests_files(self) -> list[Path]:
        return [p.tests_path for p in self.packs if p.tests_path.is_file()]
