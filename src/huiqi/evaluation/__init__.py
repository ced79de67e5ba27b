"""亩均效益综合评价 — grade every enterprise A/B/C/D and drive differentiated policies.

Public API::

    from huiqi.evaluation import load_methodology, evaluate, class_lookup

    m = load_methodology("zhejiang-county")            # built-in name or YAML path
    ev = evaluate("population.parquet", m, year=2023)  # engine="duckdb" | "spark" | "python"
    ev.enterprises                                     # Arrow table: indicators, scores, rank, class, reason
    ev.summary.by_district                             # class distribution per district
    ev.store()                                         # var/evaluations/zhejiang-county-2023.parquet
    class_lookup("var/evaluations", "E0000001")        # ("B", "亩均效益综合评价 zhejiang-county 2023年度(…)")

See docs/evaluation.md for the methodology format and the exact grading rules.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Literal

from huiqi.errors import InputError
from huiqi.evaluation.methodology import (
    Methodology,
    builtin_methodologies,
    load_methodology,
    methodology_json_schema,
)
from huiqi.evaluation.population import Population, describe, registry_years
from huiqi.evaluation.result import (
    DEFAULT_STORE,
    ClassRecord,
    Evaluation,
    Summary,
    class_lookup,
    conform,
    latest_class,
    output_schema,
)

Engine = Literal["duckdb", "spark", "python"]
# The registry of evaluation engines: name → module (imported when chosen: pyspark is optional);
# each module has ``run(population, methodology, *, year, params, progress) -> (table, info)``.
ENGINES: dict[str, str] = {
    "duckdb": "huiqi.evaluation.engine_duckdb",
    "spark": "huiqi.evaluation.engine_spark",
    "python": "huiqi.evaluation.engine_python",
}

__all__ = [
    "DEFAULT_STORE",
    "ENGINES",
    "ClassRecord",
    "Evaluation",
    "Methodology",
    "Summary",
    "builtin_methodologies",
    "class_lookup",
    "evaluate",
    "latest_class",
    "load_methodology",
    "methodology_json_schema",
    "output_schema",
]


def evaluate(
    population: Population,
    methodology: Methodology | str | Path,
    year: int | None = None,
    engine: str = "duckdb",
    *,
    params: Mapping[str, Decimal | int | str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Evaluation:
    """Grade a population with a methodology.

    ``population``: an enterprise registry (docs/registry.md): a .parquet/.csv/.xlsx file,
    a Parquet directory, ``file.duckdb::table``, an Arrow table or a list of row dicts.
    ``year`` selects rows of that year when the registry has a 年度 column (default: the
    latest year present; without the column, the methodology's year); the result says
    which (``Evaluation.year_note``). ``params`` overrides methodology parameters.
    """
    m = methodology if isinstance(methodology, Methodology) else load_methodology(methodology)
    if engine not in ENGINES:
        raise InputError(f"不支持的计算引擎 {engine!r}", hint="可选:" + "、".join(ENGINES))
    chosen_year, year_note = _choose_year(population, m, year)
    overrides = _params(m, params)
    start = time.perf_counter()
    runner = importlib.import_module(ENGINES[engine])
    table, info = runner.run(population, m, year=chosen_year, params=overrides, progress=progress)
    if table.num_rows == 0 and chosen_year is not None and "year" in info.columns:
        raise InputError(f"企业名录中没有 {chosen_year} 年度的数据", file=info.file,
                         hint="用 --year 指定年度,或检查 year 列")
    return Evaluation(m, chosen_year, engine, conform(table, m), describe(population), info.warnings,
                      time.perf_counter() - start, year_note=year_note)


def _choose_year(population: Population, m: Methodology, year: int | None) -> tuple[int | None, str]:
    """The year graded and the sentence saying why: asked for, the latest in the data, or the method's."""
    years = registry_years(population)
    span = (f"名录含 {years[0]}–{years[-1]} 年度" if len(years) > 1 else f"名录只有 {years[0]} 年度") if years else ""
    if year is not None:
        if years and year not in years:
            raise InputError(f"企业名录中没有 {year} 年度的数据", file=describe(population), field="--year",
                             hint="名录中的年度:" + "、".join(str(y) for y in years[-8:]))
        return year, f"评价年度 {year}(--year 指定" + (f";{span})" if span else ")")
    if years:
        return years[-1], f"评价年度 {years[-1]}(名录中最新的年度;{span};用 --year 选其他年度)"
    if m.year is not None:
        return m.year, f"评价年度 {m.year}(名录没有年度列,取评价方法 {m.id} 的年度)"
    return None, "名录没有年度列,评价全部行"


def _params(m: Methodology, params: Mapping[str, Decimal | int | str] | None) -> dict[str, Decimal]:
    from huiqi.evaluation.methodology import parse_decimal

    out: dict[str, Decimal] = {}
    for key, raw in (params or {}).items():
        if key not in m.parameters:
            raise InputError(f"评价方法 {m.id} 没有参数 {key}",
                             hint=f"可用参数:{'、'.join(m.parameters) or '无'}")
        value = parse_decimal(raw)
        if not isinstance(value, Decimal):
            raise InputError(f"参数 {key} 的值 {raw!r} 不是有效的数值")
        out[key] = value
    return out
