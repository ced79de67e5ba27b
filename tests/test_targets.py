"""Quantified goals (huiqi.ingest.targets)."""

from __future__ import annotations

from decimal import Decimal

import opencc

from huiqi.document import Comparator, Target
from huiqi.ingest.targets import extract_targets
from tests.conftest import seeds_dir

C = Comparator


def targets(text: str) -> list[Target]:
    got = extract_targets(text)
    for t in got:
        assert text[t.start:t.end] == t.text
        assert t.measure is None
    return got


def summary(text: str) -> list[tuple[Decimal, str, Comparator | None, int | None]]:
    return [(t.value, t.unit, t.comparator, t.year) for t in targets(text)]


def test_linhai_main_goals_traditional_source() -> None:
    # seed 003 附件 二、主要目标, converted from traditional script (畝 → 亩)
    text = opencc.OpenCC("t2s").convert(
        "到2023年底,力爭全市規上工業畝均稅收超過20.3萬元,畝均增加值超過101.4萬元,規上製造業全員勞動生產率超過"
        "24.23萬元/人,完成畝均稅收連續兩年10萬元(含)以下的億元企業、5萬元(含)以下的低效企業的改造提升;"
        "單位工業增加值能耗下降10.4%以上;制造業投資年均增長10%以上;淘汰落後和整治提升企業1000家;"
        "盤活低效工業用地4500畝以上。")
    got = targets(text)
    assert [(t.value, t.unit, t.comparator, t.year) for t in got] == [
        (Decimal("20.3"), "万元", C.GT, 2023),
        (Decimal("101.4"), "万元", C.GT, 2023),
        (Decimal("24.23"), "万元/人", C.GT, 2023),
        (Decimal("10.4"), "%", C.GE, 2023),
        (Decimal("10"), "%", C.GE, 2023),
        (Decimal("1000"), "家", C.EQ, 2023),
        (Decimal("4500"), "亩", C.GE, 2023),
    ]
    assert got[0].indicator == "全市规上工业亩均税收"
    assert got[1].indicator == "亩均增加值"
    assert got[3].indicator == "单位工业增加值能耗下降"


def test_shiyan_growth_with_stretch_goal() -> None:
    got = targets("稳增长的态势更加明显,规模以上工业增加值年均增长保持在8%左右、力争达到9%,每年增长不低于7.5%。")
    assert [(t.value, t.comparator, t.stretch_value) for t in got] == [
        (Decimal("8"), C.APPROX, Decimal("9")), (Decimal("7.5"), C.GE, None)]
    assert got[0].indicator == "规模以上工业增加值年均增长"


def test_binzhou_goals_without_year() -> None:
    assert summary("逐月调度通报,紧盯建设进度,力争全年完成投资418亿元。") == [(Decimal("418"), "亿元", C.EQ, None)]
    assert summary("推进企业升规纳统,力争全年达到200家以上;") == [(Decimal("200"), "家", C.GE, None)]
    assert summary("推动企业多渠道上市,2022年实现上市和“新三板”挂牌企业4家。") == [(Decimal("4"), "家", C.EQ, 2022)]


def test_shouguang_from_to_keeps_the_new_level() -> None:
    got = targets("力争到2022年,研发投入占GDP比重每年提高0.1个百分点,全员劳动生产率从人均12.3万元提高到人均15万元,"
                  "形成双轮驱动的经济发展格局")
    assert [(t.value, t.unit, t.year) for t in got] == [
        (Decimal("0.1"), "个百分点", 2022), (Decimal("15"), "万元", 2022)]
    assert got[1].indicator == "全员劳动生产率"


def test_modifier_figures_are_not_targets() -> None:
    got = targets("到2022年,争取主营业务收入过50亿元企业达到10家,其中过1000亿元企业1家,过500亿元、200亿元企业各2家。")
    assert [(t.value, t.unit) for t in got] == [
        (Decimal("10"), "家"), (Decimal("1"), "家"), (Decimal("2"), "家"), (Decimal("2"), "家")]
    got = targets("确保每年培育新增产值过亿元的增长点30个以上、新增产值过10亿元的增长点2个以上。")
    assert [(t.value, t.comparator) for t in got] == [(Decimal("30"), C.GE), (Decimal("2"), C.GE)]


def test_incentive_thresholds_are_not_targets() -> None:
    assert targets("对设备投资额500万元以上的项目,按设备投资额的10%给予补助,最高补助300万元。") == []
    assert targets("对新获得军品科研生产资质、年销售额在200万元以上的民营企业,给予20万元的一次性奖励。") == []


def test_scope_counts_are_not_targets() -> None:
    assert targets("1.加快推进182个省、市级重点工业项目建设。") == []
    assert targets("发挥市一体化大数据平台作用,推动11个县市区建设县级数据节点。") == []
    assert targets("将30%要素指标由市级统筹,用于全市区域间协调。") == []


def test_count_after_goal_verb_and_ranges() -> None:
    assert summary("分行业动态培育50家高成长企业。") == [(Decimal("50"), "家", C.EQ, None)]
    assert summary("加快推进互联网与制造业融合发展,培育3-5个省级智能制造示范企业。") == [
        (Decimal("3"), "个", C.GE, None)]
    assert summary("到2025年,全市规模以上制造业企业,高技能人才占技能人才比例超过35%。") == [
        (Decimal("35"), "%", C.GT, 2025)]


def test_time_limit_reduction_is_a_target() -> None:
    got = targets("首次申领办理时限由30个工作日压减到20个工作日。")
    assert [(t.value, t.unit) for t in got] == [(Decimal("20"), "个工作日")]


def test_all_seeds_run() -> None:
    cc = opencc.OpenCC("t2s")
    total = 0
    for path in sorted(seeds_dir().glob("*.txt")):
        text = cc.convert(path.read_text(encoding="utf-8", errors="replace"))
        got = targets(text)
        total += len(got)
        for t in got:
            assert t.value >= 0 and t.indicator
    assert total >= 100
