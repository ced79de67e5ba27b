"""模拟报告 — Rich tables for the terminal; Parquet/CSV and an Excel workbook with charts.

Outputs (``--out``, repeatable; the suffix decides the format):

* ``X.xlsx`` — one workbook: 概览, 按措施, 按部门, 按地区, 按年度, 无法判定, 资金分配, and with a
  reform 改革对比(措施/地区) and 赢家输家; native Excel bar charts (amount by measure, by
  district, baseline vs reform). Money cells are integer yuan with a thousands format.
  Per-enterprise rows are included up to :data:`XLSX_ENTERPRISE_LIMIT` enterprises.
* ``X.parquet`` / ``X.csv`` — per-enterprise results in ``X`` itself, and next to it
  ``X.details``, ``X.by_rule``, ``X.by_department``, ``X.by_district``, ``X.by_year``,
  ``X.undecided``, ``X.pools`` (+ ``X.reform_by_rule``, ``X.reform_by_district``,
  ``X.winners_losers`` for a reform) in the same format. The big tables are streamed by
  DuckDB (COPY), the aggregates come from Python lists.

Every file is written to a temporary name and renamed only when *all* outputs of the
run succeeded: a failed run leaves no partial files behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from rich.console import Console
from rich.table import Table

from huiqi.errors import HuiqiError
from huiqi.fsutil import atomic_path, check_outputs
from huiqi.simulation.allocation import METHOD_LABELS, PoolResult
from huiqi.simulation.simulate import BASELINE, REFORM, SimulationResult

__all__ = ["XLSX_ENTERPRISE_LIMIT", "fmt_yuan", "planned_outputs", "render", "write_outputs"]

XLSX_ENTERPRISE_LIMIT = 100_000


def fmt_yuan(value: int | Decimal | None) -> str:
    """Exact money text: 15616366 → 1,561.6366万元; under 1万 → 9,999元."""
    if value is None:
        return "金额待定"
    v = int(value)
    if abs(v) < 10_000:
        return f"{v:,}元"
    whole, frac = divmod(abs(v), 10_000)
    sign = "-" if v < 0 else ""
    tail = f".{frac:04d}".rstrip("0").rstrip(".")
    return f"{sign}{whole:,}{tail}万元"


def _n(value: Any) -> str:
    return f"{int(value or 0):,}"


def _delta(value: int) -> str:
    return ("+" if value > 0 else "") + fmt_yuan(value)


# -- terminal -------------------------------------------------------------------------------------


def render(res: SimulationResult, console: Console, top: int = 15) -> None:
    """The whole report as Rich tables (largest items first; ``top`` rows per table)."""
    years = "、".join(str(y) for y in res.years)
    rate = res.rule_evaluations / res.engine_seconds if res.engine_seconds else 0
    console.print(f"[bold]人口模拟[/] {res.population}:{res.enterprises:,} 家企业({res.population_rows:,} 行),"
                  f"模拟日期 {'、'.join(d.isoformat() for d in res.dates)},引擎 {res.engine},"
                  f"规则评估 {res.rule_evaluations:,} 次,用时 {res.total_seconds:.1f} 秒"
                  + (f"(引擎 {rate:,.0f} 次/秒)" if rate else ""))
    for w in res.warnings:
        console.print(f"[yellow]提示[/]:{w}")
    for s in res.scenarios:
        if res.has_reform:
            console.rule(f"[bold]{s.label}[/]")
        t = res.totals(s.name)
        console.print(
            f"可享受 {_n(t['granted_subjects'])} 项(涉及 {_n(t['granted_enterprises'])} 家企业);"
            f"确定金额 [bold]{fmt_yuan(t['exact'])}[/],上限类金额(最高/不超过)[bold]{fmt_yuan(t['ceiling'])}[/],"
            f"资金分配后 {fmt_yuan(t['allocated'])};无法判定 {_n(t['undecided_subjects'])} 项"
            f"({_n(t['undecided_enterprises'])} 家企业,待定金额至多 {fmt_yuan(t['at_stake'])}"
            + (f",另有 {_n(t['pending'])} 项金额待定" if t["pending"] else "") + ")")
        _rule_table(res, s.name, console, top)
        groups: tuple[tuple[Literal["department", "area"], str], ...] = (
            ("department", "按责任部门"), ("area", "按地区(区县/街道/开发区)"))
        for key, title in groups:
            _group_table(res.by_group(key, s.name), key, title, console, top)
        if len(res.years) > 1:
            _group_table(res.by_group("year", s.name), "year", f"按年度({years})", console, top)
        _undecided_table(res, s.name, console)
        _pool_table(res.pools_for(s.name), console)
    if res.has_reform:
        _reform_tables(res, console, top)


def _rule_table(res: SimulationResult, scenario: str, console: Console, top: int) -> None:
    rows = [r for r in res.by_rule(scenario) if r["granted_subjects"] or r["undecided_subjects"]]
    table = Table(title="按措施(规则)", title_justify="left", show_lines=False)
    for col, just in (("措施", "left"), ("条款", "left"), ("部门", "left"), ("可享受(项/家)", "right"),
                      ("确定金额", "right"), ("上限金额", "right"), ("分配后", "right"),
                      ("无法判定(项)", "right"), ("待定金额至多", "right")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in rows[:top]:
        money = r["monetary"]
        table.add_row(
            r["title"], r["clause"], r["department"],
            f"{_n(r['granted_subjects'])}/{_n(r['granted_enterprises'])}",
            fmt_yuan(r["exact"]) if money else "非资金", fmt_yuan(r["ceiling"]) if r["ceiling"] else "",
            fmt_yuan(r["allocated"]) if money else "", _n(r["undecided_subjects"]) if r["undecided_subjects"] else "",
            ("" if not r["undecided_subjects"] or not money else
             fmt_yuan(r["undecided_at_stake"]) if r["undecided_at_stake"] is not None else "金额待定"))
    if len(rows) > top:
        table.caption = f"另有 {len(rows) - top} 项措施未显示(完整结果见 --out 输出)"
    console.print(table)


def _group_table(rows: list[dict[str, Any]], key: str, title: str, console: Console, top: int) -> None:
    if not rows:
        return
    table = Table(title=title, title_justify="left")
    table.add_column({"department": "部门", "area": "地区", "year": "年度"}[key])
    for col in ("可享受(项/家)", "确定金额", "上限金额", "分配后", "无法判定(项)"):
        table.add_column(col, justify="right")
    for r in rows[:top]:
        table.add_row(str(r[key]), f"{_n(r['granted_subjects'])}/{_n(r['granted_enterprises'])}",
                      fmt_yuan(r["exact"]), fmt_yuan(r["ceiling"]) if r["ceiling"] else "", fmt_yuan(r["allocated"]),
                      _n(r["undecided_subjects"]))
    if len(rows) > top:
        table.caption = f"另有 {len(rows) - top} 行未显示"
    console.print(table)


def _undecided_table(res: SimulationResult, scenario: str, console: Console) -> None:
    rows = res.undecided_fields(scenario)
    if not rows:
        return
    table = Table(title="无法判定:缺少的信息(按可能涉及的金额排序)", title_justify="left")
    for col, just in (("字段", "left"), ("说明", "left"), ("涉及(项/家)", "right"), ("涉及金额至多", "right"),
                      ("金额待定(项)", "right"), ("影响的规则", "left")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in rows:
        table.add_row(r["field"], r["label"], f"{_n(r['subjects'])}/{_n(r['enterprises'])}", fmt_yuan(r["at_stake"]),
                      _n(r["pending"]) if r["pending"] else "", r["rules"])
    table.caption = "同一项缺两个字段时在两个字段下各计一次;“金额待定”= 规则没有金额上限,无法估计"
    console.print(table)


def _pool_table(pools: list[PoolResult], console: Console) -> None:
    if not pools:
        return
    table = Table(title="资金池:需求、分配与缺口", title_justify="left")
    for col, just in (("资金池", "left"), ("年度", "right"), ("上限", "right"), ("需求", "right"), ("分配", "right"),
                      ("缺口", "right"), ("申请(项)", "right"), ("足额/部分/未获", "right"), ("分配方式", "left")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for p in pools:
        short = f"[red]{fmt_yuan(p.shortfall)}[/]" if p.shortfall else "0"
        table.add_row(p.label, str(p.year), fmt_yuan(p.cap), fmt_yuan(p.demand), fmt_yuan(p.allocated), short,
                      _n(p.claimants), f"{_n(p.full)}/{_n(p.partial)}/{_n(p.unfunded)}",
                      METHOD_LABELS[p.method] if p.oversubscribed else "足额(未超额)")
    console.print(table)


def _reform_tables(res: SimulationResult, console: Console, top: int) -> None:
    assert res.reform is not None
    console.rule(f"[bold]改革对比:{res.reform.reform.name}[/]")
    if res.reform.reform.description:
        console.print(res.reform.reform.description)
    for line in res.reform.lines:
        console.print(f"  • {line}")
    comparisons: tuple[tuple[Literal["rule", "area"], str], ...] = (
        ("rule", "改革 − 现行:按措施"), ("area", "改革 − 现行:按地区"))
    for key, title in comparisons:
        rows = [r for r in res.compare_by(key) if r["delta"] or r["base_granted"] != r["reform_granted"]
                or r["base_undecided"] != r["reform_undecided"]]
        table = Table(title=title, title_justify="left")
        table.add_column("措施" if key == "rule" else "地区")
        for col in ("现行(项)", "改革(项)", "现行金额", "改革金额", "变化"):
            table.add_column(col, justify="right")
        for r in rows[:top]:
            table.add_row(r.get("title", r[key]) if key == "rule" else str(r[key]), _n(r["base_granted"]),
                          _n(r["reform_granted"]), fmt_yuan(r["base_amount"]), fmt_yuan(r["reform_amount"]),
                          _delta(r["delta"]))
        if not rows:
            table.caption = "没有变化"
        console.print(table)
    wl = res.winners_losers()
    console.print(f"受益企业 [green]{_n(wl['winners'])}[/] 家(合计 {_delta(wl['gained'])}),"
                  f"受损企业 [red]{_n(wl['losers'])}[/] 家(合计 {_delta(wl['lost'])}),"
                  f"有支持但金额不变 {_n(wl['unchanged_with_support'])} 家")
    for which, title in (("top_winners", "受益最多的企业"), ("top_losers", "受损最多的企业")):
        if not wl[which]:
            continue
        table = Table(title=title, title_justify="left")
        for col, just in (("企业", "left"), ("编号", "left"), ("地区", "left"), ("现行", "right"), ("改革", "right"),
                          ("变化", "right")):
            table.add_column(col, justify=just)  # type: ignore[arg-type]
        for r in wl[which]:
            table.add_row(r["name"] or "", r["id"], r["area"] or "", fmt_yuan(r["base_total"]),
                          fmt_yuan(r["reform_total"]), _delta(r["delta"]))
        console.print(table)


# -- files ----------------------------------------------------------------------------------------


def _sibling(path: Path, part: str) -> Path:
    return path.with_name(f"{path.stem}.{part}{path.suffix}")


def aggregates(res: SimulationResult) -> dict[str, list[dict[str, Any]]]:
    """Name → rows of every aggregate table (scenario column added), shared by all formats."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, fn in (("by_rule", lambda s: res.by_rule(s)),
                     ("by_department", lambda s: res.by_group("department", s)),
                     ("by_district", lambda s: res.by_group("area", s)),
                     ("by_year", lambda s: res.by_group("year", s)),
                     ("undecided", lambda s: res.undecided_fields(s, limit=1000))):
        rows: list[dict[str, Any]] = []
        for s in res.scenarios:
            rows += [{"scenario": s.name, **r} for r in fn(s.name)]
        out[name] = rows
    out["pools"] = [p.as_dict() | {"rules": "、".join(p.rules)} for p in res.pools]
    if res.has_reform:
        out["reform_by_rule"] = res.compare_by("rule")
        out["reform_by_district"] = res.compare_by("area")
        wl = res.winners_losers(limit=1000)
        out["winners_losers"] = [{"direction": "winner", **r} for r in wl["top_winners"]] + \
                                [{"direction": "loser", **r} for r in wl["top_losers"]]
    return out


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    if not rows:
        return pa.table({"empty": pa.array([], pa.string())})
    cols = list(rows[0])
    arrays = {}
    for c in cols:
        values = [r.get(c) for r in rows]
        if all(isinstance(v, int | type(None)) and not isinstance(v, bool) for v in values):
            arrays[c] = pa.array(values, type=pa.int64())  # money: exact integer yuan
        else:
            arrays[c] = pa.array([None if v is None else v if isinstance(v, bool | str) else str(v) for v in values])
    return pa.table(arrays)


