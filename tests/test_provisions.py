"""Quantitative provisions and exact number parsing (huiqi.ingest.numbers / provisions)."""

from __future__ import annotations

from decimal import Decimal

import opencc
import pytest

from huiqi.document import Comparator, Provision, ProvisionKind
from huiqi.errors import InputError
from huiqi.ingest.numbers import parse_money, parse_number, parse_percent
from huiqi.ingest.provisions import extract_provisions
from tests.conftest import seeds_dir

K = ProvisionKind
C = Comparator


def provs(text: str) -> list[Provision]:
    result, _ = extract_provisions(text)
    for p in result:
        assert text[p.start:p.end] == p.text
    return result


def one(text: str, kind: ProvisionKind | None = None) -> Provision:
    found = [p for p in provs(text) if kind is None or p.kind == kind]
    assert len(found) == 1, found
    return found[0]


# ---- numbers ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("20", "20"), ("１０", "10"), ("1,000", "1000"), ("5.04", "5.04"), ("二十", "20"), ("三百五十", "350"),
        ("一千二百", "1200"), ("两", "2"), ("〇", "0"), ("零", "0"), ("十二", "12"), ("一百零五", "105"),
        ("1.5万", "15000"), ("3亿", "300000000"), ("二十万", "200000"), ("一千二", "1200"),
        ("4500亿", "450000000000"), ("一亿二千万", "120000000"), ("二〇二二", "2022"),
    ],
)
def test_parse_number(text: str, value: str) -> None:
    assert parse_number(text) == Decimal(value)


@pytest.mark.parametrize(("number", "unit", "yuan"), [
    ("二十万", "元", 200000), ("1.5", "亿元", 150000000), ("5.04", "万元", 50400), ("３", "千元", 3000),
    ("2", "百万元", 2000000), ("60", "元", 60),
])
def test_parse_money_exact(number: str, unit: str, yuan: int) -> None:
    got = parse_money(number, unit)
    assert got == yuan and isinstance(got, int)


def test_parse_money_rejects_fractional_yuan() -> None:
    with pytest.raises(InputError):
        parse_money("1.23456", "万元")
    with pytest.raises(InputError):
        parse_money("10", "美刀")


def test_parse_number_rejects_words() -> None:
    for bad in ("统一", "万", "", "abc"):
        with pytest.raises(InputError):
            parse_number(bad)


@pytest.mark.parametrize(("text", "value"), [
    ("10%", "10"), ("10％", "10"), ("百分之十", "10"), ("三成", "30"), ("八五折", "85"), ("85折", "85"),
    ("千分之五", "0.5"), ("0.5个百分点", "0.5"), ("七折", "70"),
])
def test_parse_percent(text: str, value: str) -> None:
    assert parse_percent(text) == Decimal(value)


# ---- the inversion cases -------------------------------------------------------------------

def test_not_exceeding_is_a_ceiling_not_gt() -> None:
    p = one("给予不超过10万元补助")
    assert (p.comparator, p.upper_bound, p.yuan) == (C.LE, True, 100000)
    assert p.kind in (K.AMOUNT, K.CAP)
    bare = one("不超过10万元")
    assert bare.comparator == C.LE and bare.upper_bound


@pytest.mark.parametrize(("text", "cmp"), [
    ("对投资额超过10万元的项目给予奖励", C.GT),
    ("对投资额不满10万元的项目给予奖励", C.LT),
    ("对投资额10万元以下的项目给予奖励", C.LE),
    ("对投资额10万元以上的项目给予奖励", C.GE),
    ("对投资额10万元(含)以上的项目给予奖励", C.GE),
    ("对投资额10万元(不含)以上的项目给予奖励", C.GT),
    ("对投资额１０万元（含）以上的项目给予奖励", C.GE),
    ("对投资额10万元以内的项目给予奖励", C.LE),
])
def test_threshold_comparators(text: str, cmp: Comparator) -> None:
    p = one(text)
    assert (p.kind, p.comparator, p.yuan, p.upper_bound) == (K.THRESHOLD, cmp, 100000, False)


