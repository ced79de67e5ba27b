"""Fund pools: rule fund caps (``Cap scope: fund``) and the overall budget, allocated per scenario and year.

The allocation methods themselves are in :mod:`huiqi.simulation.allocation`; this is the glue
that finds each pool's claims in the analysis store, allocates when demand exceeds the cap,
and writes the allocation back to ``detail``.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import duckdb
import pyarrow as pa

from huiqi.errors import HuiqiError
from huiqi.rules.packs import CompiledRule, RuleBase
from huiqi.simulation.allocation import Method, PoolResult, allocate_sql
from huiqi.simulation.population import PopulationSource, applies_to_region, read_population
from huiqi.simulation.result import BUDGET_POOL, ScenarioInfo

__all__ = ["allocate_pools"]


def _rule_money_cap(rule: CompiledRule, scope: str, params: dict[str, Any]) -> list[tuple[str, int, str]]:
    """(group, integer yuan, label) of the rule's caps with this scope (the amount is usually a constant)."""
    out = []
    for cap in rule.caps:
        if cap.scope != scope or not cap.group:
            continue
        value = cap.amount.evaluate(params).value
        if not isinstance(value, Decimal):
            raise HuiqiError(f"规则 {rule.id} 的资金上限「{cap.cap.amount}」无法确定金额", field="caps")
        out.append((cap.group, int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)), cap.cap.label or cap.group))
    return out


def _param_env(rulebase: RuleBase, on: date, overrides: dict[str, str]) -> dict[str, Any]:
    values = rulebase.params.with_overrides(overrides).values(on)
    return {f"param.{k}": v for k, v in values.items() if v is not None}


def allocate_pools(con: duckdb.DuckDBPyConnection, s: ScenarioInfo, on: date, method: Method,
                    budget: int | None, rank_by: str | None, src: PopulationSource,
                    identity: bool) -> list[PoolResult]:
    """Fund groups (Cap scope fund) of the scenario's rules, then the overall budget, for one year."""
    env = _param_env(s.rulebase, on, s.params)
    groups: dict[str, tuple[int, str, list[str]]] = {}
    selected = {r for (r,) in con.execute("SELECT rule FROM rules WHERE scenario = ?", [s.name]).fetchall()}
    for rule in s.rulebase.rules:
        if rule.id not in selected:
            continue
        for group, cap, label in _rule_money_cap(rule, "fund", env):
            if group in groups and groups[group][0] != cap:
                raise HuiqiError(f"资金池 {group} 的上限在不同规则中不一致({groups[group][0]} 与 {cap} 元)",
                                 field="caps")
            prev = groups.get(group, (cap, group, []))
            # The first written label names the fund (e.g. 市级工业转型升级专项资金3000万元), not the group id.
            name = prev[1] if prev[1] != group else label
            groups[group] = (cap, name, [*prev[2], rule.id])
    out: list[PoolResult] = []
    key_sql = _rank_key_sql(con, rank_by, src, s.rulebase, identity) if method == "rank" else "NULL"
    places = con.execute("SELECT DISTINCT province, city, county FROM ents").fetchall()
    by_id = {r.id: r for r in s.rulebase.rules}
    for group, (cap, label, rules) in groups.items():
        if not any(applies_to_region(by_id[r], *p) for r in rules for p in places):
            continue  # another city's fund: nobody in this population can claim it
        out.append(_run_pool(con, s.name, on.year, group, label, cap, rules, method, key_sql))
    if budget is not None:
        out.append(_run_pool(con, s.name, on.year, BUDGET_POOL, "总预算(--budget)", budget, None, method, key_sql))
    return out


