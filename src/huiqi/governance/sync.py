"""Re-ingesting a changed document: match existing tasks to the new measures, never recreate them.

Measures are matched within one document identity (文号 or title): first by the same label and
the same title, then by title (or text) similarity, a same label breaking ties. A matched
measure keeps its tasks (renumbered, retitled, role and deadline updated); a unit no longer
named loses its task with a note; a measure that disappeared closes all its tasks with a note.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from pydantic import BaseModel, ConfigDict, Field

from huiqi.governance.tasks import Task, TaskSpec

MATCH_THRESHOLD = 0.6


class TaskUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_id: str
    spec: TaskSpec
    changes: list[str] = Field(default_factory=list, description="what changed, in Chinese, for the history")


class TaskRetirement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_id: str
    note: str


class SyncPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    create: list[TaskSpec] = Field(default_factory=list)
    update: list[TaskUpdate] = Field(default_factory=list)
    retire: list[TaskRetirement] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)

    @property
    def summary(self) -> str:
        return (
            f"新增 {len(self.create)} 项,更新 {len(self.update)} 项,"
            f"撤销 {len(self.retire)} 项,未变 {len(self.unchanged)} 项"
        )


def similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def _measure_score(old: Task, new: TaskSpec) -> float:
    title = similarity(old.measure_title, new.measure_title)
    text = similarity(old.measure_excerpt, new.measure_excerpt)
    score = max(title, text * 0.95)
    if old.measure_key == new.measure_key:
        score += 0.1
    return score


def match_measures(old: dict[str, Task], new: dict[str, TaskSpec]) -> dict[str, str]:
    """Old measure key → new measure key. ``old``/``new`` hold one representative per measure."""
    matched: dict[str, str] = {}
    free_new = set(new)
    for key, task in old.items():
        spec = new.get(key)
        if spec is not None and spec.measure_title == task.measure_title:
            matched[key] = key
            free_new.discard(key)
    candidates = sorted(
        (
            (_measure_score(task, new[n]), okey, n)
            for okey, task in old.items()
            if okey not in matched
            for n in free_new
        ),
        key=lambda c: (-c[0], c[1], c[2]),
    )
    for score, okey, nkey in candidates:
        if score < MATCH_THRESHOLD:
            break
        if okey in matched or nkey not in free_new:
            continue
        matched[okey] = nkey
        free_new.discard(nkey)
    return matched


def plan_sync(existing: list[Task], specs: list[TaskSpec], today_label: str = "") -> SyncPlan:
    """What to do with ``existing`` tasks (one document identity) given the new ``specs``."""
    identities = {t.document_identity for t in existing} | {s.document_identity for s in specs}
    if len(identities) > 1:
        raise ValueError(f"plan_sync works on one document identity, got {sorted(identities)}")
    plan = SyncPlan()
    live = [t for t in existing if not t.retired]
    old_by_measure: dict[str, list[Task]] = {}
    for t in live:
        old_by_measure.setdefault(t.measure_key, []).append(t)
    new_by_measure: dict[str, list[TaskSpec]] = {}
    for s in specs:
        new_by_measure.setdefault(s.measure_key, []).append(s)
    mapping = match_measures(
        {k: v[0] for k, v in old_by_measure.items()}, {k: v[0] for k, v in new_by_measure.items()}
    )
    suffix = f"({today_label}重新导入)" if today_label else "(重新导入)"
    used_new: set[str] = set()
    for okey, tasks in old_by_measure.items():
        nkey = mapping.get(okey)
        if nkey is None:
            for t in tasks:
                plan.retire.append(
                    TaskRetirement(task_id=t.id, note=f"措施 {okey}「{t.measure_title}」已不在新版文件中{suffix}")
                )
            continue
        used_new.add(nkey)
        new_specs = {s.unit: s for s in new_by_measure[nkey]}
        for t in tasks:
            spec = new_specs.pop(t.unit, None)
            if spec is None:
                plan.retire.append(
                    TaskRetirement(task_id=t.id, note=f"新版文件中措施 {nkey} 不再列 {t.unit} 为责任单位{suffix}")
                )
                continue
            changes = _changes(t, spec)
            if changes:
                plan.update.append(TaskUpdate(task_id=t.id, spec=spec, changes=changes))
            else:
                plan.unchanged.append(t.id)
        plan.create.extend(new_specs.values())
    for nkey, new_specs_list in new_by_measure.items():
        if nkey not in used_new:
            plan.create.extend(new_specs_list)
    return plan


def _changes(task: Task, spec: TaskSpec) -> list[str]:
    changes: list[str] = []
    if task.measure_key != spec.measure_key:
        changes.append(f"措施编号 {task.measure_key} → {spec.measure_key}")
    if task.measure_title != spec.measure_title:
        changes.append(f"措施标题「{task.measure_title}」→「{spec.measure_title}」")
    if task.role != spec.role:
        changes.append(f"角色 {task.role.label} → {spec.role.label}")
    # A deadline the office set by hand is the office's decision; the text does not override it.
    if task.deadline.source != "office" and task.deadline != spec.deadline:
        changes.append(f"时限 {task.deadline.label} → {spec.deadline.label}")
    if task.document_id != spec.document_id and not changes:
        changes.append("文件文本已更新")
    return changes
