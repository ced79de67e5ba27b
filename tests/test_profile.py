"""Enterprise profiles: field registry, coercion, errors, expression environment, cohorts."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from huiqi.errors import ProfileError, RuleError
from huiqi.profile import (
    FieldRegistry,
    Profile,
    default_registry,
    load_cohort,
    load_profile,
    load_yaml,
    profile_env,
    profile_json_schema,
)
from huiqi.schemas import export_schema

FIELDS = """\
schema_version: "1.0"
enterprise:
  muju_class: {label: 亩均评价类别, type: enum, values: [A, B, C, D]}
  annual_revenue: {label: 营业收入, type: money, unit: 元}
  titles: {label: 已获称号, type: list, values: [国家级企业技术中心, 省级企业技术中心]}
  rd_ratio: {label: 研发投入占比, type: percent}
  is_high_tech: {label: 高新技术企业, type: boolean}
  established: {label: 成立日期, type: date}
  employees: {label: 职工人数, type: integer, unit: 人}
project:
  equipment_investment: {label: 设备投资额, type: money, unit: 元, description: 认定的设备投资额}
  investment: {label: 项目投资额, type: money}
  land_area: {label: 用地面积, type: number, unit: 亩}
"""

PROFILE = """\
schema_version: "1.0"
name: 临海市某机械有限公司
region: {province: 浙江省, city: 台州市, county: 临海市, district: null}
enterprise:
  muju_class: A
  annual_revenue: 2.3亿元
  titles: [国家级企业技术中心]
  rd_ratio: 3.5%
  is_high_tech: 是
  established: 2010-05-01
  employees: 120
history:
  - {rule: shiyan.innovation_center, year: 2017, level: 国家级, amount: 30万元}
projects:
  - {id: p1, name: 智能化改造一期, equipment_investment: 600万元, investment: 15000000, land_area: 12.5亩}
  - {id: p2, equipment_investment: "1,200,000"}