def test_percent_comparators() -> None:
    assert one("每批次工业企业负责人占比不低于30%").comparator == C.GE
    p = one("范围重合度低于80%的,不再重新预审")
    assert (p.kind, p.comparator, p.subject) == (K.THRESHOLD, C.LT, "范围重合度")


def test_cap_and_rate_together() -> None:
    # seed 001 三/8
    ps = provs("对首次申请DCMM二级及以上认证企业所发生的评估费用,给予不超过10万元、最高30%的财政补贴。")
    assert [(p.kind, p.comparator, p.upper_bound) for p in ps] == [(K.CAP, C.LE, True), (K.RATE, C.LE, True)]
    assert ps[0].yuan == 100000 and ps[1].value == 30


def test_tier_table() -> None:
    # seed 001 五/18
    ps = provs("对成功上市企业再按照融资额实施奖补,融资额10亿元以下的奖补200万元;融资额10亿元(含)至20亿元的"
               "奖补700万元;融资额20亿元(含)以上的奖补1200万元。")
    got = [(p.kind, p.comparator, p.yuan, p.low_yuan, p.high_yuan) for p in ps]
    assert got == [
        (K.THRESHOLD, C.LE, 1000000000, None, None),
        (K.AMOUNT, C.EQ, 2000000, None, None),
        (K.RANGE, None, None, 1000000000, 2000000000),
        (K.AMOUNT, C.EQ, 7000000, None, None),
        (K.THRESHOLD, C.GE, 2000000000, None, None),
        (K.AMOUNT, C.EQ, 12000000, None, None),
    ]
    rng = ps[2]
    assert (rng.low, rng.low_inclusive, rng.high, rng.high_inclusive) == (10, True, 20, False)
    assert ps[0].subject == "融资额"


def test_per_unit_vehicle() -> None:
    ps = provs("对2022年符合条件的非公共领域新能源汽车最高补贴5.04万元/辆,公共领域新能源汽车最高补贴6.48万元/辆。")
    assert [(p.kind, p.yuan, p.per, p.comparator, p.upper_bound) for p in ps] == [
        (K.PER_UNIT, 50400, "辆", C.LE, True), (K.PER_UNIT, 64800, "辆", C.LE, True)]


def test_chinese_and_big_amounts() -> None:
    assert one("给予二十万元的一次性奖励").yuan == 200000
    assert one("给予1.5亿元的补助").yuan == 150000000


def test_ratio() -> None:
    p = one("由省财政和企业所在地财政按照5:5比例全额补贴", K.RATIO)
    assert (p.low, p.high) == (5, 5)
    p = one("按照5∶5比例全额补贴", K.RATIO)
    assert (p.low, p.high) == (5, 5)
    third = one("服务覆盖面不少于规上工业企业的三分之一", K.RATIO)
    assert (third.low, third.high, third.comparator) == (1, 3, C.GE)


def test_scope_per_event() -> None:
    p = one("支持举办高级研修培训、高端论坛、创新创业大赛等高端活动,给予每场最高20万元补贴")
    assert (p.kind, p.scope, p.yuan, p.upper_bound) == (K.CAP, "每场", 200000, True)


def test_bare_ceiling_award_is_amount() -> None:
    p = one("对新引进的人力资源服务全球100强、大中华区50强企业,给予最高50万元资助", K.AMOUNT)
    assert (p.yuan, p.comparator, p.upper_bound) == (500000, C.LE, True)


# ---- real clauses from the seeds -------------------------------------------------------------

def test_seed_linhai_equipment_subsidy() -> None:
    ps = provs("对项目投资1000万元及以上,且装备投资500万元及以上的重大传统产业改造提升项目,按设备投资额的10%给予补助,"
               "最高补助300万元。")
    assert [(p.kind, p.comparator, p.yuan) for p in ps] == [
        (K.THRESHOLD, C.GE, 10000000), (K.THRESHOLD, C.GE, 5000000), (K.RATE, C.EQ, None),
        (K.CAP, C.LE, 3000000)]
    assert ps[2].subject == "设备投资额" and ps[2].value == 10
    assert ps[1].subject == "装备投资"


