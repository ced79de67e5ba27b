"""Explanations say only what is true (issue 16 §1).

Property: for every condition of every rule pack and random values (missing ones
included), each comparison the rendered line prints, evaluated on the values it prints,
is true; the values it prints are the actual values; and the ✓/✗ marks agree with the
condition's evaluated truth under three-valued and/or.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.rules.calculator import calculate, condition_statement, plan_for
from huiqi.rules.explain import SYMBOL, Fact, Group
from huiqi.rules.expr import compile_expr
from huiqi.rules.expr_ast import Num, walk
from huiqi.rules.packs import load_packs

RULEBASE = load_packs()
PLAN = plan_for(RULEBASE)
CONDITIONS = [(pr.rule.id, i, pc) for pr in PLAN.rules for i, pc in enumerate(pr.conds)]


def _constants(pc) -> list[Decimal]:
    return [n.value for n in walk(pc.pexpr.expr.ast) if isinstance(n, Num)]


def _value_strategy(path: str, pc) -> st.SearchStrategy[object]:
    """Values of the field's type, crowding around the condition's constants."""
    spec = RULEBASE.fields.get(path)
    kind = spec.type if spec is not None else ("percent" if path.startswith("param.") else "number")
    if kind == "boolean":
        values: st.SearchStrategy[object] = st.booleans()
    elif kind == "enum":
        values = st.sampled_from([*spec.values, "其他"])
    elif kind in ("text", "date"):
        values = st.sampled_from(["A", "B", "国家级", "2022-01-01"])
    else:
        near = [c + d for c in _constants(pc) for d in (Decimal(-1), Decimal("-0.01"), 0, Decimal("0.01"), 1)]
        if kind == "percent":
            free = st.integers(-2000, 20000).map(lambda n: Decimal(n) / 10000)
        elif kind in ("money", "integer"):
            free = st.integers(-10, 3 * 10**9).map(Decimal)
        else:
            free = st.integers(-1000, 100000).map(lambda n: Decimal(n) / 100)
        values = st.one_of(st.sampled_from(near), free) if near else free
    return st.one_of(st.none(), values)


def _kleene(node: Fact | Group) -> bool | None:
    if isinstance(node, Fact):
        return node.met
    parts = [_kleene(p) for p in node.parts]
    dominant = node.op == "or"
    if dominant in parts:
        return dominant
    return None if None in parts else not dominant


def _literal(text: str) -> object:
    return compile_expr(text).evaluate({}).value


def _check(pc, env: dict[str, object]) -> None:
    value, _ = pc.pexpr.evaluate(env)
    stmt = condition_statement(pc, env, value)
    if isinstance(value, bool):
        assert _kleene(stmt.root) is value, (stmt.text, value)
    for fact in stmt.facts:
        assert fact.text in stmt.text
        if fact.met is None:
            # Unknown: no relation is claimed, only the requirement.
            assert fact.claim is None and "要求" in fact.text, fact.text
            continue
        assert fact.claim is not None
        assert _literal(fact.claim) is True, (fact.claim, fact.text)
        if fact.kind == "compare":
            op = next(o for o in (">=", "<=", "!=", "==", ">", "<") if f" {o} " in fact.claim)
            left, right = fact.claim.split(f" {op} ", 1)
            assert f"{left} {SYMBOL[op]} " in fact.text and right in fact.text, (fact.claim, fact.text)
        for path, shown in fact.shown:
            actual = env[path]
            expected = actual if isinstance(actual, bool | str) else Decimal(actual)
            assert _literal(shown) == expected, (path, shown, actual)
            assert shown in fact.text


@pytest.mark.parametrize(("rule", "index", "pc"), CONDITIONS, ids=[f"{r}[{i}]" for r, i, _ in CONDITIONS])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_rendered_condition_is_true(rule: str, index: int, pc, data: st.DataObject) -> None:
    env = {}
    for path in pc.pexpr.expr.fields:
        v = data.draw(_value_strategy(path, pc), label=path)
        if v is not None:
            env[path] = v
    _check(pc, env)


def test_every_pack_is_covered() -> None:
    packs = {pr.pack.document.id for pr in PLAN.rules if pr.conds}
    assert packs == {p.document.id for p in PLAN.packs if any(r.conditions for r in p.rules)}
    assert len(CONDITIONS) > 100


SHIYAN = {"province": "湖北省", "city": "十堰市", "county": "张湾区", "district": "张湾区"}


def test_layoff_rate_above_unemployment_rate_is_stated_as_above() -> None:
    profile = {"name": "某公司", "region": SHIYAN,
               "enterprise": {"stable_job_eligible": True, "layoffs": 3, "layoff_rate": "3%",
                              "unemployment_insurance_paid": 100000}}
    report = calculate(RULEBASE, profile, date(2019, 6, 1), policies=["shiyan.stable_jobs.low_layoff"],
                       params={"registered_unemployment_rate": "2.5%"})
    r = report.find("shiyan.stable_jobs.low_layoff")
    assert r is not None and r.status == "not_eligible"
    line = r.conditions[2].text
    assert "3% ≥ 统筹地区城镇登记失业率 2.5%" in line and "要求 <" in line
    assert "3% <" not in line and "3% < 统筹" not in r.explanation


def test_failed_compound_condition_flips_only_the_failed_part() -> None:
    profile = {"name": "某公司", "region": {"province": "浙江省", "city": "台州市", "county": "临海市"},
               "enterprise": {"muju_class": "A"},
               "projects": [{"id": "p1", "plot_ratio_increase": "25%", "zero_land_area_share": "10%"}]}
    report = calculate(RULEBASE, profile, date(2022, 9, 1), policies=["linhai.vertical.floors"])
    r = report.find("linhai.vertical.floors")
    assert r is not None
    cond = next(c for c in r.conditions if "plot_ratio_increase <= 20%" in c.expr)
    assert cond.status == "false"
    assert "容积率提高比例 25% > 要求 20%(含)" in cond.text
    assert "25% <= 20%" not in cond.text and "25% ≤" not in cond.text
    assert "零增地技改建筑面积占比 10% ≤ 20%(含)" in cond.text


@pytest.mark.parametrize(("text", "env", "must", "must_not"), [
    ("not (x < 5)", {"x": 3}, "x 3 < 要求 5", "≥ 5"),
    ("not (x >= 5 and y == true)", {"x": 7, "y": True}, "x 7 ≥ 要求 5", "x 7 <"),
    ("not (x >= 5 or y == true)", {"x": 1, "y": False}, "x 1 < 5", "x 1 ≥"),
    ("x in ['A', 'B']", {"x": "C"}, "x “C” 不属于 “A”、“B”(要求属于)", "“C” 属于"),
    ("x not in ['A', 'B']", {"x": "A"}, "x “A” 属于 “A”、“B”(要求不属于)", "不属于 “A”、“B”(要"),
    ("x != y", {"x": 2, "y": 2}, "x 2 = y 2(未满足,要求 ≠)", "≠ y"),
    ("not y", {"y": True}, "y 为是(要求为否)", "y 为否"),
    ("x > 1 or z < 2", {"x": 0}, "x 0 ≤ 要求 1", "x 0 >"),
])
def test_operators_and_nesting(text: str, env: dict, must: str, must_not: str) -> None:
    from huiqi.rules.explain import state_condition

    e = compile_expr(text)
    value = e.evaluate(env).value
    stmt = state_condition(e.ast, env, {}, {}, value if isinstance(value, bool) else None)
    assert must in stmt.text, stmt.text
    assert must_not not in stmt.text, stmt.text
    for fact in stmt.facts:
        if fact.claim is not None:
            assert _literal(fact.claim) is True


_OPS = st.sampled_from([">=", ">", "<=", "<", "==", "!="])
_ATOMS = st.one_of(
    st.builds(lambda a, op, n: f"{a} {op} {n}", st.sampled_from(["x", "y"]), _OPS, st.integers(-2, 2)),
    st.builds(lambda op: f"x {op} y", _OPS),
    st.builds(lambda neg, items: f"x {'not in' if neg else 'in'} [{', '.join(map(str, items))}]",
              st.booleans(), st.lists(st.integers(-2, 2), min_size=1, max_size=3)),
    st.sampled_from(["f", "f == true", "f == false", "coalesce(f, false) == false", "true == f"]),
)
_EXPRS = st.recursive(_ATOMS, lambda inner: st.one_of(
    st.builds(lambda a: f"not ({a})", inner),
    st.builds(lambda a, b, op: f"({a}) {op} ({b})", inner, inner, st.sampled_from(["and", "or"])),
), max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(text=_EXPRS, x=st.one_of(st.none(), st.integers(-3, 3)), y=st.one_of(st.none(), st.integers(-3, 3)),
       f=st.one_of(st.none(), st.booleans()))
def test_any_nesting_of_any_operator_is_stated_truthfully(text: str, x, y, f) -> None:
    from huiqi.rules.explain import state_condition

    env = {k: v for k, v in (("x", x), ("y", y), ("f", f)) if v is not None}
    e = compile_expr(text)
    value = e.evaluate(env).value
    stmt = state_condition(e.ast, env, {}, {}, value if isinstance(value, bool) else None)
    if isinstance(value, bool):
        assert _kleene(stmt.root) is value, (text, env, stmt.text)
    for fact in stmt.facts:
        if fact.met is None:
            assert fact.claim is None and "要求" in fact.text
        else:
            assert _literal(fact.claim) is True, (text, env, fact.claim, fact.text)
            for path, shown in fact.shown:
                assert _literal(shown) == (env[path] if isinstance(env[path], bool) else Decimal(env[path]))
