"""惠企计算器: which measures apply to one enterprise, how much, why, and what is missing.

Semantics are those of docs/rules-contract.md ("Rule semantics"). The work is split
in two so that a calculation stays in the low milliseconds:

* :func:`plan_for` (:mod:`.plan`) compiles every rule of a RuleBase once (conditions,
  amount parts, caps, stacking levels, field labels and units, the shape of simple
  thresholds for near misses) and caches the plan on the RuleBase;
* :func:`calculate` (:mod:`.report`) evaluates the plan against one profile: per rule
  and subject (the enterprise or each project) validity → jurisdiction
  (:mod:`.jurisdiction`) → conditions (three-valued) → amount → award caps → rounding
  (:mod:`.evaluate`); then, across results, history-based stacking (:mod:`.history`),
  in-calculation stacking (:mod:`.stacking`), shared enterprise caps
  (:mod:`.shared_caps`), near misses and ask-next questions (:mod:`.ask_next`) and leads.

Money is exact: expressions yield ``Decimal``; amounts are rounded once to integer
yuan (half_up unless the rule says floor) and never touch float.
"""

from huiqi.rules.calculator.ask_next import ASK_NEXT_LIMIT
from huiqi.rules.calculator.environment import (
    ENTERPRISE,
    ProfileLike,
    ProfileView,
    Subject,
    build_envs,
    param_env,
    view_profile,
)
from huiqi.rules.calculator.evaluate import (
    Core,
    PopulationDecision,
    Work,
    evaluate_core,
    key_text,
    round_amount,
    strip_class,
)
from huiqi.rules.calculator.explain import condition_statement
from huiqi.rules.calculator.formatting import fmt_money
from huiqi.rules.calculator.plan import (
    FieldInfo,
    PCond,
    PExpr,
    Plan,
    PRule,
    all_pexprs,
    cap_group,
    literal_value,
    parse_param_value,
    plan_for,
)
from huiqi.rules.calculator.report import calculate, selected_documents, selected_rules
from huiqi.rules.mechanisms.jurisdiction import (
    PLACE_SUFFIXES,
    jurisdiction_status,
    norm_place,
    rule_gate,
    same_place,
)

__all__ = [
    "ASK_NEXT_LIMIT", "ENTERPRISE", "PLACE_SUFFIXES", "Core", "FieldInfo", "PCond", "PExpr", "PRule", "Plan",
    "PopulationDecision", "ProfileLike", "ProfileView", "Subject", "Work", "all_pexprs", "build_envs", "calculate", "cap_group",
    "condition_statement", "evaluate_core", "fmt_money", "jurisdiction_status", "key_text", "literal_value",
    "norm_place", "param_env", "parse_param_value", "plan_for", "round_amount", "rule_gate", "same_place",
    "selected_documents", "selected_rules", "strip_class", "view_profile",
]
