"""The 亩均 class feeds the rules: a profile without a class takes it from the latest
stored evaluation of the year before the calculation date, and the report says so."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from huiqi.evaluation import evaluate, load_methodology
from huiqi.evaluation.link import fill_class_from_evaluation
from huiqi.evaluation.sample import write_population
from huiqi.profile import profile_from_data


def _profile(name: str, cls: str | None = None):  # type: ignore[no-untyped-def]
    data: dict[str, object] = {"name": name, "region": {"province": "浙江省", "city": "台州市", "county": "临海市"}}
    if cls:
        data["enterprise"] = {"muju_class": cls}
    return profile_from_data(data)


def test_class_comes_from_latest_evaluation(tmp_path: Path) -> None:
    population = write_population(tmp_path / "pop.csv", 120, year=2021)
    ev = evaluate(population, load_methodology("linhai-2022"), year=2021)
    store = tmp_path / "store"
    ev.store(store)
    graded = [r for r in ev.enterprises.to_pylist() if r["class"] is not None]
    target = graded[0]

    profile = _profile(target["name"])
    note = fill_class_from_evaluation(profile, store, on=date(2022, 9, 1))
    assert profile.enterprise["muju_class"] == target["class"]
    assert note is not None and "linhai-2022" in note and target["class"] in note

    # An evaluation of a later year than 上一年度 is not used.
    later = _profile(target["name"])
    note = fill_class_from_evaluation(later, store, on=date(2021, 9, 1))
    assert "muju_class" not in later.enterprise and note is not None and "没有" in note

    # A class stated in the profile wins; nothing is looked up.
    stated = _profile(target["name"], "B")
    assert fill_class_from_evaluation(stated, store, on=date(2022, 9, 1)) is None
    assert stated.enterprise["muju_class"] == "B"