AGGREGATE_TABLES = ("by_rule", "by_department", "by_district", "by_year", "undecided", "pools")
REFORM_TABLES = ("reform_by_rule", "reform_by_district", "winners_losers")


def planned_outputs(outs: Sequence[str | Path], *, reform: bool = True) -> list[Path]:
    """Every file the outputs ``outs`` will produce (a .parquet/.csv brings its sibling tables).

    Raises for an unsupported suffix; with ``reform`` the reform tables are included, so a
    check made before the run covers every file the run may write.
    """
    files: list[Path] = []
    for o in outs:
        target = Path(o)
        suffix = target.suffix.lower()
        if suffix not in OUTPUT_SUFFIXES:
            raise HuiqiError(f"不支持的输出格式 {target.suffix or '(无扩展名)'}", file=str(target),
                             hint="请用 .xlsx(带图表的工作簿)、.parquet 或 .csv")
        files.append(target)
        if suffix != ".xlsx":
            names = ("details", *AGGREGATE_TABLES, *(REFORM_TABLES if reform else ()))
            files += [_sibling(target, name) for name in names]
    return files


def check_planned_outputs(outs: Sequence[str | Path], inputs: Sequence[str | Path]) -> None:
    """Before the run: no output (nor a sibling table) replaces an input or another output."""
    check_outputs(planned_outputs(outs), inputs)


