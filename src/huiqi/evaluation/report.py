"""Reports of an evaluation: Excel with native charts, PNG charts and a self-contained HTML page.

* Excel (xlsxwriter): 汇总 (tables + native column charts: class distribution per
  track, score histogram, district comparison), 企业明细 (every enterprise; split over
  several sheets beyond Excel's row limit), 评价方法 (indicators, bands, rules, sources).
  Always Chinese: Excel renders the text with the reader's fonts.
* PNG (matplotlib, optional): Chinese labels when a CJK font is installed; otherwise
  ASCII labels (districts numbered) and a warning — a PNG with tofu boxes is useless.
* HTML: tables plus the same charts as inline SVG whose text stays text
  (``svg.fonttype = none``), so the browser draws the Chinese with its own fonts.

Excel cells are IEEE doubles: values are written as numbers for sorting and charts;
the exact decimals are in the Parquet / CSV / JSON exports.
"""

from __future__ import annotations

import html
import io
import warnings as pywarnings
from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from huiqi.evaluation.result import STATUS_LABEL, Evaluation, Summary
from huiqi.fsutil import atomic_path

EXCEL_MAX_ROWS = 1_048_575  # data rows per sheet (one header row)
CLASS_COLORS = ["#2e7d32", "#1565c0", "#f9a825", "#c62828", "#6a1b9a", "#455a64"]
_CJK_PROBE = "亩均评价类"


# -- column headers -------------------------------------------------------------------------------

def column_labels(ev: Evaluation) -> dict[str, str]:
    m = ev.methodology
    labels = {
        "id": "企业编号", "name": "企业名称", "province": "省", "city": "市", "county": "县(市、区)",
        "district": "乡镇(街道)", "industry": "行业", "year": "年度", "method": "评价方法", "track": "分组代码",
        "track_label": "评价分组", "graded": "参评", "exclusion": "不参评代码", "exclusion_reason": "不参评原因",
        "total_score": "总分", "rank_in_track": "组内排名", "track_size": "组内参评数", "percentile": "排名百分位",
        "band_class": "按分档类别", "class": "最终类别", "class_order": "类别序号", "quota_exempt": "不占比例",
        "overrides": "适用的特别规则", "reason": "评价理由", "consequence_total": "差别化加价合计(元/年)",
        "eligibility": "政策资格",
    }
    for ind in m.indicators:
        unit = f"({ind.unit})" if ind.unit else ""
        labels[f"{ind.id}_value"] = f"{ind.label}{unit}"
        labels[f"{ind.id}_status"] = f"{ind.label}数据状态"
        labels[f"{ind.id}_benchmark"] = f"{ind.label}基准值"
        labels[f"{ind.id}_score"] = f"{ind.label}得分"
    for c in m.consequences:
        labels[f"{c.id}_amount"] = f"{c.label}(元/年)"
    return labels


# -- Excel ---------------------------------------------------------------------------------------------

