"""Outline segmentation: numbering styles, flattened pages, false-positive traps, seeds."""

from __future__ import annotations

import pytest

from huiqi.ingest.outline import NO_STRUCTURE_WARNING, parse_cn_number, segment
from tests.conftest import seed_text


def keys(text: str) -> list[str]:
    return [m.key for m in segment(text).measures]


def test_parse_cn_number() -> None:
    assert parse_cn_number("一") == 1
    assert parse_cn_number("十") == 10
    assert parse_cn_number("十一") == 11
    assert parse_cn_number("二十三") == 23
    assert parse_cn_number("二〇二二") is None
    assert parse_cn_number("甲") is None


def test_line_styles_nesting() -> None:
    text = (
        "为推动发展,制定本措施。\n"
        "一、强化土地要素支撑\n"
        "(一)优化用地。对项目给予支持。\n"
        "1.加快供地。按规定执行。\n"
        "(1)简化流程;\n"
        "①容缺受理。\n"
        "②并联审批。\n"
        "(2)压缩时限。\n"
        "2.降低成本。\n"
        "(二)保障能耗。\n"
        "二、加大资金支持\n"
        "(一)设立基金。\n"
    )
    r = segment(text)
    assert [m.key for m in r.measures] == [
        "一", "一/一", "一/一/1", "一/一/1/1", "一/一/1/1/①", "一/一/1/1/②", "一/一/1/2",
        "一/一/2", "一/二", "二", "二/一",
    ]
    first = r.measures[0]
    assert first.title == "强化土地要素支撑"
    assert first.style == "一、"
    assert r.measures[1].style == "(一)" and r.measures[1].title == "优化用地"
    assert r.measures[2].style == "1." and r.measures[2].title == "加快供地"
    assert r.preamble == (0, text.index("一、"))
    # a section contains its children; own text stops at the first child
    assert first.text.startswith("一、强化土地要素支撑") and "保障能耗" in first.text
    assert "加大资金支持" not in first.text
    assert text[first.start : first.own_end] == "一、强化土地要素支撑"
    assert text[first.start : first.end] == first.text


def test_document_starting_at_paren_and_fullwidth() -> None:
    text = "（一）支持技改。给予奖励。\n1．设备投资。补助10%。\n2、软件投入。\n（二）支持研发。\n"
    assert keys(text) == ["一", "一/1", "一/2", "二"]
    assert segment(text).measures[1].style == "1."


def test_numbering_continues_across_sections() -> None:
    text = "一、土地\n1.供地。\n2.用地。\n二、环境\n3.指标。\n4.排放。\n"
    assert keys(text) == ["一", "一/1", "一/2", "二", "二/3", "二/4"]


def test_articles_and_chapters() -> None:
    text = "第一章 总则\n第一条 为了促进发展,制定本办法。\n第二条 本办法适用于全市。\n第二章 扶持\n第三条 给予奖励。\n"
    r = segment(text)
    assert [m.key for m in r.measures] == ["一", "一/一", "一/二", "二", "二/三"]
    assert r.measures[0].style == "第一章" and r.measures[0].title == "总则"
    assert r.measures[1].style == "第一条"


def test_flattened_line_and_traps() -> None:
    text = (
        "各单位: 为加快发展,特制定本意见。 一、总体要求 迈向工业4.0标杆城市,按照本意见第(三)条执行(一事一议)。"
        " 二、政策扶持 (一)合理安排。投资1.5亿元以上的,自2022.5.1起实施,实现1、2、3个目标。(责任单位:市经信局)"
        " (二)破解问题。按照《规划(2018-2020)》执行,3.继续推进(二〇二二年)。(责任单位:市建设局,各镇〔街道〕)"
        "(三)简化流程。给予补助。 三、其他 本意见自2022年7月16日起实施。"
    )
    r = segment(text)
    assert [m.key for m in r.measures] == ["一", "二", "二/一", "二/二", "二/三", "三"]
    assert r.measures[0].title == "总体要求"
    assert r.measures[2].title == "合理安排"
    assert r.measures[1].title == "政策扶持"


def test_skipping_number_is_not_heading_inline() -> None:
    text = "一、任务 1.第一项。 2.第二项。 7.第七项? 3.第三项。"
    assert keys(text) == ["一", "一/1", "一/2", "一/3"]


def test_bullets() -> None:
    text = "一、政策\n1、技术改造\n——支持重大项目。奖励50万元。\n——支持智能化改造。\n2、汽车产业\n——鼓励新品。\n"
    r = segment(text)
    assert [m.key for m in r.measures] == ["一", "一/1", "一/1/—1", "一/1/—2", "一/2", "一/2/—1"]
    assert r.measures[2].style == "——" and r.measures[2].title == "支持重大项目"


def test_no_structure() -> None:
    r = segment("为促进发展,对企业给予奖励。具体办法另行制定。\n")
    assert len(r.measures) == 1
    m = r.measures[0]
    assert (m.label, m.style, m.level) == ("全文", "none", 0)
    assert NO_STRUCTURE_WARNING in r.warnings