def write_outputs(res: SimulationResult, outs: Sequence[str | Path], console: Console | None = None) -> list[Path]:
    """Write every requested output atomically (all or nothing); returns the files written."""
    targets = [Path(o) for o in outs]
    check_outputs(planned_outputs(targets, reform=res.has_reform))
    tables = aggregates(res)
    written: list[Path] = []
    with contextlib.ExitStack() as stack:
        for target in targets:
            written += WRITERS[target.suffix.lower()](res, tables, target, stack)
    return written


def _output_xlsx(res: SimulationResult, aggregates: dict[str, list[dict[str, Any]]], target: Path,
                 stack: contextlib.ExitStack) -> list[Path]:
    """One workbook with charts."""
    _write_xlsx(res, aggregates, stack.enter_context(atomic_path(target)))
    return [target]


def _output_tabular(fmt: str) -> Writer:
    """The enterprises file, its ``details`` sibling and one sibling per aggregate, as ``fmt``."""

    def write(res: SimulationResult, aggregates: dict[str, list[dict[str, Any]]], target: Path,
              stack: contextlib.ExitStack) -> list[Path]:
        files: list[tuple[Path, Any]] = [(target, res.enterprise_relation()),
                                         (_sibling(target, "details"), res.detail_relation())]
        files += [(_sibling(target, name), _table(rows)) for name, rows in aggregates.items()]
        for path, data in files:
            _write_tabular(res, data, stack.enter_context(atomic_path(path)), fmt)
        return [path for path, _ in files]

    return write


