"""Terminal rendering of documents, measures and policy-base queries (Rich)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.tree import Tree

from huiqi.document import Comparator, Document, Measure, Provision, ProvisionKind

COMPARATOR_ZH = {
    Comparator.GE: "≥(含)",
    Comparator.GT: ">(不含)",
    Comparator.LE: "≤(含)",
    Comparator.LT: "<(不含)",
    Comparator.EQ: "=",
    Comparator.APPROX: "≈",
}
KIND_ZH = {
    ProvisionKind.AMOUNT: "金额",
    ProvisionKind.CAP: "上限",
    ProvisionKind.THRESHOLD: "门槛",
    ProvisionKind.RANGE: "区间",
    ProvisionKind.RATE: "比例",
    ProvisionKind.PER_UNIT: "单价",
    ProvisionKind.TIME_LIMIT: "时限",
    ProvisionKind.COUNT: "数量",
    ProvisionKind.RATIO: "比例关系",
    ProvisionKind.QUANTITY: "数量值",
}


def format_yuan(yuan: int | None) -> str:
    """Money as officials read it: 万元 when exact, else 元, never rounded."""
    if yuan is None:
        return "—"
    if yuan != 0 and yuan % 100_000_000 == 0:
        return f"{yuan // 100_000_000:,}亿元"
    if yuan % 10000 == 0:
        return f"{yuan // 10000:,}万元"
    if yuan % 100 == 0 and yuan >= 10000:
        return f"{Decimal(yuan) / 10000:,}万元"
    return f"{yuan:,}元"


def provision_value(p: Provision) -> str:
    if p.kind == ProvisionKind.RANGE:
        lo = format_yuan(p.low_yuan) if p.low_yuan is not None else f"{p.low}{p.unit}"
        hi = format_yuan(p.high_yuan) if p.high_yuan is not None else f"{p.high}{p.unit}"
        lo_mark = "[" if p.low_inclusive else "("
        hi_mark = "]" if p.high_inclusive else ")"
        return f"{lo_mark}{lo}, {hi}{hi_mark}"
    if p.yuan is not None:
        text = format_yuan(p.yuan)
        if p.per:
            text += f"/{p.per}"
        return text
    return f"{p.value if p.value is not None else ''}{p.unit}"


def render_document(console: Console, doc: Document) -> None:
    meta = Table.grid(padding=(0, 2))
    meta.add_column(style="bold")
    meta.add_column()
    region = "".join(x for x in (doc.region.province, doc.region.city, doc.region.county) if x) or "—"
    rows = [
        ("标题", doc.title),
        ("文号", doc.doc_number or "—"),
        ("发文机关", "、".join(doc.issuers) or "—"),
        ("地区", region),
        ("成文日期", str(doc.signed_date or "—")),
        ("发布日期", str(doc.published_date or "—")),
        ("有效期", f"{doc.effective_from or '?'} 至 {doc.effective_to or '?'}"),
        ("状态", doc.status_label or ("草案" if doc.status == "draft" else "正式")),
        ("文字", {"simplified": "简体", "traditional": "繁体", "mixed": "繁简混合"}[doc.script]),
        ("id", doc.id),
    ]
    for k, v in rows:
        meta.add_row(k, v)
    console.print(Panel(meta, title="文件信息"))

    tree = Tree(f"[bold]{doc.title}[/] 条款目录({len(doc.measures)} 条)")
    nodes: dict[str, Tree] = {}
    for m in doc.measures:
        parent = nodes.get("/".join(m.path), tree)
        extra = []
        if m.units.all:
            extra.append("、".join(m.units.lead or m.units.all[:3]) + ("…" if len(m.units.all) > 3 else ""))
        if m.provisions:
            extra.append(f"{len(m.provisions)} 个数量条款")
        suffix = f" [dim]({';'.join(extra)})[/]" if extra else ""
        nodes[m.key] = parent.add(f"[cyan]{m.key}[/] {m.title}{suffix}")
    console.print(tree)

    q = doc.quality
    if q.boilerplate_removed or q.repaired or q.unreadable or q.warnings:
        console.print(
            f"质量:去除网页框架 {len(q.boilerplate_removed)} 处;修复乱码 {len(q.repaired)} 处;"
            f"无法识读 {len(q.unreadable)} 处;未解析数字 {len(q.unparsed_numbers)} 处"
        )
        for w in q.warnings:
            console.print(f"[yellow]提示[/]:{w}")


def render_measure(console: Console, doc: Document, m: Measure) -> None:
    console.print(Panel(m.text, title=f"{doc.title} · {m.key} {m.title}", subtitle=doc.doc_number or None))
    if m.units.all:
        console.print(
            f"责任单位:{'、'.join(m.units.all)}"
            + (f";牵头:{'、'.join(m.units.lead)}" if m.units.lead else "")
            + (f";配合:{'、'.join(m.units.support)}" if m.units.support else "")
        )
    if m.provisions:
        table = Table(title="数量条款")
        for col in ("类型", "原文", "数值", "比较", "上限?", "对象/范围"):
            table.add_column(col, overflow="fold")
        for p in m.provisions:
            table.add_row(
                KIND_ZH.get(p.kind, p.kind),
                p.text,
                provision_value(p),
                COMPARATOR_ZH.get(p.comparator, "") if p.comparator else "",
                "是(最高额)" if p.upper_bound else "",
                "、".join(x for x in (p.subject, p.scope) if x),
            )
        console.print(table)
    targets = [t for t in doc.targets if t.measure == m.key]
    if targets:
        render_targets(console, [_TargetRow.of(doc, t) for t in targets])


class _TargetRow:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)

    @classmethod
    def of(cls, doc: Document, t: Any) -> _TargetRow:
        return cls(
            document_id=doc.id, document_title=doc.title, measure_key=t.measure, indicator=t.indicator,
            value=t.value, unit=t.unit, comparator=t.comparator, stretch_value=t.stretch_value,
            year=t.year, text=t.text,
        )


def render_targets(console: Console, rows: Sequence[Any]) -> None:
    table = Table(title=f"目标({len(rows)} 项)")
    for col in ("文件", "条款", "指标", "目标值", "力争", "年份"):
        table.add_column(col, overflow="fold")
    for r in rows:
        comp = COMPARATOR_ZH.get(r.comparator, "") if r.comparator else ""
        table.add_row(
            str(r.document_title)[:20],
            str(r.measure_key or "总体"),
            r.indicator,
            f"{comp}{r.value}{r.unit}",
            f"{r.stretch_value}{r.unit}" if r.stretch_value is not None else "",
            str(r.year or ""),
        )
    console.print(table)


def render_units(console: Console, rows: Sequence[Any], limit: int = 50) -> None:
    """One line per unit: how many measures it leads, supports or shares, and where."""
    by_unit: dict[str, list[Any]] = {}
    for r in rows:
        by_unit.setdefault(r.unit, []).append(r)
    ranked = sorted(by_unit.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    table = Table(title=f"责任矩阵({len(by_unit)} 个单位,{len(rows)} 项责任)")
    for col in ("单位", "措施数", "牵头", "配合", "负责", "文件数", "措施(示例)"):
        table.add_column(col, overflow="fold")
    for unit, items in ranked[:limit]:
        roles = [i.role for i in items]
        docs = {i.document_id for i in items}
        examples = ";".join(f"{i.measure_key} {i.measure_title[:12]}" for i in items[:3])
        table.add_row(
            unit,
            str(len(items)),
            str(roles.count("lead")),
            str(roles.count("support")),
            str(roles.count("member")),
            str(len(docs)),
            examples + ("…" if len(items) > 3 else ""),
        )
    console.print(table)
    if len(ranked) > limit:
        console.print(f"[dim]另有 {len(ranked) - limit} 个单位未显示;用 --limit 或 --xlsx 查看全部[/]")


def render_search(console: Console, query: str, hits: Sequence[Any]) -> None:
    if not hits:
        console.print(f"没有找到包含“{query}”的条款")
        return
    table = Table(title=f"检索“{query}”:{len(hits)} 条")
    for col in ("文件", "条款", "标题", "摘要"):
        table.add_column(col, overflow="fold")
    for h in hits:
        snippet = h.snippet.replace("【", "[bold yellow]").replace("】", "[/]")
        table.add_row(str(h.document_title)[:18], h.measure_key, h.measure_title[:20], snippet)
    console.print(table)
