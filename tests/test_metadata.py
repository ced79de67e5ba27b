"""Metadata: title, 文号, issuers, dates, validity, draft status and region."""

from __future__ import annotations

from datetime import date

import pytest

from huiqi.ingest.metadata import extract_metadata, find_region, parse_date
from tests.conftest import seed_text


def seed_lines(prefix: str) -> list[str]:
    return seed_text(prefix).split("\n")


def test_parse_date_forms() -> None:
    assert parse_date("2022年5月27日") == date(2022, 5, 27)
    assert parse_date("2022-06-29") == date(2022, 6, 29)
    assert parse_date("2018年07月12日 08:30:00") == date(2018, 7, 12)
    assert parse_date("二〇二二年六月十六日") == date(2022, 6, 16)
    assert parse_date("2023年6月底") == date(2023, 6, 30)
    assert parse_date("无日期") is None


def test_header_fields_and_validity() -> None:
    header = (
        "索引号: | LH331082-001/2022-123266 | 公开方式: | 主动公开 |\n"
        "文号: | 某政发〔2022〕22号 | 成文日期: | 2022-06-29 |\n"
        "发布单位: | 市政府办公室 |"
    )
    body = (
        "某某市人民政府关于支持制造业发展的若干意见\n各单位:\n一、总体要求\n加快发展。\n"
        "二、其他\n本意见自2022年7月16日起实施,有效期至2023年12月31日。\n某某市人民政府\n2022年6月16日\n"
    )
    m = extract_metadata(header, body)
    assert m.title == "某某市人民政府关于支持制造业发展的若干意见"
    assert m.doc_number == "某政发〔2022〕22号"
    assert m.signed_date == date(2022, 6, 29)
    assert m.effective_from == date(2022, 7, 16)
    assert m.effective_to == date(2023, 12, 31)
    assert m.validity_text == "本意见自2022年7月16日起实施,有效期至2023年12月31日。"
    assert m.issuers == ["某某市人民政府"]
    assert m.status == "final"


def test_validity_years_from_issue() -> None:
    body = "关于支持企业发展的若干措施\n一、措施\n给予奖励。\n本措施自印发之日起施行,有效期两年。\n某市人民政府\n2022年3月1日\n"
    m = extract_metadata("", body)
    assert m.signed_date == date(2022, 3, 1)
    assert m.effective_from == date(2022, 3, 1)
    assert m.effective_to == date(2024, 2, 29)


def test_measure_level_period_is_not_document_validity() -> None:
    body = "关于稳增长的行动方案\n1.减免通行费。政策执行期至2022年12月31日。(市交通运输局负责)\n"
    m = extract_metadata("", body)
    assert m.effective_to is None and m.validity_text is None


def test_draft_wrapper_and_title_period() -> None:
    header = "发文日期\n2018年07月12日 08:30:00\n发布机构\n某某市经济和信息化委员会\n文号\n"
    body = "关于对《十堰市促进工业发展若干政策意见(2018-2020)》(送审稿)的公示\n现将此意见向社会征求意见。\n"
    m = extract_metadata(header, body)
    assert m.title == "十堰市促进工业发展若干政策意见(2018-2020)"
    assert m.status == "draft" and m.status_label == "送审稿"
    assert m.published_date == date(2018, 7, 12)
    assert m.doc_number is None
    assert (m.effective_from, m.effective_to) == (date(2018, 1, 1), date(2020, 12, 31))
    assert m.issuers == ["某某市经济和信息化委员会"]
    assert m.region.province == "湖北省" and m.region.city == "十堰市"


def test_consultation_draft_label() -> None:
    m = extract_metadata("", "某市关于促进工业发展的若干措施(征求意见稿)\n一、措施\n给予奖励。\n")
    assert m.status == "draft" and m.status_label == "征求意见稿"
    assert m.title == "某市关于促进工业发展的若干措施"


def test_title_prefix_issuers_and_doc_number_brackets() -> None:
    body = "中共寿光市委寿光市人民政府关于推进新旧动能转换的实施意见\n寿发[2018]3号\n各单位:\n一、任务\n做好。\n"
    m = extract_metadata("信息来源:市政府办公室\xa0\xa0发布时间:2018-05-11", body)
    assert m.issuers == ["中共寿光市委", "寿光市人民政府"]
    assert m.doc_number == "寿发[2018]3号"
    assert m.published_date == date(2018, 5, 11)
    assert (m.region.province, m.region.city, m.region.county) == ("山东省", "潍坊市", "寿光市")


def test_cited_doc_number_is_not_taken() -> None:
    body = "关于加快发展的意见\n根据《省政府关于加快转换的意见》(鄂政发〔2018〕15号)精神,制定本意见。\n"
    assert extract_metadata("", body).doc_number is None


def test_region_lookup() -> None:
    assert find_region(["临海市人民政府"]).model_dump() == {"province": "浙江省", "city": "台州市", "county": "临海市"}
    assert find_region(["滨州市发展和改革委员会"]).city == "滨州市"
    assert find_region(["天津市市场监督管理委员会"]).city == "天津市"
    unknown = find_region(["某某县人民政府"], ["山东省"])
    assert unknown.county == "某某县" and unknown.province == "山东省"
    assert find_region(["无地名"]).model_dump() == {"province": None, "city": None, "county": None}
    # a county mentioned only in the body does not make it a county document
    assert find_region(["十堰市人民政府"], ["丹江口市"]).county is None


@pytest.mark.seeds
def test_seed_003_metadata() -> None:
    lines = seed_lines("003")
    m = extract_metadata("\n".join(lines[:6]), "\n".join(lines[6:]))
    assert m.doc_number == "临政发〔2022〕22号"
    assert m.signed_date == date(2022, 6, 29)
    assert m.issuers == ["临海市人民政府"]
    assert (m.region.province, m.region.city, m.region.county) == ("浙江省", "台州市", "临海市")
    assert (m.effective_from, m.effective_to) == (date(2022, 7, 16), date(2023, 12, 31))


@pytest.mark.seeds
def test_seed_001_metadata() -> None:
    m = extract_metadata("", "\n".join(seed_lines("001")))
    assert m.doc_number == "滨发改工业〔2022〕156号"
    assert m.signed_date == date(2022, 5, 27)
    assert len(m.issuers) == 16 and m.issuers[0] == "滨州市发展和改革委员会"
    assert (m.region.province, m.region.city) == ("山东省", "滨州市")


@pytest.mark.seeds
def test_seed_002_metadata() -> None:
    lines = seed_lines("002")
    m = extract_metadata("\n".join(lines[:12]), "\n".join(lines[12:]))
    assert m.title == "十堰市推进工业经济稳增长快转型高质量发展若干政策意见(2018-2020)"
    assert m.status == "draft" and m.status_label == "送审稿"
    assert m.region.province == "湖北省" and m.region.county is None
