"""The outcome of an evaluation: per-enterprise table, summary, store and class lookup."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import pyarrow as pa

from huiqi.errors import InputError
from huiqi.evaluation.methodology import Methodology
from huiqi.fsutil import atomic_path

DEFAULT_STORE = Path("var/evaluations")
STATUS_LABEL = {"ok": "正常", "missing": "缺失", "invalid": "无效", "zero_divisor": "除数为零", "na": "不适用"}


def output_schema(m: Methodology) -> pa.Schema:
    """Column layout of ``Evaluation.enterprises`` — identical for every engine."""
    d6 = pa.decimal128(38, 6)
    ds = pa.decimal128(38, m.scoring.decimals)
    s = pa.string()
    fields: list[tuple[str, pa.DataType]] = [
        ("id", s), ("name", s), ("province", s), ("city", s), ("county", s), ("district", s), ("industry", s),
        ("year", pa.int32()), ("method", s), ("track", s), ("track_label", s), ("graded", pa.bool_()),
        ("exclusion", s), ("exclusion_reason", s),
    ]
    for ind in m.indicators:
        fields += [(f"{ind.id}_value", d6), (f"{ind.id}_status", s), (f"{ind.id}_benchmark", d6),
                   (f"{ind.id}_score", ds)]
    fields += [
        ("total_score", ds), ("rank_in_track", pa.int64()), ("track_size", pa.int64()), ("percentile", d6),
        ("band_class", s), ("class", s), ("class_order", pa.int32()), ("quota_exempt", pa.bool_()),
        ("overrides", s), ("reason", s),
    ]
    amounts = [c for c in m.consequences if c.kind in ("per_unit", "share")]
    fields += [(f"{c.id}_amount", pa.decimal128(38, 0)) for c in amounts]
    if amounts:
        fields.append(("consequence_total", pa.decimal128(38, 0)))
    fields.append(("eligibility", s))
    return pa.schema(fields)


def conform(table: pa.Table, m: Methodology) -> pa.Table:
    """Same column names, order and Arrow types whatever engine produced the table."""
    schema = output_schema(m)
    columns = []
    for f in schema:
        if f.name not in table.column_names:
            raise AssertionError(f"engine output lacks column {f.name}")  # pragma: no cover
        col = table.column(f.name)
        columns.append(col if col.type == f.type else col.cast(f.type))
    return pa.Table.from_arrays(columns, schema=schema)


@dataclass
class Evaluation:
    """Result of :func:`huiqi.evaluation.evaluate`."""

    methodology: Methodology
    year: int | None
    engine: str
    enterprises: pa.Table
    source: str = ""
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))
    year_note: str = ""  # which year was graded and why (asked for, latest in the data, the method's)

    @property
    def method(self) -> str:
        return self.methodology.id

    def __len__(self) -> int:
        return self.enterprises.num_rows

    def to_pylist(self) -> list[dict[str, Any]]:
        return self.enterprises.to_pylist()

    def row(self, enterprise_id: str) -> dict[str, Any] | None:
        import pyarrow.compute as pc

        hit = self.enterprises.filter(pc.equal(self.enterprises["id"], enterprise_id))
        return hit.to_pylist()[0] if hit.num_rows else None

    def class_of(self, enterprise_id: str) -> str | None:
        r = self.row(enterprise_id)
        return None if r is None else r["class"]

    @cached_property
    def summary(self) -> Summary:
        return summarize(self)

    # -- export ------------------------------------------------------------------------

    def metadata(self) -> dict[str, str]:
        return {
            "huiqi.method": self.method,
            "huiqi.method_name": self.methodology.name,
            "huiqi.method_fingerprint": self.methodology.fingerprint(),
            "huiqi.year": "" if self.year is None else str(self.year),
            "huiqi.engine": self.engine,
            "huiqi.source": self.source,
            "huiqi.created": self.created,
        }

    def write(self, path: str | Path) -> Path:
        """Export by suffix: .parquet, .csv, .json, .xlsx (report with charts), .html (report)."""
        target = Path(path)
        suffix = target.suffix.lower()
        writer = WRITERS.get(suffix)
        if writer is None:
            raise InputError(f"不支持的输出格式 {suffix or '(无后缀)'}",
                             hint="支持 .xlsx、.csv、.parquet、.json、.html")
        writer(self, target)
        return target

    def store_path(self, store_dir: str | Path = DEFAULT_STORE) -> Path:
        """``<store>/<method>-<year>.parquet``: where :meth:`store` writes."""
        year = "all" if self.year is None else str(self.year)
        return Path(store_dir) / f"{self.method}-{year}.parquet"

    def store(self, store_dir: str | Path = DEFAULT_STORE) -> Path:
        """Save to ``<store>/<method>-<year>.parquet`` for :func:`class_lookup`."""
        return self.write(self.store_path(store_dir))


def _write_xlsx(ev: Evaluation, target: Path) -> None:
    from huiqi.evaluation.report import write_xlsx  # xlsxwriter and charts: only when asked for

    write_xlsx(ev, target)


def _write_html(ev: Evaluation, target: Path) -> None:
    from huiqi.evaluation.report import write_html

    write_html(ev, target)


def _write_parquet(ev: Evaluation, target: Path) -> None:
    import pyarrow.parquet as pq

    table = ev.enterprises.replace_schema_metadata({**(ev.enterprises.schema.metadata or {}),
                                                    **{k.encode(): v.encode() for k, v in ev.metadata().items()}})
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def _write_csv(ev: Evaluation, target: Path) -> None:
    import pyarrow.csv as pacsv

    with atomic_path(target) as tmp:
        # UTF-8 with BOM so that Excel opens the Chinese text correctly.
        with open(tmp, "wb") as fh:
            fh.write("\ufeff".encode())
            pacsv.write_csv(ev.enterprises, fh)


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(type(value).__name__)


def _write_json(ev: Evaluation, target: Path) -> None:
    payload = {"meta": ev.metadata(), "summary": ev.summary.to_dict(), "enterprises": ev.to_pylist()}
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1, default=_json_default), encoding="utf-8")


# -- summary ------------------------------------------------------------------------------

@dataclass
class Summary:
    total: int
    graded: int
    excluded: int
    classes: list[str]
    by_track: list[dict[str, Any]]
    by_district: list[dict[str, Any]]
    by_industry: list[dict[str, Any]]
    exclusions: list[dict[str, Any]]
    overrides: list[dict[str, Any]]
    benchmarks: list[dict[str, Any]]
    consequences: list[dict[str, Any]]
    histogram: list[dict[str, Any]]
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


# The registry of output writers, by file suffix.
WRITERS: dict[str, Callable[[Evaluation, Path], None]] = {
    ".parquet": _write_parquet,
    ".csv": _write_csv,
    ".json": _write_json,
    ".xlsx": _write_xlsx,
    ".html": _write_html,
    ".htm": _write_html,
}


def _counts(con: Any, group: str, classes: list[str]) -> list[dict[str, Any]]:
    pivot = ", ".join(f"COUNT(*) FILTER (WHERE class = '{c}') AS \"{c}\"" for c in classes)
    rows = con.execute(
        f"SELECT COALESCE({group}, '(未填)') AS g, COUNT(*) AS graded, {pivot} FROM ev WHERE graded "
        f"GROUP BY 1 ORDER BY 1").fetchall()
    return [{"group": r[0], "graded": r[1], **{c: r[2 + i] for i, c in enumerate(classes)}} for r in rows]


def summarize(ev: Evaluation) -> Summary:
    import duckdb

    m = ev.methodology
    classes = m.class_names
    con = duckdb.connect()
    try:
        con.register("ev", ev.enterprises)
        total, graded = con.execute("SELECT COUNT(*), COUNT(*) FILTER (WHERE graded) FROM ev").fetchone() or (0, 0)
        by_track = _counts(con, "track_label", classes)
        by_district = _counts(con, "district", classes)
        by_industry = _counts(con, "industry", classes)
        exclusions = [{"code": r[0], "reason": r[1], "count": r[2]} for r in con.execute(
            "SELECT exclusion, exclusion_reason, COUNT(*) FROM ev WHERE NOT graded GROUP BY 1, 2 ORDER BY 3 DESC, 1"
        ).fetchall()]
        overrides = []
        for rule in m.class_rules:
            n, changed = con.execute(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE band_class IS DISTINCT FROM class) FROM ev "
                "WHERE graded AND list_contains(string_split(overrides, ','), ?)", [rule.id]).fetchone() or (0, 0)
            overrides.append({"rule": rule.id, "label": rule.label, "applied": n, "class_changed": changed,
                              "quota": rule.quota})
        benchmarks = []
        warnings: list[str] = []
        for ind in m.indicators:
            for trk, label, bench, ok in con.execute(
                    f'SELECT track, ANY_VALUE(track_label), ANY_VALUE("{ind.id}_benchmark"), '
                    f"COUNT(*) FILTER (WHERE \"{ind.id}_status\" = 'ok') FROM ev "
                    f"WHERE graded AND \"{ind.id}_status\" <> 'na' GROUP BY track ORDER BY track").fetchall():
                benchmarks.append({"indicator": ind.id, "label": ind.label, "unit": ind.unit, "track": trk,
                                   "track_label": label, "method": ind.benchmark.method, "benchmark": bench,
                                   "valid_values": ok})
                if bench is None or bench <= 0:
                    warnings.append(f"分组「{label}」指标「{ind.label}」的基准值{'无法计算' if bench is None else '不为正'},"
                                    f"该项在本组一律记0分")
        consequences = []
        for c in m.consequences:
            if c.kind in ("per_unit", "share"):
                rows = con.execute(f'SELECT class, COUNT(*) FILTER (WHERE "{c.id}_amount" > 0), '
                                   f'SUM("{c.id}_amount"), COUNT(*) FILTER (WHERE "{c.id}_amount" IS NULL) '
                                   f"FROM ev WHERE graded GROUP BY 1 ORDER BY 1").fetchall()
                consequences.append({"id": c.id, "label": c.label, "kind": c.kind, "unit": c.unit,
                                     "by_class": {r[0]: {"enterprises": r[1], "amount": r[2] or Decimal(0),
                                                         "unknown": r[3]} for r in rows},
                                     "total": sum((r[2] or Decimal(0) for r in rows), Decimal(0))})
            else:
                n = con.execute("SELECT COUNT(*) FROM ev WHERE graded AND list_contains(?, class)",
                                [c.classes]).fetchone()
                consequences.append({"id": c.id, "label": c.label, "kind": c.kind, "effect": c.effect,
                                     "classes": c.classes, "enterprises": n[0] if n else 0})
        histogram = [{"track": r[0], "bin": r[1], "count": r[2]} for r in con.execute(
            "SELECT track_label, CAST(FLOOR(total_score / 10) * 10 AS INTEGER) AS b, COUNT(*) FROM ev WHERE graded "
            "GROUP BY 1, 2 ORDER BY 1, 2").fetchall()]
    finally:
        con.close()
    return Summary(int(total), int(graded), int(total) - int(graded), classes, by_track, by_district, by_industry,
                   exclusions, overrides, benchmarks, consequences, histogram, [*ev.warnings, *warnings])


# -- store and lookup ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ClassRecord:
    enterprise_id: str
    name: str | None
    cls: str | None                  # None: the enterprise was excluded (see reason)
    method: str
    year: int | None
    path: Path
    total_score: Decimal | None
    reason: str | None

    @property
    def source(self) -> str:
        year = f"{self.year}年度" if self.year is not None else ""
        return f"亩均效益综合评价 {self.method} {year}({self.path})"


_STORE_NAME = re.compile(r"^(?P<method>.+)-(?P<year>\d{4}|all)$")


def stored_evaluations(path_or_dir: str | Path, method: str | None = None) -> list[tuple[int, Path, str]]:
    """(year, file, method) of the stored evaluations, latest year first (-1: year unknown)."""
    return _store_files(path_or_dir, method)


def _store_files(path_or_dir: str | Path, method: str | None) -> list[tuple[int, Path, str]]:
    p = Path(path_or_dir)
    files = [p] if p.is_file() else sorted(p.glob("*.parquet")) if p.is_dir() else []
    out = []
    for f in files:
        meta = _read_meta(f)
        name_match = _STORE_NAME.match(f.stem)
        fmethod = meta.get("huiqi.method") or (name_match.group("method") if name_match else f.stem)
        if method is not None and fmethod != method:
            continue
        ytext = meta.get("huiqi.year") or (name_match.group("year") if name_match else "")
        year = int(ytext) if ytext.isdigit() else -1
        out.append((year, f, fmethod))
    # Latest year first; within a year, the most recently written file.
    out.sort(key=lambda t: (t[0], t[1].stat().st_mtime), reverse=True)
    return out


def _read_meta(f: Path) -> dict[str, str]:
    import pyarrow.parquet as pq

    try:
        raw = pq.read_schema(f).metadata or {}
    except Exception:  # an unreadable file is simply not an evaluation
        return {}
    return {k.decode(): v.decode() for k, v in raw.items() if k.startswith(b"huiqi.")}


def latest_class(evaluation_store: str | Path, enterprise_id: str, *, method: str | None = None,
                 year: int | None = None) -> ClassRecord | None:
    """The enterprise's row in the latest stored evaluation that contains it (by id, then by name).

    ``year`` restricts to evaluations of that year or earlier (the calculator asks for
    "上一年度" results).
    """
    import duckdb

    key = str(enterprise_id).strip()
    for fyear, f, fmethod in _store_files(evaluation_store, method):
        if year is not None and fyear > year:
            continue
        con = duckdb.connect()
        try:
            src = "read_parquet('" + str(f).replace("'", "''") + "')"
            row = con.execute(f"SELECT id, name, class, total_score, reason, year FROM {src} WHERE id = ? LIMIT 1",
                              [key]).fetchone()
            if row is None:
                row = con.execute(f"SELECT id, name, class, total_score, reason, year FROM {src} WHERE name = ? "
                                  "LIMIT 1", [key]).fetchone()
        finally:
            con.close()
        if row is not None:
            return ClassRecord(str(row[0]), row[1], row[2], fmethod, row[5] if row[5] is not None else
                               (fyear if fyear >= 0 else None), f, row[3], row[4])
    return None


def class_lookup(path_or_dir: str | Path = DEFAULT_STORE, enterprise: str = "", *,
                 method: str | None = None, year: int | None = None) -> tuple[str | None, str]:
    """(class, source) of an enterprise id or name from the latest stored evaluation.

    class is None when the enterprise is not found or was excluded; source then says why.
    """
    record = latest_class(path_or_dir, enterprise, method=method, year=year)
    if record is None:
        return None, f"在 {path_or_dir} 的亩均评价结果中未找到企业 {enterprise}"
    if record.cls is None:
        return None, f"{record.source}:{record.reason or '未评价'}"
    return record.cls, record.source


def rows_by_id(table: pa.Table) -> Mapping[str, dict[str, Any]]:
    return {r["id"]: r for r in table.to_pylist()}