def test_seed_linhai_single_firm_cap() -> None:
    ps = provs("对装备投资额200万元及以上的普通技改项目,按设备投资额的5%给予补助,单家企业最高补助200万元。")
    assert ps[0].subject == "装备投资额" and ps[0].kind == K.THRESHOLD
    assert (ps[2].kind, ps[2].scope, ps[2].yuan) == (K.CAP, "单家企业", 2000000)


def test_seed_linhai_per_square_metre() -> None:
    ps = provs("对“零增地”技改后生产厂房容积率提高20%(不含)以上的部分且自有自用的,按照亩均评价A、B类的,"
               "分别给予60元/平方米、50元/平方米的奖励,单个项目最高奖励100万元;")
    assert (ps[0].kind, ps[0].comparator, ps[0].value) == (K.THRESHOLD, C.GT, 20)
    assert [(p.kind, p.yuan, p.per) for p in ps[1:3]] == [(K.PER_UNIT, 60, "平方米"), (K.PER_UNIT, 50, "平方米")]
    assert (ps[3].kind, ps[3].scope, ps[3].yuan) == (K.CAP, "单个项目", 1000000)


def test_seed_linhai_per_mu_ceiling() -> None:
    p = one("对成功收购的,按收购土地面积给予最高不超过18万元/亩的奖励,用于企业装备提升。")
    assert (p.kind, p.yuan, p.per, p.comparator, p.upper_bound) == (K.PER_UNIT, 180000, "亩", C.LE, True)


def test_seed_linhai_land_threshold() -> None:
    ps = provs("产业园区外亩均效益A类、B类龙头骨干企业用地面积50亩以上的存量工业项目,可将配套用地面积占项目总用地面积"
               "的比例由7%提高到15%")
    assert (ps[0].kind, ps[0].comparator, ps[0].unit, ps[0].yuan, ps[0].subject) == (
        K.THRESHOLD, C.GE, "亩", None, "用地面积")
    assert [(p.value, p.note) for p in ps[1:]] == [(7, "调整前"), (15, "调整后")]


def test_seed_binzhou_lpr_cap() -> None:
    ps = provs("其中:贷款贴息按银行最新一期的贷款市场报价利率(LPR)的35%、最高2000万元确定;")
    assert (ps[0].kind, ps[0].value) == (K.RATE, 35)
    assert (ps[1].kind, ps[1].yuan, ps[1].upper_bound) == (K.CAP, 20000000, True)


def test_seed_binzhou_guarantee_rate_and_tax() -> None:
    p = one("对担保机构符合条件的项目,最高给予担保总额0.5%的补助。")
    assert (p.kind, p.value, p.comparator, p.upper_bound, p.subject) == (K.RATE, Decimal("0.5"), C.LE, True, "担保总额")
    p = one("达到一定标准的还可享受最高95%税收奖补。")
    assert (p.kind, p.value, p.upper_bound) == (K.RATE, 95, True)
    p = one("省级按照不超过10%的比例给予支持", K.RATE)
    assert (p.comparator, p.upper_bound) == (C.LE, True)


def test_seed_binzhou_pilot_cap_and_single_firm() -> None:
    p = one("试点期间企业所在地财政补贴金额不超过1000万元,由市县两级按财政体制分担。")
    assert (p.kind, p.yuan, p.comparator) == (K.CAP, 10000000, C.LE)
    p = one("单户企业最高500万元,按照10%给予支持", K.CAP)
    assert p.scope == "单户企业"


def test_seed_binzhou_time_limit() -> None:
    ps = provs("首次申领办理时限由30个工作日压减到20个工作日。")
    assert [(p.kind, p.value, p.note) for p in ps] == [
        (K.TIME_LIMIT, 30, "调整前"), (K.TIME_LIMIT, 20, "调整后")]
    assert one("原则上要求3个月内开工建设。").comparator == C.LE
    assert one("5日内办结").kind == K.TIME_LIMIT