def _rank_key_sql(con: duckdb.DuckDBPyConnection, rank_by: str | None, src: PopulationSource,
                  rb: RuleBase, identity: bool) -> str:
    """The ordering key for ``rank``: the claim amount, or an expression over population fields."""
    if not rank_by:
        return "c.amount"
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'rank_keys'").fetchall()
    if not exists[0][0]:
        from huiqi.rules.expr import compile_expr, to_sql

        expr = compile_expr(rank_by, field="--rank-by")
        for name in expr.fields:
            if not name.startswith(("enterprise.", "project.")) or rb.fields.get(name) is None:
                raise HuiqiError(f"排序表达式只能引用企业或项目字段,{name} 不是已登记的字段", field="--rank-by",
                                 hint=rb.fields.suggest(name))
        if src.kind == "parquet" and identity and not src.path.is_dir():
            cols = {r[0] for r in con.execute(
                f"DESCRIBE SELECT * FROM read_parquet('{str(src.path).replace(chr(39), chr(39) * 2)}')").fetchall()}
            missing = [n for n in expr.fields if n not in cols]
            if missing:
                raise HuiqiError("排序表达式引用的列不在人口中:" + "、".join(missing), field="--rank-by")
            sql = to_sql(expr, lambda n: '"' + n.replace('"', '""') + '"', "duckdb")
            con.execute(f"""CREATE TABLE rank_keys AS SELECT id, project_id, ({sql}) AS key, file_row_number AS seq
                            FROM read_parquet('{str(src.path).replace(chr(39), chr(39) * 2)}', file_row_number = true)""")
        else:
            table, _ = read_population(src, rb.fields)
            missing = [n for n in expr.fields if n not in table.schema.names]
            if missing:
                raise HuiqiError("排序表达式引用的列不在人口中:" + "、".join(missing), field="--rank-by")
            con.register("rank_src", table.append_column("seq", pa.array(range(table.num_rows), pa.int64())))
            sql = to_sql(expr, lambda n: '"' + n.replace('"', '""') + '"', "duckdb")
            con.execute(f"CREATE TABLE rank_keys AS SELECT id, project_id, ({sql}) AS key, seq FROM rank_src")
            con.unregister("rank_src")
    return "c.key"


def _run_pool(con: duckdb.DuckDBPyConnection, scenario: str, year: int, pool: str, label: str, cap: int,
              rules: list[str] | None, method: Method, key_sql: str) -> PoolResult:
    rule_filter = ""
    args: list[Any] = [scenario, year]
    if rules is not None:
        rule_filter = "AND d.rule IN (" + ", ".join("?" for _ in rules) + ")"
        args += rules
    where = f"d.scenario = ? AND d.year = ? AND d.status = 'granted' AND d.allocated > 0 {rule_filter}"
    demand, claimants = con.execute(
        f"SELECT coalesce(sum(CAST(d.allocated AS HUGEINT)), 0), count(*) FROM detail d WHERE {where}", args
    ).fetchall()[0]
    demand, claimants = int(demand), int(claimants)
    full = claimants
    partial = unfunded = 0
    allocated = demand
    if demand > cap:
        use_keys = key_sql == "c.key"
        # Population order of the subject: its own row (project) or the enterprise's first row.
        keys_join = """
                LEFT JOIN rank_keys kp ON d.project_id IS NOT NULL AND kp.id = d.id AND kp.project_id = d.project_id
                LEFT JOIN (SELECT id, arg_min(key, seq) AS key FROM rank_keys GROUP BY id) ke
                       ON d.project_id IS NULL AND ke.id = d.id""" if use_keys else ""
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE claims AS
            SELECT c.rid, c.amount, c.seq, {key_sql} AS key FROM (
                SELECT d.rowid AS rid, d.allocated AS amount, coalesce(p.seq, e.seq) AS seq
                       {", coalesce(kp.key, ke.key) AS key" if use_keys else ""}
                FROM detail d
                LEFT JOIN pop_rows p ON d.project_id IS NOT NULL AND p.id = d.id AND p.project_id = d.project_id
                LEFT JOIN ents e ON e.id = d.id {keys_join}
                WHERE {where}) c""", args)
        con.execute("DELETE FROM alloc_out")
        allocate_sql(con, "SELECT rid, amount, seq, key FROM claims", cap, method, "alloc_out")
        stats = con.execute("""
            SELECT coalesce(sum(a.allocated), 0),
                   count(*) FILTER (WHERE a.allocated = 0),
                   count(*) FILTER (WHERE a.allocated > 0 AND a.allocated < c.amount),
                   count(*) FILTER (WHERE a.allocated = c.amount)
            FROM alloc_out a JOIN claims c USING (rid)""").fetchall()[0]
        allocated, unfunded, partial, full = (int(x) for x in stats)
        con.execute("UPDATE detail SET allocated = a.allocated FROM alloc_out a WHERE detail.rowid = a.rid")
    return PoolResult(pool, label, scenario, year, cap, demand, allocated, claimants, full, partial, unfunded,
                      method, list(rules or []))
