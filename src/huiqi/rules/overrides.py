"""``--param name=value`` overrides, checked before anything is computed.

An unknown name used to be ignored and an unreadable value used to turn every rule that
reads the parameter into “无法判定” without a word; both are refused here, with the closest
name or the expected form.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from huiqi.errors import HuiqiError
from huiqi.profile import closest
from huiqi.rules.packs import parse_literal

__all__ = ["check_param_overrides"]


def check_param_overrides(parameters: Any, overrides: Mapping[str, str]) -> dict[str, str]:
    """The overrides unchanged when every name is a declared parameter and every value reads
    as the kind of value the parameter holds (a number for numeric parameters)."""
    names = list(parameters.names()) if parameters is not None else []
    for name, raw in overrides.items():
        if name not in names:
            near = closest(name, names)
            raise HuiqiError(f"未知的参数 {name}", field="--param",
                             hint=f"您是否要写 {near[0]}?" if near else "可用参数:" + ("、".join(names) or "无"))
        definition = parameters.get(name)
        numeric = any(isinstance(v, Decimal) and not isinstance(v, bool) for _, v in definition.values)
        if not str(raw).strip():
            raise HuiqiError(f"参数 {name} 缺少值", field="--param", hint="写法:名称=值,如 lpr_1y=3.45%")
        value = parse_literal(raw)
        if numeric and not isinstance(value, Decimal):
            unit = "%" if definition.unit == "%" else ""
            raise HuiqiError(f"参数 {name}({definition.label})的值 “{raw}” 无法识别:应为数值", field="--param",
                             hint=f"如 {name}=3.45{unit}")
        if isinstance(value, Decimal) and definition.unit == "%" and not Decimal(-1) <= value <= Decimal(100):
            raise HuiqiError(f"参数 {name}({definition.label})的值 “{raw}” 超出合理范围", field="--param",
                             hint="百分比参数应在 -100% 与 10000% 之间,如 3.45%")
    return dict(overrides)
