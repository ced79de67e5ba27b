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


# --- real published pages (issue 14) ---------------------------------------------------

_BODY = "某县人民政府关于印发某县扶持企业发展若干措施的通知\n一、支持投资。对项目给予奖励10万元。\n二、强化服务。\n"


@pytest.mark.parametrize(
    "header",
    [
        "索引号 | 0001/2024-01 | 文号 | 某政发〔2024〕6号 | 成文日期 | 2024-02-29 | 发布日期 | 2024-03-05 | 有效性 | 有效",
        "索引号\n0001/2024-01\n文号\n某政发〔2024〕6号\n成文日期\n2024-02-29\n发布日期\n2024-03-05\n有效性\n有效",
        "索引号 文号 成文日期 发布日期 有效性\n0001/2024-01 某政发〔2024〕6号 2024-02-29 2024-03-05 有效",
        "索引号:0001/2024-01 文号:某政发〔2024〕6号 成文日期:2024-02-29 发布日期:2024-03-05 有效性:有效",
    ],
    ids=["pipes", "one-per-line", "key-row", "row"],
)
def test_portal_header_table_layouts(tmp_path, header: str) -> None:
    from huiqi.ingest.pipeline import ingest_file

    page = tmp_path / "page.txt"
    page.write_text("首页 >> 走进某县 >> 投资政策\n" + header + "\n" + _BODY, encoding="utf-8")
    doc = ingest_file(page)
    assert doc.title == "某县人民政府关于印发某县扶持企业发展若干措施的通知"
    assert (doc.doc_number, doc.signed_date, doc.published_date) == ("某政发〔2024〕6号", date(2024, 2, 29), date(2024, 3, 5))
    assert doc.issuers == ["某县人民政府"]


def test_traditional_header_table_keeps_number_and_date(tmp_path) -> None:
    from huiqi.ingest.pipeline import ingest_file

    page = tmp_path / "trad.txt"
    page.write_text("文號: | 硯政發〔2021〕5號 | 成文日期: | 2021-01-08 |\n" + _BODY, encoding="utf-8")
    doc = ingest_file(page)
    assert (doc.doc_number, doc.signed_date) == ("砚政发〔2021〕5号", date(2021, 1, 8))


def test_breadcrumb_and_unified_number_never_in_the_title(tmp_path) -> None:
    from huiqi.ingest.pipeline import ingest_file

    page = tmp_path / "crumbs.txt"
    page.write_text(">> 走进某县 >> 投资某县 >> 投资政策\n文件统一编号:MXD01-2024-0001\n" + _BODY, encoding="utf-8")
    assert ingest_file(page).title == "某县人民政府关于印发某县扶持企业发展若干措施的通知"


def test_information_source_is_not_the_issuer() -> None:
    m = extract_metadata("信息来源:县经济商务局", "关于支持企业发展的若干措施\n一、支持投资。给予奖励。\n")
    assert m.issuers == []


def test_two_issuers_signature_date_without_separators_and_validity_from_signing() -> None:
    body = (
        "中共某某县委 某某县人民政府关于支持重大项目的若干政策\n一、支持投资。给予奖励。\n"
        "二、本政策自发布之日起施行,暂定三年有效期。\n中共某某县委\n某某县人民政府\n2024229\n"
    )
    m = extract_metadata("", body)
    assert m.issuers == ["中共某某县委", "某某县人民政府"]
    assert m.signed_date == date(2024, 2, 29)
    # three years from 29 February: the expiry year has no 29 February, so the month end (民法典 第202条)
    assert (m.effective_from, m.effective_to) == (date(2024, 2, 29), date(2027, 2, 28))


def test_date_in_brackets_under_the_title() -> None:
    m = extract_metadata("", "某县人民政府关于促进产业发展的若干政策\n(2023年2月8日)\n一、支持研发。给予奖励。\n")
    assert m.signed_date == date(2023, 2, 8)


def test_quoted_term_does_not_end_a_title() -> None:
    assert extract_metadata("", "某县人民政府关于实施\n“一事一议”\n招商政策的通知\n各乡镇:\n").title == (
        "某县人民政府关于实施“一事一议”招商政策的通知")
    flat = "某县人民政府关于支持重大项目“一事一议”的若干政策 为加快发展,制定本政策。一、支持投资。对项目给予奖励。" * 3
    assert extract_metadata("", flat).title == "某县人民政府关于支持重大项目“一事一议”的若干政策"


def test_region_from_the_complete_division_table() -> None:
    assert find_region(["金华市婺城区人民政府办公室"]).model_dump() == {"province": "浙江省", "city": "金华市", "county": "婺城区"}
    assert find_region(["中共浦江县委 浦江县人民政府"]).model_dump() == {"province": "浙江省", "city": "金华市", "county": "浦江县"}
    assert find_region(["砚山县人民政府"]).city == "文山壮族苗族自治州"
    assert find_region(["仙桃市人民政府"]).model_dump() == {"province": "湖北省", "city": None, "county": "仙桃市"}
    # an ambiguous district name is resolved by the other place the texts name
    assert find_region(["鼓楼区人民政府"], ["福州市"]).city == "福州市"
    assert find_region(["鼓楼区人民政府"]).model_dump() == {"province": None, "city": None, "county": "鼓楼区"}
    # two-character names only at a name boundary: 主城区 is not the district 城区
    assert find_region(["关于加快主城区发展的意见"]).county is None