Writer = Callable[[SimulationResult, dict[str, list[dict[str, Any]]], Path, contextlib.ExitStack], list[Path]]
# The registry of output writers, by file suffix (all temporary files commit together at the end).
WRITERS: dict[str, Writer] = {
    ".xlsx": _output_xlsx,
    ".parquet": _output_tabular("parquet"),
    ".csv": _output_tabular("csv"),
}
OUTPUT_SUFFIXES = tuple(WRITERS)


def _write_tabular(res: SimulationResult, data: Any, tmp: Path, fmt: str) -> None:
    if isinstance(data, pa.Table):
        if fmt == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(data, tmp, compression="zstd")
        else:
            import pyarrow.csv as pcsv

            pcsv.write_csv(data, tmp)
        return
    # A DuckDB relation: streamed by DuckDB itself (millions of enterprises never enter Python).
    name = str(tmp).replace("'", "''")
    # USE_TMP_FILE false: the target is already our own temporary file; DuckDB's own tmp_ copy
    # would be left behind by a killed run under a name we cannot prove is ours.
    options = ("FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true") + \
        ", USE_TMP_FILE false"
    res.con.execute(f"COPY ({data.sql_query()}) TO '{name}' ({options})")


# -- Excel ------------------------------------------------------------------------------------------

