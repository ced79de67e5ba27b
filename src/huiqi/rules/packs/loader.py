"""Finding pack files and loading them into a RuleBase (ids, parameters, documents checked across packs)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from huiqi.errors import RuleError
from huiqi.profile import FieldRegistry, default_registry, line_of, load_yaml
from huiqi.rules.model import RULES_SCHEMA_VERSION, RulePack
from huiqi.rules.packs.compiled import CompiledRule, LoadedLead, LoadedPack
from huiqi.rules.packs.compiler import PackCompiler
from huiqi.rules.packs.parameters import (
    ParamDef,
    ParameterSet,
    builtin_packs_dir,
    load_parameters,
    param_defs,
)
from huiqi.rules.packs.rulebase import RuleBase
from huiqi.rules.packs.validation import located_validation_error

__all__ = ["discover_pack_files", "load_packs"]

def discover_pack_files(paths: Sequence[str | Path] | None = None) -> list[Path]:
    """Pack files (``*.yaml``/``*.yml``, not ``*.tests.yaml``) under the given files/dirs."""
    if paths is None:
        base = builtin_packs_dir()
        return _pack_files_in(base) if base.is_dir() else []
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(_pack_files_in(p))
        elif p.is_file():
            out.append(p)
        else:
            raise RuleError("规则包文件或目录不存在", file=str(p))
    return list(dict.fromkeys(out))


def _pack_files_in(directory: Path) -> list[Path]:
    files = [*directory.rglob("*.yaml"), *directory.rglob("*.yml")]
    return sorted(f for f in files if not f.name.endswith((".tests.yaml", ".tests.yml")))


def load_packs(
    paths: Sequence[str | Path] | None = None,
    *,
    fields: FieldRegistry | None = None,
    parameters: str | Path | ParameterSet | None = None,
) -> RuleBase:
    """Load, validate and compile rule packs (None = the built-in ``src/huiqi/rulepacks``).

    Raises RuleError for the first invalid pack, naming file, line, rule and field.
    """
    files = discover_pack_files(paths)
    if paths is not None and not files:
        raise RuleError("给定的路径中没有规则包(*.yaml)", file=", ".join(map(str, paths)))
    registry = fields or default_registry()
    params = parameters if isinstance(parameters, ParameterSet) else load_parameters(parameters)
    global_names = set(params.defs)

    raw_packs: list[tuple[Path, Any, RulePack]] = []
    pack_params: dict[str, ParamDef] = {}
    for path in files:
        data = load_yaml(path)
        pack = _validate_pack(path, data)
        defs = param_defs(data.get("parameters"), file=str(path), loc=["parameters"], root=data)
        for name, definition in defs.items():
            if name in global_names or name in pack_params:
                where = "data/parameters.yaml" if name in global_names else pack_params[name].source
                raise RuleError(f"参数 {name} 已在 {where} 中定义,参数名须全局唯一", file=str(path),
                                line=line_of(data, ["parameters", name]), field=f"parameters.{name}")
            pack_params[name] = definition
        raw_packs.append((path, data, pack))
    params = params.merged(pack_params)

    doc_ids: dict[str, Path] = {}
    for path, data, pack in raw_packs:
        if pack.document.id in doc_ids:
            raise RuleError(f"文件简称 document.id = {pack.document.id} 与 {doc_ids[pack.document.id]} 重复",
                            file=str(path), line=line_of(data, ["document", "id"]), field="document.id")
        doc_ids[pack.document.id] = path

    packs: list[LoadedPack] = []
    rules: list[CompiledRule] = []
    leads: list[LoadedLead] = []
    seen_rules: dict[str, str] = {}
    for path, data, pack in raw_packs:
        loaded = LoadedPack(pack, path, getattr(data, "line", None))
        packs.append(loaded)
        compiler = PackCompiler(loaded, data, registry, params, set(doc_ids))
        for i, rule in enumerate(pack.rules):
            line = line_of(data, ["rules", i])
            if rule.id in seen_rules:
                raise RuleError(f"规则 id {rule.id} 重复(已在 {seen_rules[rule.id]} 中使用)", file=str(path),
                                line=line_of(data, ["rules", i, "id"]), field="id", clause=rule.citation.clause)
            seen_rules[rule.id] = f"{path}:{line}"
            rules.append(compiler.rule(i, rule))
        for i, lead in enumerate(pack.leads):
            compiler.citation(lead.citation, ["leads", i, "citation"], f"线索「{lead.title}」的")
            leads.append(LoadedLead(lead, loaded, line_of(data, ["leads", i])))
    return RuleBase(packs, rules, leads, registry, params)


def _validate_pack(path: Path, data: Any) -> RulePack:
    if not isinstance(data, dict):
        raise RuleError("规则包应为映射(document / rules …)", file=str(path), line=getattr(data, "line", None))
    try:
        pack = RulePack.model_validate(data)
    except ValidationError as exc:
        raise located_validation_error(exc, root=data, file=str(path)) from None
    major = pack.schema_version.split(".")[0]
    if major != RULES_SCHEMA_VERSION.split(".")[0]:
        raise RuleError(f"规则包 schema_version {pack.schema_version} 与程序支持的 {RULES_SCHEMA_VERSION} 不兼容",
                        file=str(path), line=line_of(data, ["schema_version"]), field="schema_version")
    return pack
