"""Rule packs → SQL: the whole rule base as set-based queries over an enterprise population.

The calculator (``huiqi.rules.calculator``) is the definition of what a rule means; this
module writes the *same* semantics as SQL for DuckDB or Spark, reading the very same
compiled plan (``plan_for``) and translating every expression with
``huiqi.rules.expr.to_sql`` — the rule files are never copied or re-interpreted.

Input: a relation (default ``population``) with one row per (enterprise, project) and
typed columns (:mod:`huiqi.engines.population`: money/integer BIGINT, number/percent
DECIMAL(38,6), booleans, text), plus — when some enterprise has projects —
``first_project(id, project_id)``, naming the row that carries the enterprise's own
fields (the smallest project id).

Pipeline per (rule, subject), exactly as ``calculate``: validity → jurisdiction →
conditions (three-valued) → amount (formula / tier bands / lookup table) → award caps →
rounding to integer yuan → rank/quota decision → stacking → shared enterprise caps.
Fund caps are not applied here (the simulation allocates them).

Query shape ("wide", one scan): every rule is a few columns of one projection over the
population row (conditions, amount, status, missing fields), the row's results are
packed into an array of structs and UNNESTed (Spark: exploded) into one output row per
(rule, subject). Rules whose outcome depends on other rows — rank/quota (window over the
whole population: the population is the cohort), stacking groups that can meet within an
enterprise, enterprise caps shared by several rules or projects (cumulative window in
rule order) — run the same projection a second time for their *active* rows (granted, or
ranked) and finish with window functions; every other row is final after the first pass,
because later steps only ever change granted rows.

Output rows (``CORE_COLUMNS``): ``id, project_id, ri, sc, amount, upper_bound, mm,
province, city, county, district`` with ``ri`` the rule index, ``sc`` the status code and
``mm`` the missing fields of an undecided row as a bit mask over the rule's fields in
reading order (-1: a project rule for an enterprise without projects);
:meth:`CompiledSql.results_view` turns them into the contract columns (rule, document,
clause, department, kind, beneficiary, status, missing …) without storing strings or
lists per row — building a list per rule and row made the engine three times slower.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from huiqi.errors import RuleError
from huiqi.rules.calculator import (
    PRule,
    all_pexprs,
    key_text,
    param_env,
    plan_for,
    selected_documents,
    selected_rules,
    strip_class,
)
from huiqi.rules.expr import Expr, to_sql
from huiqi.rules.expr_ast import (
    Arith,
    Bool,
    Call,
    Cmp,
    Field,
    In,
    Logic,
    Neg,
    Node,
    Not,
    Null,
    Num,
    Str,
    Tier,
    tidy,
)
from huiqi.rules.expr_sql import SqlGenerator, sql_string
from huiqi.rules.mechanisms.jurisdiction import (
    jurisdiction_key,
    jurisdiction_sql,
    normalized_place_sql,
    place_column,
)
from huiqi.rules.mechanisms.registry import MECHANISMS
from huiqi.rules.mechanisms.shared_caps import CapPass, check_cap_order, row_local_cap_sql
from huiqi.rules.mechanisms.shared_caps import cap_passes as cap_passes_of
from huiqi.rules.mechanisms.sql import (
    DEC,
    STATUSES,
    Dialect,
    SqlDialect,
    WindowFlow,
    WindowPlan,
    or_masks,
    status_code,
)
from huiqi.rules.mechanisms.stacking import StackPass
from huiqi.rules.mechanisms.stacking import stack_passes as stack_passes_of
from huiqi.rules.model import Jurisdiction

__all__ = [
    "COLUMN_TYPES",
    "CORE_COLUMNS",
    "OUTPUT_COLUMNS",
    "STATUSES",
    "CompiledSql",
    "RuleInfo",
    "compile_rulebase_sql",
    "field_kind",
]

Layout = Literal["wide", "per_rule"]
ENTERPRISE = "enterprise"
NO_NAME = "未命名企业"  # the calculator's name for a profile without one (rank tie-break)
REGION_COLUMNS = ("province", "city", "county", "district")
STANDARD_COLUMNS = ("id", "name", "project_id", *REGION_COLUMNS)
CORE_COLUMNS = ("id", "project_id", "ri", "sc", "amount", "upper_bound", "mm", *REGION_COLUMNS)
STAGE_PLACEHOLDER = "__huiqi_stage__"
MAX_FIELDS = 62  # fields one rule may read (bits of the missing mask)
# The result relation handed to the simulation (contract: docs/simulation-contract.md).
OUTPUT_COLUMNS: tuple[str, ...] = (
    "id", "project_id", "rule", "document", "clause", "department", "kind", "beneficiary", "status",
    "amount", "upper_bound", "missing", *REGION_COLUMNS,
)

# SQL type of a field column in the typed population, by field type (fields.yaml).
COLUMN_TYPES: dict[str, str] = {
    "money": "BIGINT", "integer": "BIGINT", "number": DEC, "percent": DEC, "boolean": "BOOLEAN",
    "enum": "VARCHAR", "text": "VARCHAR", "date": "VARCHAR", "flag": "BOOLEAN",
}


def field_kind(registry: Any, path: str) -> str:
    """Column kind of a field path: money, integer, number, percent, boolean, enum, text, date, flag."""
    spec = registry.get(path) if registry is not None else None
    if spec is None:
        return "text"
    if getattr(spec, "member_of", None):
        return "flag"
    kind = str(spec.type)
    return "text" if kind == "list" else kind


# -- rule metadata -------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleInfo:
    """One output rule (or pack lead) and the constants every result row of it carries."""

    index: int
    rule: str
    title: str
    document: str
    clause: str
    department: str | None
    kind: str | None
    beneficiary: str
    upper_bound: bool
    per_project: bool
    lead: bool = False
    complex: bool = False
    fields: tuple[str, ...] = ()  # reading order: bit k of the missing mask is fields[k]
    project_fields: tuple[str, ...] = ()  # missing list when an enterprise has no project


@dataclass(frozen=True)
class Staged:
    """One scan of the population, results stored compactly.

    ``first`` writes every result row except "out of the rule's area" ones, with ``__act``
    marking rows that window passes decide and their window inputs; ``windows`` (None when
    no rule needs one) reads those rows back from the table named by STAGE_PLACEHOLDER and
    decides them (rank, quota, stacking, shared caps); ``out_of_area`` produces the
    "out of area" rows from the population and the region gates whenever they are read —
    most rows of a mixed population, and nothing to compute, so they are never stored.
    """

    first: str
    windows: str | None
    out_of_area: str | None


@dataclass
class CompiledSql:
    """The SQL of one rule base for one date, dialect and population layout.

    ``parts`` are SELECTs producing ``CORE_COLUMNS``; run them one by one (INSERT) or
    together (:attr:`sql`). ``infos`` maps ``ri`` to the rule (or lead) it stands for.
    ``regions_sql`` builds the table ``region_gates`` the parts join (jurisdiction tests
    per distinct region of ``population``); engines create it before running the parts.
    """

    dialect: Dialect
    on: date
    parts: list[tuple[str, str]]
    rules: list[RuleInfo]
    leads: list[RuleInfo]
    # population column → ids of the rules that read it, for columns the population lacks
    missing_columns: dict[str, list[str]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    regions_sql: str | None = None
    # The DuckDB engine's one-scan plan (see Staged); None for other layouts.
    staged: Staged | None = None

    @property
    def sql(self) -> str:
        """Everything as one statement (UNION ALL of the parts)."""
        return "\nUNION ALL\n".join(f"SELECT * FROM ({sql}) AS part{i}" for i, (_, sql) in enumerate(self.parts))

    @property
    def infos(self) -> list[RuleInfo]:
        return sorted([*self.rules, *self.leads], key=lambda i: i.index)

    def results_view(self, core: str) -> str:
        """DuckDB SELECT turning stored core rows into the contract columns (constant lists indexed by ri)."""
        size = max((i.index for i in self.infos), default=-1) + 1
        table: list[RuleInfo | None] = [None] * size
        for info in self.infos:
            table[info.index] = info

        def lst(get: Callable[[RuleInfo], str | None]) -> str:
            items = ["NULL" if i is None or get(i) is None else sql_string(str(get(i)), "duckdb") for i in table]
            return f"CAST([{', '.join(items)}] AS VARCHAR[])" if items else "CAST([] AS VARCHAR[])"

        def lists(get: Callable[[RuleInfo], Sequence[str]]) -> str:
            items = ["[" + ", ".join(sql_string(f, "duckdb") for f in (get(i) if i else ())) + "]" for i in table]
            return f"CAST([{', '.join(items)}] AS VARCHAR[][])" if items else "CAST([] AS VARCHAR[][])"

        status = "[" + ", ".join(sql_string(s, "duckdb") for s in STATUSES) + "]"
        missing = (f"CASE WHEN mm IS NULL THEN NULL WHEN mm = -1 THEN {lists(lambda i: i.project_fields)}[ri + 1] "
                   f"ELSE list_filter({lists(lambda i: i.fields)}[ri + 1], "
                   f"lambda __f, __i: (mm >> (__i - 1)) & 1 = 1) END")
        cols = [
            "id", "project_id",
            f"{lst(lambda i: i.rule)}[ri + 1] AS rule", f"{lst(lambda i: i.document)}[ri + 1] AS document",
            f"{lst(lambda i: i.clause)}[ri + 1] AS clause", f"{lst(lambda i: i.department)}[ri + 1] AS department",
            f"{lst(lambda i: i.kind)}[ri + 1] AS kind", f"{lst(lambda i: i.beneficiary)}[ri + 1] AS beneficiary",
            f"{status}[sc + 1] AS status", "amount", "upper_bound", f"{missing} AS missing", *REGION_COLUMNS,
        ]
        return f"SELECT {', '.join(cols)} FROM {core}"


# -- expressions → SQL ---------------------------------------------------------------------


class _Columns:
    """How expression names map to SQL: population columns, parameter constants, the date."""

    def __init__(self, d: SqlDialect, registry: Any, present: Collection[str] | None,
                 params: Mapping[str, Any], on: date) -> None:
        self.d = d
        self.registry = registry
        self.present = None if present is None else set(present)
        self.params = params
        self.on = on
        self.absent_reads: dict[str, list[str]] = {}
        self.current_rule: str | None = None

    def has(self, name: str) -> bool:
        return self.present is None or name in self.present

    def __call__(self, name: str) -> str:
        if name == "date":
            return self.d.string(self.on.isoformat())
        scope, _, rest = name.partition(".")
        if scope == "param":
            return self.d.literal(self.params.get(rest))
        if scope == "region":
            return self.d.ident(rest)
        if not self.has(name):
            if self.current_rule is not None:
                readers = self.absent_reads.setdefault(name, [])
                if self.current_rule not in readers:
                    readers.append(self.current_rule)
            sql_type = COLUMN_TYPES.get(field_kind(self.registry, name), "VARCHAR")
            return f"CAST(NULL AS {self.d.type(sql_type)})"
        return self.d.ident(name)

    def always_missing(self, name: str) -> bool:
        """Fields that are unknown for every row: absent parameters and absent columns."""
        if name == "date":
            return False
        scope, _, rest = name.partition(".")
        if scope == "param":
            return self.params.get(rest) is None
        if scope == "region":
            return False
        return not self.has(name)

    def never_missing(self, name: str) -> bool:
        if name == "date":
            return True
        scope, _, rest = name.partition(".")
        return scope == "param" and self.params.get(rest) is not None


class _Translator:
    """Value SQL (via to_sql) and the SQL list of missing fields, per expression."""

    def __init__(self, d: SqlDialect, cols: _Columns) -> None:
        self.d = d
        self.cols = cols

    def value(self, expr: Expr) -> str:
        return to_sql(expr, self.cols, self.d.name)  # type: ignore[arg-type]

    def node(self, node: Node, text: str) -> str:
        # Sub-expressions (an if's condition, a coalesce argument) through the same
        # generator that to_sql uses for whole expressions.
        return SqlGenerator(self.cols, self.d.name, text).gen(node)  # type: ignore[arg-type]

    def missing(self, expr: Expr, bits: Mapping[str, int]) -> str:
        """BIGINT mask of the absent fields the evaluator reads (Result.missing), bit ``bits[name]``.

        Mirrors huiqi.rules.expr_eval: every operand is read, except that ``if`` reads only
        the branch its (known) condition selects, ``coalesce`` stops at the first known
        argument and ``tier`` reads only the row x falls in. Callers use it only where the
        expression's value is NULL, as the calculator lists missing fields only then.
        """
        return or_masks(self._parts(expr.ast, expr.text, bits))

    def _parts(self, n: Node, text: str, bits: Mapping[str, int]) -> list[str]:
        d = self.d
        if isinstance(n, Field):
            if self.cols.never_missing(n.name):
                return []
            bit = str(1 << bits[n.name])
            if self.cols.always_missing(n.name):
                return [bit]
            return [f"CASE WHEN {self.cols(n.name)} IS NULL THEN {bit} ELSE 0 END"]
        if isinstance(n, Num | Str | Bool | Null):
            return []
        if isinstance(n, Neg | Not):
            return self._parts(n.operand, text, bits)
        if isinstance(n, Arith | Cmp):
            return self._parts(n.left, text, bits) + self._parts(n.right, text, bits)
        if isinstance(n, Logic):
            return [p for o in n.operands for p in self._parts(o, text, bits)]
        if isinstance(n, In):
            return self._parts(n.needle, text, bits) + [p for i in n.items for p in self._parts(i, text, bits)]
        if isinstance(n, Tier):
            head = self._parts(n.x, text, bits)
            branches = [(b, self._parts(v, text, bits)) for b, v in zip(n.bounds, n.values, strict=True)]
            below = self._parts(n.default, text, bits)
            if not below and not any(p for _, p in branches):
                return head
            x = self.node(n.x, text)
            arms = [f"WHEN {x} IS NULL THEN 0"]
            for bound, parts in reversed(branches):
                arms.append(f"WHEN {x} >= {d.decimal(bound)} THEN {or_masks(parts)}")
            return [*head, f"CASE {' '.join(arms)} ELSE {or_masks(below)} END"]
        if isinstance(n, Call):
            if n.func == "if":
                cond, then, other = n.args
                head = self._parts(cond, text, bits)
                a, b = self._parts(then, text, bits), self._parts(other, text, bits)
                if not a and not b:
                    return head
                c = self.node(cond, text)
                return [*head, f"CASE WHEN {d.is_true(c)} THEN {or_masks(a)} WHEN {d.is_false(c)} "
                               f"THEN {or_masks(b)} ELSE {or_masks(a + b)} END"]
            if n.func == "coalesce":
                return self._coalesce(list(n.args), text, bits)
            return [p for a in n.args for p in self._parts(a, text, bits)]
        raise AssertionError(f"unhandled node {type(n).__name__}")  # pragma: no cover

    def _coalesce(self, args: list[Node], text: str, bits: Mapping[str, int]) -> list[str]:
        head = self._parts(args[0], text, bits)
        if len(args) == 1:
            return head
        rest = self._coalesce(args[1:], text, bits)
        if not rest:
            return head
        first = self.node(args[0], text)
        return [*head, f"CASE WHEN {first} IS NULL THEN {or_masks(rest)} ELSE 0 END"]


# -- the compiler ----------------------------------------------------------------------------


def _first(units: Sequence[str]) -> str | None:
    """The responsible department shown in results: the first one listed."""
    return units[0] if units else None


@dataclass
class _RuleSql:
    """One rule as columns of the wide projection, and the fields of its result struct."""

    pr: PRule
    info: RuleInfo
    levels: list[list[str]]  # column definitions added at projection levels 1‥4
    applies: str  # this row is a subject of the rule
    pid: str
    st: str
    amt: str
    mm: str
    upper: bool
    complex: bool
    active: str = "FALSE"  # the row goes on to the window passes
    gate: int | None = None  # jurisdiction gate of a rule in force
    pe: str = "FALSE"
    pk: str = f"CAST(NULL AS {DEC})"
    pg: str = "NULL"
    lv: dict[str, str] = field(default_factory=dict)


class _Compiler:
    def __init__(self, rulebase: Any, on: date, dialect: Dialect, params: Mapping[str, str] | None,
                 policies: Sequence[str] | None, columns: Collection[str] | None, has_projects: bool,
                 relation: Callable[[Sequence[str]], str] | None, regions: str | None = None) -> None:
        self.rulebase = rulebase
        self.plan = plan_for(rulebase)
        self.on = on
        self.d = SqlDialect(dialect)
        self.registry = self.plan.registry
        values, _ = param_env(self.plan, on, params)
        self.params = values
        self.cols = _Columns(self.d, self.registry, columns, values, on)
        self.tr = _Translator(self.d, self.cols)
        self.has_projects = has_projects
        self.relation = relation or (lambda _cols: "population")
        self.regions = regions
        self.policies = policies
        self.selected = selected_rules(self.plan, rulebase, policies)
        self.gates: dict[tuple[Any, ...], int] = {}
        self.infos: dict[int, RuleInfo] = {}
        self.null_text = f"CAST(NULL AS {self.d.type('VARCHAR')})"

    # constants ---------------------------------------------------------------------------

    def const_value(self, expr: Expr, what: str, pr: PRule) -> Decimal | None:
        """A cap that must not depend on the enterprise: evaluated once with parameters only."""
        scopes = {f.partition(".")[0] for f in expr.fields}
        if scopes - {"param", "date"}:
            raise RuleError(
                f"规则 {pr.rule.id}:{what}「{expr.text}」引用了企业或项目字段,人口引擎暂只支持常量(或参数)形式的此类上限",
                hint="请改写为常量上限,或用单企业计算器 huiqi calc 计算")
        env: dict[str, Any] = {"date": self.on.isoformat()}
        env.update({f"param.{k}": v for k, v in self.params.items() if v is not None})
        value = expr.evaluate(env).value
        if value is not None and not isinstance(value, Decimal):
            raise RuleError(f"规则 {pr.rule.id}:{what}「{expr.text}」不是金额")
        return value

    # classification -----------------------------------------------------------------------

    def classify(self) -> tuple[list[StackPass], list[CapPass], dict[int, list[CapPass]], set[int]]:
        """Which rules need other rows (windows) and which groups need a pass, in calculator order."""
        rules = self.selected
        complex_rules: set[int] = {pr.index for pr in rules if pr.rank_by is not None or pr.quota_by is not None}
        stack_passes = stack_passes_of(rules)
        for sp in stack_passes:
            complex_rules.update(sp.members)
        cap_passes, local_caps = cap_passes_of(rules, self.const_value)
        for cp in cap_passes:
            complex_rules.update(cp.members)
        # A windowed rule applies all its shared caps in the windowed flow, in rule order.
        for i in list(local_caps):
            if i in complex_rules:
                cap_passes.extend(local_caps.pop(i))
        check_cap_order(cap_passes, rules)
        return stack_passes, cap_passes, local_caps, complex_rules

    # what the mechanisms' SQL halves ask of the compiler (SqlCompiler) -------------------

    def field_bits(self, index: int) -> tuple[str, ...]:
        return self.infos[index].fields

    def always_missing(self, name: str) -> bool:
        return self.cols.always_missing(name)

    # one rule ------------------------------------------------------------------------------

    def info(self, pr: PRule, complex_rule: bool) -> RuleInfo:
        rule, pack = pr.rule, pr.pack
        dept = _first(rule.department or pack.department)
        return RuleInfo(pr.index, rule.id, rule.title, pack.document.id, rule.citation.clause, dept, rule.kind,
                        rule.beneficiary, bool(rule.amount and rule.amount.upper_bound), pr.per_project,
                        complex=complex_rule, fields=self.field_order(pr),
                        project_fields=tuple(self.placeholder_missing(pr)))

    def gate(self, jurisdictions: Iterable[Jurisdiction]) -> int:
        return self.gates.setdefault(jurisdiction_key(jurisdictions), len(self.gates))

    def rule_sql(self, pr: PRule, info: RuleInfo, stack_passes: Sequence[StackPass],
                 local_caps: Sequence[CapPass]) -> _RuleSql:
        self.cols.current_rule = pr.rule.id
        try:
            return self._rule_sql(pr, info, stack_passes, local_caps)
        finally:
            self.cols.current_rule = None

    def _rule_sql(self, pr: PRule, info: RuleInfo, stack_passes: Sequence[StackPass],
                  local_caps: Sequence[CapPass]) -> _RuleSql:
        """Validity, jurisdiction, conditions, amount, award caps, rounding — as ``evaluate_core``/``_evaluate``.

        Level 1 evaluates every expression once; level 2 applies award caps; level 3
        decides the status and the rounded amount; level 4 applies row-local shared caps
        and cleans the missing-field list (built only for undecided rows).
        """
        d, tr, rule = self.d, self.tr, pr.rule
        P = f"__r{pr.index}_"
        population_rule = pr.rank_by is not None or pr.quota_by is not None
        applies = "__prow" if pr.per_project else "__ent"
        pid = d.ident("project_id") if pr.per_project else self.null_text
        levels = [sp for sp in stack_passes if sp.level_column and pr.index in sp.members]
        out = _RuleSql(pr, info, [[], [], [], []], applies, pid, status_code("not_in_force"), f"CAST(NULL AS {DEC})",
                       "CAST(NULL AS BIGINT)", info.upper_bound, info.complex)
        in_force = (pr.valid_from is None or pr.valid_from <= self.on) and (pr.valid_to is None or self.on <= pr.valid_to)
        if not in_force:
            for sp in levels:
                out.lv[sp.level_column or ""] = self.null_text
            return out
        g = out.gate = self.gate(pr.jurisdictions)
        jout, jund, jmiss = f"__g{g}o", f"__g{g}u", f"__g{g}m"
        bits = {f: k for k, f in enumerate(info.fields)}
        placeholder = "__ph" if pr.per_project else "FALSE"
        monetary = rule.amount is not None and pr.rank_by is None  # a rank's amount comes from the place
        l1, l2, l3, l4 = out.levels

        def here(sql: str, name: str) -> None:
            # Rows outside the rule's area are decided by the gate alone: skip the expression
            # there (CASE evaluates a branch only for its rows — most rows of a mixed
            # population), as the calculator stops at the jurisdiction (no division by zero).
            l1.append(f"CASE WHEN {jout} THEN NULL ELSE {sql} END AS {P}{name}")

        conds = [tr.value(pc.pexpr.expr) for pc in pr.conds]
        for i, c in enumerate(conds):
            here(c, f"c{i}")
        amount_miss = "0"
        if monetary:
            base, outside, base_miss = self.amount_sql(pr, bits)
            here(base, "r0")
            here(f"({outside})", "out")
            raw = f"{P}r0"
            miss_arms = [f"WHEN {P}r0 IS NULL THEN {base_miss}"]
            for k, pc in enumerate(pc for pc in pr.caps if pc.cap.scope == "award"):
                here(f"CAST({tr.value(pc.pexpr.expr)} AS {DEC})", f"cap{k}")
                # A cap that cannot be evaluated leaves the amount undecided (calculator).
                raw = f"(CASE WHEN {raw} IS NULL OR {P}cap{k} IS NULL THEN NULL ELSE LEAST({raw}, {P}cap{k}) END)"
                miss_arms.append(f"WHEN {P}cap{k} IS NULL THEN {tr.missing(pc.pexpr.expr, bits)}")
            l2.append(f"{raw} AS {P}r")
            amount_miss = f"CASE {' '.join(miss_arms)} ELSE 0 END"
        if population_rule:
            by = pr.rank_by or pr.quota_by
            within = pr.rank_within if pr.rank_by is not None else pr.quota_per
            assert by is not None
            here(f"CAST({tr.value(by.expr)} AS {DEC})", "pk")
            here(f"CAST({tr.value(within.expr)} AS {d.type('VARCHAR')})" if within is not None else "''", "pg")
            out.pk, out.pg = f"{P}pk", f"{P}pg"
        for sp in levels:
            ps = next(s for s in pr.stacks if s.stacking.group == sp.group and s.stacking.mode == sp.mode)
            assert ps.level is not None and sp.level_column is not None
            here(f"CAST({tr.value(ps.level.expr)} AS {d.type('VARCHAR')})", sp.level_column)
            out.lv[sp.level_column] = f"{P}{sp.level_column}"
        n = len(conds)
        any_false = " OR ".join(d.is_false(f"{P}c{i}") for i in range(n)) or "FALSE"
        any_unknown = " OR ".join(f"{P}c{i} IS NULL" for i in range(n)) or "FALSE"
        all_true = " AND ".join(d.is_true(f"{P}c{i}") for i in range(n)) or "TRUE"
        arms = [f"WHEN {jout} THEN {status_code('out_of_jurisdiction')}", f"WHEN {placeholder} THEN {status_code('undecided')}",
                f"WHEN {any_false} THEN {status_code('not_eligible')}"]
        if monetary:
            # evaluate_core's order: outside every band/table entry → not eligible; amount
            # unknown → undecided; amount ≤ 0 → not eligible — even when conditions are unknown.
            arms += [f"WHEN {P}out THEN {status_code('not_eligible')}",
                     f"WHEN {P}r IS NULL THEN {status_code('undecided' if rule.computable else 'lead')}",
                     f"WHEN {P}r <= 0 THEN {status_code('not_eligible')}"]
        if rule.computable:
            arms += [f"WHEN {jund} THEN {status_code('undecided')}", f"WHEN {any_unknown} THEN {status_code('undecided')}",
                     f"ELSE {status_code('granted')}"]
        else:
            arms.append(f"ELSE {status_code('lead')}")  # 一事一议: a lead unless clearly not eligible
        l3.append(f"CASE {' '.join(arms)} END AS {P}st0")
        if monetary:
            assert rule.amount is not None
            rounded = f"FLOOR({P}r)" if rule.amount.rounding == "floor" else f"ROUND({P}r, 0)"
            l3.append(f"CAST({rounded} AS {DEC}) AS {P}amt0")
        else:
            l3.append(f"CAST(NULL AS {DEC}) AS {P}amt0")
        if population_rule:
            # Entrant of a rank/quota: in force, here, every condition true (amount not needed).
            l3.append(f"(NOT {jout} AND NOT {jund} AND NOT {placeholder} AND {all_true}) AS {P}pe")
            out.pe = f"{P}pe"
        cond_miss = [f"CASE WHEN {P}c{i} IS NULL THEN {tr.missing(pc.pexpr.expr, bits)} ELSE 0 END"
                     for i, pc in enumerate(pr.conds)]
        miss_parts = [jmiss, *cond_miss]
        if monetary:
            miss_parts.append(f"CASE WHEN {P}r IS NULL THEN {amount_miss} ELSE 0 END")
        # Only undecided rows carry a mask; -1 = "no project" (the list of project fields).
        l3.append(f"CASE WHEN {P}st0 <> {status_code('undecided')} THEN NULL WHEN {placeholder} THEN CAST(-1 AS BIGINT) "
                  f"ELSE {or_masks(miss_parts)} END AS {P}mm")
        # Shared caps whose only member is this enterprise rule: no other row can use them.
        st, amt = row_local_cap_sql(d, f"{P}st0", f"{P}amt0", f"{P}amt0", local_caps)
        l4 += [f"{st} AS {P}st", f"{amt} AS {P}amt"]
        out.st, out.amt, out.mm = f"{P}st", f"{P}amt", f"{P}mm"
        if info.complex:
            # Later steps only change granted rows; entrants of a rank/quota also take places.
            out.active = f"({P}st = {status_code('granted')}" + (f" OR {P}pe)" if population_rule else ")")
        return out

    def placeholder_missing(self, pr: PRule) -> list[str]:
        """The calculator's missing list for a project rule when the profile has no project."""
        if not pr.per_project:
            return []
        names = [f for pe in all_pexprs(pr) for f in pe.expr.fields if f.startswith("project.")]
        return list(dict.fromkeys(names))

    def field_order(self, pr: PRule) -> tuple[str, ...]:
        """Fields a rule's missing list can name, in the calculator's reading order.

        Region fields of the jurisdiction, then each condition, then the amount (formula,
        or tier input and bands, or lookup key and entries), then award caps; the rest
        (rank keys, levels) last. Bit k of the rule's missing mask is field k: listing a
        mask's fields in this order gives the calculator's ``missing`` order whenever each
        absent field is first read by a condition that is itself unknown.
        """
        names = list(jurisdiction_sql(self.d, pr.jurisdictions).fields)
        exprs = [pc.pexpr.expr for pc in pr.conds]
        if pr.formula is not None:
            exprs.append(pr.formula.expr)
        if pr.tiers_on is not None:
            exprs += [pr.tiers_on.expr, *(b.amount.expr for b in pr.bands)]
        if pr.lookup_on is not None:
            exprs += [pr.lookup_on.expr, *(pe.expr for pe in pr.table.values())]
        exprs += [pc.pexpr.expr for pc in pr.caps]
        exprs += [pe.expr for pe in all_pexprs(pr)]
        names += [f for e in exprs for f in e.fields if f != "date"]
        ordered = tuple(dict.fromkeys(names))
        if len(ordered) > MAX_FIELDS:
            raise RuleError(f"规则 {pr.rule.id} 引用了 {len(ordered)} 个字段,人口引擎最多支持 {MAX_FIELDS} 个",
                            hint="请把规则拆分为几条")
        return ordered

    def amount_sql(self, pr: PRule, bits: Mapping[str, int]) -> tuple[str, str, str]:
        """(raw amount before caps, outside-every-band/entry flag, missing mask when the raw amount is NULL)."""
        d, tr = self.d, self.tr
        if pr.formula is not None:
            return f"CAST({tr.value(pr.formula.expr)} AS {DEC})", "FALSE", tr.missing(pr.formula.expr, bits)
        if pr.tiers_on is not None:
            x = f"({tr.value(pr.tiers_on.expr)})"
            value_arms: list[str] = []
            miss_arms: list[str] = []
            inside: list[str] = []
            for band in pr.bands:
                bounds: list[str] = []
                if band.lower is not None:
                    bounds.append(f"{x} {'>=' if band.lower_inclusive else '>'} {d.decimal(band.lower)}")
                if band.upper is not None:
                    bounds.append(f"{x} {'<=' if band.upper_inclusive else '<'} {d.decimal(band.upper)}")
                test = " AND ".join(bounds) or "TRUE"
                inside.append(f"({test})")
                value_arms.append(f"WHEN {test} THEN CAST({tr.value(band.amount.expr)} AS {DEC})")
                miss_arms.append(f"WHEN {test} THEN {tr.missing(band.amount.expr, bits)}")
            base = f"CASE WHEN {x} IS NULL THEN NULL {' '.join(value_arms)} ELSE NULL END"
            outside = f"{x} IS NOT NULL AND NOT ({' OR '.join(inside)})"
            miss = f"CASE WHEN {x} IS NULL THEN {tr.missing(pr.tiers_on.expr, bits)} {' '.join(miss_arms)} ELSE 0 END"
            return base, outside, miss
        assert pr.lookup_on is not None
        key = f"({tr.value(pr.lookup_on.expr)})"
        tests = self.lookup_tests(pr, key)
        entry_values = [f"WHEN {t} THEN CAST({tr.value(e)} AS {DEC})" for t, e in tests]
        entry_masks = [f"WHEN {t} THEN {tr.missing(e, bits)}" for t, e in tests]
        base = f"CASE WHEN {key} IS NULL THEN NULL {' '.join(entry_values)} ELSE NULL END"
        outside = f"{key} IS NOT NULL AND NOT ({' OR '.join(f'COALESCE({t}, FALSE)' for t, _ in tests) or 'FALSE'})"
        miss = f"CASE WHEN {key} IS NULL THEN {tr.missing(pr.lookup_on.expr, bits)} {' '.join(entry_masks)} ELSE 0 END"
        return base, outside, miss

    def lookup_tests(self, pr: PRule, key: str) -> list[tuple[str, Expr]]:
        """Tests in the calculator's order: exact key text first, then 类-insensitive, in table order."""
        d = self.d
        assert pr.lookup_on is not None
        node = pr.lookup_on.expr.ast
        kind = field_kind(self.registry, node.name) if isinstance(node, Field) else pr.lookup_on.expr.type
        entries = [(k, pe.expr) for k, pe in pr.table.items()]
        if kind in ("boolean", "bool", "flag"):
            text = f"(CASE WHEN {key} THEN 'true' ELSE 'false' END)"
        elif kind in ("money", "integer", "number", "percent"):
            # The calculator looks up the canonical decimal text of the value.
            tests = []
            for k, e in entries:
                try:
                    num = Decimal(k)
                except ArithmeticError:
                    continue
                if num.is_finite() and key_text(tidy(num)) == k:
                    tests.append((f"{key} = {d.decimal(num)}", e))
            return tests
        else:
            text = key
        exact = [(f"{text} = {d.string(k)}", e) for k, e in entries]
        stripped = (f"(CASE WHEN length({text}) > 1 AND {text} LIKE {d.string('%类')} "
                    f"THEN substr({text}, 1, length({text}) - 1) ELSE {text} END)")
        loose = [(f"{stripped} = {d.string(strip_class(k))}", e) for k, e in entries]
        return exact + loose

    # streams -------------------------------------------------------------------------------

    def base(self, rules: Sequence[_RuleSql], lead_gates: Iterable[int], fields: bool = True) -> str:
        """FROM the population: typed columns, which rules each row is a subject of, region gates."""
        d = self.d
        needed = list(STANDARD_COLUMNS)
        for r in rules if fields else ():
            needed += [f for pe in all_pexprs(r.pr) for f in pe.expr.fields
                       if f.partition(".")[0] in ("enterprise", "project") and self.cols.has(f)]
        pop = f"{self.relation(list(dict.fromkeys(needed)))} AS p"
        pid, fid, fpid = f"p.{d.ident('project_id')}", f"f.{d.ident('id')}", f"f.{d.ident('project_id')}"
        cols = ["p.*", f"{pid} IS NULL AS __ph",
                f"COALESCE(NULLIF(TRIM(p.{d.ident('name')}), ''), {d.string(NO_NAME)}) AS __nm"]
        if self.has_projects:
            # An enterprise's own fields are on its first project row (or its only row).
            src = f"{pop} LEFT JOIN first_project f ON p.{d.ident('id')} = f.{d.ident('id')}"
            cols += [f"(({pid} IS NULL AND {fid} IS NULL) OR COALESCE({pid} = {fpid}, FALSE)) AS __ent",
                     f"({pid} IS NOT NULL OR {fid} IS NULL) AS __prow"]
        else:
            src = pop
            cols += ["TRUE AS __ent", "TRUE AS __prow"]
        src += " " + self.regions_join(rules, lead_gates, cols)
        return f"SELECT {', '.join(cols)} FROM {src}"

    def regions_join(self, rules: Sequence[_RuleSql], lead_gates: Iterable[int], cols: list[str]) -> str:
        """JOIN the jurisdiction gates of ``region_gates`` (see :meth:`regions_sql`)."""
        wanted = sorted({self.gates_of(r) for r in rules} | set(lead_gates))
        wanted = [g for g in wanted if g >= 0]
        if not wanted:
            return ""
        cols += [f"rg.__g{g}{x}" for g in wanted for x in "oum"]
        same = "<=>" if self.d.spark else "IS NOT DISTINCT FROM"
        on = " AND ".join(f"p.{c} {same} rg.{c}" for c in (self.d.ident(c) for c in REGION_COLUMNS))
        return f"JOIN region_gates AS rg ON {on}"

    def regions_sql(self) -> str | None:
        """Every jurisdiction gate, evaluated once per distinct region instead of once per row.

        A population has a few hundred (province, city, county, district) tuples; the gates
        (out of area / undecided / missing-field mask) are computed on those and joined back.
        """
        d = self.d
        gates = []
        for key, g in sorted(self.gates.items(), key=lambda kv: kv[1]):
            gate = jurisdiction_sql(d, self._jurisdictions[key])
            gates += [f"({gate.out}) AS __g{g}o", f"({gate.undecided}) AS __g{g}u", f"{gate.mask} AS __g{g}m"]
        if not gates:
            return None
        region = [d.ident(c) for c in REGION_COLUMNS]
        places = [f"{normalized_place_sql(d, c)} AS {place_column(c)}" for c in REGION_COLUMNS]
        source = self.regions or self.relation(list(REGION_COLUMNS))
        distinct = f"SELECT DISTINCT {', '.join(region)} FROM {source} AS r0"
        return (f"SELECT {', '.join(region)}, {', '.join(gates)} FROM "
                f"(SELECT *, {', '.join(places)} FROM ({distinct}) AS r1) AS r2")

    def gates_of(self, r: _RuleSql) -> int:
        return self.gates.get(jurisdiction_key(r.pr.jurisdictions), -1)

    def stream(self, rules: Sequence[_RuleSql], leads: Sequence[tuple[RuleInfo, int]], part: str,
               stack_passes: Sequence[StackPass] = ()) -> str:
        """One scan: the rules as columns, then one output row per (rule, subject).

        ``part="final"``: rows that are final after this pass (all rows of simple rules,
        the inactive rows of windowed rules, leads) in CORE_COLUMNS. ``part="active"``:
        the active rows of windowed rules with the columns the window passes need.
        """
        d = self.d
        q = self.base(rules, (g for _, g in leads))
        if part == "active":
            # Only rows in the area of some windowed rule in force can become active; skip
            # the others before evaluating anything (a mixed population is mostly elsewhere).
            live = [r for r in rules if r.st != status_code("not_in_force")]
            gates = sorted({self.gates_of(r) for r in live})
            if not live:
                q = f"SELECT * FROM ({q}) AS q WHERE FALSE"
            elif -1 not in gates:
                q = f"SELECT * FROM ({q}) AS q WHERE NOT ({' AND '.join(f'__g{g}o' for g in gates)})"
        for level in range(4):
            defs = [c for r in rules for c in r.levels[level]]
            if defs:
                q = f"SELECT *, {', '.join(defs)} FROM ({q}) AS q{level}"
        structs = []
        staged = part == "staged"
        for r in rules:
            if part == "active":
                keep = f"{r.applies} AND {r.active}"
            else:
                keep = f"{r.applies} AND NOT {r.active}" if r.complex and not staged else r.applies
            if staged:
                # Slim structs (building them is a good part of the scan): the subject and the
                # upper-bound flag follow from the rule index, the amount is whole yuan by now.
                fields = [("k", f"({keep})"), ("ri", str(r.info.index)), ("sc", f"CAST({r.st} AS TINYINT)"),
                          ("amt", d.to_bigint(r.amt)), ("mm", f"CAST({r.mm} AS BIGINT)"),
                          *self.stage_fields(r, stack_passes)]
            else:
                fields = [("k", f"({keep})"), ("ri", str(r.info.index)),
                          ("pid", f"CAST({r.pid} AS {d.type('VARCHAR')})"), ("sc", f"CAST({r.st} AS INT)"),
                          ("amt", f"CAST({r.amt} AS {DEC})"), ("mm", f"CAST({r.mm} AS BIGINT)"),
                          ("u", "TRUE" if r.upper else "FALSE")]
            if part == "active":
                fields += [("pe", f"CAST({r.pe} AS BOOLEAN)"), ("pk", f"CAST({r.pk} AS {DEC})"),
                           ("pg", f"CAST({r.pg} AS {d.type('VARCHAR')})")]
                fields += [(sp.level_column, f"CAST({r.lv.get(sp.level_column, 'NULL')} AS {d.type('VARCHAR')})")
                           for sp in stack_passes if sp.level_column]
            structs.append(d.struct(fields))
        for info, g in leads:
            if staged:
                structs.append(d.struct([
                    ("k", f"(__ent AND NOT __g{g}o)"), ("ri", str(info.index)), ("sc", f"CAST({status_code('lead')} AS TINYINT)"),
                    ("amt", "CAST(NULL AS BIGINT)"), ("mm", "CAST(NULL AS BIGINT)"), *self.stage_fields(None, stack_passes)]))
            else:
                structs.append(d.struct([
                    ("k", f"(__ent AND NOT __g{g}o)"), ("ri", str(info.index)), ("pid", f"CAST(NULL AS {d.type('VARCHAR')})"),
                    ("sc", f"CAST({status_code('lead')} AS INT)"), ("amt", f"CAST(NULL AS {DEC})"), ("mm", "CAST(NULL AS BIGINT)"),
                    ("u", "FALSE")]))
        region = [d.ident(c) for c in REGION_COLUMNS]
        carried = [d.ident("id"), "__nm", *region, *([d.ident("project_id")] if staged else [])]
        q = f"SELECT {', '.join(carried)}, {d.array(structs)} AS __rs FROM ({q}) AS q4"
        q = f"SELECT {', '.join(carried)}, {d.explode}(__rs) AS s FROM ({q}) AS q5"
        if part == "active":
            cols = [d.ident("id"), "s.pid AS __pid", "__nm", *region, "s.ri AS __ri", "s.sc AS __st", "s.amt AS __amt",
                    "s.mm AS __mm", "s.pe AS __pe", "s.pk AS __pk", "s.pg AS __pg",
                    *(f"s.{sp.level_column} AS {sp.level_column}" for sp in stack_passes if sp.level_column)]
            return f"SELECT {', '.join(cols)} FROM ({q}) AS q6 WHERE s.k"
        if staged:
            extra = ["s.act AS __act", "CASE WHEN s.act THEN __nm END AS __nm", "s.w.pe AS __pe", "s.w.pk AS __pk",
                     "s.w.pg AS __pg", *(f"s.w.{sp.level_column} AS {sp.level_column}" for sp in stack_passes
                                         if sp.level_column)]
            per_project = [str(r.info.index) for r in rules if r.pr.per_project]
            pid = (f"CASE WHEN s.ri IN ({', '.join(per_project)}) THEN {d.ident('project_id')} END"
                   if per_project else self.null_text)
            upper = [str(r.info.index) for r in rules if r.upper]
            upper_sql = f"s.ri IN ({', '.join(upper)})" if upper else "FALSE"
            return (f"SELECT {self.core_columns(pid, 's.ri', 's.sc', 's.amt', 's.mm', upper_sql)}, "
                    f"{', '.join(extra)} FROM ({q}) AS q6 WHERE s.k AND s.sc <> {status_code('out_of_jurisdiction')}")
        return (f"SELECT {self.core_columns('s.pid', 's.ri', 's.sc', 's.amt', 's.mm', 's.u')} "
                f"FROM ({q}) AS q6 WHERE s.k")

    def out_of_area(self, rules: Sequence[_RuleSql]) -> str | None:
        """The "out of the rule's area" rows (status only), from the population and the gates."""
        d = self.d
        live = [r for r in rules if r.gate is not None]
        if not live:
            return None
        values = ", ".join(f"({r.info.index}, {r.gate}, {'TRUE' if r.pr.per_project else 'FALSE'})" for r in live)
        out = "CASE v.g " + " ".join(f"WHEN {g} THEN __g{g}o" for g in sorted({r.gate for r in live if r.gate is not None})) + " END"
        pid = f"CASE WHEN v.pp THEN {d.ident('project_id')} END"
        cols = self.core_columns(pid, "v.ri", status_code("out_of_jurisdiction"), f"CAST(NULL AS {DEC})", "NULL", "FALSE")
        return (f"SELECT {cols} FROM ({self.base(live, (), fields=False)}) AS b "
                f"CROSS JOIN (VALUES {values}) AS v(ri, g, pp) "
                f"WHERE {out} AND CASE WHEN v.pp THEN __prow ELSE __ent END")

    def stage_fields(self, r: _RuleSql | None, stack_passes: Sequence[StackPass]) -> list[tuple[str, str]]:
        """What an active row of a windowed rule carries into the window passes.

        One nested field ``w``, a typed NULL for every other rule: four typed NULL fields
        per rule and row made the first pass half again as slow.
        """
        varchar = self.d.type("VARCHAR")
        levels = [sp.level_column for sp in stack_passes if sp.level_column]
        if r is None or not r.complex:
            shape = ", ".join([f"pe BOOLEAN, pk {DEC}, pg {varchar}", *(f"{c} {varchar}" for c in levels)])
            return [("act", "FALSE"), ("w", f"CAST(NULL AS STRUCT({shape}))")]
        inner = [("pe", f"CAST({r.pe} AS BOOLEAN)"), ("pk", f"CAST({r.pk} AS {DEC})"),
                 ("pg", f"CAST({r.pg} AS {varchar})"),
                 *((c, f"CAST({r.lv.get(c, 'NULL')} AS {varchar})") for c in levels)]
        return [("act", f"COALESCE({r.active}, FALSE)"), ("w", self.d.struct(inner))]

    def core_columns(self, pid: str, ri: str, sc: str, amt: str, mm: str, upper: str) -> str:
        d = self.d
        return ", ".join([
            d.ident("id"), f"{pid} AS {d.ident('project_id')}", f"CAST({ri} AS SMALLINT) AS ri",
            f"CAST({sc} AS TINYINT) AS sc",
            f"CASE WHEN {sc} = {status_code('granted')} THEN {d.to_bigint(amt)} END AS {d.ident('amount')}",
            f"({sc} = {status_code('granted')} AND {amt} IS NOT NULL AND {upper}) AS {d.ident('upper_bound')}",
            f"CASE WHEN {sc} = {status_code('undecided')} THEN COALESCE({mm}, CAST(0 AS BIGINT)) END AS mm",
            *(d.ident(c) for c in REGION_COLUMNS),
        ])

    # the windowed flow ---------------------------------------------------------------------

    def windowed(self, rules: list[_RuleSql], stack_passes: list[StackPass], cap_passes: list[CapPass],
                 stage: str | None = None) -> str:
        """Active rows of the windowed rules → rank/quota → stacking passes → shared-cap passes.

        The active rows come from a second scan of the population, or — ``stage`` — from
        the table the staged first pass wrote (its rows with ``__act``).
        """
        d = self.d
        levels = [sp.level_column for sp in stack_passes if sp.level_column]
        cols = [d.ident("id"), "__pid", "__nm", *(d.ident(c) for c in REGION_COLUMNS), "__ri", "__st",
                "__amt", "__mm", "__pe", "__pk", "__pg", *levels]
        if stage is None:
            source = self.stream(rules, (), "active", stack_passes)
        else:
            source = (f"SELECT {d.ident('id')}, {d.ident('project_id')} AS __pid, __nm, "
                      f"{', '.join(d.ident(c) for c in REGION_COLUMNS)}, CAST(ri AS INT) AS __ri, "
                      f"CAST(sc AS INT) AS __st, CAST({d.ident('amount')} AS {DEC}) AS __amt, mm AS __mm, "
                      f"__pe, __pk, __pg{''.join(', ' + c for c in levels)} FROM {stage} WHERE __act")
        flow = WindowFlow(source, cols)
        plan = WindowPlan([r.pr for r in rules if r.pr.rank_by is not None or r.pr.quota_by is not None],
                          list(stack_passes), list(cap_passes))
        # The registry's order: rank/quota, then stacking (on amounts after shared ceilings), then shared caps.
        for mechanism in MECHANISMS:
            if mechanism.window_sql is not None:
                mechanism.window_sql(self, flow, plan)
        upper = [r.info.index for r in rules if r.upper]
        upper_sql = f"__ri IN ({', '.join(map(str, upper))})" if upper else "FALSE"
        return (f"WITH {', '.join(flow.ctes)}\nSELECT {self.core_columns('__pid', '__ri', '__st', '__amt', '__mm', upper_sql)} "
                f"FROM {flow.prev}")

    # leads and the driver --------------------------------------------------------------------

    def lead_infos(self) -> list[tuple[RuleInfo, int]]:
        """Pack leads shown once per enterprise where the pack is in force and not out of area."""
        documents = selected_documents(self.plan, self.rulebase, self.policies)
        out: list[tuple[RuleInfo, int]] = []
        base = len(self.plan.rules)
        for pack in self.plan.packs:
            if documents is not None and pack.document.id not in documents:
                continue
            v = pack.validity
            if (v.from_ and self.on < v.from_) or (v.to and self.on > v.to):
                continue
            g = self.gate((pack.jurisdiction,))
            for n, lead in enumerate(pack.leads, start=1):
                info = RuleInfo(base + len(out), f"{pack.document.id}:lead:{n}", lead.title, pack.document.id,
                                lead.citation.clause, _first(lead.department or pack.department), None,
                                ENTERPRISE, False, False, lead=True)
                out.append((info, g))
        return out

    def compile(self, layout: Layout, chunk: int | None = None) -> CompiledSql:
        stack_passes, cap_passes, local_caps, complex_ids = self.classify()
        infos = self.infos = {pr.index: self.info(pr, pr.index in complex_ids) for pr in self.selected}
        self._jurisdictions: dict[tuple[Any, ...], tuple[Jurisdiction, ...]] = {}
        rules: list[_RuleSql] = []
        for pr in self.selected:
            self._jurisdictions[jurisdiction_key(pr.jurisdictions)] = tuple(pr.jurisdictions)
            rules.append(self.rule_sql(pr, infos[pr.index], stack_passes if pr.index in complex_ids else (),
                                       local_caps.get(pr.index, ())))
        leads = self.lead_infos()
        for pack in self.plan.packs:
            self._jurisdictions.setdefault(jurisdiction_key((pack.jurisdiction,)), (pack.jurisdiction,))
        parts: list[tuple[str, str]] = []
        if layout == "wide":
            size = chunk or max(len(rules), 1)
            chunks = [rules[i:i + size] for i in range(0, len(rules), size)] or [[]]
            for k, group in enumerate(chunks):
                lead_part = leads if k == len(chunks) - 1 else []
                if group or lead_part:
                    label = "全部规则" if len(chunks) == 1 else f"规则 {k * size + 1}–{k * size + len(group)}"
                    parts.append((label, self.stream(group, lead_part, "final")))
        else:
            parts += [(r.info.rule, self.stream([r], (), "final")) for r in rules]
            if leads:
                parts.append(("线索", self.stream([], leads, "final")))
        windowed = [r for r in rules if r.complex]
        if windowed:
            parts.append(("排名/名额/叠加/共享上限", self.windowed(windowed, stack_passes, cap_passes)))
        staged = None
        if layout == "wide" and not self.d.spark and (rules or leads):
            staged = Staged(self.stream(rules, leads, "staged", stack_passes),
                            self.windowed(windowed, stack_passes, cap_passes, stage=STAGE_PLACEHOLDER)
                            if windowed else None,
                            self.out_of_area(rules))
        return CompiledSql(self.d.name, self.on, parts, [infos[pr.index] for pr in self.selected],
                           [i for i, _ in leads], {k: list(v) for k, v in self.cols.absent_reads.items()},
                           dict(self.params), self.regions_sql(), staged)


