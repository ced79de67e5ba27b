"""Feed the 亩均 class into the rules: a profile (``calc``) or a registry (``simulate``)
that does not state its class takes it from the latest stored evaluation of the year
before the calculation date, as the policies speak of 上一年度亩均评价, or from the
evaluation file named with ``--evaluation``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from huiqi.errors import InputError
from huiqi.evaluation.result import latest_class, stored_evaluations

CLASS_FIELD = "muju_class"


def fill_class_from_evaluation(profile: Any, store: str | Path, on: date) -> str | None:
    """Set ``profile.enterprise[muju_class]`` from the store when missing; return a note
    citing the source (or saying why nothing was found), None when nothing was needed."""
    if profile.enterprise.get(CLASS_FIELD) not in (None, ""):
        return None
    store = Path(store)
    if not store.exists() or not profile.name:
        return None
    record = latest_class(store, profile.name, year=on.year - 1)
    if record is None:
        return f"亩均评价类别:画像未填写,{store} 中也没有 {on.year - 1} 年及以前对 {profile.name} 的评价"
    if record.cls is None:
        return f"亩均评价类别:{profile.name} 在 {record.source} 中未评价({record.reason or '原因未记录'})"
    profile.enterprise[CLASS_FIELD] = record.cls
    return f"亩均评价类别 {record.cls} 取自 {record.source}"


def evaluation_for(on: date, store: str | Path, explicit: str | Path | None = None) -> tuple[Path | None, str]:
    """(evaluation file, sentence citing it) whose classes a population run on ``on`` uses.

    ``explicit`` (``--evaluation FILE``) wins; otherwise the latest evaluation in ``store``
    of the year before ``on`` or earlier, as for one enterprise in ``calc``.
    """
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise InputError("亩均评价结果文件不存在", file=str(path), field="--evaluation")
        if path.suffix.lower() != ".parquet":
            raise InputError("亩均评价结果应为 huiqi evaluate 写出的 .parquet 文件", file=str(path),
                             field="--evaluation", hint="评价结果库中的文件,或 huiqi evaluate --out 结果.parquet")
        _check_evaluation_file(path)
        return path, f"亩均评价类别取自 {path}(--evaluation 指定)"
    wanted = on.year - 1
    for year, path, method in stored_evaluations(store):
        if 0 <= year <= wanted:
            return path, f"亩均评价类别取自 {path}({method} {year}年度,{on.year}年模拟取上一年度及以前最近一次评价)"
    return None, (f"亩均评价类别:{store} 中没有 {wanted} 年度及以前的评价结果,名录也未填写,"
                  "依赖评价类别的规则无法判定(先运行 huiqi evaluate,或用 --evaluation 指定结果文件)")


def _check_evaluation_file(path: Path) -> None:
    import pyarrow.parquet as pq

    try:
        names = set(pq.read_schema(path).names)
    except Exception:  # pyarrow raises several types for a file that is not Parquet
        raise InputError("无法读取亩均评价结果(不是有效的 Parquet 文件)", file=str(path), field="--evaluation") from None
    missing = [c for c in ("id", "class") if c not in names]
    if missing:
        raise InputError("亩均评价结果缺少列 " + "、".join(missing), file=str(path), field="--evaluation",
                         hint="应为 huiqi evaluate 写出的结果(.parquet)")