def test_seed_binzhou_counts_discount_quantities() -> None:
    assert (one("1.加快推进182个省、市级重点工业项目建设。").kind, one("推进182个项目").value) == (K.COUNT, 182)
    p = one("推进企业升规纳统,力争全年达到200家以上;")
    assert (p.kind, p.value, p.comparator) == (K.COUNT, 200, C.GE)
    assert (one("实行85折通行费优惠").kind, one("实行八五折通行费优惠").value) == (K.RATE, 85)
    p = one("保障煤炭库存天数7天以上。")
    assert (p.kind, p.comparator, p.value) == (K.QUANTITY, C.GE, 7)
    assert one("24万吨/年磷酸铁锂项目").unit == "万吨/年"


def test_seed_shiyan_two_amounts_and_rank() -> None:
    ps = provs("针对上述配套销售收入当年增量2500万元以上且排全市前三名(从申报此项奖励的企业中评选)的企业,"
               "分别给予一次性奖励50万元、30万元、20万元。")
    assert ps[0].kind == K.THRESHOLD and ps[0].yuan == 25000000
    assert (ps[1].kind, ps[1].value) == (K.COUNT, 3)
    assert [(p.kind, p.yuan) for p in ps[2:]] == [(K.AMOUNT, 500000), (K.AMOUNT, 300000), (K.AMOUNT, 200000)]
    ps = provs("分别给予企业50万元、20万元的一次性奖励")
    assert [p.yuan for p in ps] == [500000, 200000] and all(p.kind == K.AMOUNT for p in ps)


def test_seed_shiyan_sales_threshold_and_fund() -> None:
    ps = provs("对新获得军品科研生产资质并获得订单、年销售额在200万元以上的民营企业,给予20万元的一次性奖励。")
    assert (ps[0].kind, ps[0].subject, ps[0].comparator) == (K.THRESHOLD, "年销售额", C.GE)
    assert (ps[1].kind, ps[1].yuan, ps[1].comparator) == (K.AMOUNT, 200000, C.EQ)
    p = one("单个企业当年补助总额不超过50万元。")
    assert (p.kind, p.scope, p.yuan) == (K.CAP, "单个企业", 500000)


def test_goal_money_is_not_a_grant_or_threshold() -> None:
    for clause in ("到2022年,新材料产业主营业务收入突破400亿元。",
                   "紧盯主营业务收入5亿元以上的大型企业以及新兴产业重点培植企业",
                   "规上制造业全员劳动生产率超过24.23万元/人"):
        (p,) = provs(clause)
        assert p.kind == K.QUANTITY, clause


def test_ranges_of_counts_and_percent() -> None:
    p = one("每年新增首台(套)装备2—3家")
    assert (p.kind, p.low, p.high, p.low_inclusive, p.high_inclusive, p.unit) == (K.RANGE, 2, 3, True, True, "家")
    assert one("近3-5年可能上市").kind == K.RANGE
    p = one("比例为10%—20%")
    assert (p.kind, p.low, p.high) == (K.RANGE, 10, 20)


def test_non_quantities_are_ignored_and_not_reported() -> None:
    text = ("根据《关于印发促进工业经济平稳增长的若干政策的通知》(发改产业〔2022〕273号),加快开展9610、9710、9810、1210等"
            "业务,PM2.5治理,迈向工业4.0标杆城市,实现主城区5G全覆盖,政策执行期至2022年12月31日,实施“55551”工程,"
            "“十四五”期间,十堰市,统一评价。")
    ps, unparsed = extract_provisions(text)
    assert ps == [] and unparsed == []


def test_unclassified_number_is_reported() -> None:
    ps, unparsed = extract_provisions("按照标准执行,系数取7执行。")
    assert ps == [] and [u.text for u in unparsed] == ["7"]


# ---- whole seeds -------------------------------------------------------------------------------

def _seed_clauses() -> list[str]:
    cc = opencc.OpenCC("t2s")
    clauses: list[str] = []
    for path in sorted(seeds_dir().glob("*.txt")):
        text = cc.convert(path.read_text(encoding="utf-8", errors="replace"))
        clauses += [c for c in text.replace("\n", "。").split("。") if c.strip()]
    return clauses


