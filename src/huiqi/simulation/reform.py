"""改革方案 — reforms as data: change parameters or rule fields, reload, compare.

A reform is a list of changes. Each change sets one path to a value:

* a **parameter**: ``lpr_1y=3.45%`` (or ``param.lpr_1y=3.45%``) → a parameter override,
  exactly like ``huiqi calc --param``;
* a **rule field**: ``<rule-id>.<path>=<value>`` where path walks the rule's YAML —
  ``linhai.tech_upgrade.major.caps.0.amount=500万元``,
  ``linhai.tech_upgrade.major.amount.formula=project.equipment_investment * 12%``,
  ``linhai.tech_upgrade.major.conditions.2.when=project.equipment_investment >= 300万元``;
  a list index one past the end appends (``caps.1.amount`` on a rule with one cap);
* a **pack field**: ``<document-id>.<path>=<value>`` (``linhai-2022-22.validity.to=2024-12-31``);
* ``remove: <rule-id>`` repeals a rule.

Rule changes are applied to a copy of the pack YAML in a temporary directory which is
then loaded with :func:`huiqi.rules.packs.load_packs`, so a reform goes through exactly
the validation a rule author's edit would (unknown fields, overlapping tiers …) and is
reported with the original file name. Nothing is evaluated as code.

Reform file (YAML)::

    name: 技改补助上限提高到500万元
    description: 重大技改项目单项目补助上限由300万元提高到500万元,LPR 按3.45%测算
    changes:
      - {set: linhai.tech_upgrade.major.caps.0.amount, value: 500万元}
      - {set: lpr_1y, value: "3.45%"}
      - {remove: shiyan.high_tech}
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from huiqi.errors import HuiqiError, RuleError
from huiqi.fsutil import make_temp_dir
from huiqi.profile import closest, load_yaml
from huiqi.rules.packs import RuleBase, load_packs

__all__ = ["AppliedReform", "Change", "Reform", "apply_reform", "load_reform", "parse_set"]


class Change(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    set: str | None = Field(None, description="参数名,或 规则id.路径 / 文件简称.路径")
    value: Any = None
    remove: str | None = Field(None, description="废止的规则 id")
    note: str | None = None

    @model_validator(mode="after")
    def _one_action(self) -> Change:
        if (self.set is None) == (self.remove is None):
            raise ValueError("每项改动必须且只能有 set(配合 value)或 remove 之一")
        if self.set is not None and self.value is None:
            raise ValueError(f"改动 {self.set} 缺少 value")
        return self

    def text(self) -> str:
        return f"废止 {self.remove}" if self.remove else f"{self.set} = {self.value}"


class Reform(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "改革方案"
    description: str | None = None
    changes: list[Change] = Field(default_factory=list)


def parse_set(items: list[str] | None) -> list[Change]:
    """``--set PATH=VALUE`` options → changes (the value is read as a YAML scalar, floats kept as text)."""
    out: list[Change] = []
    for item in items or []:
        if "=" not in item:
            raise HuiqiError(f"改动应写成 路径=值,如 lpr_1y=3.45% 或 规则id.caps.0.amount=500万元,收到 {item}",
                             field="--set")
        path, raw = item.split("=", 1)
        path, raw = path.strip(), raw.strip()
        if not path:
            raise HuiqiError(f"改动缺少路径:{item}", field="--set")
        out.append(Change(set=path, value=_scalar(raw)))
    return out


def _scalar(raw: str) -> Any:
    """``true`` → True, ``3`` → 3, ``2024-12-31`` → date; ``3.45`` stays text (no float on the way)."""
    if raw == "":
        return raw
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw
    if isinstance(value, float) or value is None or (isinstance(value, dict | list) and not raw.startswith(("[", "{"))):
        return raw
    return value


def load_reform(path: str | Path) -> Reform:
    p = Path(path)
    if not p.is_file():
        raise HuiqiError("改革方案文件不存在", file=str(p))
    data = load_yaml(p, error=HuiqiError)
    if isinstance(data, list):
        data = {"name": p.stem, "changes": data}
    if not isinstance(data, dict):
        raise HuiqiError("改革方案应为映射 {name, description, changes: [...]}", file=str(p))
    try:
        reform = Reform.model_validate(_plain(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise HuiqiError(f"改革方案无效:{where}:{msg}", file=str(p), field=where or None) from None
    if not reform.changes:
        raise HuiqiError("改革方案没有任何改动(changes 为空)", file=str(p))
    return reform


def _plain(data: Any) -> Any:
    """Located YAML (LineDict, shared anchors) → independent plain dicts/lists (Decimals kept)."""
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return copy.copy(data)


# -- applying -----------------------------------------------------------------------------------


@dataclass
class AppliedReform:
    """The reformed rule base and parameter overrides, with a line per change for the report."""

    reform: Reform
    rulebase: RuleBase
    params: dict[str, str]
    lines: list[str] = field(default_factory=list)
    workdir: Path | None = None
    rules_changed: list[str] = field(default_factory=list)


class _Dumper(yaml.SafeDumper):
    pass


def _repr_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.Node:
    # Plain scalar 0.005 (read back as Decimal by the located loader), never a binary float.
    text = format(value, "f")
    return dumper.represent_scalar("tag:yaml.org,2002:float" if "." in text else "tag:yaml.org,2002:int", text)


_Dumper.add_representer(Decimal, _repr_decimal)


def apply_reform(rulebase: RuleBase, reform: Reform, base_params: dict[str, str] | None = None,
                 workdir: str | Path | None = None) -> AppliedReform:
    """Apply ``reform`` to the packs of ``rulebase`` and reload them (parameters → overrides)."""
    params = dict(base_params or {})
    lines: list[str] = []
    packs = {lp.id: (lp.path, _plain(load_yaml(lp.path))) for lp in rulebase.packs}
    rule_ids = [r.id for r in rulebase.rules]
    rule_pack = {r.id: r.pack.id for r in rulebase.rules}
    changed: list[str] = []
    touched = False
    for change in reform.changes:
        if change.remove is not None:
            rid = change.remove.strip()
            if rid not in rule_pack:
                raise _unknown(rid, rule_ids, "规则")
            _path, data = packs[rule_pack[rid]]
            data["rules"] = [r for r in data.get("rules", []) if not (isinstance(r, dict) and r.get("id") == rid)]
            lines.append(f"废止规则 {rid}({rulebase.rule(rid).title})")
            changed.append(rid)
            touched = True
            continue
        assert change.set is not None
        path = change.set.strip()
        pname = path.removeprefix("param.")
        if pname in rulebase.params and "." not in pname:
            definition = rulebase.params.get(pname)
            before = rulebase.params.value(pname, date.today())
            shown = f"{format(before * 100, 'f').rstrip('0').rstrip('.')}%" \
                if isinstance(before, Decimal) and definition.unit in ("%", "percent") else _show(before)
            params[pname] = str(change.value)
            lines.append(f"参数 {pname}({definition.label}):{shown}(今日值)→ {change.value}")
            continue
        target, rest, rule_id = _locate(path, rule_ids, list(packs), rule_pack, rulebase.params.names())
        _path, data = packs[target]
        if rule_id is not None:
            node = next((r for r in data.get("rules", []) if isinstance(r, dict) and r.get("id") == rule_id), None)
            if node is None:  # removed earlier in the same reform
                raise HuiqiError(f"改动 {path}:规则 {rule_id} 已被本方案废止", field=path)
            changed.append(rule_id)
        else:
            node = data
            changed.extend(r for r in rule_ids if rule_pack[r] == target)
        if not rest:
            raise HuiqiError(f"改动 {path} 缺少要修改的字段路径,如 {path}.amount.formula", field=path)
        before = _set_path(node, rest, change.value, path)
        lines.append(f"{path}:{_show(before)} → {_show(change.value)}")
        touched = True
    if not touched:
        return AppliedReform(reform, rulebase, params, lines, None, [])
    tmp = Path(workdir) if workdir is not None else make_temp_dir("reform")
    tmp.mkdir(parents=True, exist_ok=True)
    originals: dict[str, str] = {}
    for source, data in packs.values():
        out = tmp / source.name
        out.write_text(yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False), encoding="utf-8")
        originals[str(out)] = str(source)
    try:
        reformed = load_packs([tmp], fields=rulebase.fields, parameters=_base_parameters(rulebase))
    except RuleError as exc:
        original = originals.get(str(exc.file or ""), exc.file)
        raise HuiqiError(f"改革方案「{reform.name}」使规则包无效:{exc.message}", file=original,
                         field=exc.field, clause=exc.clause, hint=exc.hint) from None
    finally:
        if workdir is None:
            # Everything is compiled in memory now; the copies are not needed any more.
            shutil.rmtree(tmp, ignore_errors=True)
    return AppliedReform(reform, reformed, params, lines, tmp if workdir is not None else None,
                         list(dict.fromkeys(changed)))


def _base_parameters(rulebase: RuleBase) -> Any:
    """Global parameters of the base (pack parameters are re-read from the copied packs)."""
    from huiqi.rules.packs import ParameterSet

    pack_names: set[str] = set()
    for lp in rulebase.packs:
        pack_names.update(lp.pack.parameters)
    defs = {k: v for k, v in rulebase.params.defs.items() if k not in pack_names}
    return ParameterSet(defs)


def _unknown(name: str, options: list[str], what: str) -> HuiqiError:
    near = closest(name, options)
    return HuiqiError(f"未知的{what} {name}", field=name,
                      hint=f"您是否要写 {near[0]}?" if near else "用 huiqi rules list 查看规则 id")


def _locate(path: str, rule_ids: list[str], pack_ids: list[str], rule_pack: dict[str, str],
            param_names: list[str]) -> tuple[str, list[str], str | None]:
    """Longest rule id (or document id) that prefixes ``path`` → (pack id, remaining keys, rule id)."""
    best: str | None = None
    for rid in rule_ids:
        if (path == rid or path.startswith(rid + ".")) and (best is None or len(rid) > len(best)):
            best = rid
    if best is not None:
        rest = path[len(best) + 1:]
        return rule_pack[best], rest.split(".") if rest else [], best
    for pid in pack_ids:
        if path == pid or path.startswith(pid + "."):
            rest = path[len(pid) + 1:]
            return pid, rest.split(".") if rest else [], None
    head = path.rsplit(".", 1)[0] if "." in path else path
    near = closest(head, [*rule_ids, *pack_ids, *param_names])
    raise HuiqiError(f"改动 {path} 既不是参数,也不指向已知的规则或规则包", field=path,
                     hint=f"您是否要写 {near[0]}?" if near else "参数名见 data/parameters.yaml;规则 id 见 huiqi rules list")


def _set_path(node: Any, keys: list[str], value: Any, where: str) -> Any:
    """Walk dicts/lists by key or index (creating missing mappings, appending at the end); return the old value."""
    cur = node
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        nxt_is_index = not last and keys[i + 1].isdigit()
        if isinstance(cur, list):
            if not key.isdigit():
                raise HuiqiError(f"改动 {where}:{'.'.join(keys[:i]) or '规则'} 是列表,应写序号(0 起),收到 {key}",
                                 field=where)
            idx = int(key)
            if idx > len(cur):
                raise HuiqiError(f"改动 {where}:序号 {idx} 超出范围(现有 {len(cur)} 项,只能修改 0–{len(cur) - 1}"
                                 f" 或追加第 {len(cur)} 项)", field=where)
            if idx == len(cur):
                cur.append([] if nxt_is_index else {})
            if last:
                before = cur[idx]
                cur[idx] = value
                return before
            if cur[idx] is None:
                cur[idx] = [] if nxt_is_index else {}
            cur = cur[idx]
        elif isinstance(cur, dict):
            if last:
                before = cur.get(key)
                cur[key] = value
                return before
            if cur.get(key) is None:
                cur[key] = [] if nxt_is_index else {}
            cur = cur[key]
        else:
            raise HuiqiError(f"改动 {where}:{'.'.join(keys[:i])} 的值 {cur!r} 不是映射或列表,无法继续向下修改",
                             field=where)
    return None


def _show(value: Any) -> str:
    if value is None:
        return "(无)"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict | list):
        return yaml.safe_dump(_plain_for_dump(value), allow_unicode=True, default_flow_style=True).strip()
    return str(value)


def _plain_for_dump(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain_for_dump(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_for_dump(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    return value
