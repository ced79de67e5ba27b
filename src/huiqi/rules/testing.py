"""Rule test cases (``<pack-id>.tests.yaml``): worked examples that pin every threshold.

```yaml
pack: linhai-2022-22
cases:
  - name: 重大技改项目 设备投资恰好500万元(含)
    date: 2022-09-01
    profile: {region: {...}, enterprise: {...}, projects: [{id: p1, ...}]}
    params: {lpr_1y: 3.45%}            # optional overrides
    cohort: [{...}, {...}]             # optional applicants for rank/quota rules
    expect:
      - {rule: linhai.tech_upgrade.major, subject: p1, status: granted, amount: 50万元, upper_bound: false}
      - {rule: linhai.x, status: undecided, missing: [project.investment]}
```

Each case runs through ``huiqi.rules.calculator.calculate`` (imported lazily: it is
written in parallel) restricted to the case's pack, and each expectation is compared
with the result for (rule, subject). Failures read as a Chinese diff.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from huiqi.errors import HuiqiError, ProfileError, RuleError
from huiqi.profile import (
    FieldRegistry,
    Profile,
    ValueProblem,
    closest,
    line_of,
    load_yaml,
    parse_money_value,
    profile_from_data,
)
from huiqi.rules.packs import RuleBase, builtin_packs_dir

__all__ = [
    "STATUSES",
    "CaseResult",
    "Expectation",
    "RuleCase",
    "TestReport",
    "collect_cases",
    "discover_test_files",
    "run_case",
    "run_rule_tests",
]

STATUSES: dict[str, str] = {
    "granted": "可享受",
    "stacked_out": "不可叠加",
    "not_eligible": "不符合",
    "undecided": "无法判定",
    "not_in_force": "不在有效期",
    "out_of_jurisdiction": "不适用地区",
    "lead": "线索",
}
_STATUS_ALIASES = {label: name for name, label in STATUSES.items()}
_CASE_KEYS = ("name", "date", "profile", "params", "cohort", "expect", "policies", "note")
_EXPECT_KEYS = ("rule", "subject", "status", "amount", "upper_bound", "missing", "note")
_UNSET: Any = object()


@dataclass(frozen=True)
class Expectation:
    rule: str
    subject: str | None
    status: str | None
    amount: Any  # int yuan, None (= no amount), or _UNSET (not checked)
    upper_bound: bool | None
    missing: tuple[str, ...] | None
    line: int | None


@dataclass
class RuleCase:
    """One parsed case; the profile is built lazily against the rule base's registry."""

    pack: str
    name: str
    file: str
    line: int | None
    on: date
    expect: list[Expectation]
    params: dict[str, str] = field(default_factory=dict)
    policies: list[str] | None = None
    _root: Any = field(default=None, repr=False)
    _index: int = 0

    @property
    def id(self) -> str:
        return f"{self.pack}:{self.name}"

    def profile(self, fields: FieldRegistry | None = None) -> Profile:
        loc = ["cases", self._index, "profile"]
        raw = self._root["cases"][self._index].get("profile")
        profile = profile_from_data(raw, fields=fields, source=self.file, base_loc=loc, root=self._root)
        if not profile.name:
            profile = profile.model_copy(update={"name": self.name})
        return profile

    def cohort(self, fields: FieldRegistry | None = None) -> list[Profile] | None:
        raw = self._root["cases"][self._index].get("cohort")
        if raw is None:
            return None
        if not isinstance(raw, list):
            raise RuleError("cohort 应为画像列表", file=self.file, line=line_of(self._root, ["cases", self._index,
                                                                                           "cohort"]))
        out = []
        for j, item in enumerate(raw):
            p = profile_from_data(item, fields=fields, source=self.file,
                                  base_loc=["cases", self._index, "cohort", j], root=self._root)
            out.append(p if p.name else p.model_copy(update={"name": f"申报企业{j + 1}"}))
        return out