def test_every_seed_clause_extracts_with_exact_spans() -> None:
    money = 0
    for clause in _seed_clauses():
        ps, unparsed = extract_provisions(clause)
        for p in ps:
            assert clause[p.start:p.end] == p.text
            if p.yuan is not None:
                money += 1
                assert isinstance(p.yuan, int) and p.yuan > 0
        for u in unparsed:
            assert clause[u.start:u.end] == u.text
    assert money >= 60


# --- real published pages (issue 14) ---------------------------------------------------


def test_number_and_unit_separated_by_spaces_or_a_line_break() -> None:
    spaced = one("对首次上规企业,给予 30 万元奖励。", K.AMOUNT)
    assert spaced.yuan == 300_000 and spaced.text == "30 万元"
    assert [p.yuan for p in provs("分别给予100万元和30 万元的奖励。") if p.kind == K.AMOUNT] == [1_000_000, 300_000]
    split_unit = one("单家企业最高补助50 万\n元。", K.CAP)
    assert split_unit.yuan == 500_000 and split_unit.unit == "万元"
    # a PDF line break between the number and the unit does not end the sentence either
    broken = provs("对年销售收入首次突破5000\n万元的,奖励 10 万元。")
    assert [(p.kind, p.yuan, p.comparator) for p in broken] == [
        (K.THRESHOLD, 50_000_000, C.GT), (K.AMOUNT, 100_000, C.EQ)]
    # spaced years and article numbers are not money: 第 1 0 条, 2024 年
    assert provs("第 1 0 条 本政策自2024 年起执行。") == []


def test_bands_of_a_tier_table() -> None:
    text = ("按固定资产投资额分档奖励:固定资产投资1000万元及以上至5000万元的,奖励30万元;"
            "5000万元以上至1亿元的,奖励80万元;1亿元以上的,奖励150万元。")
    found = provs(text)
    bands = [p for p in found if p.band_yuan is not None]
    assert [(p.kind, p.low_yuan, p.high_yuan, p.low_inclusive, p.high_inclusive, p.band_yuan) for p in bands[:2]] == [
        (K.RANGE, 10_000_000, 50_000_000, True, True, 300_000),
        (K.RANGE, 50_000_000, 100_000_000, False, True, 800_000),
    ]
    top = bands[2]
    assert (top.kind, top.yuan, top.comparator, top.band_yuan) == (K.THRESHOLD, 100_000_000, C.GT, 1_500_000)
    assert bands[1].low == 5000 and bands[1].high == 10000 and bands[1].unit == "万元"  # one unit for both ends


def test_bands_without_contrast_keep_statutory_meaning_and_amounts_in_order() -> None:
    text = "年营业收入500万元以上至1000万元、1000万元以上至2000万元的企业,分别奖励5万元、10万元。"
    bands = [p for p in provs(text) if p.kind == K.RANGE]
    # 以上 includes its number, so the band below ends just under the shared boundary
    assert [(p.low_inclusive, p.high_inclusive, p.band_yuan) for p in bands] == [(True, False, 50_000), (True, True, 100_000)]


def test_provision_kinds_of_real_pages() -> None:
    scoped = one("按研发投入的20%给予补助,单品种最高奖励不超过300万元。", K.CAP)
    assert (scoped.yuan, scoped.scope, scoped.upper_bound) == (3_000_000, "单品种", True)
    excess = one("按超出部分的20%给予奖励,最高奖励不超过50万元。", K.RATE)
    assert excess.comparator == C.EQ and excess.value == 20
    assert one("按融资额超出额0.5%给予奖励。", K.RATE).comparator == C.EQ
    assert one("对年产值首次突破1千万的企业,一次性奖励10万元。", K.THRESHOLD).yuan == 10_000_000
    fund = one("设立产业基金,基金规模不低于1亿元,对落户项目给予股权投资支持。")
    assert (fund.kind, fund.yuan, fund.comparator) == (K.QUANTITY, 100_000_000, C.GE)
    # 超过 before a figure is still a comparison
    assert one("对年销售额超过5000万元的企业给予奖励。", K.THRESHOLD).comparator == C.GT