_HEADERS = {
    "scenario": "方案", "rule": "规则", "title": "措施", "department": "部门", "kind": "类别", "clause": "条款",
    "document": "文件", "monetary": "资金类", "fund_group": "资金池", "static_max": "单项最高(元)",
    "granted_subjects": "可享受(项)", "granted_enterprises": "可享受(家)", "exact": "确定金额(元)",
    "ceiling": "上限金额(元)", "ceiling_subjects": "上限类(项)", "allocated": "分配后(元)",
    "undecided_subjects": "无法判定(项)", "undecided_at_stake": "待定金额至多(元)", "not_eligible": "不符合",
    "stacked_out": "不可叠加", "out_of_jurisdiction": "不适用地区", "not_in_force": "不在有效期", "lead": "线索",
    "subjects": "评估主体数", "area": "地区", "year": "年度", "field": "字段", "label": "说明", "enterprises": "企业(家)",
    "at_stake": "涉及金额至多(元)", "pending": "金额待定(项)", "rules": "影响的规则", "pool": "资金池",
    "cap": "上限(元)", "demand": "需求(元)", "shortfall": "缺口(元)", "remaining": "结余(元)", "claimants": "申请(项)",
    "full": "足额", "partial": "部分", "unfunded": "未获", "method": "分配方式", "base_granted": "现行(项)",
    "reform_granted": "改革(项)", "base_amount": "现行金额(元)", "reform_amount": "改革金额(元)", "delta": "变化(元)",
    "base_undecided": "现行无法判定", "reform_undecided": "改革无法判定", "direction": "方向", "id": "企业编号",
    "name": "企业名称", "base_total": "现行合计(元)", "reform_total": "改革合计(元)", "province": "省", "city": "市",
    "county": "县(市、区)", "district": "区/街道/园区", "granted_measures": "可享受措施数",
    "undecided_measures": "无法判定措施数", "reform_exact": "改革确定金额(元)", "reform_ceiling": "改革上限金额(元)",
    "reform_allocated": "改革分配后(元)", "reform_granted_measures": "改革可享受措施数",
    "reform_undecided_measures": "改革无法判定措施数", "subjects_count": "项",
}
_MONEY_COLS = {"static_max", "exact", "ceiling", "allocated", "undecided_at_stake", "at_stake", "cap", "demand",
               "shortfall", "remaining", "base_amount", "reform_amount", "delta", "base_total", "reform_total",
               "reform_exact", "reform_ceiling", "reform_allocated"}


