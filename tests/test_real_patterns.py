"""Second pass over real published pages: each pattern pinned on a sentence in our own words."""

from huiqi.document import Comparator, ProvisionKind
from huiqi.ingest.metadata import extract_metadata
from huiqi.ingest.outline import segment
from huiqi.ingest.provisions import extract_provisions


def _money(text: str, conditions: bool = False):
    return [p for p in extract_provisions(text, conditions=conditions)[0] if p.yuan or p.low_yuan]


def test_highest_reachable_is_a_ceiling():
    (rate_cap,) = _money("按购置额的10%给予补助,单个项目最高可达500万元。")
    assert (rate_cap.kind, rate_cap.comparator, rate_cap.upper_bound) == (ProvisionKind.CAP, Comparator.LE, True)


def test_marker_restating_the_figure_closes_the_band_and_is_no_amount():
    money = _money("投资在100万元到1000万元(不含1000万元)的项目,按1%给予奖励。")
    assert len(money) == 1
    band = money[0]
    assert (band.kind, band.low_yuan, band.high_yuan) == (ProvisionKind.RANGE, 1_000_000, 10_000_000)
    assert (band.low_inclusive, band.high_inclusive) == (True, False)


def test_bare_low_end_borrows_yuan_from_the_high_end():
    (band,) = _money("投资额1亿(含1亿)至5亿元(含5亿)的项目,前两年给予奖励。")
    assert (band.low_yuan, band.high_yuan, band.low_inclusive, band.high_inclusive) == (
        100_000_000, 500_000_000, True, True)


def test_above_and_below_make_one_inclusive_band():
    (band, rate_free) = _money("对投资在2000 万元以上 3000 万元以下的项目,奖励5万元。")
    assert band.kind == ProvisionKind.RANGE
    assert (band.low_yuan, band.high_yuan, band.low_inclusive, band.high_inclusive) == (
        20_000_000, 30_000_000, True, True)
    assert rate_free.kind == ProvisionKind.AMOUNT


def test_exclusive_marker_after_below_is_less_than():
    provisions, _ = extract_provisions("对用地6亩以下(不含6亩)的项目,由区政府审查后给予办理。")
    assert [(p.value, p.comparator) for p in provisions] == [(6, Comparator.LT)]


def test_currency_gloss_between_figure_and_above():
    (threshold,) = _money("对固定资产投资额1000万元(人民币,下同)及以上的项目给予补助。")
    assert (threshold.kind, threshold.comparator, threshold.yuan) == (ProvisionKind.THRESHOLD, Comparator.GE, 10_000_000)


def test_condition_items_are_thresholds_only_as_conditions():
    text = "投产后年纳税额不少于80万元;项目投资强度不低于200万元/亩。"
    assert {p.kind for p in _money(text)} == {ProvisionKind.QUANTITY}
    assert {p.kind for p in _money(text, conditions=True)} == {ProvisionKind.THRESHOLD}


def test_one_article_with_items_keeps_the_article():
    text = "第三条 奖励标准\n(一)新引进项目。奖励20万元。\n(二)技术改造。奖励10万元。\n"
    assert [(m.path, m.label) for m in segment(text).measures] == [([], "三"), (["三"], "一"), (["三"], "二")]


def test_notice_signature_across_blank_lines_and_quoted_title():
    body = (
        "县政府印发《关于支持企业发展的若干意见》的通知\n\n各乡镇:\n\n现印发给你们,请认真贯彻执行。\n\n"
        "某某县人民政府\n\n2024年1月15日\n\n关于支持企业发展的若干意见\n一、给予奖励10万元。\n"
    )
    meta = extract_metadata("", body)
    assert meta.issuers == ["某某县人民政府"]
    assert str(meta.signed_date) == "2024-01-15"


def test_doc_number_and_attachment_list_are_never_titles():
    body = "某政办发〔2023〕7号\n某市人民政府办公室关于印发某某办法的通知\n各区:\n现印发给你们。\n"
    assert extract_metadata("", body).title == "某市人民政府办公室关于印发某某办法的通知"
    body2 = "根据有关规定,现将修订稿公开征求意见。\n附件:1.某县出口奖励办法的通知\n附件1\n某县出口奖励办法\n第一条 总则。\n"
    assert extract_metadata("", body2).title == "某县出口奖励办法"
