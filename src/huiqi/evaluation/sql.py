"""Set-based SQL for one evaluation, shared by the DuckDB and Spark engines.

The whole evaluation is one query of common table expressions over a view of the
population; the semantics are written down in docs/evaluation.md and mirrored row by
row in :mod:`huiqi.evaluation.engine_python` (the tests demand exact equality):

1. ``typed``   — input columns converted to DECIMAL(38,6) / BOOLEAN / text;
2. ``base``    — track, exclusion, indicator values and statuses, special-rule flags;
3. ``bench``   — benchmarks per track (fixed, parameter, mean, median);
4. ``scored``  — indicator scores, missing-value treatments, total;
5. ``ranked``  — rank within track among enterprises that count for the quotas;
6. ``banded``  — class from percentile bands or score thresholds;
7. ``rule_k``  — special rules applied in file order;
8. final projection with the Chinese reason text and consequences.

All arithmetic on values goes through the expression language's SQL backend
(:func:`huiqi.rules.expr.to_sql`), so DuckDB, Spark and the Python reference round
alike: every + - * / result is DECIMAL(38,6), half away from zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

from huiqi.errors import InputError
from huiqi.evaluation.methodology import (
    STANDARD_COLUMNS,
    CompiledIndicator,
    Methodology,
)
from huiqi.rules.expr import Expr, compile_expr, to_sql
from huiqi.rules.expr_sql import sql_string

Dialect = Literal["duckdb", "spark"]
SourceKind = Literal["string", "numeric", "boolean", "other"]

D6 = "DECIMAL(38,6)"
STATUS_TEXT = {
    "missing": "数据缺失",
    "invalid": "数据为负或无效",
    "zero_divisor": "除数为零",
}
TREATMENT_TEXT = {
    "zero": "按0分计",
    "track_average": "按组内平均得分计",
    "max_score": "按最高分计",
}
UNKNOWN_SPLIT = "未填"
TRUE_WORDS = ("true", "t", "1", "yes", "y", "是")
FALSE_WORDS = ("false", "f", "0", "no", "n", "否")


def typed_name(field: str) -> str:
    """Internal column of an expression field: enterprise.tax_paid → f_tax_paid."""
    if field.startswith("enterprise."):
        return "f_" + field.removeprefix("enterprise.")
    return "c_" + field


class QueryBuilder:
    def __init__(
        self,
        m: Methodology,
        dialect: Dialect,
        source: str,
        source_columns: Mapping[str, SourceKind],
        *,
        year: int | None,
        params: Mapping[str, Decimal] | None = None,
    ) -> None:
        self.m = m
        self.c = m.compiled
        self.dialect = dialect
        self.source = source
        self.cols = dict(source_columns)
        self.year = year
        self.params = {k: p.value for k, p in m.parameters.items()}
        self.params.update(params or {})
        self.d = m.scoring.decimals
        self.dscore = f"DECIMAL(38,{self.d})"
        self.string_type = "STRING" if dialect == "spark" else "VARCHAR"

    # -- small helpers ---------------------------------------------------------------

    def q(self, name: str) -> str:
        if self.dialect == "spark":
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def s(self, text: str) -> str:
        return sql_string(text, self.dialect)

    def num(self, value: Decimal) -> str:
        return f"CAST({format(value, 'f')} AS {D6})"

    def arith(self, text: str, **operands: str) -> str:
        """SQL of a tiny expression (``a / b * w``) whose fields are SQL fragments.

        Going through the expression backend keeps rounding identical to rule
        formulas and to the Python reference (DECIMAL(38,6), half away from zero).
        """
        return to_sql(compile_expr(text), lambda name: operands[name], self.dialect)

    def expr_sql(self, expr: Expr) -> str:
        return to_sql(expr, lambda name: self.q(typed_name(name)), self.dialect)

    def text(self, sql: str) -> str:
        return f"CAST({sql} AS {self.string_type})"

    def concat_ws(self, parts: list[str], sep: str = "；") -> str:
        if not parts:
            return "CAST(NULL AS " + self.string_type + ")"
        return f"concat_ws({self.s(sep)}, {', '.join(parts)})"

    def class_label_case(self, idx_sql: str) -> str:
        arms = " ".join(f"WHEN {i} THEN {self.s(b.display)}" for i, b in enumerate(self.m.grading.bands, 1))
        return f"CASE {idx_sql} {arms} END"

    def class_code_case(self, idx_sql: str) -> str:
        arms = " ".join(f"WHEN {i} THEN {self.s(b.class_)}" for i, b in enumerate(self.m.grading.bands, 1))
        return f"CASE {idx_sql} {arms} END"

    # -- typing of inputs ------------------------------------------------------------

    def source_ref(self, col: str) -> str:
        return self.q(col)

    def convert(self, col: str, kind: SourceKind, want: str) -> str:
        """Typed SQL of a source column; invalid text becomes NULL (the validation query reports it)."""
        ref = self.source_ref(col)
        if want in ("money", "number", "integer"):
            if kind == "numeric":
                return f"CAST({ref} AS {D6})"
            if kind == "string":
                return f"TRY_CAST(NULLIF(TRIM({ref}), '') AS {D6})"
            raise InputError(f"列 {col} 应为数值,实际是{'真假值' if kind == 'boolean' else '其他类型'}")
        if want == "boolean":
            if kind == "boolean":
                return ref
            if kind == "numeric":
                return f"({ref} <> 0)"
            low = f"LOWER(TRIM({self.text(ref)}))"
            t = ", ".join(self.s(w) for w in TRUE_WORDS)
            f = ", ".join(self.s(w) for w in FALSE_WORDS)
            return f"CASE WHEN {low} IN ({t}) THEN TRUE WHEN {low} IN ({f}) THEN FALSE END"
        if kind == "string":
            return f"NULLIF(TRIM({ref}), '')"
        return self.text(ref)

    def typed_columns(self) -> list[str]:
        out: list[str] = []
        for std in STANDARD_COLUMNS:
            kind = self.cols.get(std)
            if kind is None:
                out.append(f"CAST(NULL AS {self.string_type}) AS {self.q('c_' + std)}")
            elif std == "id":
                out.append(f"TRIM({self.text(self.source_ref(std))}) AS {self.q('c_id')}")
            else:
                out.append(f"{self.convert(std, kind, 'text')} AS {self.q('c_' + std)}")
        for name, spec in self.m.inputs.items():
            col = f"enterprise.{name}"
            kind = self.cols.get(col)
            sql_type = {"boolean": "BOOLEAN", "enum": self.string_type, "text": self.string_type}.get(spec.type, D6)
            if kind is None:
                out.append(f"CAST(NULL AS {sql_type}) AS {self.q(typed_name(col))}")
            else:
                out.append(f"{self.convert(col, kind, spec.type)} AS {self.q(typed_name(col))}")
        return out

    def validation_query(self) -> str | None:
        """Rows whose text cells cannot be read as the declared type (CSV / Excel input)."""
        checks: list[str] = []
        for name, spec in self.m.inputs.items():
            col = f"enterprise.{name}"
            if self.cols.get(col) != "string" or spec.type in ("enum", "text"):
                continue
            raw = f"NULLIF(TRIM({self.source_ref(col)}), '')"
            checks.append(
                f"SELECT {self.s(col)} AS col, {self.text(self.source_ref('id'))} AS id, {self.source_ref(col)} AS val, "
                f"line_no FROM numbered WHERE {raw} IS NOT NULL AND ({self.convert(col, 'string', spec.type)}) IS NULL"
            )
        if not checks:
            return None
        where = self.year_filter()
        # Spark's ROW_NUMBER needs an ORDER BY; monotonically_increasing_id follows file order.
        order = "ORDER BY monotonically_increasing_id()" if self.dialect == "spark" else ""
        numbered = f"SELECT *, ROW_NUMBER() OVER ({order}) + 1 AS line_no FROM {self.source}{where}"
        return f"WITH numbered AS ({numbered}) " + " UNION ALL ".join(f"({c})" for c in checks) + " LIMIT 20"

    def duplicate_query(self) -> str:
        ident = f"TRIM({self.text(self.source_ref('id'))})"
        return (f"SELECT {ident} AS id, COUNT(*) AS n FROM {self.source}{self.year_filter()} "
                f"GROUP BY {ident} HAVING COUNT(*) > 1 OR {ident} IS NULL OR {ident} = '' LIMIT 5")

    def year_filter(self) -> str:
        if self.year is None or "year" not in self.cols:
            return ""
        return f" WHERE CAST({self.source_ref('year')} AS INT) = {int(self.year)}"

    # -- the query -------------------------------------------------------------------

    FINAL = ("SELECT * FROM graded_rows ORDER BY graded DESC, track NULLS LAST, class_order NULLS LAST, "
             "total_score DESC NULLS LAST, id")

    def build(self) -> str:
        """The whole evaluation as one statement of common table expressions."""
        body = ",\n".join(f"{name} AS (\n{sql}\n)" for name, sql in self.steps())
        return f"WITH {body}\n{self.FINAL}"

    def steps(self) -> list[tuple[str, str]]:
        """(name, SELECT) in dependency order; each may read the ones before it by name."""
        m = self.m
        ctes: list[tuple[str, str]] = []
        ctes.append(("typed", f"SELECT {', '.join(self.typed_columns())} FROM {self.source}{self.year_filter()}"))
        ctes.append(("tracked", self.tracked_select()))
        ctes.append(("pre", self.pre_select()))
        ex_code, ex_text = self.exclusion_case()
        ctes.append(("statused", self.statused_select()))
        ctes.append(("base", f"SELECT *, {ex_code} AS exc, {ex_text} AS exc_text FROM statused"))
        ctes.append(("bench", self.bench_select()))
        for ci in self.c.indicators:
            if ci.spec.benchmark.method == "median":
                ctes.append((f"med_{ci.spec.id}", self.median_select(ci)))
        ctes.append(("raw_scored", self.raw_scored_select()))
        ctes.append(("clamped", self.clamped_select()))
        ctes.append(("scored", self.scored_select()))
        ctes.append(("totaled", self.totaled_select()))
        ctes.append(("ranked", self.ranked_select()))
        ctes.append(("banded", self.banded_select()))
        if m.grading.method == "percentile":
            ctes.append(("cutoffs", self.cutoffs_select()))
            ctes.append(("nat", self.natural_select()))
            prev = "nat"
        else:
            prev = "banded"
        for j, _ in enumerate(self.c.rules):
            ctes.append((f"rule_{j}", self.rule_select(j, prev)))
            prev = f"rule_{j}"
        ctes.append(("graded_rows", self.final_select(prev)))
        return ctes

    def tracked_select(self) -> str:
        q = self.q
        arms, labels, bases = [], [], []
        for track, expr in self.c.tracks:
            cond = f"COALESCE({self.expr_sql(expr)}, FALSE)" if expr is not None else "TRUE"
            if track.split_by:
                val = f"COALESCE({q('c_' + track.split_by)}, {self.s(UNKNOWN_SPLIT)})"
                key = f"concat({self.s(track.id + ':')}, {val})"
                label = f"concat({self.s(track.label + '·')}, {val})"
            else:
                key, label = self.s(track.id), self.s(track.label)
            arms.append(f"WHEN {cond} THEN {key}")
            labels.append(f"WHEN {cond} THEN {label}")
            bases.append(f"WHEN {cond} THEN {self.s(track.id)}")
        return (f"SELECT *, CASE {' '.join(arms)} END AS trk, CASE {' '.join(labels)} END AS trk_label, "
                f"CASE {' '.join(bases)} END AS trk_base FROM typed")

    def pre_select(self) -> str:
        q = self.q
        cols = ["*"]
        for ci in self.c.indicators:
            i = ci.spec.id
            applicable = self.applicable_sql(ci)
            neg = [f"COALESCE({q(typed_name(f))} < 0, FALSE)" for f in ci.nonnegative]
            neg += [f"COALESCE({q(typed_name(f))} < 0, FALSE)" for f in ci.divisors if f not in ci.nonnegative]
            zero = [f"COALESCE({q(typed_name(f))} = 0, FALSE)" for f in ci.divisors]
            bad = " OR ".join(neg + zero) or "FALSE"
            # The guard keeps the formula's division from ever seeing a zero divisor
            # (the expression backend raises on it instead of returning NULL).
            value = f"CASE WHEN {applicable} AND NOT ({bad}) THEN {self.expr_sql(ci.formula)} END"
            cols.append(f"{value} AS v_{i}")
            cols.append(f"({' OR '.join(neg) or 'FALSE'}) AS neg_{i}")
            cols.append(f"({' OR '.join(zero) or 'FALSE'}) AS zero_{i}")
        for j, (_, expr) in enumerate(self.c.rules):
            cols.append(f"COALESCE({self.expr_sql(expr)}, FALSE) AS r_{j}")
        return f"SELECT {', '.join(cols)} FROM tracked"

    def statused_select(self) -> str:
        """Indicator status from the value and the guard flags (kept apart so that the
        formula's SQL appears once in the plan)."""
        cols = ["*"]
        for ci in self.c.indicators:
            i = ci.spec.id
            status = [f"WHEN NOT {self.applicable_sql(ci)} THEN 'na'", f"WHEN neg_{i} THEN 'invalid'",
                      f"WHEN zero_{i} THEN 'zero_divisor'", f"WHEN v_{i} IS NULL THEN 'missing'"]
            if ci.spec.direction == "lower":
                status.append(f"WHEN v_{i} < 0 THEN 'invalid'")
            cols.append(f"CASE {' '.join(status)} ELSE 'ok' END AS s_{i}")
        return f"SELECT {', '.join(cols)} FROM pre"

    def applicable_sql(self, ci: CompiledIndicator) -> str:
        tracks = ci.spec.tracks
        if tracks is None:
            return "(trk_base IS NOT NULL)"
        return f"COALESCE(trk_base IN ({', '.join(self.s(t) for t in tracks)}), FALSE)"

    def exclusion_case(self) -> tuple[str, str]:
        """(code, Chinese reason) of the first exclusion that applies, else NULL."""
        code_arms, text_arms = [], []
        for ex, expr in self.c.exclusions:
            cond = f"COALESCE({self.expr_sql(expr)}, FALSE)"
            code_arms.append(f"WHEN {cond} THEN {self.s(ex.id)}")
            text_arms.append(f"WHEN {cond} THEN {self.s(ex.label)}")
        code_arms.append("WHEN trk IS NULL THEN 'no_track'")
        text_arms.append(f"WHEN trk IS NULL THEN {self.s('不属于任何评价分组')}")
        for ci in self.c.indicators:
            i, spec = ci.spec.id, ci.spec
            for status, treatment in (("missing", spec.missing), ("invalid", spec.missing),
                                      ("zero_divisor", spec.zero_divisor_treatment)):
                if treatment == "exclude":
                    code_arms.append(f"WHEN s_{i} = '{status}' THEN {self.s('indicator:' + i)}")
                    text_arms.append(f"WHEN s_{i} = '{status}' THEN "
                                     f"{self.s(f'指标「{spec.label}」{STATUS_TEXT[status]},无法计分')}")
        return f"CASE {' '.join(code_arms)} END", f"CASE {' '.join(text_arms)} END"

    def bench_select(self) -> str:
        cols = ["trk"]
        for ci in self.c.indicators:
            i, b = ci.spec.id, ci.spec.benchmark
            if b.method == "fixed":
                arms = " ".join(f"WHEN trk_base = {self.s(t)} THEN {self.num(v)}" for t, v in b.by_track.items())
                default = self.num(b.value) if b.value is not None else "NULL"
                raw = f"CASE {arms} ELSE {default} END" if arms else default
            elif b.method == "parameter":
                assert b.parameter is not None
                raw = self.num(self.params[b.parameter])
            elif b.method == "mean":
                ok = f"CASE WHEN s_{i} = 'ok' THEN v_{i} END"
                raw = (f"CASE WHEN COUNT({ok}) > 0 THEN "
                       f"{self.arith('a / b', a=f'SUM({ok})', b=f'COUNT({ok})')} END")
            else:  # median: joined from med_<id>
                raw = "NULL"
            if b.multiple != 1 and b.method != "median":
                raw = self.arith("a * m", a=raw, m=self.num(b.multiple))
            cols.append(f"{raw} AS b_{i}")
        return f"SELECT {', '.join(cols)} FROM base WHERE exc IS NULL GROUP BY trk, trk_base"

    def median_select(self, ci: CompiledIndicator) -> str:
        i, b = ci.spec.id, ci.spec.benchmark
        inner = (f"SELECT trk, v_{i} AS v, ROW_NUMBER() OVER (PARTITION BY trk ORDER BY v_{i}) AS rn, "
                 f"COUNT(*) OVER (PARTITION BY trk) AS n FROM base WHERE exc IS NULL AND s_{i} = 'ok'")
        # The middle row (odd n) or the two middle rows (even n): 2·rn ∈ [n, n+2].
        med = self.arith("a / b", a="SUM(v)", b="COUNT(v)")
        if b.multiple != 1:
            med = self.arith("a * m", a=med, m=self.num(b.multiple))
        return f"SELECT trk, {med} AS m FROM ({inner}) t WHERE 2 * rn >= n AND 2 * rn <= n + 2 GROUP BY trk"

    def weight_sql(self, ci: CompiledIndicator, track_base: str) -> str:
        arms = [f"WHEN {self.s(t.id)} THEN {self.num(self.m.weight(ci.spec, t.id))}"
                for t in self.m.tracks if self.m.applies(ci.spec, t.id)]
        return f"CASE {track_base} {' '.join(arms)} END"

    def ratio_sql(self, ci: CompiledIndicator, value: str, bench: str, track_base: str) -> str:
        """value/benchmark × weight (or benchmark/value × weight), before the clamp; NULL when
        the benchmark is not positive or, for lower-is-better, the value is 0 (handled later)."""
        w = self.weight_sql(ci, track_base)
        if ci.spec.direction == "higher":
            return f"CASE WHEN {bench} > 0 THEN {self.arith('v / b * w', v=value, b=bench, w=w)} END"
        return (f"CASE WHEN {bench} > 0 AND {value} <> 0 THEN "
                f"{self.arith('b / v * w', v=value, b=bench, w=w)} END")

    def clamp_sql(self, ci: CompiledIndicator, i: str) -> str:
        """Score of an 'ok' value: clamp(ratio, floor, cap); 0 without a positive benchmark;
        the cap for a lower-is-better value of 0."""
        floor = self.num(self.m.floor_score(ci.spec))
        core = self.arith("min(max(x, lo), hi)", x=f"x_{i}", lo=floor, hi=f"hi_{i}")
        zero = f"CAST(0 AS {D6})"
        if ci.spec.direction == "higher":
            return f"CASE WHEN bm_{i} > 0 THEN {core} ELSE {zero} END"
        return f"CASE WHEN NOT (bm_{i} > 0) OR bm_{i} IS NULL THEN {zero} WHEN v_{i} = 0 THEN hi_{i} ELSE {core} END"

    def cap_sql(self, ci: CompiledIndicator, track_base: str) -> str:
        arms = [f"WHEN {self.s(t.id)} THEN {self.num(self.m.cap_score(ci.spec, t.id))}"
                for t in self.m.tracks if self.m.applies(ci.spec, t.id)]
        return f"CASE {track_base} {' '.join(arms)} END"

    def raw_scored_select(self) -> str:
        cols = ["base.*"]
        joins = ["LEFT JOIN bench ON base.trk = bench.trk"]
        for ci in self.c.indicators:
            i = ci.spec.id
            if ci.spec.benchmark.method == "median":
                joins.append(f"LEFT JOIN med_{i} ON base.trk = med_{i}.trk")
                bench = f"med_{i}.m"
            else:
                bench = f"bench.b_{i}"
            cols.append(f"{bench} AS bm_{i}")
            cols.append(f"{self.cap_sql(ci, 'base.trk_base')} AS hi_{i}")
            ok = f"base.exc IS NULL AND base.s_{i} = 'ok'"
            cols.append(f"CASE WHEN {ok} THEN {self.ratio_sql(ci, f'base.v_{i}', bench, 'base.trk_base')} END AS x_{i}")
        return f"SELECT {', '.join(cols)} FROM base {' '.join(joins)}"

    def clamped_select(self) -> str:
        cols = ["*"]
        for ci in self.c.indicators:
            i = ci.spec.id
            cols.append(f"CASE WHEN exc IS NULL AND s_{i} = 'ok' THEN CAST({self.clamp_sql(ci, i)} AS {self.dscore}) "
                        f"END AS ok_{i}")
        return f"SELECT {', '.join(cols)} FROM raw_scored"

    def scored_select(self) -> str:
        cols = ["*"]
        for ci in self.c.indicators:
            i, spec = ci.spec.id, ci.spec
            count = f"COUNT(ok_{i}) OVER (PARTITION BY trk)"
            avg = (f"CASE WHEN {count} > 0 THEN CAST("
                   + self.arith("a / b", a=f"SUM(ok_{i}) OVER (PARTITION BY trk)", b=count)
                   + f" AS {self.dscore}) ELSE CAST(0 AS {self.dscore}) END")
            treat = {"zero": f"CAST(0 AS {self.dscore})", "track_average": avg,
                     "max_score": f"CAST(hi_{i} AS {self.dscore})"}
            arms = [f"WHEN exc IS NOT NULL OR s_{i} = 'na' THEN NULL", f"WHEN s_{i} = 'ok' THEN ok_{i}"]
            for status, t in (("missing", spec.missing), ("invalid", spec.missing),
                              ("zero_divisor", spec.zero_divisor_treatment)):
                if t != "exclude":
                    arms.append(f"WHEN s_{i} = '{status}' THEN {treat[t]}")
            cols.append(f"CASE {' '.join(arms)} END AS sc_{i}")
        return f"SELECT {', '.join(cols)} FROM clamped"

    def totaled_select(self) -> str:
        zero = f"CAST(0 AS {self.dscore})"
        total = " + ".join(f"COALESCE(sc_{ci.spec.id}, {zero})" for ci in self.c.indicators)
        exempt = [f"r_{j}" for j, (r, _) in enumerate(self.c.rules) if r.quota == "exempt"]
        exempt_sql = " OR ".join(exempt) if exempt and self.m.grading.method == "percentile" else "FALSE"
        return (f"SELECT *, CASE WHEN exc IS NULL THEN CAST({total} AS {self.dscore}) END AS total, "
                f"(exc IS NULL AND ({exempt_sql})) AS exempt FROM scored")

    def ranked_select(self) -> str:
        inq = "(exc IS NULL AND NOT exempt)"
        return (f"SELECT *, CASE WHEN {inq} THEN CAST(RANK() OVER (PARTITION BY trk, {inq} ORDER BY total DESC) AS BIGINT) END AS rnk, "
                f"CASE WHEN {inq} THEN CAST(COUNT(*) OVER (PARTITION BY trk, {inq}) AS BIGINT) END AS nq, "
                f"{inq} AS inq FROM totaled")

    def banded_select(self) -> str:
        g = self.m.grading
        bands = g.bands
        last = len(bands)
        arms = []
        if g.method == "percentile":
            for k, b in enumerate(bands[:-1], 1):
                assert b.upto is not None
                share = self.num(b.upto)
                limit = {"floor": f"FLOOR(nq * {share})", "half_up": f"FLOOR(nq * {share} + 0.5)",
                         "ceil": f"CEIL(nq * {share})"}[g.rounding]
                arms.append(f"WHEN rnk <= {limit} THEN {k}")
            band = f"CASE WHEN NOT inq THEN NULL {' '.join(arms)} ELSE {last} END"
        else:
            for k, b in enumerate(bands[:-1], 1):
                assert b.min_score is not None
                arms.append(f"WHEN total >= {self.num(b.min_score)} THEN {k}")
            band = f"CASE WHEN exc IS NOT NULL THEN NULL {' '.join(arms)} ELSE {last} END"
        pct = self.arith("a / b", a="rnk", b="nq")
        return f"SELECT *, {band} AS band, CASE WHEN inq THEN {pct} END AS pct FROM ranked"

    def cutoffs_select(self) -> str:
        cols = ["trk"] + [f"MIN(CASE WHEN band = {k} THEN total END) AS cut_{k}"
                          for k in range(1, len(self.m.grading.bands))]
        return f"SELECT {', '.join(cols)} FROM banded WHERE inq GROUP BY trk"

    def natural_select(self) -> str:
        last = len(self.m.grading.bands)
        arms = " ".join(f"WHEN banded.total >= cutoffs.cut_{k} THEN {k}" for k in range(1, last))
        natural = f"CASE WHEN banded.exempt THEN CASE {arms} ELSE {last} END ELSE banded.band END"
        return (f"SELECT banded.*, {natural} AS c0, {natural} AS band0 "
                f"FROM banded LEFT JOIN cutoffs ON banded.trk = cutoffs.trk")

    def rule_select(self, j: int, prev: str) -> str:
        rule, _ = self.c.rules[j]
        k = self.m.class_names.index(rule.class_) + 1
        before = "band" if j == 0 and self.m.grading.method == "threshold" else f"c{j}"
        new = {"set": str(k), "not_below": f"LEAST({before}, {k})", "not_above": f"GREATEST({before}, {k})"}[rule.action]
        return (f"SELECT *, CASE WHEN exc IS NULL AND r_{j} THEN {new} ELSE {before} END AS c{j + 1} "
                f"FROM {prev}")

    def final_select(self, prev: str) -> str:
        m, q = self.m, self.q
        n_rules = len(self.c.rules)
        if m.grading.method == "percentile":
            start = "band0"
        else:
            start = "band"
        final_cls = f"c{n_rules}" if n_rules else start
        cols = [
            f"c_id AS {q('id')}", f"c_name AS {q('name')}", f"c_province AS {q('province')}",
            f"c_city AS {q('city')}", f"c_county AS {q('county')}", f"c_district AS {q('district')}",
            f"c_industry AS {q('industry')}",
            f"CAST({int(self.year) if self.year is not None else 'NULL'} AS INT) AS {q('year')}",
            f"{self.s(m.id)} AS method",
            "trk AS track", "trk_label AS track_label",
            "(exc IS NULL) AS graded",
            "exc AS exclusion",
            "exc_text AS exclusion_reason",
        ]
        for ci in self.c.indicators:
            i = ci.spec.id
            cols += [f"v_{i} AS {q(i + '_value')}", f"s_{i} AS {q(i + '_status')}",
                     f"CASE WHEN exc IS NULL AND s_{i} <> 'na' THEN bm_{i} END AS {q(i + '_benchmark')}",
                     f"sc_{i} AS {q(i + '_score')}"]
        cols += [
            "total AS total_score",
            "rnk AS rank_in_track",
            "nq AS track_size",
            "pct AS percentile",
            f"{self.class_code_case(start)} AS band_class",
            f"{self.class_code_case(final_cls)} AS class",
            f"{final_cls} AS class_order",
            "exempt AS quota_exempt",
            f"{self.overrides_sql()} AS overrides",
            f"{self.reason_sql(start)} AS reason",
        ]
        from huiqi.evaluation.consequences import sql_columns

        cols += sql_columns(self, self.class_code_case(final_cls))
        return f"SELECT {', '.join(cols)} FROM {prev}"

    def overrides_sql(self) -> str:
        parts = [f"CASE WHEN exc IS NULL AND r_{j} THEN {self.s(r.id)} END" for j, (r, _) in enumerate(self.c.rules)]
        return f"NULLIF({self.concat_ws(parts, ',')}, '')" if parts else f"CAST(NULL AS {self.string_type})"

    def reason_sql(self, start: str) -> str:
        m = self.m
        label = self.class_label_case
        parts: list[str] = []
        total = self.text("total")
        if m.grading.method == "percentile":
            head = (f"CASE WHEN inq THEN concat(trk_label, {self.s('组内第')}, {self.text('rnk')}, {self.s('名/共')}, "
                    f"{self.text('nq')}, {self.s('家,总分')}, {total}, {self.s(' → ')}, {label(start)}) "
                    f"ELSE concat(trk_label, {self.s(':不占比例,总分')}, {total}, {self.s(' 按分数对应')}, {label(start)}) END")
        else:
            head = f"concat(trk_label, {self.s(':总分')}, {total}, {self.s(' → ')}, {label(start)})"
        parts.append(head)
        for ci in self.c.indicators:
            i, spec = ci.spec.id, ci.spec
            for status, t in (("missing", spec.missing), ("invalid", spec.missing),
                              ("zero_divisor", spec.zero_divisor_treatment)):
                if t != "exclude":
                    parts.append(f"CASE WHEN s_{i} = '{status}' THEN "
                                 f"{self.s(f'{spec.label}{STATUS_TEXT[status]},{TREATMENT_TEXT[t]}')} END")
        for j, (rule, _) in enumerate(self.c.rules):
            before = start if j == 0 else f"c{j}"
            parts.append(f"CASE WHEN r_{j} THEN CASE WHEN {before} = c{j + 1} THEN "
                         f"concat({self.s(rule.label + ':维持')}, {label(f'c{j + 1}')}) "
                         f"ELSE concat({self.s(rule.label + ':')}, {label(before)}, {self.s('→')}, {label(f'c{j + 1}')}) END END")
        graded = self.concat_ws(parts)
        return f"CASE WHEN exc IS NULL THEN {graded} ELSE concat({self.s('不参评:')}, exc_text) END"
