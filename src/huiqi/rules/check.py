"""``huiqi rules check``: does every citation really say what the rule claims?

For each rule and lead: the pack's document must be among the ingested documents
(matched by 文号, title or source file name), the clause key (``二/十``) must exist,
and the quote must occur verbatim in that clause once whitespace is ignored. When it
does not, the nearest passage of the clause is reported so the author can fix the
quote (or the rule) quickly.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from huiqi.document import Document, Measure
from huiqi.errors import HuiqiError
from huiqi.profile import closest
from huiqi.rules.packs import LoadedPack, RuleBase

__all__ = ["Problem", "check_citations", "documents_from_paths", "format_problems", "nearest_passage"]


@dataclass(frozen=True)
class Problem:
    """One citation that does not check out."""

    kind: Literal["document", "clause", "quote"]
    message: str  # Chinese, self-contained
    pack: str
    file: str
    line: int | None
    rule: str | None = None  # rule id, or None for a lead
    lead: str | None = None  # lead title
    clause: str | None = None
    hint: str | None = None
    nearest: str | None = None  # closest passage of the clause, for quote problems
    similarity: float | None = None

    def __str__(self) -> str:
        where = f"{self.file}" + (f",第{self.line}行" if self.line else "")
        who = f"规则 {self.rule}" if self.rule else f"线索「{self.lead}」"
        text = f"{where}:{who}:{self.message}"
        return text + (f"(提示:{self.hint})" if self.hint else "")


class _FindsDocuments(Protocol):
    def find_document(self, ref: str) -> Document: ...


def documents_from_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Document]:
    """Ingest seed/source files (or every file under directories) for checking."""
    from huiqi.ingest.pipeline import discover, ingest_file

    return [ingest_file(p) for p in discover(paths)]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _fold_number(text: str) -> str:
    return _squash(text).translate(str.maketrans("[]()（）【】﹝﹞", "〔〕〔〕〔〕〔〕〔〕"))


def _find_in_list(pack: LoadedPack, docs: Sequence[Document]) -> Document | None:
    ref = pack.document
    tests = []
    if ref.source_file:
        name = Path(ref.source_file).name
        tests.append(lambda d: Path(d.source.path).name == name or Path(d.source.path).stem == Path(name).stem)
    if ref.doc_number:
        folded = _fold_number(ref.doc_number)
        tests.append(lambda d: bool(d.doc_number) and _fold_number(d.doc_number) == folded)
    title = _squash(ref.title)
    tests.append(lambda d: _squash(d.title) == title)
    for test in tests:
        hits = [d for d in docs if test(d)]
        if len(hits) >= 1:
            return hits[0]
    return None


def find_pack_document(pack: LoadedPack, base: _FindsDocuments) -> Document | None:
    ref = pack.document
    for key in (ref.doc_number, ref.title):
        if not key:
            continue
        try:
            return base.find_document(key)
        except HuiqiError:
            continue
    # Titles of drafts carry (送审稿) in packs but not in the base, and some documents have
    # no 文号: fall back to the source file name, the most stable key of a seed.
    lister = getattr(base, "list_documents", None)
    loader = getattr(base, "load_document", None)
    if lister is None or loader is None:
        return None
    return _find_in_list(pack, [loader(summary.id) for summary in lister()])


def nearest_passage(quote: str, text: str) -> tuple[str, float]:
    """The substring of ``text`` (whitespace ignored) most similar to ``quote``, and the ratio."""
    q = _squash(quote)
    t = _squash(text)
    if not q or not t:
        return "", 0.0
    width = min(len(q), len(t))
    best, best_ratio = t[:width], -1.0
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(q)
    # Try each window of the quote's length; long clauses are a few thousand
    # characters, so this stays well under a second.
    for start in range(0, len(t) - width + 1):
        window = t[start:start + width]
        matcher.set_seq1(window)
        if matcher.real_quick_ratio() <= best_ratio or matcher.quick_ratio() <= best_ratio:
            continue
        ratio = matcher.ratio()
        if ratio > best_ratio:
            best, best_ratio = window, ratio
    return best, max(best_ratio, 0.0)


def _first_difference(quote: str, passage: str) -> str:
    q, p = _squash(quote), passage
    for i, (a, b) in enumerate(zip(q, p, strict=False)):
        if a != b:
            return f"第{i + 1}个字起不同:引文为「{q[i:i + 8]}」,原文为「{p[i:i + 8]}」"
    return "长度不同"


def _measure(doc: Document, key: str) -> Measure | None:
    for m in doc.measures:
        if m.key == key:
            return m
    return None


def _holder(doc: Document, quote: str) -> str | None:
    """The deepest clause containing the quote (parents contain their children's text)."""
    q = _squash(quote)
    holders = [m for m in doc.measures if q and q in _squash(m.text)]
    return max(holders, key=lambda m: m.level).key if holders else None


def check_citations(rulebase: RuleBase, documents: Any) -> list[Problem]:
    """Check every rule's and lead's citation against ingested documents.

    ``documents`` is a ``huiqi.policybase.PolicyBase`` (anything with ``find_document``)
    or a list of ``huiqi.document.Document``. Returns the problems found (empty = all good).
    """
    problems: list[Problem] = []
    docs_list: list[Document] | None = None if hasattr(documents, "find_document") else list(documents)
    cache: dict[str, Document | None] = {}

    def document_for(pack: LoadedPack) -> Document | None:
        if pack.id not in cache:
            cache[pack.id] = (_find_in_list(pack, docs_list) if docs_list is not None
                              else find_pack_document(pack, documents))
        return cache[pack.id]

    packs_by_id = {p.id: p for p in rulebase.packs}
    entries: list[tuple[LoadedPack, Any, str | None, str | None, int | None]] = []
    for r in rulebase.rules:
        entries.append((r.pack, r.rule.citation, r.id, None, r.line))
    for lead in rulebase.leads:
        entries.append((lead.pack, lead.lead.citation, None, lead.title, lead.line))

    reported_missing: set[str] = set()
    for pack, citation, rule_id, lead_title, line in entries:
        cited_pack = packs_by_id.get(citation.document, pack)
        base = dict(pack=cited_pack.id, file=pack.file, line=line, rule=rule_id, lead=lead_title,
                    clause=citation.clause)
        doc = document_for(cited_pack)
        if doc is None:
            if cited_pack.id not in reported_missing:
                reported_missing.add(cited_pack.id)
                ref = cited_pack.document
                named = "、".join(x for x in (ref.doc_number, ref.title, ref.source_file) if x)
                problems.append(Problem(kind="document", message=f"找不到规则包 {cited_pack.id} 对应的政策文件({named})",
                                        hint="先入库该文件,或核对 document 的文号、标题、source_file", **base))
            continue
        measure = _measure(doc, citation.clause)
        if measure is None:
            keys = [m.key for m in doc.measures]
            near = closest(citation.clause, keys, n=3, cutoff=0.3)
            holder = _holder(doc, citation.quote)
            hint = f"引文出现在条款 {holder}" if holder else (
                "相近的条款:" + "、".join(near) if near else "用 huiqi show 查看文件的条款编号")
            problems.append(Problem(kind="clause", message=f"《{doc.title}》中没有条款 {citation.clause}",
                                    hint=hint, **base))
            continue
        if _squash(citation.quote) in _squash(measure.text) or \
                (measure.original_text and _squash(citation.quote) in _squash(measure.original_text)):
            continue
        passage, ratio = nearest_passage(citation.quote, measure.text)
        elsewhere = _holder(doc, citation.quote)
        hint = (f"引文出现在条款 {elsewhere},请核对 clause" if elsewhere else
                f"最接近的原文:「{passage}」(相似度 {ratio:.0%},{_first_difference(citation.quote, passage)})")
        problems.append(Problem(kind="quote", message=f"条款 {citation.clause} 中找不到引文「{citation.quote}」",
                                hint=hint, nearest=passage, similarity=round(ratio, 3), **base))
    return problems


def format_problems(problems: Sequence[Problem]) -> str:
    if not problems:
        return "全部引文核对无误。"
    lines = [str(p) for p in problems]
    lines.append(f"共 {len(problems)} 处引文问题。")
    return "\n".join(lines)
