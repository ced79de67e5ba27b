"""Third pass over real published pages (metadata, regions, foreign currency): each pattern pinned
on a text in our own words."""

from datetime import date

import pytest

from huiqi.document import Comparator, ProvisionKind
from huiqi.ingest.metadata import extract_metadata
from huiqi.ingest.provisions import extract_provisions
from huiqi.ingest.regions import find_region


def test_masthead_between_repeated_titles_is_the_issuer():
    body = (
        "某市鼓励外来投资的规定\n\n作者:资料网 时间:2024-07-22\n\n某市鼓励外来投资的规定\n\n"
        "辽宁省沈阳市人民政府\n\n某市鼓励外来投资的规定\n\n第一条 为鼓励投资,制定本规定。\n"
    )
    meta = extract_metadata("", body)
    assert meta.title == "某市鼓励外来投资的规定"
    assert meta.issuers == ["辽宁省沈阳市人民政府"]


def test_signing_date_with_white_circle_zero_after_the_notice_sentence():
    body = (
        "某市人民政府办公室关于印发某市专项资金管理暂行办法的通知\n各区人民政府:\n"
        "《某市专项资金管理暂行办法》已经市政府研究通过,现印发给你们,请遵照执行。\n\n二○一○年六月七日\n\n"
        "某市专项资金管理暂行办法\n第一条 为规范资金管理,制定本办法。\n"
    )
    meta = extract_metadata("", body)
    assert meta.signed_date == date(2010, 6, 7)
    assert meta.status_label == "暂行"


@pytest.mark.parametrize(
    ("line", "number"),
    [
        ("砚发201120 号", "砚发〔2011〕20号"),
        ("某政发 〔 2023 〕 5 号", "某政发〔2023〕5号"),
        ("某政令[1997]29号", "某政令[1997]29号"),
        ("某府办(2023)8号", "某府办(2023)8号"),
        ("(2023年第5号)", "2023年第5号"),
        ("某县人民政府公告 2023年第5号", "某县人民政府公告2023年第5号"),
        ("某市人民政府令第18号", "某市人民政府令第18号"),
    ],
)
def test_doc_number_forms_on_a_line_of_their_own(line, number):
    body = f"某县人民政府关于支持企业发展的若干意见\n{line}\n一、给予奖励10万元。\n"
    assert extract_metadata("", body).doc_number == number


def test_bare_serial_without_year_or_kind_is_no_doc_number():
    body = "某县人民政府关于支持企业发展的若干意见\n第5号\n一、给予奖励10万元。\n"
    assert extract_metadata("", body).doc_number is None


def test_site_heading_gives_way_to_the_notice_that_issues_it():
    body = (
        "某省科技金融专项资金管理办法\n某省科技厅关于印发某省科技金融专项资金管理办法的通知\n某科规〔2020〕7号\n"
        "各市科技局:\n现印发你们,请遵照执行。\n某省科学技术厅\n2020年11月6日\n"
    )
    meta = extract_metadata("", body)
    assert meta.title == "某省科技厅关于印发某省科技金融专项资金管理办法的通知"
    assert meta.signed_date == date(2020, 11, 6)


def test_publicity_note_and_cut_off_heading_are_never_titles():
    body = "(此件主动公开)\n某市助企纾困的三十条措施\n一、给予补助。\n"
    assert extract_metadata("", body).title == "某市助企纾困的三十条措施"
    body2 = "《某省支持民间投资的实施\n某省人民政府办公厅关于印发某省\n支持民间投资的实施方案的通知\n各市:\n"
    assert extract_metadata("", body2).title == "某省人民政府办公厅关于印发某省支持民间投资的实施方案的通知"


def test_place_alone_before_about_is_no_issuer_but_still_the_region():
    meta = extract_metadata("", "奉贤区关于进一步做好利用外资工作的若干措施\n第一条 为稳外资,制定本措施。\n")
    assert meta.issuers == []
    assert (meta.region.city, meta.region.county) == ("上海市", "奉贤区")


def test_quoted_trial_policy_is_no_label_of_a_repeal_notice():
    meta = extract_metadata("", "某镇人民政府关于废止《某镇园区发展办法(试行)》的通知\n经研究,决定予以废止。\n")
    assert meta.status == "final" and meta.status_label is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("大通县人民政府", ("青海省", "西宁市", "大通回族土族自治县")),
        ("长阳县经济商务局", ("湖北省", "宜昌市", "长阳土家族自治县")),
        ("盘县人民政府", ("贵州省", "六盘水市", "盘州市")),
        ("萧山市人民政府", ("浙江省", "杭州市", "萧山区")),
        ("户县人民政府", ("陕西省", "西安市", "鄠邑区")),
    ],
)
def test_short_and_former_county_names(text, expected):
    region = find_region([text])
    assert (region.province, region.city, region.county) == expected


def test_zone_is_no_unknown_county():
    region = find_region(["深圳市前海深港现代服务业合作区管理局"])
    assert (region.city, region.county) == ("深圳市", None)


def test_district_named_in_the_body_only_when_it_fits_the_city():
    body = "关于稳增长的若干措施\n根据《昆明市稳增长意见》,结合官渡区实际,制定如下措施。\n"
    assert extract_metadata("", body).region.county == "官渡区"
    # a district of another city named in the body is not this document's place
    other = "关于稳增长的若干措施\n根据《温州市稳增长意见》,结合官渡区实际,制定如下措施。\n"
    assert extract_metadata("", other).region.county is None
    assert extract_metadata("", "关于稳增长的若干措施\n结合我区实际,制定如下措施。\n").region.county is None


def test_foreign_currency_keeps_its_currency_and_is_no_yuan():
    provisions, _ = extract_provisions("对实际到位外资1000万美元以上的项目,奖励50万元;合同外资500万欧元的,奖励10万元。")
    usd, cny, eur, cny2 = provisions
    assert (usd.kind, usd.comparator, usd.yuan, usd.currency, usd.currency_amount) == (
        ProvisionKind.THRESHOLD, Comparator.GE, None, "USD", 10_000_000)
    assert (cny.yuan, cny.currency, cny.currency_amount) == (500_000, None, None)
    assert (eur.currency, eur.currency_amount, eur.yuan) == ("EUR", 5_000_000, None)
    assert cny2.yuan == 100_000