def _num(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    return value


def write_xlsx(ev: Evaluation, target: Path) -> None:
    import xlsxwriter

    s = ev.summary
    with atomic_path(target) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_numbers": False})
        try:
            fmt = _formats(wb)
            _summary_sheet(wb, fmt, ev, s)
            _detail_sheets(wb, fmt, ev)
            _method_sheet(wb, fmt, ev)
        finally:
            wb.close()


def _formats(wb: Any) -> dict[str, Any]:
    return {
        "title": wb.add_format({"bold": True, "font_size": 14}),
        "head": wb.add_format({"bold": True, "bg_color": "#e3eaf2", "border": 1, "text_wrap": True}),
        "cell": wb.add_format({"border": 1}),
        "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
        "note": wb.add_format({"italic": True, "font_color": "#666666"}),
    }


def _table(ws: Any, fmt: dict[str, Any], row: int, title: str, header: Sequence[str],
           rows: Sequence[Sequence[object]]) -> tuple[int, int, int]:
    """Write a titled table; return (first data row, last data row, next free row)."""
    ws.write(row, 0, title, fmt["title"])
    ws.write_row(row + 1, 0, list(header), fmt["head"])
    for i, r in enumerate(rows):
        ws.write_row(row + 2 + i, 0, [_num(v) for v in r], fmt["cell"])
    first, last = row + 2, row + 1 + max(len(rows), 1)
    return first, last, row + 3 + len(rows) + 1


def _summary_sheet(wb: Any, fmt: dict[str, Any], ev: Evaluation, s: Summary) -> None:
    m = ev.methodology
    ws = wb.add_worksheet("汇总")
    ws.set_column(0, 0, 28)
    ws.set_column(1, 12, 11)
    ws.write(0, 0, f"{m.name} — {ev.year if ev.year is not None else ''}年度评价结果", fmt["title"])
    ws.write(1, 0, f"企业 {s.total} 家,参评 {s.graded} 家,不参评 {s.excluded} 家;计算引擎 {ev.engine};"
                   f"数据来源 {ev.source}", fmt["note"])
    classes = s.classes
    row = 3
    first, last, row = _table(ws, fmt, row, "各分组类别分布", ["分组", "参评", *[f"{c}类" for c in classes]],
                              [[r["group"], r["graded"], *[r[c] for c in classes]] for r in s.by_track])
    track_rows = (first, last)
    first, last, row = _table(ws, fmt, row, "各乡镇(街道)类别分布", ["乡镇(街道)", "参评", *[f"{c}类" for c in classes]],
                              [[r["group"], r["graded"], *[r[c] for c in classes]] for r in s.by_district])
    district_rows = (first, last)
    _, _, row = _table(ws, fmt, row, "各行业类别分布", ["行业", "参评", *[f"{c}类" for c in classes]],
                       [[r["group"], r["graded"], *[r[c] for c in classes]] for r in s.by_industry])
    hist = _histogram_rows(s)
    first, last, row = _table(ws, fmt, row, "总分分布(每10分一档)", ["分数段", *[t for t in hist[0]]],
                              [[label, *counts] for label, counts in hist[1]])
    hist_rows = (first, last, len(hist[0]))
    _, _, row = _table(ws, fmt, row, "不参评原因", ["原因", "企业数"],
                       [[e["reason"], e["count"]] for e in s.exclusions])
    _, _, row = _table(ws, fmt, row, "特别规则", ["规则", "适用企业数", "是否占比例"],
                       [[o["label"], o["applied"], "不占" if o["quota"] == "exempt" else "占"] for o in s.overrides])
    _, _, row = _table(ws, fmt, row, "基准值", ["指标", "分组", "方法", "基准值", "有效数据企业数"],
                       [[f"{b['label']}({b['unit'] or ''})", b["track_label"], b["method"], b["benchmark"],
                         b["valid_values"]] for b in s.benchmarks])
    cons_rows: list[list[object]] = []
    for c in s.consequences:
        if "by_class" in c:
            for cls, v in c["by_class"].items():
                cons_rows.append([c["label"], f"{cls}类", v["enterprises"], v["amount"]])
        else:
            cons_rows.append([c["label"], "、".join(c["classes"]) + "类", c["enterprises"], None])
    _, _, row = _table(ws, fmt, row, "差别化政策", ["政策", "类别", "企业数", "年度金额(元)"], cons_rows)
    if s.warnings:
        ws.write(row, 0, "提示", fmt["title"])
        for i, w in enumerate(s.warnings):
            ws.write(row + 1 + i, 0, w, fmt["note"])

    # Native charts reference the tables above, so they stay live if a user edits numbers.
    chart = wb.add_chart({"type": "column", "subtype": "stacked"})
    for k, cls in enumerate(classes):
        chart.add_series({"name": f"{cls}类", "categories": ["汇总", track_rows[0], 0, track_rows[1], 0],
                          "values": ["汇总", track_rows[0], 2 + k, track_rows[1], 2 + k],
                          "fill": {"color": CLASS_COLORS[k % len(CLASS_COLORS)]}})
    chart.set_title({"name": "各分组类别分布"})
    chart.set_y_axis({"name": "企业数"})
    ws.insert_chart(3, 9, chart, {"x_scale": 1.3, "y_scale": 1.1})

    hist_chart = wb.add_chart({"type": "column"})
    for k in range(hist_rows[2]):
        hist_chart.add_series({"name": ["汇总", hist_rows[0] - 1, 1 + k],
                               "categories": ["汇总", hist_rows[0], 0, hist_rows[1], 0],
                               "values": ["汇总", hist_rows[0], 1 + k, hist_rows[1], 1 + k], "gap": 20})
    hist_chart.set_title({"name": "总分分布"})
    hist_chart.set_x_axis({"name": "总分"})
    hist_chart.set_y_axis({"name": "企业数"})
    ws.insert_chart(21, 9, hist_chart, {"x_scale": 1.3, "y_scale": 1.1})

    district_chart = wb.add_chart({"type": "bar", "subtype": "percent_stacked"})
    for k, cls in enumerate(classes):
        district_chart.add_series({"name": f"{cls}类", "categories": ["汇总", district_rows[0], 0, district_rows[1], 0],
                                   "values": ["汇总", district_rows[0], 2 + k, district_rows[1], 2 + k],
                                   "fill": {"color": CLASS_COLORS[k % len(CLASS_COLORS)]}})
    district_chart.set_title({"name": "各乡镇(街道)类别构成"})
    ws.insert_chart(39, 9, district_chart, {"x_scale": 1.3, "y_scale": 1.3})


def _histogram_rows(s: Summary) -> tuple[list[str], list[tuple[str, list[int]]]]:
    tracks = sorted({h["track"] for h in s.histogram}) or ["(无)"]
    bins = sorted({h["bin"] for h in s.histogram})
    counts = {(h["track"], h["bin"]): h["count"] for h in s.histogram}
    rows = [(f"{b}–{b + 10}", [counts.get((t, b), 0) for t in tracks]) for b in bins]
    return tracks, rows or [("—", [0] * len(tracks))]


def _detail_sheets(wb: Any, fmt: dict[str, Any], ev: Evaluation) -> None:
    labels = column_labels(ev)
    names = [n for n in ev.enterprises.column_names if n != "class_order"]
    header = [labels.get(n, n) for n in names]
    sheet_no, row = 0, EXCEL_MAX_ROWS
    ws = None
    for batch in ev.enterprises.select(names).to_batches(max_chunksize=50_000):
        for rec in batch.to_pylist():
            if row >= EXCEL_MAX_ROWS:
                sheet_no += 1
                ws = wb.add_worksheet("企业明细" if sheet_no == 1 else f"企业明细{sheet_no}")
                ws.write_row(0, 0, header, fmt["head"])
                ws.freeze_panes(1, 2)
                row = 0
            assert ws is not None
            row += 1
            ws.write_row(row, 0, [_cell(n, rec[n]) for n in names])
    if ws is None:
        ws = wb.add_worksheet("企业明细")
        ws.write_row(0, 0, header, fmt["head"])


def _cell(name: str, value: object) -> object:
    if name.endswith("_status") and isinstance(value, str):
        return STATUS_LABEL.get(value, value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return _num(value)


def _method_sheet(wb: Any, fmt: dict[str, Any], ev: Evaluation) -> None:
    m = ev.methodology
    ws = wb.add_worksheet("评价方法")
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 48)
    ws.set_column(2, 8, 14)
    ws.write(0, 0, m.name, fmt["title"])
    ws.write(1, 0, (m.description or "").strip(), fmt["wrap"])
    direction = {"higher": "越高越好", "lower": "越低越好"}
    missing = {"exclude": "不参评", "zero": "0分", "track_average": "组内平均得分", "max_score": "最高分"}
    rows = [[ind.label, ind.formula, direction[ind.direction], ind.weight,
             f"{ind.benchmark.method}×{ind.benchmark.multiple}", (ind.cap if ind.cap is not None else m.scoring.cap),
             missing[ind.missing], missing[ind.zero_divisor_treatment]] for ind in m.indicators]
    _, _, row = _table(ws, fmt, 3, "指标", ["指标", "公式", "方向", "权重", "基准值", "上限(×权重)", "缺失/无效", "除数为零"], rows)
    bands = [[b.display, f"{b.upto * 100}%" if b.upto is not None else (b.min_score if b.min_score is not None else "其余")]
             for b in m.grading.bands]
    _, _, row = _table(ws, fmt, row, f"分档({'按比例' if m.grading.method == 'percentile' else '按分数线'})",
                       ["类别", "累计比例上限 / 最低分"], bands)
    _, _, row = _table(ws, fmt, row, "不参评条件", ["原因", "条件"], [[e.label, e.when] for e in m.exclusions])
    _, _, row = _table(ws, fmt, row, "特别规则(按顺序适用)", ["规则", "条件", "动作", "类别", "比例"],
                       [[r.label, r.when, {"set": "定为", "not_below": "不低于", "not_above": "不高于"}[r.action],
                         r.class_, "不占" if r.quota == "exempt" else "占"] for r in m.class_rules])
    _table(ws, fmt, row, "出处", ["文件", "文号", "条款", "性质", "说明"],
           [[src.title, src.doc_number or "", src.clause or "",
             {"seed": "种子原文", "published": "公开文件", "modelled": "参照通行做法建模"}[src.kind], src.note or ""]
            for src in m.sources])


# -- charts (matplotlib) -------------------------------------------------------------------------

@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """Path of an installed font that has CJK glyphs, or None."""
    try:
        from matplotlib import font_manager
        from matplotlib.ft2font import FT2Font
    except ImportError:
        return None
    preferred = ("wqy", "noto sans cjk", "notosanscjk", "source han", "droid sans fallback", "simhei", "yahei",
                 "pingfang", "ukai", "uming", "arphic")
    entries = sorted(font_manager.fontManager.ttflist,
                     key=lambda f: (not any(p in (f.name + f.fname).lower() for p in preferred), f.fname))
    for entry in entries:
        # matplotlib ≥ 3.10 ships "Last Resort", which maps every code point to a placeholder box.
        if "lastresort" in (entry.name + entry.fname).lower().replace(" ", ""):
            continue
        try:
            font = FT2Font(entry.fname)
            if all(font.get_char_index(ord(ch)) for ch in _CJK_PROBE):
                return str(entry.fname)
        except Exception:  # unreadable font files are simply skipped
            continue
    return None


class _Labels:
    """Chinese labels, or ASCII ones when the PNG cannot show Chinese."""

    ASCII: ClassVar[dict[str, str]] = {"各分组类别分布": "Classes per track", "企业数": "Enterprises", "总分分布": "Total score distribution",
             "总分": "Total score", "各乡镇(街道)类别构成": "Classes per district (share)", "占比": "Share"}

    def __init__(self, chinese: bool) -> None:
        self.chinese = chinese
        self.legend: dict[str, str] = {}

    def fixed(self, text: str) -> str:
        return text if self.chinese else self.ASCII.get(text, text)

    def data(self, text: str, prefix: str) -> str:
        if self.chinese or text.isascii():
            return text
        code = self.legend.setdefault(text, f"{prefix}{len([k for k in self.legend if self.legend[k].startswith(prefix)]) + 1}")
        return code


def _figures(ev: Evaluation, chinese: bool) -> tuple[list[tuple[str, Any]], dict[str, str]]:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    s = ev.summary
    lab = _Labels(chinese)
    classes = s.classes
    figs: list[tuple[str, Any]] = []

    fig, ax = plt.subplots(figsize=(7, 4))
    groups = [lab.data(r["group"], "T") for r in s.by_track]
    bottom = [0] * len(groups)
    for k, cls in enumerate(classes):
        values = [r[cls] for r in s.by_track]
        ax.bar(groups, values, bottom=bottom, label=f"{cls}" + ("类" if chinese else ""),
               color=CLASS_COLORS[k % len(CLASS_COLORS)])
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_title(lab.fixed("各分组类别分布"))
    ax.set_ylabel(lab.fixed("企业数"))
    ax.legend()
    fig.tight_layout()
    figs.append(("classes_by_track", fig))

    fig, ax = plt.subplots(figsize=(7, 4))
    tracks, rows = _histogram_rows(s)
    width = 8 / max(len(tracks), 1)
    for k, t in enumerate(tracks):
        xs = [int(label.split("–")[0]) + k * width + width / 2 if "–" in label else 0 for label, _ in rows]
        ax.bar(xs, [counts[k] for _, counts in rows], width=width, label=lab.data(t, "T"))
    ax.set_title(lab.fixed("总分分布"))
    ax.set_xlabel(lab.fixed("总分"))
    ax.set_ylabel(lab.fixed("企业数"))
    ax.legend()
    fig.tight_layout()
    figs.append(("score_histogram", fig))

    fig, ax = plt.subplots(figsize=(7, max(3, 0.45 * len(s.by_district) + 1.5)))
    names = [lab.data(r["group"], "D") for r in s.by_district]
    left = [0.0] * len(names)
    for k, cls in enumerate(classes):
        shares = [r[cls] / r["graded"] if r["graded"] else 0.0 for r in s.by_district]
        ax.barh(names, shares, left=left, label=f"{cls}" + ("类" if chinese else ""),
                color=CLASS_COLORS[k % len(CLASS_COLORS)])
        left = [a + b for a, b in zip(left, shares, strict=True)]
    ax.set_title(lab.fixed("各乡镇(街道)类别构成"))
    ax.set_xlabel(lab.fixed("占比"))
    ax.invert_yaxis()
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    figs.append(("classes_by_district", fig))
    return figs, lab.legend


def write_png_charts(ev: Evaluation, out_dir: str | Path) -> tuple[list[Path], list[str]]:
    """PNG charts; returns (files, warnings). Chinese labels only with a CJK font installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return [], ["未安装 matplotlib,未生成 PNG 图表(Excel 与 HTML 报告不受影响)"]
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    notes: list[str] = []
    font = cjk_font()
    rc: Any = {}
    if font is not None:
        font_manager.fontManager.addfont(font)
        rc["font.family"] = font_manager.FontProperties(fname=font).get_name()
        rc["axes.unicode_minus"] = False
    else:
        notes.append("未找到中文字体,PNG 图表改用英文标签,乡镇/分组以编号表示"
                     "(安装 fonts-wqy-microhei 后重新生成即可显示中文;Excel 与 HTML 报告始终为中文)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    with plt.rc_context(rc):
        figs, legend = _figures(ev, chinese=font is not None)
        for name, fig in figs:
            target = out / f"{ev.method}-{ev.year}-{name}.png"
            with atomic_path(target) as tmp:
                fig.savefig(tmp, dpi=120, format="png")
            plt.close(fig)
            files.append(target)
    if legend:
        notes.append("PNG 编号对照:" + ";".join(f"{v}={k}" for k, v in legend.items()))
    return files, notes


def svg_charts(ev: Evaluation) -> list[tuple[str, str]]:
    """(name, inline SVG) with text kept as text, so the browser renders the Chinese labels."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return []
    import matplotlib.pyplot as plt

    out: list[tuple[str, str]] = []
    with plt.rc_context({"svg.fonttype": "none", "font.family": ["sans-serif"],
                         "font.sans-serif": ["Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei",
                                             "PingFang SC", "SimHei", "DejaVu Sans"]}), pywarnings.catch_warnings():
        # Layout is measured with whatever font exists here; missing-glyph warnings are expected.
        pywarnings.simplefilter("ignore")
        figs, _ = _figures(ev, chinese=True)
        for name, fig in figs:
            buf = io.StringIO()
            fig.savefig(buf, format="svg")
            plt.close(fig)
            svg = buf.getvalue()
            out.append((name, svg[svg.index("<svg"):]))
    return out


# -- HTML -------------------------------------------------------------------------------------------------

def _html_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_html(ev: Evaluation, target: Path) -> None:
    import duckdb

    m, s = ev.methodology, ev.summary
    classes = s.classes
    parts = [
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>{html.escape(m.name)}</title>",
        "<style>body{font-family:'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;margin:2em;}"
        "table{border-collapse:collapse;margin:1em 0;}th,td{border:1px solid #ccc;padding:3px 8px;font-size:13px;}"
        "th{background:#e3eaf2;}h2{margin-top:1.6em;}.charts svg{max-width:760px;height:auto;display:block;}"
        ".note{color:#666;}</style></head><body>",
        f"<h1>{html.escape(m.name)} — {ev.year if ev.year is not None else ''}年度评价结果</h1>",
        f"<p class='note'>企业 {s.total} 家,参评 {s.graded} 家,不参评 {s.excluded} 家;计算引擎 {ev.engine};"
        f"数据来源 {html.escape(ev.source)};生成时间 {ev.created}</p>",
    ]
    for w in s.warnings:
        parts.append(f"<p class='note'>提示:{html.escape(w)}</p>")
    parts.append("<h2>图表</h2><div class='charts'>")
    charts = svg_charts(ev)
    parts += [svg for _, svg in charts] or ["<p class='note'>未安装 matplotlib,未生成图表。</p>"]
    parts.append("</div>")
    parts.append("<h2>各分组类别分布</h2>")
    parts.append(_html_table(["分组", "参评", *[f"{c}类" for c in classes]],
                             [[r["group"], r["graded"], *[r[c] for c in classes]] for r in s.by_track]))
    parts.append("<h2>各乡镇(街道)类别分布</h2>")
    parts.append(_html_table(["乡镇(街道)", "参评", *[f"{c}类" for c in classes]],
                             [[r["group"], r["graded"], *[r[c] for c in classes]] for r in s.by_district]))
    parts.append("<h2>不参评原因</h2>")
    parts.append(_html_table(["原因", "企业数"], [[e["reason"], e["count"]] for e in s.exclusions]))
    parts.append("<h2>基准值</h2>")
    parts.append(_html_table(["指标", "分组", "方法", "基准值"],
                             [[b["label"], b["track_label"], b["method"], b["benchmark"]] for b in s.benchmarks]))
    parts.append("<h2>差别化政策</h2>")
    rows: list[list[object]] = []
    for c in s.consequences:
        if "by_class" in c:
            rows += [[c["label"], f"{k}类", v["enterprises"], v["amount"]] for k, v in c["by_class"].items()]
        else:
            rows.append([c["label"], "、".join(c["classes"]) + "类", c["enterprises"], ""])
    parts.append(_html_table(["政策", "类别", "企业数", "年度金额(元)"], rows))
    con = duckdb.connect()
    try:
        con.register("ev", ev.enterprises)
        for cls in (classes[0], classes[-1]):
            picked = con.execute("SELECT id, name, district, track_label, total_score, reason FROM ev "
                                 "WHERE class = ? ORDER BY total_score DESC, id LIMIT 50", [cls]).fetchall()
            parts.append(f"<h2>{cls}类企业(前50家)</h2>")
            parts.append(_html_table(["编号", "名称", "乡镇(街道)", "分组", "总分", "理由"], picked))
    finally:
        con.close()
    parts.append("</body></html>")
    with atomic_path(target) as tmp:
        tmp.write_text("\n".join(parts), encoding="utf-8")
