"""Policy base: storage, lookup, matrix, targets and search, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huiqi.document import (
    Comparator,
    Document,
    Measure,
    Provision,
    ProvisionKind,
    Quality,
    Region,
    SourceInfo,
    Span,
    Target,
    Units,
)
from huiqi.errors import HuiqiError
from huiqi.policybase import (
    PolicyBase,
    connect,
    export_matrix_xlsx,
    matrix_pivot,
    responsibility_matrix,
    search,
    targets,
)
from huiqi.policybase import store as store_module

try:
    import pg_server
except ImportError:  # tests/ collected as a package
    from tests import pg_server  # type: ignore[no-redef]

postgres_server = pg_server.postgres_server
postgres_url = pg_server.postgres_url

ID_A = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
ID_B = "a1b9f00d11223344556677889900aabb"
ID_C = "c0ffee00112233445566778899aabbcc"


# ---- building documents ------------------------------------------------------------


def _units(
    members: tuple[str, ...] | list[str] = (), lead: list[str] | None = None, support: list[str] | None = None
) -> Units:
    return Units(all=list(members), lead=lead or [], support=support or [], text=None)


def _target(**kw: Any) -> Target:
    kw.setdefault("stretch_value", None)
    kw.setdefault("measure", None)
    return Target(**kw)


def _prov(text: str, span: str, kind: ProvisionKind, **kw: Any) -> Provision:
    start = text.index(span)
    return Provision(kind=kind, text=span, start=start, end=start + len(span), **kw)


def _measure(
    body: str,
    label: str,
    *,
    path: list[str] | None = None,
    style: str = "一、",
    title: str = "",
    units: Units | None = None,
    provisions: list[tuple[str, ProvisionKind, dict[str, Any]]] = (),  # type: ignore[assignment]
    offset: int = 0,
) -> Measure:
    return Measure(
        label=label,
        path=path or [],
        level=len(path or []),
        style=style,
        title=title,
        text=body,
        original_text=body,
        start=offset,
        end=offset + len(body),
        units=units or _units(),
        provisions=[_prov(body, span, kind, **kw) for span, kind, kw in provisions],
    )


def _document(
    doc_id: str, title: str, doc_number: str | None, measures: list[Measure], **kw: Any
) -> Document:
    text = "\n".join(m.text for m in measures)
    return Document(
        id=doc_id,
        title=title,
        doc_number=doc_number,
        issuers=["滨州市发展和改革委员会"],
        region=Region(province="山东省", city="滨州市"),
        signed_date=kw.pop("signed_date", date(2022, 6, 1)),
        source=SourceInfo(
            path=f"seeds/{doc_id[:6]}.txt",
            sha256="0" * 64,
            bytes=len(text.encode()),
            encoding="utf-8",
            format="txt",
        ),
        text=text,
        original_text=text,
        measures=measures,
        **kw,
    )


M1 = (
    "一、支持企业技术改造。对企业实施技术改造项目,设备投资额500万元以上的,按设备投资额的10%给予补助,"
    "单个项目最高300万元。技术改造项目优先纳入重点项目库。(牵头单位:市工业和信息化局;配合单位:市财政局)"
)
M2 = "二、培育专精特新企业。对新认定的国家级专精特新“小巨人”企业给予一次性奖励50万元。(牵头单位:市工业和信息化局、市科技局)"
M2_1 = "(一)加强人才引进。对引进的高层次人才给予每人每月2000元生活补贴,补助资金由市财政统筹。"
MB = (
    "1.推进数字化转型。鼓励企业上云用数赋智,建设工业互联网平台和5G全连接工厂,培育数字化转型服务商,"
    "支持企业结合技术改造开展智能化升级,对认定的数字化车间给予奖励,奖励标准另行制定。(责任单位:市大数据局、市工业和信息化局)"
)


def doc_a() -> Document:
    return _document(
        ID_A,
        "滨州市关于支持工业企业技术改造的若干政策措施",
        "滨发改工业〔2022〕156号",
        [
            _measure(
                M1,
                "一",
                title="支持企业技术改造",
                units=_units(
                    members=["市工业和信息化局", "市财政局"], lead=["市工业和信息化局"], support=["市财政局"]
                ),
                provisions=[
                    (
                        "500万元以上",
                        ProvisionKind.THRESHOLD,
                        {
                            "value": Decimal("500"),
                            "unit": "万元",
                            "yuan": 5_000_000,
                            "comparator": Comparator.GE,
                            "subject": "设备投资额",
                            "low": Decimal("500"),
                            "low_inclusive": True,
                            "low_yuan": 5_000_000,
                        },
                    ),
                    ("10%", ProvisionKind.RATE, {"value": Decimal("10"), "unit": "%"}),
                    (
                        "最高300万元",
                        ProvisionKind.CAP,
                        {
                            "value": Decimal("300"),
                            "unit": "万元",
                            "yuan": 3_000_000,
                            "comparator": Comparator.LE,
                            "upper_bound": True,
                            "scope": "单个项目",
                        },
                    ),
                ],
            ),
            _measure(
                M2,
                "二",
                title="培育专精特新企业",
                units=_units(members=["市工业和信息化局", "市科技局"], lead=["市工业和信息化局", "市科技局"]),
                provisions=[
                    (
                        "50万元",
                        ProvisionKind.AMOUNT,
                        {"value": Decimal("50"), "unit": "万元", "yuan": 500_000},
                    )
                ],
                offset=len(M1) + 1,
            ),
            _measure(
                M2_1,
                "一",
                path=["二"],
                style="(一)",
                title="加强人才引进",
                units=_units(members=["市人力资源和社会保障局"]),
                provisions=[
                    (
                        "2000元",
                        ProvisionKind.PER_UNIT,
                        {"value": Decimal("2000"), "unit": "元", "yuan": 2000, "per": "人"},
                    )
                ],
                offset=len(M1) + len(M2) + 2,
            ),
        ],
        targets=[
            _target(
                indicator="规上工业亩均税收",
                value=Decimal("20.30"),
                unit="万元",
                comparator=Comparator.GT,
                year=2023,
                text="到2023年底规上工业亩均税收超过20.30万元",
                start=0,
                end=20,
            ),
            _target(
                indicator="专精特新企业",
                value=Decimal("50"),
                stretch_value=Decimal("60"),
                unit="家",
                comparator=Comparator.GE,
                year=2025,
                text="专精特新企业达到50家,力争60家",
                start=0,
                end=16,
                measure="二",
            ),
        ],
        quality=Quality(
            unparsed_numbers=[Span(start=3, end=6, text="若干", reason="非数字")], warnings=["示例警告"]
        ),
    )


def doc_b() -> Document:
    return _document(
        ID_B,
        "滨州市促进数字经济发展的实施意见",
        "滨政办发〔2023〕7号",
        [
            _measure(
                MB,
                "1",
                style="1.",
                title="推进数字化转型",
                units=_units(
                    members=["市大数据局", "市工业和信息化局"],
                    lead=["市大数据局"],
                    support=["市工业和信息化局"],
                ),
            )
        ],
        signed_date=date(2023, 3, 15),
        targets=[
            _target(
                indicator="数字经济核心产业增加值占比",
                value=Decimal("8.5"),
                unit="%",
                year=2025,
                text="占比达到8.5%",
                start=0,
                end=8,
            )
        ],
    )


def doc_c() -> Document:
    return _document(
        ID_C,
        "滨州市促进数字经济发展的补充通知",
        None,
        [_measure("一、做好统计监测工作。", "一", title="做好统计监测工作")],
        signed_date=None,
        status="draft",
        status_label="征求意见稿",
    )


# ---- backends ------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "policy.sqlite")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def pb(db_url: str) -> Iterator[PolicyBase]:
    base = connect(db_url)
    try:
        yield base
    finally:
        base.close()


@pytest.fixture
def loaded(pb: PolicyBase) -> PolicyBase:
    for doc in (doc_a(), doc_b(), doc_c()):
        assert pb.save_document(doc).status == "new"
    return pb


# ---- schema --------------------------------------------------------------------------


def test_migrations_are_recorded_and_applied_once(db_url: str) -> None:
    from huiqi.store.migrate import known_heads

    with connect(db_url) as first:
        rows = first.db.query("SELECT version_num FROM alembic_version")
        assert {r["version_num"] for r in rows} == known_heads()
    with connect(db_url) as again:
        assert again.db.migrate() == []
        assert again.db.schema_version() == max(known_heads())


def test_newer_schema_is_refused(db_url: str) -> None:
    with connect(db_url) as base:
        # One row per migration branch head (platform, workflow, governance): make one of them newer.
        base.db.execute("UPDATE alembic_version SET version_num = ? WHERE version_num = "
                        "(SELECT min(version_num) FROM alembic_version)", ("9999_future",))
    with pytest.raises(HuiqiError, match="比当前程序新"):
        connect(db_url)


def test_legacy_hand_migrated_file_is_refused_with_a_hint(tmp_path: Path) -> None:
    import sqlite3

    legacy = tmp_path / "old.db"
    con = sqlite3.connect(legacy)
    con.execute("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY)")
    con.commit()
    con.close()
    with pytest.raises(HuiqiError, match="旧版格式"):
        connect(str(legacy))


def test_unknown_url_scheme_is_a_user_error() -> None:
    with pytest.raises(HuiqiError, match="不支持的数据库地址"):
        connect("mysql://localhost/huiqi")


def test_sqlite_url_form_and_pragmas(tmp_path: Path) -> None:
    with connect(f"sqlite:///{tmp_path}/nested/dir/pb.db") as base:
        assert base.dialect.name == "sqlite"
        assert (tmp_path / "nested/dir/pb.db").exists()
        assert base.db.scalar("PRAGMA journal_mode") == "wal"
        assert base.db.scalar("PRAGMA foreign_keys") == 1


# ---- save / load ---------------------------------------------------------------------


def test_save_and_reload_is_equal(pb: PolicyBase) -> None:
    a = doc_a()
    result = pb.save_document(a)
    assert (result.status, result.measures, result.provisions, result.targets) == ("new", 3, 5, 2)
    assert pb.load_document(ID_A) == a
    assert pb.counts() == {
        "documents": 1,
        "quality_flags": 2,
        "targets": 2,
        "provisions": 5,
        "units": 5,
        "measures": 3,
    }


def test_numbers_are_stored_exactly(pb: PolicyBase) -> None:
    pb.save_document(doc_a())
    rows = pb.db.query(
        "SELECT measure_key, kind, value, yuan, upper_bound, low, low_yuan FROM provisions WHERE document_id = ? ORDER BY measure_ord, ord",
        (ID_A,),
    )
    cap = rows[2]
    assert (cap["kind"], cap["value"], cap["yuan"], cap["upper_bound"]) == ("cap", "300", 3_000_000, 1)
    assert isinstance(cap["yuan"], int) and isinstance(cap["value"], str)
    assert (rows[0]["low"], rows[0]["low_yuan"]) == ("500", 5_000_000)
    assert [r["measure_key"] for r in rows] == ["一", "一", "一", "二", "二/一"]
    # trailing zeros are part of the figure as written
    assert pb.db.scalar("SELECT value FROM targets WHERE document_id = ? AND ord = 0", (ID_A,)) == "20.30"


def test_resave_is_idempotent(pb: PolicyBase) -> None:
    first = pb.save_document(doc_a())
    counts = pb.counts()
    ingested = pb.list_documents()[0].ingested_at
    again = pb.save_document(doc_a())
    assert again.status == "unchanged" and again.sha256 == first.sha256
    assert pb.counts() == counts

    retitled = doc_a().model_copy(update={"title": "滨州市关于支持工业企业技术改造的若干政策措施(修订)"})
    updated = pb.save_document(retitled)
    assert updated.status == "updated" and updated.sha256 != first.sha256
    assert pb.counts() == counts
    summary = pb.list_documents()[0]
    assert summary.title.endswith("(修订)") and summary.ingested_at == ingested


def test_update_replaces_children(pb: PolicyBase) -> None:
    pb.save_document(doc_a())
    shorter = doc_a().model_copy(update={"measures": doc_a().measures[:1], "targets": []})
    assert pb.save_document(shorter).status == "updated"
    assert pb.counts() == {
        "documents": 1,
        "quality_flags": 2,
        "targets": 0,
        "provisions": 3,
        "units": 2,
        "measures": 1,
    }
    assert pb.load_document(ID_A) == shorter
    assert [h.measure_key for h in search(pb, "专精特新")] == []


def test_failed_save_keeps_previous_version(pb: PolicyBase, monkeypatch: pytest.MonkeyPatch) -> None:
    pb.save_document(doc_a())
    before = pb.counts()
    changed = doc_a().model_copy(update={"title": "改过的标题", "measures": doc_a().measures[:2]})
    real_insert = store_module.PolicyBase._insert_rows

    def failing_insert(self: PolicyBase, table: str, *args: Any, **kw: Any) -> None:
        if table == "provisions":
            raise RuntimeError("disk full")
        real_insert(self, table, *args, **kw)

    monkeypatch.setattr(store_module.PolicyBase, "_insert_rows", failing_insert)
    with pytest.raises(RuntimeError, match="disk full"):
        pb.save_document(changed)
    with pytest.raises(RuntimeError):
        pb.save_document(doc_b())
    monkeypatch.undo()

    assert pb.counts() == before
    assert pb.load_document(ID_A) == doc_a()
    assert not pb.has_document(ID_B)
    assert [h.document_id for h in search(pb, "技术改造")] == [ID_A]
    assert pb.save_document(doc_b()).status == "new"  # the connection is usable afterwards


def test_delete_document(loaded: PolicyBase) -> None:
    assert loaded.delete_document(ID_A)
    assert not loaded.delete_document(ID_A)
    assert loaded.counts()["provisions"] == 0
    assert {d.id for d in loaded.list_documents()} == {ID_B, ID_C}


# ---- lookup --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        (ID_A, ID_A),
        ("a1b2", ID_A),
        ("A1B9F", ID_B),
        ("滨发改工业〔2022〕156号", ID_A),
        ("滨发改工业[2022]156号", ID_A),
        ("〔2023〕7号", ID_B),
        ("技术改造", ID_A),
        ("技術改造", ID_A),  # traditional script
        ("补充通知", ID_C),
        ("滨州市促进数字经济发展的实施意见", ID_B),
    ],
)
def test_find_document(loaded: PolicyBase, ref: str, expected: str) -> None:
    assert loaded.find_document(ref).id == expected


def test_find_ambiguous_lists_candidates(loaded: PolicyBase) -> None:
    with pytest.raises(HuiqiError) as err:
        loaded.find_document("a1b")
    message = str(err.value)
    assert "匹配到 2 个文件" in message and ID_A[:12] in message and ID_B[:12] in message
    with pytest.raises(HuiqiError, match="数字经济发展的补充通知"):
        loaded.find_document("数字经济")


def test_find_missing(loaded: PolicyBase) -> None:
    with pytest.raises(HuiqiError, match="未找到文件"):
        loaded.find_document("航空航天")
    with pytest.raises(HuiqiError, match="未找到文件"):
        loaded.load_document("ffff")
    with pytest.raises(HuiqiError):
        loaded.find_document("  ")


def test_list_documents(loaded: PolicyBase) -> None:
    docs = loaded.list_documents()
    assert [d.id for d in docs] == [ID_B, ID_A, ID_C]  # newest signed first, undated last
    a = docs[1]
    assert (a.measures, a.provisions, a.targets, a.doc_number) == (3, 5, 2, "滨发改工业〔2022〕156号")
    assert (
        a.issuers == ["滨州市发展和改革委员会"] and a.signed_date == date(2022, 6, 1) and a.city == "滨州市"
    )
    assert docs[2].status == "draft" and docs[2].status_label == "征求意见稿"


# ---- responsibility matrix -----------------------------------------------------------


def test_responsibility_matrix(loaded: PolicyBase) -> None:
    rows = responsibility_matrix(loaded)
    triples = [(r.unit, r.role, r.document_id, r.measure_key) for r in rows]
    assert ("市工业和信息化局", "lead", ID_A, "一") in triples
    assert ("市财政局", "support", ID_A, "一") in triples
    assert ("市人力资源和社会保障局", "member", ID_A, "二/一") in triples
    assert ("市工业和信息化局", "support", ID_B, "1") in triples
    assert len(rows) == 7
    assert [r.unit for r in rows] == sorted(r.unit for r in rows)
    assert next(r for r in rows if r.measure_key == "二/一").measure_title == "加强人才引进"

    pivot = matrix_pivot(rows)
    assert pivot.counts[("市工业和信息化局", ID_A)] == 2
    assert pivot.counts[("市工业和信息化局", ID_B)] == 1
    assert pivot.total("市工业和信息化局") == 3
    assert pivot.by_role[("市工业和信息化局", "lead")] == 2

    only_b = responsibility_matrix(loaded, document="滨政办发〔2023〕7号")
    assert {r.document_id for r in only_b} == {ID_B} and len(only_b) == 2


def test_export_matrix_xlsx(loaded: PolicyBase, tmp_path: Path) -> None:
    rows = responsibility_matrix(loaded)
    out = export_matrix_xlsx(rows, tmp_path / "out" / "责任矩阵.xlsx")
    assert sorted(os.listdir(out.parent)) == ["责任矩阵.xlsx"]  # no temp file left behind
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["责任清单", "汇总"]

    detail = wb["责任清单"]
    values = list(detail.iter_rows(values_only=True))
    assert values[0] == ("责任单位", "角色", "文件标题", "文号", "措施编号", "措施标题", "文件ID")
    assert len(values) == 1 + len(rows)
    assert (
        "市财政局",
        "配合",
        "滨州市关于支持工业企业技术改造的若干政策措施",
        "滨发改工业〔2022〕156号",
        "一",
        "支持企业技术改造",
        ID_A,
    ) in values
    assert detail.freeze_panes == "B2"
    assert detail.column_dimensions["C"].width > 30

    summary = list(wb["汇总"].iter_rows(values_only=True))
    assert summary[0][:5] == ("责任单位", "牵头", "配合", "参与", "合计")
    assert set(summary[0][5:]) == {
        "滨州市关于支持工业企业技术改造的若干政策措施",
        "滨州市促进数字经济发展的实施意见",
    }
    industry = next(r for r in summary if r[0] == "市工业和信息化局")
    assert industry[1:5] == (2, 1, 0, 3)
    assert wb["汇总"].freeze_panes == "B2"


def test_export_empty_matrix(pb: PolicyBase, tmp_path: Path) -> None:
    out = export_matrix_xlsx(responsibility_matrix(pb), tmp_path / "empty.xlsx")
    assert [c.value for c in openpyxl.load_workbook(out)["汇总"][1]] == [
        "责任单位",
        "牵头",
        "配合",
        "参与",
        "合计",
    ]


# ---- targets -------------------------------------------------------------------------


def test_targets(loaded: PolicyBase) -> None:
    rows = targets(loaded)
    assert [t.indicator for t in rows] == ["数字经济核心产业增加值占比", "规上工业亩均税收", "专精特新企业"]
    tax = rows[1]
    assert (tax.value, tax.unit, tax.comparator, tax.year, tax.measure_key) == (
        Decimal("20.30"),
        "万元",
        "gt",
        2023,
        None,
    )
    assert rows[2].stretch_value == Decimal("60") and rows[2].measure_key == "二"
    assert [t.document_id for t in targets(loaded, document="a1b2")] == [ID_A, ID_A]


# ---- search --------------------------------------------------------------------------


def test_search_finds_and_ranks(loaded: PolicyBase) -> None:
    hits = search(loaded, "技术改造")
    assert [(h.document_id, h.measure_key) for h in hits] == [(ID_A, "一"), (ID_B, "1")]
    top = hits[0]
    assert top.measure_title == "支持企业技术改造" and top.document_title.startswith("滨州市关于支持")
    assert "【技术改造】" in top.snippet
    assert hits[0].score > hits[1].score


def test_search_variants(loaded: PolicyBase) -> None:
    assert [h.measure_key for h in search(loaded, "技術改造")][:1] == ["一"]  # traditional query
    assert {h.document_id for h in search(loaded, "技术")} == {ID_A, ID_B}  # part of a compound word
    assert [(h.document_id, h.measure_key) for h in search(loaded, "人才 补贴")] == [(ID_A, "二/一")]
    assert [h.measure_key for h in search(loaded, "5G")] == ["1"]
    single = search(loaded, "奖")  # one character: substring match
    assert {(h.document_id, h.measure_key) for h in single} == {(ID_A, "二"), (ID_B, "1")}
    assert "【奖】" in single[0].snippet
    assert search(loaded, "航空航天") == []
    assert search(loaded, "100%_") == []
    assert len(search(loaded, "企业", limit=1)) == 1
    with pytest.raises(HuiqiError):
        search(loaded, "   ")


# ---- property: exact numbers survive the round trip ----------------------------------

_decimals = st.decimals(
    allow_nan=False, allow_infinity=False, min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=4
)


@settings(max_examples=25, deadline=None)
@given(value=_decimals, yuan=st.integers(min_value=0, max_value=10**15))
def test_decimal_and_yuan_roundtrip(value: Decimal, yuan: int) -> None:
    body = "一、对企业给予奖励100万元。"
    m = _measure(
        body,
        "一",
        provisions=[("100万元", ProvisionKind.AMOUNT, {"value": value, "unit": "万元", "yuan": yuan})],
    )
    doc = _document(ID_A, "测试", None, [m])
    with connect(":memory:") as base:
        base.save_document(doc)
        assert base.load_document(ID_A) == doc
        row = base.db.query("SELECT value, yuan FROM provisions")[0]
        assert Decimal(row["value"]) == value and str(value) == row["value"] and row["yuan"] == yuan