def compile_rulebase_sql(
    rulebase: Any,
    on: date,
    dialect: Dialect = "duckdb",
    *,
    params: Mapping[str, str] | None = None,
    policies: Sequence[str] | None = None,
    columns: Collection[str] | None = None,
    has_projects: bool = True,
    relation: Callable[[Sequence[str]], str] | None = None,
    layout: Layout = "wide",
    chunk: int | None = None,
    regions: str | None = None,
) -> CompiledSql:
    """Compile every (selected) rule of ``rulebase`` into SQL over a typed population.

    ``columns``: the field columns the population has (``None`` = all); rules reading a
    column that is not there see NULL (undecided) and are listed in ``missing_columns``.
    ``has_projects``: whether some row has a ``project_id`` (then ``first_project`` must
    exist). ``relation(columns)`` is the SQL the rows are read from (default: the view
    ``population``; the DuckDB engine passes a narrow SELECT over the source file).
    ``layout``: ``"wide"`` (one scan for all rules; ``chunk`` = at most that many rules
    per scan) or ``"per_rule"`` (one part per rule). ``regions``: a table of the population's
    distinct regions (the DuckDB engine's ``population_regions``) the gates are computed from,
    instead of a scan of the population.
    """
    return _Compiler(rulebase, on, dialect, params, policies, columns, has_projects, relation,
                     regions).compile(layout, chunk)