def test_signature_and_attachment() -> None:
    text = (
        "一、总则\n对企业给予奖励。\n二、附则\n本办法自印发之日起施行。\n"
        "附件:某市工业企业奖励办法\n某市人民政府\n2022年5月27日\n(此件公开发布)\n"
        "附件\n某市工业企业\n奖励办法\n为规范奖励,制定本办法。\n一、奖励对象\n规上企业。\n二、奖励标准\n最高50万元。\n"
    )
    r = segment(text)
    assert [m.key for m in r.measures] == ["一", "二", "附件", "附件/一", "附件/二"]
    assert r.measures[1].text.endswith("本办法自印发之日起施行。")
    att = r.measures[2]
    assert att.style == "附件" and att.title == "某市工业企业奖励办法" and att.level == 0
    assert r.measures[3].level == 1 and r.measures[3].path == ["附件"]
    assert "某市人民政府" in text[r.trailer[0] : r.trailer[1]]


def test_trailing_date_and_closing_paragraph() -> None:
    text = "一、任务\n1.加强宣传。(责任单位:市委宣传部)\n以上措施自印发之日起实施。\n某市发展和改革委员会\n2022年5月27日\n"
    r = segment(text)
    assert r.measures[-1].text == "1.加强宣传。(责任单位:市委宣传部)"


def test_mention_of_attachment_is_not_heading() -> None:
    text = "一、总体要求\n实施六大行动(详见附件),附件1所列项目优先。\n二、保障\n加强领导。\n"
    assert keys(text) == ["一", "二"]


@pytest.mark.seeds
def test_seed_001() -> None:
    r = segment(seed_text("001"))
    top = [m.label for m in r.measures if m.level == 0]
    items = [m.label for m in r.measures if m.level == 1]
    assert top == ["一", "二", "三", "四", "五", "六", "七"]
    assert items == [str(i) for i in range(1, 29)]
    assert "2022年5月27日" not in r.measures[-1].text
    assert "滨州市财政局" not in r.measures[-1].text


@pytest.mark.seeds
def test_seed_003_flattened() -> None:
    r = segment(seed_text("003"))
    m = next(m for m in r.measures if m.key == "二/八")
    assert m.title == "实施亩均评价激励"
    assert m.style == "(一)"
    att = [m for m in r.measures if m.style == "附件"]
    assert len(att) == 1 and att[0].title.startswith("临海市实施新一轮制造业")
    assert any(m.key == "附件/三/一/1" for m in r.measures)
    last_main = [m for m in r.measures if m.start < att[0].start][-1]
    assert "2022年6月16日" not in last_main.text


@pytest.mark.seeds
def test_seed_002_bullets() -> None:
    r = segment(seed_text("002"))
    ks = [m.key for m in r.measures]
    assert "三/三/1/—1" in ks and "三/三/1/—3" in ks and "三/三/1/—4" not in ks
    assert "二/二" in ks and "三/六/2" in ks


@pytest.mark.seeds
@pytest.mark.parametrize("prefix,count", [("000", 52), ("001", 35), ("002", 58), ("003", 48), ("004", 25)])
def test_seed_counts(prefix: str, count: int) -> None:
    text = seed_text(prefix)
    r = segment(text)
    assert len(r.measures) == count
    for m in r.measures:
        assert m.start <= m.own_end <= m.end
        assert m.text == text[m.start : m.end]
        assert m.level == len(m.path)


def test_attachment_list_without_body() -> None:
    text = "一、任务\n做好。\n二、保障\n加强领导。\n附件:1.某市奖励办法\n      2.某市项目清单\n某市人民政府\n2022年1月1日\n"
    r = segment(text)
    assert [m.key for m in r.measures] == ["一", "二"]
    assert r.measures[-1].text == "二、保障\n加强领导。"
    assert text[r.trailer[0] :].startswith("附件:1.某市奖励办法")


# --- real published pages (issue 14) ---------------------------------------------------


def test_arabic_numbered_articles_with_and_without_spaces() -> None:
    text = "第8条 适用范围。本办法适用于工业企业。\n第9条 奖励。给予奖励。\n第 1 0 条 解释。由县政府解释。\n"
    measures = segment(text).measures
    assert [m.key for m in measures] == ["8", "9", "10"]
    assert [m.style for m in measures] == ["第1条"] * 3
    assert measures[2].title == "解释"
    # 第19条 cited inside a sentence is not a heading
    assert keys("第1条 依据。按照《条例》第19条执行。\n第2条 其他。\n") == ["1", "2"]


def test_page_holding_one_measure_of_a_larger_policy() -> None:
    result = segment("(十六)支持企业技术改造。对技改项目给予补助。(责任单位:区经信局)\n")
    assert [(m.label, m.style, m.title) for m in result.measures] == [("十六", "(一)", "支持企业技术改造")]
    assert NO_STRUCTURE_WARNING not in result.warnings
    # an ordinary document still starts its numbering at one: a lone (三) inside prose stays prose
    assert keys("一、总则\n对企业给予支持,详见(三)项。\n二、附则\n") == ["一", "二"]
