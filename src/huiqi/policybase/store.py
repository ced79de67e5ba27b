"""Saving, loading and finding documents in the policy base.

The full Document JSON is stored with every document and is what ``load_document``
returns; the relational rows (measures, units, provisions, targets, quality flags) are a
projection for querying, rewritten wholesale whenever the document changes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import ValidationError

from huiqi.document import Document, Measure
from huiqi.errors import HuiqiError
from huiqi.policybase.db import Database, Dialect, utc_now
from huiqi.policybase.segment import normalize_query, segment

SaveStatus = Literal["new", "updated", "unchanged"]

# Children first: the order deletes must run in when a document is replaced.
CHILD_TABLES = ("quality_flags", "targets", "provisions", "units", "measures")
TABLES = ("documents", *CHILD_TABLES)

_DOCUMENT_COLUMNS = (
    "id",
    "title",
    "doc_number",
    "issuers",
    "province",
    "city",
    "county",
    "signed_date",
    "published_date",
    "effective_from",
    "effective_to",
    "status",
    "status_label",
    "script",
    "source_path",
    "source_sha256",
    "schema_version",
    "json_sha256",
    "ingested_at",
    "updated_at",
    "json",
)
_MEASURE_COLUMNS = (
    "document_id",
    "ord",
    '"key"',
    "label",
    "path",
    "level",
    "style",
    "title",
    "text",
    "original_text",
    '"start"',
    '"end"',
    "units_text",
    "segmented",
)
_UNIT_COLUMNS = ("document_id", "measure_ord", "measure_key", "unit", "role", "ord")
_PROVISION_COLUMNS = (
    "document_id",
    "measure_ord",
    "measure_key",
    "ord",
    "kind",
    "text",
    '"start"',
    '"end"',
    "value",
    "unit",
    "yuan",
    "comparator",
    "upper_bound",
    "low",
    "high",
    "low_inclusive",
    "high_inclusive",
    "low_yuan",
    "high_yuan",
    "per",
    "subject",
    "scope",
    "note",
)
_TARGET_COLUMNS = (
    "document_id",
    "ord",
    "measure_key",
    "indicator",
    "value",
    "unit",
    "comparator",
    "stretch_value",
    "year",
    "text",
    '"start"',
    '"end"',
)
_QUALITY_COLUMNS = ("document_id", "ord", "kind", '"start"', '"end"', "text", "reason")

# 文号 brackets are typed in many ways; 〔〕 is the official form (GB/T 9704).
_DOC_NUMBER_FOLD = str.maketrans(
    {
        "[": "〔",
        "]": "〕",
        "［": "〔",
        "］": "〕",
        "【": "〔",
        "】": "〕",
        "(": "〔",
        ")": "〕",
        "（": "〔",
        "）": "〕",
    }
)


@dataclass(frozen=True)
class SaveResult:
    id: str
    status: SaveStatus
    sha256: str
    measures: int
    provisions: int
    targets: int


@dataclass(frozen=True)
class DocumentSummary:
    id: str
    title: str
    doc_number: str | None
    issuers: list[str]
    province: str | None
    city: str | None
    county: str | None
    signed_date: date | None
    published_date: date | None
    effective_from: date | None
    effective_to: date | None
    status: str
    status_label: str | None
    measures: int
    provisions: int
    targets: int
    ingested_at: str
    updated_at: str


def document_sha256(doc: Document) -> str:
    return hashlib.sha256(doc.model_dump_json().encode("utf-8")).hexdigest()


def _dec(value: Decimal | None) -> str | None:
    # str() keeps the figure exactly as parsed (500 stays 500, 20.30 stays 20.30).
    return None if value is None else str(value)


def _flag(value: bool | None) -> int | None:
    # INTEGER 0/1 rather than BOOLEAN: the one boolean spelling both backends store alike.
    return None if value is None else int(value)


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_date(value: str | None) -> date | None:
    return None if not value else date.fromisoformat(value)


def _unit_roles(measure: Measure) -> Iterator[tuple[str, str]]:
    seen: set[str] = set()
    for role, names in (
        ("lead", measure.units.lead),
        ("support", measure.units.support),
        ("member", measure.units.all),
    ):
        for name in names:
            if name and name not in seen:
                seen.add(name)
                yield name, role


def _fold_doc_number(text: str) -> str:
    return re.sub(r"\s+", "", text).translate(_DOC_NUMBER_FOLD)


class PolicyBase:
    """The policy base: documents and their queryable projection, on SQLite or PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def dialect(self) -> Dialect:
        return self.db.dialect

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> PolicyBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- writing -------------------------------------------------------------------

    def save_document(self, doc: Document) -> SaveResult:
        """Insert or replace ``doc`` atomically; saving identical content changes nothing."""
        payload = doc.model_dump_json()
        sha = hashlib.sha256(payload.encode("utf-8")).hexdigest()
        n_prov = sum(len(m.provisions) for m in doc.measures)
        with self.db.transaction():
            rows = self.db.query("SELECT json_sha256, ingested_at FROM documents WHERE id = ?", (doc.id,))
            if rows and rows[0]["json_sha256"] == sha:
                return SaveResult(doc.id, "unchanged", sha, len(doc.measures), n_prov, len(doc.targets))
            status: SaveStatus = "updated" if rows else "new"
            now = utc_now()
            self._delete_children(doc.id)
            self._insert_rows(
                "documents", _DOCUMENT_COLUMNS, [self._document_row(doc, payload, sha, now)], upsert=True
            )
            self._insert_measures(doc)
            self._insert_rows("targets", _TARGET_COLUMNS, self._target_rows(doc))
            self._insert_rows("quality_flags", _QUALITY_COLUMNS, self._quality_rows(doc))
        return SaveResult(doc.id, status, sha, len(doc.measures), n_prov, len(doc.targets))

    def delete_document(self, doc_id: str) -> bool:
        with self.db.transaction():
            if not self.db.query("SELECT id FROM documents WHERE id = ?", (doc_id,)):
                return False
            self._delete_children(doc_id)
            self.db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        return True

    def _delete_children(self, doc_id: str) -> None:
        if self.dialect.unindex_sql:
            self.db.execute(self.dialect.unindex_sql, (doc_id,))
        for table in CHILD_TABLES:
            self.db.execute(f"DELETE FROM {table} WHERE document_id = ?", (doc_id,))

    def _insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, upsert: bool = False
    ) -> None:
        if upsert:
            sql = self.dialect.upsert(table, columns, key=("id",), keep=("ingested_at",))
        else:
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        self.db.executemany(sql, rows)

    def _document_row(self, doc: Document, payload: str, sha: str, now: str) -> list[Any]:
        return [
            doc.id,
            doc.title,
            doc.doc_number,
            json.dumps(doc.issuers, ensure_ascii=False),
            doc.region.province,
            doc.region.city,
            doc.region.county,
            _iso(doc.signed_date),
            _iso(doc.published_date),
            _iso(doc.effective_from),
            _iso(doc.effective_to),
            doc.status,
            doc.status_label,
            doc.script,
            doc.source.path,
            doc.source.sha256,
            doc.schema_version,
            sha,
            now,
            now,
            payload,
        ]

    def _insert_measures(self, doc: Document) -> None:
        measures: list[list[Any]] = []
        units: list[list[Any]] = []
        provisions: list[list[Any]] = []
        for i, m in enumerate(doc.measures):
            key = m.key
            measures.append(
                [
                    doc.id,
                    i,
                    key,
                    m.label,
                    json.dumps(m.path, ensure_ascii=False),
                    m.level,
                    m.style,
                    m.title,
                    m.text,
                    m.original_text,
                    m.start,
                    m.end,
                    m.units.text,
                    segment(m.text),
                ]
            )
            for j, (name, role) in enumerate(_unit_roles(m)):
                units.append([doc.id, i, key, name, role, j])
            for j, p in enumerate(m.provisions):
                provisions.append(
                    [
                        doc.id,
                        i,
                        key,
                        j,
                        p.kind.value,
                        p.text,
                        p.start,
                        p.end,
                        _dec(p.value),
                        p.unit,
                        p.yuan,
                        p.comparator.value if p.comparator else None,
                        int(p.upper_bound),
                        _dec(p.low),
                        _dec(p.high),
                        _flag(p.low_inclusive),
                        _flag(p.high_inclusive),
                        p.low_yuan,
                        p.high_yuan,
                        p.per,
                        p.subject,
                        p.scope,
                        p.note,
                    ]
                )
        self._insert_rows("measures", _MEASURE_COLUMNS, measures)
        self._insert_rows("units", _UNIT_COLUMNS, units)
        self._insert_rows("provisions", _PROVISION_COLUMNS, provisions)
        if self.dialect.index_sql:
            self.db.executemany(self.dialect.index_sql, [(row[-1], doc.id, row[1]) for row in measures])

    @staticmethod
    def _target_rows(doc: Document) -> list[list[Any]]:
        return [
            [
                doc.id,
                i,
                t.measure,
                t.indicator,
                _dec(t.value),
                t.unit,
                t.comparator.value if t.comparator else None,
                _dec(t.stretch_value),
                t.year,
                t.text,
                t.start,
                t.end,
            ]
            for i, t in enumerate(doc.targets)
        ]

    @staticmethod
    def _quality_rows(doc: Document) -> list[list[Any]]:
        q = doc.quality
        rows: list[list[Any]] = []

        def add(kind: str, start: int | None, end: int | None, text: str, reason: str) -> None:
            rows.append([doc.id, len(rows), kind, start, end, text, reason])

        for kind, spans in (
            ("boilerplate_removed", q.boilerplate_removed),
            ("unreadable", q.unreadable),
            ("unparsed_numbers", q.unparsed_numbers),
        ):
            for s in spans:
                add(kind, s.start, s.end, s.text, s.reason)
        for r in q.repaired:
            add("repaired", r.start, r.end, r.repaired, f"{r.method}:{r.original}")
        for w in q.warnings:
            add("warning", None, None, w, "")
        return rows

    # ---- reading -------------------------------------------------------------------

    def load_document(self, doc_id: str) -> Document:
        payload = self.db.scalar("SELECT json FROM documents WHERE id = ?", (doc_id,))
        if payload is None:
            raise HuiqiError(f"未找到文件:{doc_id}", hint="用 list 查看政策库中的文件")
        try:
            return Document.model_validate_json(payload)
        except ValidationError as exc:
            raise HuiqiError(
                f"政策库中的文件 {doc_id} 无法读取(数据格式与当前程序不符)",
                hint="请重新入库该文件",
            ) from exc

    def has_document(self, doc_id: str) -> bool:
        return bool(self.db.query("SELECT id FROM documents WHERE id = ?", (doc_id,)))

    def resolve_id(self, ref: str) -> str:
        """The id of the one document ``ref`` names: id, id prefix, 文号, or title (part)."""
        ref = ref.strip()
        if not ref:
            raise HuiqiError("请给出文件ID、文号或标题")
        docs = self.db.query("SELECT id, title, doc_number FROM documents")
        by_id = {d["id"]: d for d in docs}
        if ref in by_id:
            return ref
        folded = _fold_doc_number(ref)
        simplified = normalize_query(ref)
        rules = (
            lambda d: bool(d["doc_number"]) and _fold_doc_number(d["doc_number"]) == folded,
            lambda d: d["id"].lower().startswith(ref.lower()),
            lambda d: d["title"] in (ref, simplified),
            lambda d: (
                ref in d["title"]
                or simplified in normalize_query(d["title"])
                or (bool(d["doc_number"]) and folded in _fold_doc_number(d["doc_number"]))
            ),
        )
        for rule in rules:
            hits = [d for d in docs if rule(d)]
            if len(hits) == 1:
                return str(hits[0]["id"])
            if len(hits) > 1:
                hits.sort(key=lambda d: (d["title"], d["id"]))
                listing = "\n".join(
                    f"  {d['id'][:12]}  {d['doc_number'] or '(无文号)'}  {d['title']}" for d in hits[:10]
                )
                more = f"\n  ……另有 {len(hits) - 10} 个" if len(hits) > 10 else ""
                raise HuiqiError(
                    f"「{ref}」匹配到 {len(hits)} 个文件,无法确定是哪一个:\n{listing}{more}",
                    hint="请给出更长的ID前缀、完整文号或更完整的标题",
                )
        raise HuiqiError(f"未找到文件:{ref}", hint="可用文件ID(或其前缀)、文号或标题中的一段查找")

    def find_document(self, ref: str) -> Document:
        return self.load_document(self.resolve_id(ref))

    def list_documents(self) -> list[DocumentSummary]:
        rows = self.db.query(
            "SELECT d.id, d.title, d.doc_number, d.issuers, d.province, d.city, d.county, "
            "d.signed_date, d.published_date, d.effective_from, d.effective_to, d.status, d.status_label, "
            "d.ingested_at, d.updated_at, "
            "(SELECT COUNT(*) FROM measures m WHERE m.document_id = d.id) AS n_measures, "
            "(SELECT COUNT(*) FROM provisions p WHERE p.document_id = d.id) AS n_provisions, "
            "(SELECT COUNT(*) FROM targets t WHERE t.document_id = d.id) AS n_targets "
            "FROM documents d"
        )
        out = [
            DocumentSummary(
                id=r["id"],
                title=r["title"],
                doc_number=r["doc_number"],
                issuers=list(json.loads(r["issuers"])),
                province=r["province"],
                city=r["city"],
                county=r["county"],
                signed_date=_parse_date(r["signed_date"]),
                published_date=_parse_date(r["published_date"]),
                effective_from=_parse_date(r["effective_from"]),
                effective_to=_parse_date(r["effective_to"]),
                status=r["status"],
                status_label=r["status_label"],
                measures=int(r["n_measures"]),
                provisions=int(r["n_provisions"]),
                targets=int(r["n_targets"]),
                ingested_at=r["ingested_at"],
                updated_at=r["updated_at"],
            )
            for r in rows
        ]
        # Newest first by the document's own dates; sorted here, not in SQL, so both
        # backends agree regardless of the PostgreSQL collation.
        out.sort(key=lambda s: (s.title, s.id))
        out.sort(key=lambda s: s.signed_date or s.published_date or date.min, reverse=True)
        return out

    def counts(self) -> dict[str, int]:
        """Row count per table, for checks and the CLI status line."""
        return {t: int(self.db.scalar(f"SELECT COUNT(*) FROM {t}")) for t in TABLES}
