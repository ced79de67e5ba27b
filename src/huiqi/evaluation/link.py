"""Feed the 亩均 class into the rules: a profile that does not state its class takes it
from the latest stored evaluation (of the year before the calculation date, as the
policies speak of 上一年度亩均评价)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from huiqi.evaluation.result import latest_class

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