def _write_xlsx(res: SimulationResult, agg: dict[str, list[dict[str, Any]]], path: Path) -> None:
    import xlsxwriter

    # The workbook holds aggregates only: built in memory, so that a run killed while writing leaves none
    # of xlsxwriter's anonymous temporary files behind (the atomic write already guards the output).
    wb = xlsxwriter.Workbook(str(path), {"in_memory": True})
    try:
        bold = wb.add_format({"bold": True})
        money = wb.add_format({"num_format": "#,##0"})
        head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})

        def sheet(name: str, rows: list[dict[str, Any]], cols: list[str] | None = None) -> Any:
            ws = wb.add_worksheet(name)
            cols = cols or (list(rows[0]) if rows else [])
            for j, c in enumerate(cols):
                ws.write(0, j, _HEADERS.get(c, c), head)
                ws.set_column(j, j, 16 if c in _MONEY_COLS else 12 if c not in ("title", "label", "rules", "name")
                              else 36)
            for i, r in enumerate(rows, start=1):
                for j, c in enumerate(cols):
                    v = r.get(c)
                    if c == "method" and isinstance(v, str):
                        v = METHOD_LABELS.get(v, v)
                    if c == "scenario" and isinstance(v, str):
                        v = {BASELINE: "现行政策", REFORM: "改革方案"}.get(v, v)
                    if isinstance(v, bool):
                        ws.write_boolean(i, j, v)
                    elif isinstance(v, int):
                        ws.write_number(i, j, v, money if c in _MONEY_COLS else None)
                    elif v is None:
                        ws.write_blank(i, j, None)
                    else:
                        ws.write_string(i, j, str(v))
            ws.freeze_panes(1, 0)
            return ws, cols

        # 概览
        ws = wb.add_worksheet("概览")
        ws.set_column(0, 0, 22)
        ws.set_column(1, 1, 90)
        facts: list[tuple[str, Any]] = [
            ("人口", res.population), ("企业数", res.enterprises), ("人口行数", res.population_rows),
            ("模拟日期", "、".join(d.isoformat() for d in res.dates)), ("引擎", res.engine),
            ("规则评估次数", res.rule_evaluations), ("引擎用时(秒)", round(res.engine_seconds, 2)),
            ("总用时(秒)", round(res.total_seconds, 2)), ("资金分配方式", METHOD_LABELS[res.allocation]),
            ("总预算(元)", res.budget if res.budget is not None else "(未设定)"),
        ]
        for s in res.scenarios:
            t = res.totals(s.name)
            facts += [(f"{s.label}:确定金额(元)", t["exact"]), (f"{s.label}:上限金额(元)", t["ceiling"]),
                      (f"{s.label}:分配后(元)", t["allocated"]), (f"{s.label}:可享受(项)", t["granted_subjects"]),
                      (f"{s.label}:无法判定(项)", t["undecided_subjects"])]
        if res.reform is not None:
            facts.append(("改革方案", res.reform.reform.name))
            if res.reform.reform.description:
                facts.append(("说明", res.reform.reform.description))
            facts += [("改动", line) for line in res.reform.lines]
        facts += [("提示", w) for w in res.warnings]
        facts.append(("口径", "确定金额与上限金额(原文为“最高/不超过”)分列;无法判定的不计为0,单列并给出缺少的信息;"
                               "资金池超额时按所选方式分配,金额精确到元"))
        for i, (k, v) in enumerate(facts):
            ws.write_string(i, 0, k, bold)
            if isinstance(v, int) and not isinstance(v, bool):
                ws.write_number(i, 1, v, money)
            else:
                ws.write(i, 1, v)

        by_rule_cols = ["scenario", "title", "rule", "clause", "department", "kind", "granted_subjects",
                        "granted_enterprises", "exact", "ceiling", "allocated", "undecided_subjects",
                        "undecided_at_stake", "not_eligible", "stacked_out", "out_of_jurisdiction", "not_in_force",
                        "fund_group", "static_max"]
        ws, _ = sheet("按措施", agg["by_rule"], by_rule_cols)
        _bar_chart(wb, ws, "按措施:金额(分配后,元)", agg["by_rule"], "title", "allocated", by_rule_cols, "K2")
        group_cols = ["scenario", "{k}", "granted_subjects", "granted_enterprises", "exact", "ceiling", "allocated",
                      "undecided_subjects", "undecided_at_stake"]
        for key, name in (("department", "按部门"), ("area", "按地区"), ("year", "按年度")):
            agg_key = {"department": "by_department", "area": "by_district", "year": "by_year"}[key]
            cols = [c.replace("{k}", key) for c in group_cols]
            ws, _ = sheet(name, agg[agg_key], cols)
            if key == "area":
                _bar_chart(wb, ws, "按地区:金额(分配后,元)", agg[agg_key], "area", "allocated", cols, "K2")
        sheet("无法判定", agg["undecided"], ["scenario", "field", "label", "subjects", "enterprises", "at_stake",
                                          "pending", "rules"])
        sheet("资金分配", agg["pools"], ["scenario", "label", "pool", "year", "cap", "demand", "allocated",
                                     "shortfall", "remaining", "claimants", "full", "partial", "unfunded", "method",
                                     "rules"])
        if res.has_reform:
            cols = ["title", "rule", "base_granted", "reform_granted", "base_amount", "reform_amount", "delta",
                    "base_undecided", "reform_undecided"]
            ws, _ = sheet("改革对比_措施", agg["reform_by_rule"], cols)
            _compare_chart(wb, ws, agg["reform_by_rule"], cols, "title", "K2")
            cols = ["area", "base_granted", "reform_granted", "base_amount", "reform_amount", "delta",
                    "base_undecided", "reform_undecided"]
            ws, _ = sheet("改革对比_地区", agg["reform_by_district"], cols)
            _compare_chart(wb, ws, agg["reform_by_district"], cols, "area", "K2")
            sheet("赢家输家", agg["winners_losers"], ["direction", "id", "name", "area", "base_total", "reform_total",
                                                 "delta"])
        if res.enterprises <= XLSX_ENTERPRISE_LIMIT:
            rel = res.enterprise_relation()
            names = rel.columns
            rows = [dict(zip(names, r, strict=True)) for r in rel.fetchall()]
            sheet("企业明细", rows, names)
    finally:
        wb.close()


