"""Read-side queries over the policy base: responsibility matrix, targets, full-text search.

Results are ordered in Python rather than with ORDER BY on text columns: PostgreSQL
sorts text by the database collation, SQLite by code point, and both backends must
return the same rows in the same order.
"""

from __future__ import annotations

import os
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from huiqi.errors import HuiqiError
from huiqi.fsutil import atomic_path
from huiqi.policybase.segment import fold, normalize_query, query_terms
from huiqi.policybase.store import PolicyBase

ROLE_LABELS = {"lead": "牵头", "support": "配合", "member": "参与"}
_ROLE_ORDER = {"lead": 0, "support": 1, "member": 2}


def _excerpt(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width] + "…"


# ---- responsibility matrix -----------------------------------------------------------


@dataclass(frozen=True)
class MatrixRow:
    unit: str
    role: str  # lead | support | member
    document_id: str
    document_title: str
    doc_number: str | None
    measure_key: str
    measure_title: str  # the measure's title, or the start of its text when untitled
    measure_ord: int

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


@dataclass
class MatrixPivot:
    """Measures per unit per document; a unit named twice in one measure counts once."""

    units: list[str]
    documents: list[tuple[str, str]]  # (id, title) in column order
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (unit, document id) -> measures
    by_role: dict[tuple[str, str], int] = field(default_factory=dict)  # (unit, role) -> measures

    def total(self, unit: str) -> int:
        return sum(n for (u, _), n in self.counts.items() if u == unit)


def responsibility_matrix(pb: PolicyBase, document: str | None = None) -> list[MatrixRow]:
    """Every (unit, measure) responsibility, by unit, then document, then measure order."""
    sql = (
        "SELECT u.unit, u.role, u.document_id, d.title AS document_title, d.doc_number, "
        "u.measure_key, u.measure_ord, m.title AS measure_title, m.text AS measure_text "
        "FROM units u JOIN documents d ON d.id = u.document_id "
        "JOIN measures m ON m.document_id = u.document_id AND m.ord = u.measure_ord"
    )
    params: tuple[Any, ...] = ()
    if document is not None:
        sql += " WHERE u.document_id = ?"
        params = (pb.resolve_id(document),)
    rows = [
        MatrixRow(
            unit=r["unit"],
            role=r["role"],
            document_id=r["document_id"],
            document_title=r["document_title"],
            doc_number=r["doc_number"],
            measure_key=r["measure_key"],
            measure_title=r["measure_title"] or _excerpt(r["measure_text"]),
            measure_ord=int(r["measure_ord"]),
        )
        for r in pb.db.query(sql, params)
    ]
    rows.sort(
        key=lambda r: (r.unit, r.document_title, r.document_id, r.measure_ord, _ROLE_ORDER.get(r.role, 9))
    )
    return rows


def matrix_pivot(rows: list[MatrixRow]) -> MatrixPivot:
    units = sorted({r.unit for r in rows})
    docs = sorted({(r.document_id, r.document_title) for r in rows}, key=lambda d: (d[1], d[0]))
    seen: set[tuple[str, str, int]] = set()
    counts: Counter[tuple[str, str]] = Counter()
    by_role: Counter[tuple[str, str]] = Counter()
    for r in rows:
        if (r.unit, r.document_id, r.measure_ord) in seen:
            continue
        seen.add((r.unit, r.document_id, r.measure_ord))
        counts[(r.unit, r.document_id)] += 1
        by_role[(r.unit, r.role)] += 1
    return MatrixPivot(units, docs, dict(counts), dict(by_role))


