"""Responsible units: bracket forms, roles, normalisation, non-unit brackets, seeds."""

from __future__ import annotations

import pytest

from huiqi.ingest.outline import segment
from huiqi.ingest.units import extract_units, normalize_unit_name
from tests.conftest import seed_text


def test_responsibility_label() -> None:
    u = extract_units("加快供地。(责任单位:市自然资源和规划局、市发展改革委,市商务局)")
    assert u.all == ["市自然资源和规划局", "市发展改革委", "市商务局"]
    assert u.lead == [] and u.support == []
    assert u.text == "(责任单位:市自然资源和规划局、市发展改革委,市商务局)"


def test_lead_and_support_labels() -> None:
    u = extract_units("做好工作。（牵头单位：市经信局；配合单位：市财政局、市税务局）")
    assert u.all == ["市经信局", "市财政局", "市税务局"]
    assert u.lead == ["市经信局"]
    assert u.support == ["市财政局", "市税务局"]


@pytest.mark.parametrize(
    "clause,lead,support",
    [
        ("(市发改委牵头,市财政局、市税务局负责)", ["市发改委"], ["市财政局", "市税务局"]),
        ("(市发改委牵头,市财政局、市税务局配合)", ["市发改委"], ["市财政局", "市税务局"]),
        ("(市经信局、市财政局、市科技局按职责分工负责,市政府办公室牵头)", ["市政府办公室"],
         ["市经信局", "市财政局", "市科技局"]),
        ("(市工业和信息化局牵头负责)", ["市工业和信息化局"], []),
        ("(市经信局负责)", [], []),
        ("(市发展改革委、人民银行滨州市中心支行按职责分工负责)", [], []),
    ],
)
def test_role_patterns(clause: str, lead: list[str], support: list[str]) -> None:
    u = extract_units("给予支持。" + clause)
    assert u.lead == lead
    assert u.support == support
    assert set(lead + support) <= set(u.all)


def test_bare_bracket_of_units() -> None:
    assert extract_units("全部以标准地供应。(市自然资源规划局)").all == ["市自然资源规划局"]


def test_normalisation() -> None:
    u = extract_units("制定细则。(责任单位:市自然资源规划局,各镇〔街道〕)")
    assert u.all == ["市自然资源规划局", "各镇(街道)"]
    assert normalize_unit_name(" 各镇（街道） ") == "各镇(街道)"
    assert normalize_unit_name("交通局等单位") == "交通局"
    u2 = extract_units("排摸企业。(各镇〔街道〕及台州湾经济技术开发区为责任主体,下同)")
    assert u2.all == ["各镇(街道)", "台州湾经济技术开发区"]
    u3 = extract_units("加强协作。(商务局牵头,圣城街道、侯镇等单位配合)")
    assert u3.lead == ["商务局"] and u3.support == ["圣城街道", "侯镇"]


@pytest.mark.parametrize(
    "text",
    [
        "设立专项资金(以下简称专项资金)",
        "获得技术中心类(含企业技术中心、工程技术研究中心)",
        "期限计算(从申报之日起计算)",
        "实施行动计划(2018-2020年)",
        "没有任何括号的措施。",
    ],
)
def test_not_units(text: str) -> None:
    u = extract_units(text)
    assert u.all == [] and u.text is None


@pytest.mark.seeds
def test_seed_003_units() -> None:
    r = segment(seed_text("003"))
    m = next(m for m in r.measures if m.key == "二/八")
    assert extract_units(m.own_text).all == ["市经信局"]


@pytest.mark.seeds
def test_seed_001_units_every_item() -> None:
    r = segment(seed_text("001"))
    items = [m for m in r.measures if m.level == 1]
    found = [extract_units(m.own_text) for m in items]
    assert all(u.all for u in found)
    assert "人民银行滨州市中心支行" in found[1].all
    assert found[24].lead == ["市工业和信息化局"]


def test_responsible_with_supporters_leads():
    from huiqi.ingest.units import extract_units

    u = extract_units("做好园区规划。(圣城街道、羊口镇负责,规划局、发改局等单位配合)")
    assert u.all == ["圣城街道", "羊口镇", "规划局", "发改局"]
    assert u.lead == ["圣城街道", "羊口镇"]
    assert u.support == ["规划局", "发改局"]