def _bar_chart(wb: Any, ws: Any, title: str, rows: list[dict[str, Any]], cat: str, val: str, cols: list[str],
               where: str, limit: int = 20) -> None:
    """Horizontal bar chart of the first ``limit`` baseline rows (sheets are sorted by amount)."""
    idx = [i for i, r in enumerate(rows, start=1) if r.get("scenario", BASELINE) == BASELINE and r.get(val)][:limit]
    if not idx:
        return
    first, last = idx[0], idx[-1]
    chart = wb.add_chart({"type": "bar"})
    chart.add_series({"name": title, "categories": [ws.name, first, cols.index(cat), last, cols.index(cat)],
                      "values": [ws.name, first, cols.index(val), last, cols.index(val)],
                      "data_labels": {"value": False}})
    chart.set_title({"name": title})
    chart.set_legend({"none": True})
    chart.set_y_axis({"reverse": True})
    chart.set_x_axis({"num_format": "#,##0"})
    chart.set_size({"width": 760, "height": max(320, 22 * (last - first + 1) + 120)})
    ws.insert_chart(where, chart)


def _compare_chart(wb: Any, ws: Any, rows: list[dict[str, Any]], cols: list[str], cat: str, where: str,
                   limit: int = 20) -> None:
    """Clustered bars: baseline vs reform amount for the first ``limit`` rows (largest changes first)."""
    n = min(limit, len(rows))
    if n == 0:
        return
    chart = wb.add_chart({"type": "bar"})
    for name, col in (("现行政策", "base_amount"), ("改革方案", "reform_amount")):
        chart.add_series({"name": name, "categories": [ws.name, 1, cols.index(cat), n, cols.index(cat)],
                          "values": [ws.name, 1, cols.index(col), n, cols.index(col)]})
    chart.set_title({"name": "现行政策与改革方案:金额对比(元)"})
    chart.set_y_axis({"reverse": True})
    chart.set_x_axis({"num_format": "#,##0"})
    chart.set_size({"width": 760, "height": max(320, 30 * n + 120)})
    ws.insert_chart(where, chart)
