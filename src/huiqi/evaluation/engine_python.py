"""Reference engine: the grading rules written out row by row in plain Python.

Slow and obvious on purpose. The tests require the DuckDB and Spark engines to give
exactly the same table (values, scores, ranks, classes, reasons) as this one, so this
file is the executable statement of docs/evaluation.md. Arithmetic on values mirrors
the expression language: results rounded to 6 places, half away from zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from huiqi.errors import InputError
from huiqi.evaluation.consequences import apply_row
from huiqi.evaluation.methodology import STANDARD_COLUMNS, CompiledIndicator, Methodology
from huiqi.evaluation.population import (
    Population,
    SourceInfo,
    check_columns,
    describe,
    kind_of_arrow,
    to_arrow,
)
from huiqi.evaluation.sql import (
    FALSE_WORDS,
    STATUS_TEXT,
    TREATMENT_TEXT,
    TRUE_WORDS,
    UNKNOWN_SPLIT,
    SourceKind,
    typed_name,
)

_CTX = Context(prec=100, rounding=ROUND_HALF_UP)
SIX = Decimal("0.000001")
ZERO = Decimal(0)


def q6(x: Decimal) -> Decimal:
    return x.quantize(SIX, ROUND_HALF_UP, _CTX)


def div6(a: Decimal, b: Decimal) -> Decimal:
    """a / b to 6 places, half away from zero (the exact quotient of two 6-place decimals)."""
    a6, b6 = q6(a), q6(b)
    return q6(_CTX.divide(a6, b6))


def mul6(a: Decimal, b: Decimal) -> Decimal:
    return q6(_CTX.multiply(a, b))


def _nz(x: Decimal | None) -> Decimal | None:
    """SQL decimals have no negative zero; Python's do."""
    if x is not None and x == 0 and x.is_signed():
        return abs(x)
    return x


def _fmt(x: Decimal) -> str:
    return format(_nz(x), "f")


def _sql_trim(text: str) -> str:
    return text.strip(" ")


def convert(value: object, kind: SourceKind, want: str) -> tuple[object, bool]:
    """(typed value, ok) mirroring ``QueryBuilder.convert``; ok=False for unreadable text."""
    if value is None:
        return None, True
    if want in ("money", "number", "integer"):
        if kind == "numeric":
            if isinstance(value, float):
                return q6(Decimal(repr(value))), True
            return q6(Decimal(value)), True  # type: ignore[arg-type]
        text = _sql_trim(str(value))
        if text == "":
            return None, True
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None, False
        if not number.is_finite():
            return None, False
        return q6(number), True
    if want == "boolean":
        if kind == "boolean":
            return bool(value), True
        if kind == "numeric":
            return value != 0, True
        low = _sql_trim(str(value)).lower()
        if low in TRUE_WORDS:
            return True, True
        if low in FALSE_WORDS:
            return False, True
        return None, low == ""
    if kind == "string":
        text = _sql_trim(str(value))
        return (text or None), True
    if isinstance(value, bool):
        return ("true" if value else "false"), True
    return str(value), True


def _round_d(x: Decimal, d: int) -> Decimal:
    return x.quantize(Decimal(1).scaleb(-d), ROUND_HALF_UP, _CTX)