@dataclass
class CaseResult:
    case: RuleCase
    failures: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return not self.failures and self.error is None

    def text(self) -> str:
        where = f"{self.case.file}" + (f",第{self.case.line}行" if self.case.line else "")
        if self.passed:
            return f"✓ {self.case.id}"
        lines = [f"✗ {self.case.id}({where})"]
        if self.error:
            lines.append(f"  出错:{self.error}")
        lines.extend("  " + f.replace("\n", "\n  ") for f in self.failures)
        return "\n".join(lines)


@dataclass
class TestReport:
    __test__ = False  # not a pytest class, despite the name

    results: list[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def text(self, verbose: bool = False) -> str:
        lines = [r.text() for r in self.results if verbose or not r.passed]
        lines.append(f"共 {len(self.results)} 个用例:通过 {self.passed},失败 {self.failed}")
        return "\n".join(lines)


# -- parsing ---------------------------------------------------------------------------------


def discover_test_files(paths: Sequence[str | Path] | None = None) -> list[Path]:
    if paths is None:
        base = builtin_packs_dir()
        return sorted(base.rglob("*.tests.yaml")) if base.is_dir() else []
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(sorted(p.rglob("*.tests.yaml")))
        elif p.is_file():
            out.append(p)
        else:
            raise RuleError("测试文件或目录不存在", file=str(p))
    return list(dict.fromkeys(out))


def collect_cases(paths: Sequence[str | Path] | None = None) -> list[RuleCase]:
    """Parse test files (None = built-in ``rulepacks/*.tests.yaml``); RuleError on bad files."""
    cases: list[RuleCase] = []
    for path in discover_test_files(paths):
        cases.extend(_parse_file(path))
    return cases


def _parse_file(path: Path) -> list[RuleCase]:
    file = str(path)
    data = load_yaml(path)
    if not isinstance(data, dict) or "cases" not in data:
        raise RuleError("测试文件应为映射 {pack: …, cases: [...]}", file=file, line=getattr(data, "line", None))
    for key in data:
        if key not in ("pack", "cases", "schema_version"):
            near = closest(str(key), ("pack", "cases"))
            raise RuleError(f"测试文件中有未知的键 {key}", file=file, line=line_of(data, [key]),
                            hint=f"您是否要写 {near[0]}?" if near else None)
    pack = data.get("pack")
    if not isinstance(pack, str) or not pack:
        raise RuleError("测试文件缺少 pack(规则包的 document.id)", file=file, line=getattr(data, "line", None))
    raw_cases = data["cases"]
    if not isinstance(raw_cases, list):
        raise RuleError("cases 应为列表", file=file, line=line_of(data, ["cases"]))
    out: list[RuleCase] = []
    names: set[str] = set()
    for i, raw in enumerate(raw_cases):
        loc: list[Any] = ["cases", i]
        line = line_of(data, loc)

        def fail(msg: str, sub: Sequence[Any] = (), hint: str | None = None, line: int | None = line,
                 loc: list[Any] = loc) -> RuleError:
            return RuleError(msg, file=file, line=line_of(data, [*loc, *sub]) if sub else line, hint=hint)

        if not isinstance(raw, dict):
            raise fail("每个用例应为映射 {name, date, profile, expect}")
        for key in raw:
            if key not in _CASE_KEYS:
                near = closest(str(key), _CASE_KEYS)
                raise fail(f"用例中有未知的键 {key}", [key], f"您是否要写 {near[0]}?" if near else None)
        name = str(raw.get("name") or f"用例{i + 1}")
        if name in names:
            raise fail(f"用例名称「{name}」重复", ["name"])
        names.add(name)
        on = raw.get("date")
        if isinstance(on, str):
            try:
                on = date.fromisoformat(on)
            except ValueError:
                raise fail("date 应为日期 YYYY-MM-DD", ["date"]) from None
        if not isinstance(on, date):
            raise fail("用例缺少计算日期 date(YYYY-MM-DD)", ["date"] if "date" in raw else ())
        expect_raw = raw.get("expect")
        if not isinstance(expect_raw, list) or not expect_raw:
            raise fail("用例缺少 expect(期望结果列表)", ["expect"] if "expect" in raw else ())
        expect = [_parse_expect(e, data, [*loc, "expect", j], file) for j, e in enumerate(expect_raw)]
        params = raw.get("params") or {}
        if not isinstance(params, dict):
            raise fail("params 应为“参数名: 值”的映射", ["params"])
        policies = raw.get("policies")
        if policies is not None and (not isinstance(policies, list) or not all(isinstance(p, str) for p in policies)):
            raise fail("policies 应为文件简称列表", ["policies"])
        out.append(RuleCase(pack=pack, name=name, file=file, line=line, on=on, expect=expect,
                            params={str(k): str(v) for k, v in params.items()}, policies=policies,
                            _root=data, _index=i))
    return out


def _parse_expect(raw: Any, root: Any, loc: list[Any], file: str) -> Expectation:
    line = line_of(root, loc)
    if not isinstance(raw, dict):
        raise RuleError("期望结果应为映射 {rule, subject, status, amount}", file=file, line=line)
    for key in raw:
        if key not in _EXPECT_KEYS:
            near = closest(str(key), _EXPECT_KEYS)
            raise RuleError(f"期望结果中有未知的键 {key}", file=file, line=line_of(root, [*loc, key]),
                            hint=f"您是否要写 {near[0]}?" if near else "可用:" + "、".join(_EXPECT_KEYS))
    rule = raw.get("rule")
    if not isinstance(rule, str) or not rule:
        raise RuleError("期望结果缺少 rule(规则 id)", file=file, line=line)
    status = raw.get("status")
    if status is not None:
        status = _STATUS_ALIASES.get(str(status), str(status))
        if status not in STATUSES:
            near = closest(status, [*STATUSES, *_STATUS_ALIASES])
            raise RuleError(f"未知的状态 {raw.get('status')},可选:" + "、".join(STATUSES), file=file,
                            line=line_of(root, [*loc, "status"]), hint=f"您是否要写 {near[0]}?" if near else None)
    amount: Any = _UNSET
    if "amount" in raw:
        if raw["amount"] is None:
            amount = None
        else:
            try:
                amount = parse_money_value(raw["amount"])
            except (ValueProblem, HuiqiError):
                raise RuleError(f"期望金额 {raw['amount']!r} 无法识别,应写 50万元 或整数元", file=file,
                                line=line_of(root, [*loc, "amount"])) from None
    upper = raw.get("upper_bound")
    if upper is not None and not isinstance(upper, bool):
        raise RuleError("upper_bound 应为 true 或 false", file=file, line=line_of(root, [*loc, "upper_bound"]))
    missing = raw.get("missing")
    if missing is not None:
        if isinstance(missing, str):
            missing = [missing]
        if not isinstance(missing, list):
            raise RuleError("missing 应为字段路径列表", file=file, line=line_of(root, [*loc, "missing"]))
        missing = tuple(str(m) for m in missing)
    subject = raw.get("subject")
    return Expectation(rule=rule, subject=None if subject is None else str(subject), status=status,
                       amount=amount, upper_bound=upper, missing=missing, line=line)


# -- running ---------------------------------------------------------------------------------


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _money(value: Any) -> str:
    if value is None:
        return "无金额"
    from huiqi.rules.expr import format_value

    return format_value(Decimal(value), "money")


def _status_text(status: Any) -> str:
    return f"{status}({STATUSES.get(str(status), '?')})" if status is not None else "—"


def run_case(rulebase: RuleBase, case: RuleCase) -> CaseResult:
    """Run one case; never raises for a failing rule — errors are part of the result."""
    from huiqi.rules.calculator import calculate

    result = CaseResult(case)
    if not any(p.id == case.pack for p in rulebase.packs):
        near = closest(case.pack, [p.id for p in rulebase.packs])
        result.error = f"规则包 {case.pack} 未加载" + (f"(您是否要写 {near[0]}?)" if near else "")
        return result
    try:
        profile = case.profile(rulebase.fields)
        cohort = case.cohort(rulebase.fields)
        report = calculate(rulebase, profile, on=case.on, policies=case.policies or [case.pack],
                           params=case.params or None, cohort=cohort)
    except (HuiqiError, ProfileError) as exc:
        result.error = str(exc)
        return result
    results = list(_get(report, "results") or [])
    for exp in case.expect:
        result.failures.extend(_compare(rulebase, profile, exp, results))
    return result


def _compare(rulebase: RuleBase, profile: Profile, exp: Expectation, results: list[Any]) -> list[str]:
    where = f"第{exp.line}行 " if exp.line else ""
    if not rulebase.has_rule(exp.rule):
        lead_hit = [r for r in results if _get(r, "rule") == exp.rule]
        if not lead_hit:
            near = closest(exp.rule, [r.id for r in rulebase.rules])
            return [f"{where}规则 {exp.rule} 不存在" + (f"(您是否要写 {near[0]}?)" if near else "")]
    subject = exp.subject
    if subject is None:
        per_project = rulebase.has_rule(exp.rule) and rulebase.rule(exp.rule).per_project
        if per_project and len(profile.projects) == 1:
            subject = profile.projects[0].id
        elif per_project:
            return [f"{where}规则 {exp.rule} 按项目计算,画像有多个项目,请写明 subject"]
        else:
            subject = "enterprise"
    hits = [r for r in results if _get(r, "rule") == exp.rule and str(_get(r, "subject")) == subject]
    head = f"{where}{exp.rule} [{subject}]"
    if not hits:
        subjects = sorted({str(_get(r, "subject")) for r in results if _get(r, "rule") == exp.rule})
        extra = f";该规则的结果主体有:{'、'.join(subjects)}" if subjects else ";计算结果中没有该规则"
        return [f"✗ {head}:没有找到结果{extra}"]
    actual = hits[0]
    diffs: list[str] = []
    if exp.status is not None and _get(actual, "status") != exp.status:
        diffs.append(f"状态:期望 {_status_text(exp.status)},实际 {_status_text(_get(actual, 'status'))}")
    if exp.amount is not _UNSET and _get(actual, "amount") != exp.amount:
        diffs.append(f"金额:期望 {_money(exp.amount)},实际 {_money(_get(actual, 'amount'))}")
    if exp.upper_bound is not None and bool(_get(actual, "upper_bound")) != exp.upper_bound:
        word = {True: "是上限(最高)", False: "是确定金额"}
        diffs.append(f"金额性质:期望{word[exp.upper_bound]},实际{word[bool(_get(actual, 'upper_bound'))]}")
    if exp.missing is not None:
        got = [str(_get(m, "field")) for m in (_get(actual, "missing") or [])]
        lacking = [m for m in exp.missing if m not in got]
        if lacking:
            diffs.append(f"缺少字段:期望包含 {'、'.join(lacking)},实际为 {'、'.join(got) or '无'}")
    if not diffs:
        return []
    explanation = str(_get(actual, "explanation") or _get(actual, "reason") or "").strip()
    text = f"✗ {head}:" + ";".join(diffs)
    if explanation:
        text += "\n    计算说明:" + explanation.replace("\n", "\n    ")
    return [text]


def run_rule_tests(rulebase: RuleBase, paths: Sequence[str | Path] | None = None) -> TestReport:
    """Run test files (None = the ``<pack>.tests.yaml`` next to each loaded pack)."""
    files: Iterable[Path] = rulebase.tests_files() if paths is None else discover_test_files(paths)
    report = TestReport()
    for path in files:
        for case in _parse_file(path):
            report.results.append(run_case(rulebase, case))
    return report