def _display_width(value: object) -> int:
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def export_matrix_xlsx(rows: list[MatrixRow], path: str | os.PathLike[str]) -> Path:
    """Write 责任清单 (one row per responsibility) and 汇总 (unit × document counts)."""
    import xlsxwriter

    target = Path(path)
    pivot = matrix_pivot(rows)
    headers = ["责任单位", "角色", "文件标题", "文号", "措施编号", "措施标题", "文件ID"]
    detail = [
        [
            r.unit,
            r.role_label,
            r.document_title,
            r.doc_number or "",
            r.measure_key,
            r.measure_title,
            r.document_id,
        ]
        for r in rows
    ]
    # Two documents may share a title; the id prefix keeps summary columns distinguishable.
    title_count = Counter(title for _, title in pivot.documents)
    doc_headers = [t if title_count[t] == 1 else f"{t}({i[:8]})" for i, t in pivot.documents]
    summary_headers = ["责任单位", "牵头", "配合", "参与", "合计", *doc_headers]
    summary = [
        [
            unit,
            pivot.by_role.get((unit, "lead"), 0),
            pivot.by_role.get((unit, "support"), 0),
            pivot.by_role.get((unit, "member"), 0),
            pivot.total(unit),
            *(pivot.counts.get((unit, doc_id), 0) for doc_id, _ in pivot.documents),
        ]
        for unit in pivot.units
    ]

    with atomic_path(target) as tmp:
        wb = xlsxwriter.Workbook(str(tmp))
        try:
            head = wb.add_format(
                {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
            )
            cell = wb.add_format({"valign": "top", "text_wrap": True})
            _write_sheet(wb.add_worksheet("责任清单"), headers, detail, head, cell, freeze_cols=1)
            _write_sheet(wb.add_worksheet("汇总"), summary_headers, summary, head, cell, freeze_cols=1)
        finally:
            wb.close()
    return target


def _write_sheet(
    ws: Any, headers: list[str], rows: list[list[Any]], head: Any, cell: Any, freeze_cols: int
) -> None:
    ws.write_row(0, 0, headers, head)
    for i, row in enumerate(rows, start=1):
        ws.write_row(i, 0, row, cell)
    ws.freeze_panes(1, freeze_cols)
    if rows:
        ws.autofilter(0, 0, len(rows), len(headers) - 1)
    for col, header in enumerate(headers):
        widest = max([_display_width(header) + 2, *(_display_width(r[col]) for r in rows)])
        ws.set_column(col, col, min(max(widest + 1, 6), 60))


# ---- targets -------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetRow:
    document_id: str
    document_title: str
    measure_key: str | None
    indicator: str
    value: Decimal
    unit: str
    comparator: str | None
    stretch_value: Decimal | None
    year: int | None
    text: str


def targets(pb: PolicyBase, document: str | None = None) -> list[TargetRow]:
    """Quantified goals, by document then position; ``document`` is any reference find accepts."""
    sql = (
        "SELECT t.document_id, d.title, t.ord, t.measure_key, t.indicator, t.value, t.unit, "
        "t.comparator, t.stretch_value, t.year, t.text FROM targets t JOIN documents d ON d.id = t.document_id"
    )
    params: tuple[Any, ...] = ()
    if document is not None:
        sql += " WHERE t.document_id = ?"
        params = (pb.resolve_id(document),)
    rows = pb.db.query(sql, params)
    rows.sort(key=lambda r: (r["title"], r["document_id"], r["ord"]))
    return [
        TargetRow(
            document_id=r["document_id"],
            document_title=r["title"],
            measure_key=r["measure_key"],
            indicator=r["indicator"],
            value=Decimal(r["value"]),
            unit=r["unit"],
            comparator=r["comparator"],
            stretch_value=None if r["stretch_value"] is None else Decimal(r["stretch_value"]),
            year=None if r["year"] is None else int(r["year"]),
            text=r["text"],
        )
        for r in rows
    ]


# ---- full-text search ----------------------------------------------------------------


@dataclass(frozen=True)
class SearchHit:
    document_id: str
    document_title: str
    doc_number: str | None
    measure_key: str
    measure_title: str
    snippet: str  # matches wrapped in 【】
    score: float  # higher is better; comparable within one result list only


def _snippet(text: str, terms: list[str], width: int = 60, marks: tuple[str, str] = ("【", "】")) -> str:
    folded = fold(text)
    ordered = sorted({t for t in terms if t}, key=len, reverse=True)
    first = min((p for p in (folded.find(t) for t in ordered) if p >= 0), default=0)
    start = max(0, first - width // 3)
    end = min(len(text), start + width)
    start = max(0, min(start, end - width))
    # Mark non-overlapping occurrences, longest terms first, within the window.
    window = folded[start:end]
    marked = [False] * len(window)
    spans: list[tuple[int, int]] = []
    for t in ordered:
        pos = window.find(t)
        while pos >= 0:
            if not any(marked[pos : pos + len(t)]):
                spans.append((pos, pos + len(t)))
                for k in range(pos, pos + len(t)):
                    marked[k] = True
            pos = window.find(t, pos + len(t))
    original = text[start:end]
    out: list[str] = []
    last = 0
    for a, b in sorted(spans):
        out.append(original[last:a] + marks[0] + original[a:b] + marks[1])
        last = b
    out.append(original[last:])
    body = " ".join("".join(out).split())
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


def search(pb: PolicyBase, text: str, limit: int = 20) -> list[SearchHit]:
    """Measures matching ``text``, best first.

    Word matches from the full-text index (every jieba word of the query must occur)
    come first, ranked by bm25 (SQLite) or ts_rank (PostgreSQL); measures containing the
    query verbatim that the index missed follow, most occurrences first. A one-character
    query is matched verbatim only, since jieba rarely emits single characters as words.
    """
    if limit < 1:
        raise HuiqiError("搜索结果数量必须至少为 1", field="limit")
    query = normalize_query(text)
    if not query:
        raise HuiqiError("搜索词不能为空")
    terms = query_terms(query)
    if not terms:
        return []
    compact = "".join(query.split())
    found: list[tuple[str, int, float]] = []
    if len(compact) > 1:
        rows = pb.db.query(pb.dialect.search_sql(), (pb.dialect.fts_query(terms), limit))
        found = [(r["document_id"], int(r["ord"]), float(r["score"])) for r in rows]
    if len(found) < limit and (len(compact) == 1 or " " not in query):
        seen = {(d, o) for d, o, _ in found}
        like = "%" + compact.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = pb.db.query(
            "SELECT document_id, ord, (LENGTH(text) - LENGTH(REPLACE(LOWER(text), ?, ''))) / LENGTH(?) AS hits, "
            "LENGTH(text) AS size FROM measures WHERE LOWER(text) LIKE ? ESCAPE '\\'",
            (compact, compact, like),
        )
        extra = [r for r in rows if (r["document_id"], int(r["ord"])) not in seen]
        extra.sort(key=lambda r: (-int(r["hits"]), int(r["size"]), r["document_id"], int(r["ord"])))
        found += [(r["document_id"], int(r["ord"]), 0.0) for r in extra[: limit - len(found)]]
    if not found:
        return []
    return _hydrate(pb, found, [compact, *terms])


def _hydrate(pb: PolicyBase, found: list[tuple[str, int, float]], terms: list[str]) -> list[SearchHit]:
    by_key: dict[tuple[str, int], dict[str, Any]] = {}
    # Chunked because SQLite caps expression depth (1000) and a long OR chain nests deeply.
    for i in range(0, len(found), 200):
        chunk = found[i : i + 200]
        where = " OR ".join("(m.document_id = ? AND m.ord = ?)" for _ in chunk)
        rows = pb.db.query(
            'SELECT m.document_id, m.ord, m."key", m.title, m.text, d.title AS document_title, d.doc_number '
            f"FROM measures m JOIN documents d ON d.id = m.document_id WHERE {where}",
            [v for d, o, _ in chunk for v in (d, o)],
        )
        by_key.update({(r["document_id"], int(r["ord"])): r for r in rows})
    hits: list[SearchHit] = []
    for doc_id, ord_, score in found:
        r = by_key.get((doc_id, ord_))
        if r is None:
            continue
        hits.append(
            SearchHit(
                document_id=doc_id,
                document_title=r["document_title"],
                doc_number=r["doc_number"],
                measure_key=r["key"],
                measure_title=r["title"] or _excerpt(r["text"]),
                snippet=_snippet(r["text"], terms),
                score=score,
            )
        )
    return hits