def run(
    population: Population,
    m: Methodology,
    *,
    year: int | None,
    params: Mapping[str, Decimal] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[pa.Table, SourceInfo]:
    step = progress or (lambda _msg: None)
    step("读取企业名录")
    table = to_arrow(population)
    file = str(population) if not isinstance(population, (pa.Table, list, tuple)) else None
    kinds: dict[str, SourceKind] = {f.name: kind_of_arrow(f.type) for f in table.schema}
    warnings = check_columns(m, kinds, file)
    info = SourceInfo(describe(population), kinds, warnings, file)
    raw_rows = table.to_pylist()
    if year is not None and "year" in kinds:
        raw_rows = [r for r in raw_rows if r.get("year") is not None and int(str(r["year"]).strip()) == year]
    step("检查数据")
    rows = _typed_rows(m, raw_rows, kinds, file)
    step("计算指标、排名与分档")
    out = _grade(m, rows, year, dict({k: p.value for k, p in m.parameters.items()}, **(params or {})))
    return pa.Table.from_pylist(out), info


def _typed_rows(m: Methodology, raw_rows: list[dict[str, Any]], kinds: Mapping[str, SourceKind],
                file: str | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(raw_rows):
        env: dict[str, Any] = {}
        for std in STANDARD_COLUMNS:
            kind = kinds.get(std)
            if kind is None:
                env[std] = None
            elif std == "id":
                env["id"] = None if raw.get("id") is None else _sql_trim(
                    str(raw["id"]) if not isinstance(raw["id"], bool) else ("true" if raw["id"] else "false"))
            else:
                env[std], _ = convert(raw.get(std), kind, "text")
        for name, spec in m.inputs.items():
            col = f"enterprise.{name}"
            kind = kinds.get(col)
            if kind is None:
                env[col] = None
                continue
            if kind in ("boolean", "other") and spec.numeric:
                raise InputError(f"列 {col} 应为数值,实际是{'真假值' if kind == 'boolean' else '其他类型'}")
            value, ok = convert(raw.get(col), kind, spec.type)
            if not ok and spec.type not in ("enum", "text"):
                raise InputError(f"第{n + 2}行(企业 {env['id']})列 {col} 的值 {raw.get(col)!r} 不是有效的数值或真假值",
                                 file=file, line=n + 2, field=col)
            env[col] = value
        ident = env["id"]
        if ident in (None, ""):
            raise InputError("企业名录中有企业编号(id)为空的行", file=file)
        if ident in seen:
            raise InputError(f"企业编号重复:{ident}", file=file, field="id")
        seen[ident] = n
        rows.append(env)
    return rows


class _Row(dict[str, Any]):
    pass


def _grade(m: Methodology, rows: list[dict[str, Any]], year: int | None,
           params: Mapping[str, Decimal]) -> list[dict[str, Any]]:
    c = m.compiled
    d = m.scoring.decimals
    bands = m.grading.bands
    last = len(bands)
    labels = [b.display for b in bands]

    # -- track, indicator values and statuses, exclusion, rule flags ----------------------------
    states: list[dict[str, Any]] = []
    for env in rows:
        st: dict[str, Any] = {"env": env}
        st["trk"] = st["trk_label"] = st["trk_base"] = None
        for track, expr in c.tracks:
            if expr is None or expr.evaluate(env).value is True:
                if track.split_by:
                    val = env.get(track.split_by) or UNKNOWN_SPLIT
                    st["trk"], st["trk_label"] = f"{track.id}:{val}", f"{track.label}·{val}"
                else:
                    st["trk"], st["trk_label"] = track.id, track.label
                st["trk_base"] = track.id
                break
        for ci in c.indicators:
            st[f"v_{ci.spec.id}"], st[f"s_{ci.spec.id}"] = _indicator(ci, env, st["trk_base"])
        st["r"] = [expr.evaluate(env).value is True for _, expr in c.rules]
        st["exc"], st["exc_text"] = _exclusion(m, st)
        states.append(st)

    graded = [st for st in states if st["exc"] is None]
    by_track: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for st in graded:
        by_track[st["trk"]].append(st)

    # -- benchmarks ---------------------------------------------------------------------------------
    bench: dict[tuple[str, str], Decimal | None] = {}
    for trk, members in by_track.items():
        base = members[0]["trk_base"]
        for ci in c.indicators:
            i, b = ci.spec.id, ci.spec.benchmark
            ok = [st[f"v_{i}"] for st in members if st[f"s_{i}"] == "ok"]
            value: Decimal | None
            if b.method == "fixed":
                value = b.by_track.get(base, b.value)
                value = q6(value) if value is not None else None
            elif b.method == "parameter":
                assert b.parameter is not None
                value = q6(params[b.parameter])
            elif b.method == "mean":
                value = div6(sum(ok, ZERO), Decimal(len(ok))) if ok else None
            else:
                ordered = sorted(ok)
                n = len(ordered)
                middle = [v for rn, v in enumerate(ordered, 1) if n <= 2 * rn <= n + 2]
                value = div6(sum(middle, ZERO), Decimal(len(middle))) if middle else None
            if value is not None and b.multiple != 1:
                value = mul6(value, b.multiple)
            bench[(trk, i)] = value

    # -- scores ----------------------------------------------------------------------------------------
    for st in graded:
        for ci in c.indicators:
            i = ci.spec.id
            st[f"bm_{i}"] = bench.get((st["trk"], i))
            st[f"ok_{i}"] = (_round_d(_score(m, ci, st[f"v_{i}"], st[f"bm_{i}"], st["trk_base"]), d)
                             if st[f"s_{i}"] == "ok" else None)
    for members in by_track.values():
        for ci in c.indicators:
            i, spec = ci.spec.id, ci.spec
            oks = [st[f"ok_{i}"] for st in members if st[f"ok_{i}"] is not None]
            avg = _round_d(div6(sum(oks, ZERO), Decimal(len(oks))), d) if oks else _round_d(ZERO, d)
            for st in members:
                status = st[f"s_{i}"]
                if status == "na":
                    st[f"sc_{i}"] = None
                elif status == "ok":
                    st[f"sc_{i}"] = st[f"ok_{i}"]
                else:
                    t = spec.missing if status in ("missing", "invalid") else spec.zero_divisor_treatment
                    st[f"sc_{i}"] = {"zero": _round_d(ZERO, d), "track_average": avg,
                                     "max_score": _round_d(m.cap_score(spec, st["trk_base"]), d)}[t]
        for st in members:
            st["total"] = _round_d(sum((st[f"sc_{ci.spec.id}"] or ZERO for ci in c.indicators), ZERO), d)
            st["exempt"] = m.grading.method == "percentile" and any(
                flag for flag, (rule, _) in zip(st["r"], c.rules, strict=True) if rule.quota == "exempt")

    # -- ranks, bands ------------------------------------------------------------------------------
    for members in by_track.values():
        inq = [st for st in members if not st["exempt"]]
        totals = sorted((st["total"] for st in inq), reverse=True)
        nq = len(inq)
        for st in members:
            st["inq"] = not st["exempt"]
            if st["inq"]:
                # RANK(): 1 + the number of enterprises with a strictly higher total.
                st["rnk"] = 1 + sum(1 for t in totals if t > st["total"])
                st["nq"] = nq
                st["pct"] = div6(Decimal(st["rnk"]), Decimal(nq))
            else:
                st["rnk"] = st["nq"] = st["pct"] = None
            st["band"] = _band(m, st) if (st["inq"] or m.grading.method == "threshold") else None
        if m.grading.method == "percentile":
            cut: dict[int, Decimal] = {}
            for st in inq:
                if st["band"] < last:
                    cut[st["band"]] = min(cut.get(st["band"], st["total"]), st["total"])
            for st in members:
                if st["exempt"]:
                    st["band"] = next((k for k in range(1, last) if k in cut and st["total"] >= cut[k]), last)

    # -- special rules, reason, consequences ----------------------------------------------------------
    out: list[dict[str, Any]] = []
    for st in states:
        env = st["env"]
        row: dict[str, Any] = {
            "id": env["id"], "name": env["name"], "province": env["province"], "city": env["city"],
            "county": env["county"], "district": env["district"], "industry": env["industry"], "year": year,
            "method": m.id, "track": st["trk"], "track_label": st["trk_label"], "graded": st["exc"] is None,
            "exclusion": st["exc"], "exclusion_reason": st["exc_text"],
        }
        is_graded = st["exc"] is None
        for ci in c.indicators:
            i = ci.spec.id
            row[f"{i}_value"] = _nz(st[f"v_{i}"])
            row[f"{i}_status"] = st[f"s_{i}"]
            row[f"{i}_benchmark"] = st.get(f"bm_{i}") if is_graded and st[f"s_{i}"] != "na" else None
            row[f"{i}_score"] = st.get(f"sc_{i}") if is_graded else None
        cls_idx: int | None = None
        parts: list[str] = []
        applied: list[str] = []
        if is_graded:
            start = st["band"]
            total = _fmt(st["total"])
            if m.grading.method == "percentile" and st["inq"]:
                parts.append(f"{st['trk_label']}组内第{st['rnk']}名/共{st['nq']}家,总分{total} → {labels[start - 1]}")
            elif m.grading.method == "percentile":
                parts.append(f"{st['trk_label']}:不占比例,总分{total} 按分数对应{labels[start - 1]}")
            else:
                parts.append(f"{st['trk_label']}:总分{total} → {labels[start - 1]}")
            for ci in c.indicators:
                spec, status = ci.spec, st[f"s_{ci.spec.id}"]
                if status in STATUS_TEXT:
                    t = spec.missing if status in ("missing", "invalid") else spec.zero_divisor_treatment
                    if t != "exclude":
                        parts.append(f"{spec.label}{STATUS_TEXT[status]},{TREATMENT_TEXT[t]}")
            cls_idx = start
            for flag, (rule, _) in zip(st["r"], c.rules, strict=True):
                if not flag:
                    continue
                k = m.class_names.index(rule.class_) + 1
                new = {"set": k, "not_below": min(cls_idx, k), "not_above": max(cls_idx, k)}[rule.action]
                if new == cls_idx:
                    parts.append(f"{rule.label}:维持{labels[new - 1]}")
                else:
                    parts.append(f"{rule.label}:{labels[cls_idx - 1]}→{labels[new - 1]}")
                applied.append(rule.id)
                cls_idx = new
            row.update({
                "total_score": st["total"], "rank_in_track": st["rnk"], "track_size": st["nq"],
                "percentile": st["pct"], "band_class": m.class_names[start - 1],
                "class": m.class_names[cls_idx - 1], "class_order": cls_idx, "quota_exempt": st["exempt"],
                "overrides": ",".join(applied) or None, "reason": "；".join(parts),
            })
        else:
            row.update({"total_score": None, "rank_in_track": None, "track_size": None, "percentile": None,
                        "band_class": None, "class": None, "class_order": None, "quota_exempt": False,
                        "overrides": None, "reason": f"不参评:{st['exc_text']}"})
        apply_row(m, row, env, is_graded)
        out.append(row)
    out.sort(key=_order_key)
    return out


def _order_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (not row["graded"], row["track"] is None, row["track"] or "", row["class_order"] is None,
            row["class_order"] or 0, -(row["total_score"] or 0), row["id"])


def _indicator(ci: CompiledIndicator, env: Mapping[str, Any], trk_base: str | None) -> tuple[Decimal | None, str]:
    applicable = trk_base is not None and (ci.spec.tracks is None or trk_base in ci.spec.tracks)
    if not applicable:
        return None, "na"
    neg_fields = [*ci.nonnegative, *(f for f in ci.divisors if f not in ci.nonnegative)]
    neg = any(env.get(f) is not None and env[f] < 0 for f in neg_fields)
    zero = any(env.get(f) is not None and env[f] == 0 for f in ci.divisors)
    value = None
    if not (neg or zero):
        result = ci.formula.evaluate(env).value
        value = result if isinstance(result, Decimal) else None
    if neg:
        return value, "invalid"
    if zero:
        return value, "zero_divisor"
    if value is None:
        return None, "missing"
    if ci.spec.direction == "lower" and value < 0:
        return value, "invalid"
    return value, "ok"


def _exclusion(m: Methodology, st: Mapping[str, Any]) -> tuple[str | None, str | None]:
    c = m.compiled
    for ex, expr in c.exclusions:
        if expr.evaluate(st["env"]).value is True:
            return ex.id, ex.label
    if st["trk"] is None:
        return "no_track", "不属于任何评价分组"
    for ci in c.indicators:
        status = st[f"s_{ci.spec.id}"]
        if status in STATUS_TEXT:
            t = ci.spec.missing if status in ("missing", "invalid") else ci.spec.zero_divisor_treatment
            if t == "exclude":
                return f"indicator:{ci.spec.id}", f"指标「{ci.spec.label}」{STATUS_TEXT[status]},无法计分"
    return None, None


def _score(m: Methodology, ci: CompiledIndicator, v: Decimal, b: Decimal | None, trk_base: str) -> Decimal:
    spec = ci.spec
    w = q6(m.weight(spec, trk_base))
    lo, hi = m.floor_score(spec), m.cap_score(spec, trk_base)
    if b is None or b <= 0:
        return ZERO
    if spec.direction == "higher":
        raw = mul6(div6(v, b), w)
    else:
        if v == 0:
            return hi
        raw = mul6(div6(b, v), w)
    return min(max(raw, lo), hi)


def _band(m: Methodology, st: Mapping[str, Any]) -> int:
    g = m.grading
    last = len(g.bands)
    if g.method == "threshold":
        for k, band in enumerate(g.bands[:-1], 1):
            assert band.min_score is not None
            if st["total"] >= band.min_score:
                return k
        return last
    nq = Decimal(st["nq"])
    for k, band in enumerate(g.bands[:-1], 1):
        assert band.upto is not None
        share = q6(band.upto)
        if g.rounding == "floor":
            limit = (nq * share).to_integral_value(ROUND_FLOOR)
        elif g.rounding == "half_up":
            limit = (nq * share + Decimal("0.5")).to_integral_value(ROUND_FLOOR)
        else:
            limit = (nq * share).to_integral_value(ROUND_CEILING)
        if st["rnk"] <= limit:
            return k
    return last


# ``typed_name`` is imported so both engines share the naming of internal columns.
__all__ = ["convert", "div6", "q6", "run", "typed_name"]
