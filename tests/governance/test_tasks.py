"""督办 tasks: derived from the seeds, deadlines from the documents' own words, the transition
table, re-ingestion matching and reminders."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

import pytest

from huiqi.document import Document, Measure, Units
from huiqi.governance.deadlines import parse_deadline
from huiqi.governance.reminders import ListNotifier, dispatch, due_notices
from huiqi.governance.sync import plan_sync
from huiqi.governance.tasks import (
    TRANSITIONS,
    Actor,
    IllegalTransition,
    Task,
    TaskAction,
    TaskRole,
    TaskStatus,
    actor_for_role,
    next_status,
    task_specs,
)


def test_seeds_give_one_task_per_measure_and_unit(seed_documents: list[Document]) -> None:
    specs = [s for d in seed_documents for s in task_specs(d)]
    counts = Counter(s.natural_key for s in specs)
    assert counts and max(counts.values()) == 1
    expected = {
        (d.id, m.key, u) for d in seed_documents for m in d.measures for u in [*m.units.lead, *m.units.support,
                                                                               *m.units.all]
    }
    assert {(s.document_id, s.measure_key, s.unit) for s in specs} == expected
    # Roles as the documents give them: 寿光 names 牵头 and 配合 units, 滨州 七/25 "牵头负责".
    shouguang = {(s.measure_key, s.unit): s.role for s in specs if "寿光" in s.document_title}
    assert shouguang[("五/17", "发改局")] is TaskRole.LEAD
    assert shouguang[("五/17", "规划局")] is TaskRole.SUPPORT
    assert shouguang[("四/12", "科技局")] is TaskRole.RESPONSIBLE


@pytest.mark.parametrize(
    ("prefix", "key", "due", "recurrence", "source", "phrase"),
    [
        ("001", "二/6", date(2022, 12, 31), None, "measure", "2022年12月31日"),  # 政策执行期至2022年12月31日
        ("001", "一/1", None, "monthly", "measure", "逐月"),  # 逐月调度通报
        ("000", "六/20", date(2025, 12, 31), None, "measure", "到2025年"),
        ("000", "一/1", None, "yearly", "measure", "每年"),
        ("003", "二/一", date(2023, 6, 30), None, "measure", "2023年6月底"),  # 政策延期至2023年6月底
        ("003", "二/三", date(2023, 12, 31), None, "document", None),  # 有效期至2023年12月31日
        ("003", "二/十三", date(2023, 12, 31), "yearly", "measure", "每年"),
    ],
)
def test_deadlines_from_the_documents_words(
    seed_by_prefix: dict[str, Document], prefix: str, key: str, due: date | None, recurrence: str | None,
    source: str, phrase: str | None,
) -> None:
    doc = seed_by_prefix[prefix]
    measure = doc.measure(key)
    assert measure is not None
    deadline = parse_deadline(doc, measure)
    assert (deadline.due, deadline.recurrence, deadline.source) == (due, recurrence, source)
    if phrase is not None:
        assert phrase in (deadline.phrase or "")
        assert phrase in measure.text or phrase in (doc.validity_text or "")


def _doc(measures: list[tuple[str, str, str, list[str]]], number: str = "某政发〔2023〕1号", **kw: object) -> Document:
    text = "".join(t for _, _, t, _ in measures)
    out: list[Measure] = []
    pos = 0
    for label, title, body, units in measures:
        out.append(Measure(label=label, level=0, style="一、", title=title, text=body, start=pos,
                           end=pos + len(body), units=Units(all=units)))
        pos += len(body)
    from huiqi.document import SourceInfo

    return Document(id=f"d{abs(hash(text)) % 10**8}", title="某市关于推进工作的通知", doc_number=number,
                    source=SourceInfo(path="x.txt", sha256="0", bytes=1, encoding="utf-8", format="txt"),
                    text=text, original_text=text, measures=out, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sentence", "signed", "due", "recurrence", "ongoing"),
    [
        ("各单位2022年底前完成清理。", None, date(2022, 12, 31), None, False),
        ("到2023年,建成一批园区。", None, date(2023, 12, 31), None, False),
        ("年底前完成。", date(2021, 3, 1), date(2021, 12, 31), None, False),
        ("自2022年7月16日起施行。", None, None, None, False),  # a start, not a deadline
        ("建立长效机制,长期坚持。", None, None, None, True),
        ("按季调度,2024年3月前完成验收。", None, date(2024, 3, 31), "quarterly", False),
        ("力争3年内完成改造。", date(2021, 3, 1), None, None, False),  # a span, not "年内"
    ],
)
def test_deadline_phrases(sentence: str, signed: date | None, due: date | None, recurrence: str | None,
                          ongoing: bool) -> None:
    doc = _doc([("一", "工作", sentence, ["市经信局"])], signed_date=signed)
    deadline = parse_deadline(doc, doc.measures[0])
    assert (deadline.due, deadline.recurrence, deadline.ongoing) == (due, recurrence, ongoing)


def test_transition_table_is_the_only_authority() -> None:
    assert next_status(TaskStatus.NOT_STARTED, TaskAction.REPORT, Actor.UNIT) is TaskStatus.IN_PROGRESS
    assert next_status(TaskStatus.COMPLETED, TaskAction.CLOSE, Actor.OFFICE) is TaskStatus.CLOSED
    with pytest.raises(IllegalTransition, match="只能由督查室办理"):
        next_status(TaskStatus.COMPLETED, TaskAction.CLOSE, Actor.UNIT)
    with pytest.raises(IllegalTransition, match="已销号"):
        next_status(TaskStatus.CLOSED, TaskAction.REPORT, Actor.UNIT)
    # Every (state, action) pair appears once; closed is final.
    pairs = Counter((t.state, t.action) for t in TRANSITIONS)
    assert max(pairs.values()) == 1
    assert not [t for t in TRANSITIONS if t.state is TaskStatus.CLOSED]
    assert actor_for_role("department") is Actor.UNIT and actor_for_role("supervisor") is Actor.OFFICE
    with pytest.raises(IllegalTransition):
        actor_for_role("enterprise")


def _tasks(doc: Document) -> list[Task]:
    return [Task.from_spec(s) for s in task_specs(doc)]


def test_reingesting_matches_measures_and_retires_the_missing() -> None:
    old = _doc([
        ("一", "加快项目建设", "一、加快项目建设。推进重点项目。", ["市发改委", "市经信局"]),
        ("二", "强化要素保障", "二、强化要素保障。保障用地用能。", ["市自然资源局"]),
        ("三", "优化营商环境", "三、优化营商环境。压缩审批时限。", ["市行政审批局"]),
    ])
    new = _doc([
        ("一", "强化要素支撑保障", "一、强化要素支撑保障。保障用地用能和资金。", ["市自然资源局", "市财政局"]),
        ("二", "加快重点项目建设", "二、加快重点项目建设。推进重点项目。", ["市发改委"]),
        ("三", "加强宣传引导", "三、加强宣传引导。", ["市委宣传部"]),
    ])
    existing = _tasks(old)
    plan = plan_sync(existing, task_specs(new), "2023-04-01")
    by_unit = {t.unit: t.id for t in existing}
    updated = {u.task_id: u for u in plan.update}
    assert updated[by_unit["市发改委"]].spec.measure_key == "二"
    assert updated[by_unit["市自然资源局"]].spec.measure_key == "一"
    assert any("措施编号 二 → 一" in c for c in updated[by_unit["市自然资源局"]].changes)
    retired = {r.task_id: r.note for r in plan.retire}
    assert "不再列 市经信局" in retired[by_unit["市经信局"]]
    assert "优化营商环境" in retired[by_unit["市行政审批局"]] and "已不在新版文件中" in retired[by_unit["市行政审批局"]]
    assert sorted((s.measure_key, s.unit) for s in plan.create) == [("一", "市财政局"), ("三", "市委宣传部")]
    # The same document again changes nothing.
    again = plan_sync(existing, task_specs(old))
    assert not again.create and not again.retire and not again.update and len(again.unchanged) == 4


def test_reminders_and_escalation() -> None:
    doc = _doc([("一", "清理闲置土地", "一、清理闲置土地。2023年3月31日前完成。", ["市自然资源局"]),
                ("二", "调度通报", "二、调度通报。逐月调度通报。", ["市发改委"])])
    fixed, monthly = _tasks(doc)
    monthly = monthly.model_copy(update={"created_at": datetime(2023, 1, 1)})
    assert fixed.deadline.due == date(2023, 3, 31)
    notices = list(due_notices([fixed, monthly], date(2023, 3, 20)))
    kinds = {(n.task_id, n.kind, n.level) for n in notices}
    assert (fixed.id, "reminder", 0) in kinds
    assert (monthly.id, "escalation", 1) in kinds  # February passed without a report
    assert (monthly.id, "reminder", 0) in kinds  # March report due in 11 days
    reported = monthly.model_copy(update={"last_report_on": date(2023, 3, 2)})
    assert [n.kind for n in due_notices([reported], date(2023, 3, 20))] == []
    late = list(due_notices([fixed], date(2023, 4, 20)))
    assert [(n.kind, n.level, n.days) for n in late] == [("escalation", 2, 20)]
    assert "督查室" in late[0].recipients and "分管领导" in late[0].recipients
    notifier = ListNotifier()
    sent = dispatch(late, notifier)
    assert list(due_notices([fixed], date(2023, 4, 21), already_sent=set(sent))) == []
    done = fixed.model_copy(update={"status": TaskStatus.COMPLETED})
    assert list(due_notices([done], date(2023, 4, 20))) == []