"""


@pytest.fixture()
def registry(tmp_path: Path) -> FieldRegistry:
    path = tmp_path / "fields.yaml"
    path.write_text(FIELDS, encoding="utf-8")
    return FieldRegistry.load(path)


def write(tmp_path: Path, text: str, name: str = "profile.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_profile_coerces_every_type(tmp_path: Path, registry: FieldRegistry) -> None:
    profile = load_profile(write(tmp_path, PROFILE), registry)
    ent = profile.enterprise
    assert ent["annual_revenue"] == 230_000_000 and isinstance(ent["annual_revenue"], int)
    assert ent["rd_ratio"] == Decimal("0.035")
    assert ent["is_high_tech"] is True
    assert ent["established"] == date(2010, 5, 1)
    assert ent["employees"] == 120
    assert ent["titles"] == ["国家级企业技术中心"]
    assert profile.history[0].amount == 300_000
    p1, p2 = profile.projects
    assert p1.fields == {"equipment_investment": 6_000_000, "investment": 15_000_000, "land_area": Decimal("12.5")}
    assert p2.id == "p2" and p2.fields["equipment_investment"] == 1_200_000
    assert profile.region.county == "临海市" and profile.region.district is None


def test_json_profile_numbers_stay_exact(tmp_path: Path, registry: FieldRegistry) -> None:
    data = {"name": "甲", "enterprise": {"rd_ratio": 0.035, "annual_revenue": 150000000.0},
            "projects": [{"id": "x", "land_area": 0.1}]}
    profile = load_profile(write(tmp_path, json.dumps(data, ensure_ascii=False), "p.json"), registry)
    assert profile.enterprise["rd_ratio"] == Decimal("0.035")
    assert profile.enterprise["annual_revenue"] == 150_000_000
    assert profile.projects[0].fields["land_area"] == Decimal("0.1")


def test_json_with_tabs_and_bad_json(tmp_path: Path, registry: FieldRegistry) -> None:
    text = '{\n\t"name": "甲",\n\t"enterprise": {"rd_ratio": 0.035}\n}'
    assert load_profile(write(tmp_path, text, "t.json"), registry).enterprise["rd_ratio"] == Decimal("0.035")
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, '{\n\t"name": "甲",\n\t"x": }', "b.json"), registry)
    assert info.value.line == 3


def test_unknown_field_names_path_line_and_closest(tmp_path: Path, registry: FieldRegistry) -> None:
    text = PROFILE.replace("equipment_investment: 600万元", "equipmnt_investment: 600万元")
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, text), registry)
    err = info.value
    assert err.field == "project.equipmnt_investment"
    assert err.line == 15
    assert err.hint is not None and "equipment_investment(设备投资额)" in err.hint
    assert "profile.yaml" in str(err)


def test_wrong_type_names_label_and_expected_type(tmp_path: Path, registry: FieldRegistry) -> None:
    text = PROFILE.replace("annual_revenue: 2.3亿元", "annual_revenue: 很多")
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, text), registry)
    assert "营业收入" in info.value.message and info.value.line == 6
    assert info.value.hint is not None and "金额" in info.value.hint


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("muju_class: A", "muju_class: E", "可选"),
        ("muju_class: A", "muju_class: a类", "不在可选值"),
        ("rd_ratio: 3.5%", "rd_ratio: 百分之", "无法识别"),
        ("is_high_tech: 是", "is_high_tech: 也许", "是/否"),
        ("established: 2010-05-01", "established: 2010年5月", "YYYY-MM-DD"),
        ("employees: 120", "employees: 12.5", "整数"),
        ("annual_revenue: 2.3亿元", "annual_revenue: 1.234567元", "整数元"),
        ("titles: [国家级企业技术中心]", "titles: [国家技术中心]", "不在可选值"),
    ],
)
def test_bad_values_rejected(tmp_path: Path, registry: FieldRegistry, old: str, new: str, needle: str) -> None:
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, PROFILE.replace(old, new)), registry)
    assert needle in str(info.value)


def test_misplaced_and_misspelt_keys(tmp_path: Path, registry: FieldRegistry) -> None:
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, "name: 甲\nmuju_class: A\n"), registry)
    assert info.value.hint is not None and "enterprise" in info.value.hint
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, "name: 甲\nproject: []\n"), registry)
    assert info.value.hint == "您是否要写 projects?"
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, "region: {province: 浙江省, city: 台洲市}\n"), registry)
    assert info.value.hint == "您是否要写 台州市?"


def test_yaml_is_safe_and_strict(tmp_path: Path, registry: FieldRegistry) -> None:
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, "name: !!python/object/apply:os.system ['true']\n"), registry)
    assert info.value.line == 1
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, "name: 甲\nenterprise:\n  muju_class: [A\n"), registry)
    assert info.value.line is not None and "YAML" in info.value.message
    # YAML 1.1 would read on/yes/no as booleans; tiers use `on:` as a key.
    data = load_yaml(write(tmp_path, "on: x\nanswer: no\nrate: 0.1\n", "y.yaml"))
    assert data == {"on": "x", "answer": "no", "rate": Decimal("0.1")}


def test_profile_env(tmp_path: Path, registry: FieldRegistry) -> None:
    profile = load_profile(write(tmp_path, PROFILE), registry)
    env = profile_env(profile, "p1", on=date(2022, 9, 1), params={"lpr_1y": Decimal("0.0365")}, fields=registry)
    assert env["enterprise.muju_class"] == "A"
    assert env["project.equipment_investment"] == 6_000_000
    assert env["enterprise.titles.国家级企业技术中心"] is True
    assert env["enterprise.titles.省级企业技术中心"] is False
    assert env["enterprise.established"] == "2010-05-01"
    assert env["region.city"] == "台州市" and "region.district" not in env  # absent → reported missing
    assert env["param.lpr_1y"] == Decimal("0.0365") and env["date"] == "2022-09-01"
    enterprise_only = profile_env(profile, on=date(2022, 9, 1), fields=registry)
    assert not any(k.startswith("project.") for k in enterprise_only)

    from huiqi.rules.expr import compile_expr

    cond = compile_expr("project.equipment_investment >= 500万元 and enterprise.titles.国家级企业技术中心")
    assert cond.evaluate(env).value is True
    missing = compile_expr("project.investment >= 1000万元").evaluate(
        profile_env(profile, "p2", on=date(2022, 9, 1), fields=registry))
    assert missing.value is None and missing.missing == ("project.investment",)


def test_json_schema_documents_registry(registry: FieldRegistry) -> None:
    schema = profile_json_schema(registry)
    text = json.dumps(schema, ensure_ascii=False)
    assert "亩均评价类别" in text and "设备投资额" in text
    defs = schema["$defs"]
    ent = defs["EnterpriseFields"]["properties"]
    assert ent["annual_revenue"]["x-type"] == "money" and ent["annual_revenue"]["title"] == "营业收入"
    assert ent["established"]["x-type"] == "date"
    assert defs["ProjectFields"]["properties"]["land_area"]["x-unit"] == "亩"


def test_builtin_registry_and_schema_export() -> None:
    reg = default_registry()
    assert reg.all(), "data/fields.yaml 中应登记字段"
    for spec in reg.all():
        assert spec.label and spec.type
    schema = export_schema("profile")
    assert schema["x-schema-version"] == "1.0"
    props = schema["$defs"]["EnterpriseFields"]["properties"]
    assert set(props) == set(reg.enterprise)
    assert export_schema("rules")["title"] == "RulePack"


COHORT = """\
name,province,city,county,enterprise.muju_class,enterprise.annual_revenue,project.name,project.equipment_investment
甲公司,浙江省,台州市,临海市,A,2亿元,一期,600万元
乙公司,浙江省,台州市,临海市,B,150000000,,
"""


def test_load_cohort_csv(tmp_path: Path, registry: FieldRegistry) -> None:
    profiles = load_cohort(write(tmp_path, COHORT, "c.csv"), registry)
    assert [p.name for p in profiles] == ["甲公司", "乙公司"]
    assert profiles[0].enterprise == {"muju_class": "A", "annual_revenue": 200_000_000}
    assert profiles[0].projects[0].id == "1" and profiles[0].projects[0].fields == {"equipment_investment": 6_000_000}
    assert profiles[1].projects == []
    assert all(isinstance(p, Profile) for p in profiles)


def test_load_cohort_xlsx_and_errors(tmp_path: Path, registry: FieldRegistry) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["name", "city", "enterprise.annual_revenue", "project.equipment_investment"])
    ws.append(["甲", "台州市", 230000000.0, "600万元"])
    ws.append(["乙", "台州市", "很多", None])
    path = tmp_path / "c.xlsx"
    wb.save(path)
    with pytest.raises(ProfileError) as info:
        load_cohort(path, registry)
    assert info.value.line == 3 and "第3行第3列" in info.value.message and "营业收入" in info.value.message

    bad = write(tmp_path, "name,enterprise.muju_klass\n甲,A\n", "bad.csv")
    with pytest.raises(ProfileError) as info:
        load_cohort(bad, registry)
    assert "第1行第2列" in info.value.message and info.value.hint is not None and "muju_class" in info.value.hint


def test_registry_errors(tmp_path: Path) -> None:
    with pytest.raises(RuleError) as info:
        FieldRegistry.load(write(tmp_path, "enterprise:\n  x: {label: 甲, type: mony}\n", "f.yaml"))
    assert info.value.hint == "您是否要写 money?" and info.value.line == 2
    with pytest.raises(RuleError) as info:
        FieldRegistry.load(write(tmp_path, "enterprise:\n  x: {label: 甲, type: enum}\n", "f.yaml"))
    assert "values" in info.value.message
