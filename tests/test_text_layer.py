"""Text layer of ingestion: decoding, formats, boilerplate, mojibake, script."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from huiqi.errors import InputError
from huiqi.ingest.boilerplate import OffsetMap, strip_boilerplate
from huiqi.ingest.decode import decode_bytes
from huiqi.ingest.formats import read_source
from huiqi.ingest.mojibake import MISSING, find_suspect_runs, repair_mojibake
from huiqi.ingest.script import detect_script, to_simplified
from tests.conftest import seed_path

FIXTURES = Path(__file__).parent / "fixtures" / "pages"

CLAUSE = (
    "对项目投资1000万元及以上,且装备投资500万元及以上的重大传统产业改造提升项目,"
    "按设备投资额的10%给予补助,最高补助300万元。(责任单位:市经信局、市财政局)"
)
CLAUSE_TRAD = (
    "對項目投資1000萬元及以上,且裝備投資500萬元及以上的重大傳統產業改造提升項目,"
    "按設備投資額的10%給予補助,最高補助300萬元。(責任單位:市經信局、市財政局)"
)


def seed(prefix: str) -> str:
    return seed_path(prefix).read_text(encoding="utf-8")


# --- decode ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "text", "label"),
    [
        ("utf-8", CLAUSE, "utf-8"),
        ("utf-8-sig", CLAUSE, "utf-8-sig"),
        ("gbk", CLAUSE, "gb18030"),
        ("gb18030", CLAUSE + "䶮", "gb18030"),
        ("big5", CLAUSE_TRAD, "big5"),
        ("utf-16", CLAUSE, "utf-16"),
    ],
)
def test_decode_encodings(encoding: str, text: str, label: str) -> None:
    decoded = decode_bytes(text.encode(encoding), "t.txt")
    assert decoded.text == text
    assert decoded.encoding == label
    assert decoded.bad_spans == []


def test_decode_gbk_traditional_prefers_gb_over_big5() -> None:
    # Traditional text published by a mainland site is GBK, not Big5.
    decoded = decode_bytes(CLAUSE_TRAD.encode("gbk"), "t.txt")
    assert decoded.text == CLAUSE_TRAD
    assert decoded.encoding == "gb18030"


def test_decode_normalizes_newlines_and_keeps_bad_span_positions() -> None:
    raw = ("第一行\r\n第二行\r第三行," + CLAUSE).encode("gbk")
    broken = raw[:30] + b"\xff" + raw[30:]
    decoded = decode_bytes(broken, "t.txt")
    assert "\r" not in decoded.text
    assert decoded.text.startswith("第一行\n第二行\n第三行")
    assert len(decoded.bad_spans) == 1
    start, end = decoded.bad_spans[0]
    assert decoded.text[start:end] == "\ufffd"
    # Nothing else was lost around the damaged byte.
    assert decoded.text.replace("\ufffd", "") == "第一行\n第二行\n第三行," + CLAUSE


def test_decode_invalid_utf8_byte_is_flagged_not_dropped() -> None:
    raw = CLAUSE.encode("utf-8")
    broken = raw[:15] + b"\xff" + raw[15:]
    decoded = decode_bytes(broken, "t.txt")
    assert decoded.encoding == "utf-8"
    assert decoded.text.replace("\ufffd", "") == CLAUSE
    assert [decoded.text[s:e] for s, e in decoded.bad_spans] == ["\ufffd"]


def test_decode_errors_are_chinese_input_errors() -> None:
    with pytest.raises(InputError, match="文件为空"):
        decode_bytes(b"", "empty.txt")
    with pytest.raises(InputError, match="文件为空"):
        decode_bytes(b" \r\n ", "blank.txt")
    with pytest.raises(InputError, match="二进制") as info:
        decode_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, "x.txt")
    assert info.value.file == "x.txt"
    noise = bytes((i * 7919 + 13) % 128 + 128 for i in range(4000))
    with pytest.raises(InputError, match="无法识别文件编码"):
        decode_bytes(noise, "noise.txt")


# --- formats ------------------------------------------------------------------


def test_html_page_extraction_and_boilerplate() -> None:
    source = read_source(FIXTURES / "gov_policy_page.html")
    assert source.format == "html"
    assert source.encoding == "utf-8"
    assert len(source.sha256) == 64
    assert "统计代码" not in source.text  # script
    assert "隐藏的统计文字" not in source.text  # display:none
    assert "float:left" not in source.text  # style
    assert "索引号: | 001122334/2023-00123 | 主题分类: | 工业、交通" in source.text
    lines = source.text.split("\n")
    assert "二、对新认定的省级企业技术中心给予一次性奖励50万元。" in lines  # <br> splits

    cleaned = strip_boilerplate(source.text)
    reasons = {span.reason for span in cleaned.removed}
    assert {"网站导航", "当前位置", "打印/关闭", "备案号", "字号", "检索框", "分享", "主办单位", "电话"} <= reasons
    for chrome in ("首页", "当前所在位置", "【打印】", "ICP备", "精确检索", "分享到"):
        assert chrome not in cleaned.body
    assert "文号: | 某政办发〔2023〕8号" in cleaned.header
    assert "成文日期" in cleaned.header and "索引号" not in cleaned.body
    assert cleaned.body.startswith("某某市人民政府办公室关于支持工业企业技术改造的若干措施")
    assert "单个项目最高不超过300万元。(责任单位:市工业和信息化局、市财政局)" in cleaned.body
    assert cleaned.body.rstrip().endswith("2023年3月1日")


def test_html_meta_charset_gbk(tmp_path: Path) -> None:
    page = (
        '<html><head><meta charset="gb2312"><title>t</title></head><body>'
        f"<div>当前位置:首页 &gt; 政策文件</div><p>{CLAUSE}</p></body></html>"
    )
    path = tmp_path / "page.htm"
    path.write_bytes(page.encode("gbk"))
    source = read_source(path)
    assert source.encoding == "gb18030"
    assert CLAUSE in source.text


def test_docx_paragraphs_and_tables(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("关于支持工业企业技术改造的若干措施")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "文号"
    table.cell(0, 1).text = "某政办发〔2023〕8号"
    table.cell(1, 0).text = "成文日期"
    table.cell(1, 1).text = "2023年3月1日"
    document.add_paragraph(CLAUSE)
    buffer = io.BytesIO()
    document.save(buffer)
    path = tmp_path / "policy.docx"
    path.write_bytes(buffer.getvalue())

    source = read_source(path)
    assert source.format == "docx"
    assert source.text.split("\n") == [
        "关于支持工业企业技术改造的若干措施",
        "文号 | 某政办发〔2023〕8号",
        "成文日期 | 2023年3月1日",
        CLAUSE,
    ]
    assert source.size == len(buffer.getvalue())


def test_read_source_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="文件不存在"):
        read_source(tmp_path / "missing.txt")
    legacy = tmp_path / "old.doc"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InputError, match="不支持的文件类型"):
        read_source(legacy)
    bad_docx = tmp_path / "broken.docx"
    bad_docx.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="docx"):
        read_source(bad_docx)


def test_pdf_without_text_layer_is_refused(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    path = tmp_path / "scan.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    with pytest.raises(InputError, match="无文本层"):
        read_source(path)


def test_txt_seed_reads_as_utf8() -> None:
    path = seed_path("000")  # fails clearly if the seeds are missing
    source = read_source(path)
    assert source.format == "txt" and source.encoding == "utf-8"
    assert source.text == path.read_text(encoding="utf-8")


# --- boilerplate on the seeds ---------------------------------------------------------


def _check_offsets(text: str, cleaned_body: str, to_input: OffsetMap) -> None:
    for i, ch in enumerate(cleaned_body):
        if ch != "\n":
            assert text[to_input.to_input(i)] == ch, i


def test_boilerplate_seed_001_header_chrome() -> None:
    text = seed("001")
    cleaned = strip_boilerplate(text)
    removed = {span.text: span.reason for span in cleaned.removed}
    assert removed["加盟电话:152-6623-5191"] == "电话"
    assert removed["精确检索"] == "检索框"
    assert removed["开始检索"] == "检索框"
    assert "加盟电话" not in cleaned.body
    assert "滨发改工业〔2022〕156号" in cleaned.body
    assert cleaned.body.count("滨州市发展和改革委员会等部门关于振作工业经济运行") == 1
    assert "单户企业最高500万元" in cleaned.body
    for span in cleaned.removed:
        assert text[span.start : span.end] == span.text
    _check_offsets(text, cleaned.body, cleaned.offsets)


def test_boilerplate_seed_004_navigation_and_location() -> None:
    text = seed("004")
    cleaned = strip_boilerplate(text)
    reasons = [span.reason for span in cleaned.removed]
    assert "网站导航" in reasons and "当前位置" in reasons and "检索框" in reasons
    assert "要闻动态" not in cleaned.body and "您当前所在位置" not in cleaned.body
    assert "信息来源:市政府办公室" in cleaned.header and "发布时间:2018-05-11" in cleaned.header
    assert cleaned.body.startswith("中共寿光市委寿光市人民政府关于推进新旧动能转换重大工程的实施意见")
    assert "此件公开发布" in cleaned.body
    _check_offsets(text, cleaned.body, cleaned.offsets)


def test_boilerplate_keeps_notice_contacts_and_vertical_metadata() -> None:
    text = seed("002")
    cleaned = strip_boilerplate(text)
    # 公示 contact details are part of the notice, not site chrome.
    assert "传真:0719-8111685" in cleaned.body
    assert "邮编:442000" in cleaned.body
    assert "011081002/2020-16303" in cleaned.header
    assert "十堰市经济和信息化委员会" in cleaned.header
    assert "011081002/2020-16303" not in cleaned.body
    assert cleaned.removed == []


def test_boilerplate_flattened_traditional_seed_003() -> None:
    text = seed("003")
    cleaned = strip_boilerplate(text)
    reasons = [span.reason for span in cleaned.removed]
    assert "当前位置" in reasons and "打印/关闭" in reasons and "表格分隔符" in reasons
    assert "文號: | 臨政發〔2022〕22號" in cleaned.header
    assert "索引號" not in cleaned.body
    assert cleaned.body.startswith("臨海市人民政府關于實施新一輪制造業")
    assert not any(line.rstrip().endswith("|") for line in cleaned.body.split("\n"))
    assert "(責任單位:市經信局、市委宣傳部)" in cleaned.body
    _check_offsets(text, cleaned.body, cleaned.offsets)


def test_boilerplate_never_removes_policy_lines() -> None:
    text = "\n".join(
        [
            "首页 要闻动态 政务公开 在线服务",
            "电话:0530-1234567 联系人对企业提出的问题实行登记销号管理。",
            "1.搜索引擎优化企业给予补助,最高补助20万元",
            "打印",
            "(三)分享经济平台企业按规定享受优惠。",
        ]
    )
    cleaned = strip_boilerplate(text)
    assert [span.reason for span in cleaned.removed] == ["网站导航", "打印/关闭"]
    assert "登记销号管理" in cleaned.body and "搜索引擎" in cleaned.body and "分享经济" in cleaned.body


# --- mojibake -------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["000", "001", "002", "004"])
def test_mojibake_leaves_clean_seeds_alone(prefix: str) -> None:
    text = seed(prefix)
    result = repair_mojibake(text)
    assert result.text == text
    assert result.repaired == [] and result.unreadable == []


def test_mojibake_no_false_positive_on_ordinary_clauses() -> None:
    clauses = [
        CLAUSE,
        CLAUSE_TRAD,
        "加快推动鲁北万润智慧能源科技(山东)有限公司24万吨/年磷酸铁锂联产24万吨/年磷酸铁项目落地建设。",
        "鼓励醫化行業上市公司及其子公司在臺州灣經濟技術開發區內對醫化企業開展并購重組。",
        "培育“瞪羚”企业、独角兽企业,对获评的给予一次性奖励20万元?具体以公示为准。",
        "贷款贴息按银行最新一期的贷款市场报价利率(LPR)的35%、最高2000万元确定。",
    ]
    for clause in clauses:
        assert find_suspect_runs(clause) == [], clause
        assert repair_mojibake(clause).text == clause


def test_mojibake_repairs_linhai_runs() -> None:
    text = seed("003")
    result = repair_mojibake(text)
    assert len(result.repaired) >= 3
    repaired = " ".join(r.repaired for r in result.repaired)
    assert "零土地" in repaired
    assert "墨爾本" in repaired or "墨尔本" in repaired
    assert "科技創新園" in repaired
    for span in result.repaired:
        assert text[span.start : span.end] == span.original
        assert 0 < span.confidence <= 1
    assert "臨海·墨爾本跨境融合創新中心多層次合作。" in result.text
    # The lost 海 of 臨海科技創新園 cannot be recovered: shown as □ and reported.
    assert f"臨{MISSING}科技創新園合作項目" in result.text
    assert any(MISSING in span.reason for span in result.unreadable)
    assert "傲阃恋" not in result.text and "つ" not in result.text
    # Everything outside the repaired runs is untouched, and maps back to the input.
    assert len(result.text) > 0.99 * len(text)
    repaired_ranges = [(r.start, r.end) for r in result.repaired]
    for i, ch in enumerate(result.text):
        j = result.to_input(i)
        if not any(s <= j < e for s, e in repaired_ranges) and text[j] == ch:
            continue
        assert any(s <= j <= e for s, e in repaired_ranges), (i, ch)


def _misread(raw: bytes) -> str:
    """Read GBK bytes in pairs without resynchronising, as broken converters do."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] < 0x80:
            out.append(chr(raw[i]))
            i += 1
            continue
        try:
            out.append(raw[i : i + 2].decode("gbk"))
        except UnicodeDecodeError:
            out.append("?")  # the unreadable lead byte alone
            i += 1
            continue
        i += 2
    return "".join(out)


