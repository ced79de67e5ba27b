"""Literals in rule language and date-versioned parameters (data/parameters.yaml, pack parameters)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from huiqi.errors import HuiqiError, RuleError
from huiqi.profile import closest, line_of, load_yaml
from huiqi.rules.expr import compile_expr
from huiqi.rules.expr_ast import Bool, Neg, Num, Str
from huiqi.rules.model import Parameter
from huiqi.rules.packs.validation import located_validation_error

__all__ = ["ParamDef", "ParamValue", "ParameterSet", "builtin_packs_dir", "builtin_parameters_path",
           "constant_number", "load_parameters", "param_defs", "parse_literal"]

ParamValue = Decimal | str | bool


def builtin_packs_dir() -> Path:
    return Path(str(resources.files("huiqi").joinpath("rulepacks")))


def builtin_parameters_path() -> Path:
    return Path(str(resources.files("huiqi").joinpath("data", "parameters.yaml")))


def parse_literal(text: Any, *, source: str | None = None, field_name: str | None = None) -> ParamValue:
    """A constant written in rule language: "3.70%" → 0.037, "500万元" → 5000000, "A类" → "A类".

    Uses the expression parser so that parameters, overrides and tier bounds read
    numbers exactly like rules do. Text that is not a constant is kept as a string.
    """
    if isinstance(text, bool):
        return text
    if isinstance(text, int | Decimal):
        return Decimal(text)
    raw = str(text).strip()
    try:
        expr = compile_expr(raw, source=source, field=field_name)
    except RuleError:
        return raw
    node = expr.ast
    if isinstance(node, Num | Str | Bool) or (isinstance(node, Neg) and isinstance(node.operand, Num)):
        value = expr.evaluate({}).value
        assert value is not None
        return value
    return raw


def constant_number(value: Any, *, file: str, line: int | None, where: str, rule_id: str) -> Decimal:
    """Tier band bounds and rank awards must be numeric constants (500万元, 3000000)."""
    parsed = parse_literal(value)
    if not isinstance(parsed, Decimal) or isinstance(parsed, bool):
        raise RuleError(f"规则 {rule_id}:{where} 必须是数字常量(如 500万元),实际是 {value!r}",
                        file=file, line=line, field=where)
    return parsed


@dataclass(frozen=True)
class ParamDef:
    name: str
    label: str
    unit: str
    values: tuple[tuple[date, ParamValue], ...]  # sorted by date
    source: str | None = None

    def value(self, on: date) -> ParamValue | None:
        current: ParamValue | None = None
        for start, value in self.values:
            if start <= on:
                current = value
            else:
                break
        return current


class ParameterSet:
    """Named, date-versioned values (LPR …): the value in force is the latest ``from`` <= date."""

    def __init__(self, defs: Mapping[str, ParamDef] | None = None,
                 overrides: Mapping[str, ParamValue] | None = None) -> None:
        self.defs: dict[str, ParamDef] = dict(defs or {})
        self.overrides: dict[str, ParamValue] = dict(overrides or {})

    def __contains__(self, name: object) -> bool:
        return name in self.defs

    def names(self) -> list[str]:
        return sorted(self.defs)

    def get(self, name: str) -> ParamDef:
        if name not in self.defs:
            near = closest(name, self.defs)
            raise HuiqiError(f"未知的参数 {name}", field=name,
                             hint=f"您是否要写 {near[0]}?" if near else "可用:" + "、".join(self.names()))
        return self.defs[name]

    def value(self, name: str, on: date) -> ParamValue | None:
        """The value in force on ``on`` (an override wins); None before the first ``from``."""
        definition = self.get(name)
        if name in self.overrides:
            return self.overrides[name]
        return definition.value(on)

    def values(self, on: date) -> dict[str, ParamValue | None]:
        return {name: self.value(name, on) for name in self.defs}

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> ParameterSet:
        """``--param lpr_1y=3.45%``: the given text replaces the dated values."""
        if not overrides:
            return self
        merged = dict(self.overrides)
        for name, raw in overrides.items():
            self.get(name)
            merged[name] = parse_literal(raw)
        return ParameterSet(self.defs, merged)

    def merged(self, other: Mapping[str, ParamDef]) -> ParameterSet:
        defs = dict(self.defs)
        defs.update(other)
        return ParameterSet(defs, self.overrides)


def param_defs(data: Any, *, file: str, loc: Sequence[Any], root: Any,
                skip: Sequence[str] = ()) -> dict[str, ParamDef]:
    """Validate a ``name: {label, unit, values}`` mapping into ParamDefs."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RuleError("参数应为“名称: {label, unit, values}”的映射", file=file, line=line_of(root, loc))
    out: dict[str, ParamDef] = {}
    for name, raw in data.items():
        if name in skip:
            continue
        ploc = [*loc, name]
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*", name):
            raise RuleError(f"参数名 {name} 不合法:只能由字母、汉字、数字、下划线组成", file=file,
                            line=line_of(root, ploc))
        try:
            param = Parameter.model_validate(raw)
        except ValidationError as exc:
            raise located_validation_error(exc, root=root, file=file, base_loc=ploc, model=Parameter) from None
        values: list[tuple[date, ParamValue]] = []
        for i, pv in enumerate(sorted(param.values, key=lambda v: v.from_)):
            if values and values[-1][0] == pv.from_:
                raise RuleError(f"参数 {name} 在 {pv.from_} 有两个取值", file=file,
                                line=line_of(root, [*ploc, "values", i]), field=f"{name}.values")
            values.append((pv.from_, parse_literal(pv.value)))
        out[name] = ParamDef(name, param.label, param.unit, tuple(values), f"{file}:{line_of(root, ploc)}")
    return out


def load_parameters(path: str | Path | None = None) -> ParameterSet:
    """The global parameters (default: data/parameters.yaml; absent file = none)."""
    p = Path(path) if path is not None else builtin_parameters_path()
    if path is None and not p.is_file():
        return ParameterSet()
    data = load_yaml(p)
    if data is not None and not isinstance(data, dict):
        raise RuleError("参数文件应为“名称: {label, unit, values}”的映射", file=str(p))
    if isinstance(data, dict) and isinstance(data.get("parameters"), dict):
        # Accept a wrapped form too: {schema_version, parameters: {...}}.
        return ParameterSet(param_defs(data["parameters"], file=str(p), loc=["parameters"], root=data))
    return ParameterSet(param_defs(data, file=str(p), loc=[], root=data, skip=("schema_version",)))
