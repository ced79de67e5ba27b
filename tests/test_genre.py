"""Documents of the genre in layouts the seeds do not have (written for these tests,
expected values read from the text by hand)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from huiqi.document import Comparator, ProvisionKind
from huiqi.ingest.pipeline import ingest_file

PAGES = Path(__file__).parent / "fixtures" / "pages"


def test_gbk_html_notice_with_articles() -> None:
    doc = ingest_file(PAGES / "notice_articles_gbk.html")
    assert doc.source.format == "html"
    assert doc.source.encoding.lower() in {"gbk", "gb18030", "gb2312"}
    assert doc.title == "某市人民政府办公室关于印发某市促进制造业高质量发展若干政策的通知"
    assert doc.doc_number == "某政办发〔2023〕7号"
    assert doc.issuers == ["某市人民政府办公室"]
    assert doc.signed_date == date(2023, 3, 10)
    assert doc.published_date == date(2023, 3, 15)
    # 自2023年4月1日起施行,有效期三年 → the last day of the third year
    assert doc.effective_from == date(2023, 4, 1)
    assert doc.effective_to == date(2026, 3, 31)
    assert [m.key for m in doc.measures] == ["一", "二", "三", "四"]
    assert [m.style for m in doc.measures] == ["第一条"] * 4

    first = doc.measures[0]
    assert first.units.all == ["市经信局", "市财政局"]
    kinds = [(p.kind, p.yuan, p.comparator, p.upper_bound) for p in first.provisions]
    assert kinds == [
        (ProvisionKind.THRESHOLD, 3_000_000, Comparator.GT, False),  # 超过300万元: exclusive
        (ProvisionKind.RATE, None, Comparator.EQ, False),
        (ProvisionKind.CAP, 2_000_000, Comparator.LE, True),  # 不超过200万元 is a ceiling, not 超过
    ]
    second = doc.measures[1]
    assert [(p.kind, p.yuan, p.comparator) for p in second.provisions] == [
        (ProvisionKind.AMOUNT, 50_000, Comparator.EQ),
        (ProvisionKind.THRESHOLD, 20_000_000, Comparator.LT),  # 不满: exclusive
        (ProvisionKind.AMOUNT, 30_000, Comparator.EQ),
    ]
    third = doc.measures[2]
    assert third.units.lead == ["市科技局"] and third.units.support == ["市财政局", "市税务局"]
    cap = [p for p in third.provisions if p.kind == ProvisionKind.CAP]
    assert cap and cap[0].yuan == 500_000 and cap[0].upper_bound
    reasons = {s.reason for s in doc.quality.boilerplate_removed}
    assert {"网站导航", "当前位置", "打印/关闭"} <= reasons