@pytest.mark.parametrize(
    "good",
    [
        "支持企业开展技术改造,按设备投资额的百分之十给予补助",
        "對完成智能化技術改造的企業給予獎勵並優先推薦申報省級專項資金",
    ],
)
def test_mojibake_synthetic_misaligned_gbk_run(good: str) -> None:
    # Build the damage the way it happens: GBK bytes re-read one byte out of step.
    raw = good.encode("gbk")
    mangled = _misread(raw[1:])
    text = CLAUSE + "深化合作," + mangled + "。" + CLAUSE
    result = repair_mojibake(text)
    assert result.repaired, mangled
    # The very first byte was lost before the text reached us; the rest comes back.
    assert good[1:] in result.text
    assert result.text.startswith(CLAUSE) and result.text.endswith(CLAUSE)


# --- script ---------------------------------------------------------------------


def test_detect_script() -> None:
    assert detect_script(CLAUSE) == "simplified"
    assert detect_script(CLAUSE_TRAD) == "traditional"
    assert detect_script(seed("003")) == "traditional"
    assert detect_script(seed("000")) == "simplified"
    assert detect_script("关于实施的若干意见。關於實施新一輪制造業的若干意見,臺州灣經濟技術開發區") == "mixed"
    assert detect_script("2023年 ABC") == "simplified"


def test_to_simplified_policy_vocabulary() -> None:
    source = "臨海市人民政府關于實施規范發布畝均臺州「零增地」技改項目。"
    simplified, offsets = to_simplified(source)
    assert simplified == "临海市人民政府关于实施规范发布亩均台州「零增地」技改项目。"
    assert offsets is None  # 1:1, so positions are shared


def test_to_simplified_offset_map_when_lengths_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    import huiqi.ingest.script as script

    real = script.to_simplified_text

    def lengthening(text: str) -> str:
        # Simulate an OpenCC phrase rule that changes length.
        return real(text).replace("项目", "项目项")

    monkeypatch.setattr(script, "to_simplified_text", lengthening)
    source = "臨海市。技改項目驗收合格。"
    simplified, offsets = script.to_simplified(source)
    assert offsets is not None
    assert len(offsets) == len(simplified)
    assert offsets == sorted(offsets)
    for i, ch in enumerate(simplified):
        assert script.to_simplified_text(source[offsets[i]]) == ch or ch in "项"
    assert simplified.startswith("临海市。")
