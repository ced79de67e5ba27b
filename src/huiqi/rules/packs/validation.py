"""Pydantic validation errors of a rule pack as one located Chinese message (file, line, path)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from huiqi.errors import RuleError
from huiqi.profile import closest, line_of
from huiqi.rules.model import RulePack

__all__ = ["located_validation_error"]

_TYPE_MESSAGES = {
    "string_type": "应为文字",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "date_type": "应为日期(YYYY-MM-DD)",
    "date_parsing": "应为日期(YYYY-MM-DD)",
    "date_from_datetime_parsing": "应为日期(YYYY-MM-DD)",
    "date_from_datetime_inexact": "应为日期(YYYY-MM-DD),不带时间",
    "list_type": "应为列表(用“- ”或 [ … ] 书写)",
    "dict_type": "应为映射(键: 值)",
    "model_type": "应为映射(键: 值)",
    "model_attributes_type": "应为映射(键: 值)",
    "string_pattern_mismatch": "格式不符:只能用小写英文字母、数字、点、下划线和短横线",
    "string_too_short": "不能为空",
    "too_short": "不能为空",
}


def _unwrap(tp: Any) -> list[Any]:
    """The alternatives of Optional/Union/Annotated types."""
    origin = get_origin(tp)
    if origin is Union or str(origin) == "<class 'types.UnionType'>":
        out: list[Any] = []
        for arg in get_args(tp):
            out.extend(_unwrap(arg))
        return out
    if str(origin) == "<class 'typing.Annotated'>" or (origin is not None and hasattr(tp, "__metadata__")):
        return _unwrap(get_args(tp)[0])
    return [tp]


def _model_keys(model: type[BaseModel]) -> dict[str, Any]:
    return {(f.alias or name): f.annotation for name, f in model.model_fields.items()}


def _type_at(model: type[BaseModel], loc: Sequence[Any]) -> Any:
    """The annotation reached by following ``loc`` from ``model`` (None when lost)."""
    tp: Any = model
    for part in loc:
        nxt = None
        for alt in _unwrap(tp):
            if isinstance(alt, type) and issubclass(alt, BaseModel) and isinstance(part, str):
                nxt = _model_keys(alt).get(part)
            elif get_origin(alt) is list and isinstance(part, int):
                nxt = get_args(alt)[0]
            elif get_origin(alt) is dict and isinstance(part, str):
                nxt = get_args(alt)[1]
            if nxt is not None:
                break
        if nxt is None:
            continue  # a union tag such as 'str' or 'int'
        tp = nxt
    return tp


def _display_path(root: Any, loc: Sequence[Any], keep_last: bool) -> str:
    parts: list[str] = []
    cur = root
    for i, part in enumerate(loc):
        if isinstance(cur, dict) and part in cur:
            parts.append(f".{part}" if parts else str(part))
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            parts.append(f"[{part}]")
            cur = cur[part]
        elif keep_last and i == len(loc) - 1:
            parts.append(f".{part}" if parts else str(part))
        else:
            cur = None
    return "".join(parts)


def located_validation_error(exc: ValidationError, *, root: Any, file: str, base_loc: Sequence[Any] = (),
               model: type[BaseModel] = RulePack) -> RuleError:
    problems: list[tuple[int | None, str, str, str | None, str | None]] = []
    seen: set[str] = set()
    # A misspelt key shows up twice (extra "kindd" + missing "kind"); the extra one says more.
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    for err in errors:
        loc = [*base_loc, *err["loc"]]
        kind = err["type"]
        keep_last = kind in ("missing", "extra_forbidden")
        path = _display_path(root, loc, keep_last)
        if path in seen:
            continue  # one message per place: union branches (str | int) repeat themselves
        seen.add(path)
        line = line_of(root, loc)
        hint: str | None = None
        last = err["loc"][-1] if err["loc"] else ""
        if kind == "missing":
            msg = f"缺少必填项 {last}"
        elif kind == "extra_forbidden":
            parent = _type_at(model, err["loc"][:-1])
            keys: list[str] = []
            for alt in _unwrap(parent):
                if isinstance(alt, type) and issubclass(alt, BaseModel):
                    keys = list(_model_keys(alt))
            near = closest(str(last), keys)
            msg = f"未知的键 {last}"
            hint = f"您是否要写 {near[0]}?" if near else ("可用的键:" + "、".join(keys) if keys else None)
        elif kind == "literal_error":
            expected = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
            near = closest(str(err.get("input")), expected)
            msg = f"取值 {err.get('input')} 无效,可选:" + "、".join(expected)
            hint = f"您是否要写 {near[0]}?" if near else None
        elif kind == "value_error":
            msg = str(err["msg"]).removeprefix("Value error, ")
        elif kind in _TYPE_MESSAGES:
            shown = err.get("input")
            msg = f"{_TYPE_MESSAGES[kind]},实际是 {shown!r}" if not isinstance(shown, dict | list) \
                else _TYPE_MESSAGES[kind]
        else:
            msg = str(err["msg"])
        rule_id = None
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            rules = root.get("rules") if isinstance(root, dict) else None
            if isinstance(rules, list) and loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
                rule_id = rules[loc[1]].get("id")
        problems.append((line, path, msg, hint, None if rule_id is None else str(rule_id)))
    line, path, msg, hint, rule_id = problems[0]
    prefix = f"规则 {rule_id}:" if rule_id else ""
    text = f"{prefix}{path}:{msg}" if path else f"{prefix}{msg}"
    if len(problems) > 1:
        more = "\n".join(f"  第{p[0]}行 {p[1]}:{p[2]}" + (f"({p[3]})" if p[3] else "") for p in problems[1:10])
        extra = f"\n  ……另有 {len(problems) - 10} 处" if len(problems) > 10 else ""
        text += f"\n另有 {len(problems) - 1} 处错误:\n{more}{extra}"
    return RuleError(text, file=file, line=line, field=path or None, hint=hint)
