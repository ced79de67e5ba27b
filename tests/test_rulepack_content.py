"""Content checks for the built-in rule packs (src/huiqi/rulepacks) and examples.

Independent of the loader and calculator: plain yaml.safe_load plus the ingestion
pipeline. Every citation quote must occur verbatim (whitespace ignored) in the
simplified text of the cited clause of the ingested seed document; every field an
expression reads must be declared in data/fields.yaml (or data/parameters.yaml /
the pack's own parameters for param.*); rule ids are unique across packs.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from huiqi.document import Document
from huiqi.ingest.pipeline import ingest_file

ROOT = Path(__file__).resolve().parents[1]
PACKS_DIR = ROOT / "src" / "huiqi" / "rulepacks"
DATA_DIR = ROOT / "src" / "huiqi" / "data"
EXAMPLES = ROOT / "examples"

# pack document id → seed file (source_file in the pack must agree)
SEED_OF = {
    "liaocheng-factors": "000_76bc870404a33f18.txt",
    "binzhou-2022-156": "001_b4a98843751d07cb.txt",
    "shiyan-2018-draft": "002_00eec2e948361586.txt",
    "linhai-2022-22": "003_6fd6ac3290311942.txt",
    "shouguang-2018": "004_bba737ad18b69655.txt",
}
REGION_FIELDS = {"region.province", "region.city", "region.county", "region.district"}
FIELD_RE = re.compile(r"(?<![\w.])(enterprise|project|param|region)\.([A-Za-z_][A-Za-z0-9_]*)")
RULE_ID_RE = re.compile(r"^[a-z0-9_.\-]+$")


def _pack_files() -> list[Path]:
    return sorted(p for p in PACKS_DIR.glob("*.yaml") if not p.name.endswith(".tests.yaml"))


def _load(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@lru_cache(maxsize=1)
def _fields() -> dict[str, dict[str, Any]]:
    data = _load(DATA_DIR / "fields.yaml")
    out: dict[str, dict[str, Any]] = {}
    for scope in ("enterprise", "project"):
        for name, spec in (data.get(scope) or {}).items():
            out[f"{scope}.{name}"] = spec
    return out


@lru_cache(maxsize=1)
def _global_params() -> set[str]:
    data = _load(DATA_DIR / "parameters.yaml") or {}
    return {k for k in data if k != "schema_version"}


@cache
def _document(seed_name: str, seeds_dir: str) -> Document:
    return ingest_file(Path(seeds_dir) / seed_name)


def _ws(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _on(table: dict[Any, Any]) -> Any:
    # YAML 1.1 (yaml.safe_load) reads the bare key `on` as the boolean True.
    return table["on"] if "on" in table else table[True]


def _expressions(rule: dict[str, Any]) -> list[str]:
    """Every expression string in a rule (conditions, amounts, caps, stacking levels, rank, quota)."""
    out: list[str] = [str(c["when"]) for c in rule.get("conditions") or []]
    amount = rule.get("amount") or {}
    if amount.get("formula") is not None:
        out.append(str(amount["formula"]))
    if amount.get("tiers"):
        out.append(str(_on(amount["tiers"])))
        out += [str(b["amount"]) for b in amount["tiers"]["bands"]]
    if amount.get("lookup"):
        out.append(str(_on(amount["lookup"])))
        out += [str(v) for v in amount["lookup"]["table"].values()]
    out += [str(c["amount"]) for c in rule.get("caps") or []]
    out += [str(s["level"]) for s in rule.get("stacking") or [] if s.get("level")]
    if rule.get("rank"):
        out.append(str(rule["rank"]["by"]))
        if rule["rank"].get("within"):
            out.append(str(rule["rank"]["within"]))
    if rule.get("quota"):
        out += [str(rule["quota"]["per"]), str(rule["quota"]["by"])]
    return out


def _citations(pack: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    items = [(f"规则 {r['id']}", r["citation"]) for r in pack.get("rules") or []]
    items += [(f"线索 {lead['title']}", lead["citation"]) for lead in pack.get("leads") or []]
    return items


PACK_FILES = _pack_files()


def test_one_pack_per_seed_document() -> None:
    ids = {_load(p)["document"]["id"] for p in PACK_FILES}
    assert ids == set(SEED_OF), f"规则包与种子文件不一一对应:{sorted(ids ^ set(SEED_OF))}"
    for p in PACK_FILES:
        assert p.stem == _load(p)["document"]["id"], f"{p.name}:文件名应与 document.id 一致"


@pytest.mark.parametrize("path", PACK_FILES, ids=lambda p: p.stem)
def test_pack_parses_and_is_well_formed(path: Path) -> None:
    pack = _load(path)
    assert isinstance(pack, dict) and pack.get("rules"), f"{path.name}:没有规则"
    doc_id = pack["document"]["id"]
    assert pack["document"].get("source_file") == SEED_OF[doc_id]
    for rule in pack["rules"]:
        rid = rule["id"]
        assert RULE_ID_RE.match(rid), f"{path.name}:规则 id {rid} 应为小写 ASCII"
        assert re.search(r"[\u4e00-\u9fff]", rule["title"]), f"{rid}:标题应为中文"
        assert rule["citation"]["document"] == doc_id, f"{rid}:citation.document 应为 {doc_id}"
        assert rule.get("department"), f"{rid}:缺少责任部门"
        assert rule.get("kind"), f"{rid}:缺少 kind"
        for cond in rule.get("conditions") or []:
            assert cond.get("label") and re.search(r"[\u4e00-\u9fff]", cond["label"]), \
                f"{rid}:条件 {cond['when']} 缺少中文标签"
        if rule.get("kind") == "非资金":
            assert rule.get("benefit"), f"{rid}:非资金规则应写明 benefit"
        elif rule.get("computable", True):
            assert rule.get("amount") or rule.get("rank"), f"{rid}:资金规则缺少 amount 或 rank"


def test_rule_ids_unique_across_packs() -> None:
    ids = [r["id"] for p in PACK_FILES for r in _load(p)["rules"]]
    dup = [i for i, n in Counter(ids).items() if n > 1]
    assert not dup, f"规则 id 重复:{dup}"


@pytest.mark.parametrize("path", PACK_FILES, ids=lambda p: p.stem)
def test_quotes_verbatim_in_cited_clause(path: Path, seeds: Path) -> None:
    pack = _load(path)
    doc = _document(SEED_OF[pack["document"]["id"]], str(seeds))
    problems = []
    for who, cit in _citations(pack):
        measure = doc.measure(str(cit["clause"]))
        if measure is None or measure.key != str(cit["clause"]):
            problems.append(f"{who}:条款 {cit['clause']} 不存在")
        elif _ws(str(cit["quote"])) not in _ws(measure.text):
            problems.append(f"{who}:引文不在条款 {cit['clause']} 中:{cit['quote'][:30]}…")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", PACK_FILES, ids=lambda p: p.stem)
def test_every_referenced_field_is_declared(path: Path) -> None:
    pack = _load(path)
    fields = _fields()
    params = _global_params() | set(pack.get("parameters") or {})
    problems = []
    for rule in pack["rules"]:
        for expr in _expressions(rule):
            for scope, name in FIELD_RE.findall(expr):
                full = f"{scope}.{name}"
                if scope == "param":
                    ok = name in params
                elif scope == "region":
                    ok = full in REGION_FIELDS
                else:
                    ok = full in fields
                if not ok:
                    problems.append(f"{rule['id']}:{full} 未登记(表达式 {expr})")
                if scope == "project" and rule.get("beneficiary", "enterprise") != "project":
                    problems.append(f"{rule['id']}:非项目规则不能引用 {full}")
    assert not problems, "\n".join(problems)


def test_fields_registry_entries_are_complete() -> None:
    types = {"money", "number", "integer", "percent", "boolean", "enum", "text", "date", "list"}
    for path, spec in _fields().items():
        assert re.search(r"[\u4e00-\u9fff]", spec.get("label", "")), f"{path}:缺少中文 label"
        assert spec.get("type") in types, f"{path}:type {spec.get('type')} 无效"
        if spec["type"] == "enum":
            assert spec.get("values"), f"{path}:enum 需要 values"
        if spec["type"] == "money":
            assert spec.get("unit") == "元", f"{path}:金额单位应为元"


def test_parameters_file() -> None:
    data = _load(DATA_DIR / "parameters.yaml")
    lpr = data["lpr_1y"]["values"]
    froms = [str(v["from"]) for v in lpr]
    assert froms == sorted(froms)
    assert {"from": "2022-01-20", "value": "3.70%"} in [{"from": str(v["from"]), "value": v["value"]} for v in lpr]
    assert data["pboc_loan_1y"]["values"][0]["value"] == "4.35%"
    # no invented value: the user must supply the registered unemployment rate
    assert data["registered_unemployment_rate"]["values"] == []


@pytest.mark.parametrize("path", sorted(PACKS_DIR.glob("*.tests.yaml")), ids=lambda p: p.name)
def test_rule_tests_reference_existing_rules(path: Path) -> None:
    data = _load(path)
    pack_path = PACKS_DIR / f"{data['pack']}.yaml"
    assert pack_path.is_file(), f"{path.name}:规则包 {data['pack']} 不存在"
    rule_ids = {r["id"] for r in _load(pack_path)["rules"]}
    covered = set()
    for case in data["cases"]:
        assert case.get("name") and case.get("date") and case.get("expect"), f"{path.name}:用例不完整"
        for exp in case["expect"]:
            assert exp["rule"] in rule_ids, f"{path.name}:{case['name']}:未知规则 {exp['rule']}"
            covered.add(exp["rule"])
    assert rule_ids <= covered, f"{path.name}:没有测试的规则 {sorted(rule_ids - covered)}"


def _profile_field_paths(profile: dict[str, Any]) -> list[str]:
    paths = [f"enterprise.{k}" for k in (profile.get("enterprise") or {})]
    for proj in profile.get("projects") or []:
        paths += [f"project.{k}" for k in proj if k not in ("id", "name")]
    return paths


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_profiles_use_declared_fields(path: Path) -> None:
    profile = _load(path)
    assert profile.get("name") and profile.get("region", {}).get("province")
    unknown = [p for p in _profile_field_paths(profile) if p not in _fields()]
    assert not unknown, f"{path.name}:未登记的字段 {unknown}"


def test_example_cities_cover_every_seed() -> None:
    cities = {(_load(p).get("region") or {}).get("county") or (_load(p).get("region") or {}).get("city")
              for p in EXAMPLES.glob("*.yaml")}
    assert {"临海市", "滨州市", "十堰市", "聊城市", "寿光市"} <= cities | {
        (_load(p).get("region") or {}).get("city") for p in EXAMPLES.glob("*.yaml")}


def test_shiyan_cohort_csv() -> None:
    with (EXAMPLES / "applicants-shiyan.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], [r for r in rows[1:] if any(c.strip() for c in r)]
    assert len(body) == 10
    plain = {"name", "province", "city", "county", "district", "project.name"}
    unknown = [h for h in header if h not in plain and h not in _fields()]
    assert not unknown, f"未登记的列 {unknown}"
    assert all(len(r) == len(header) for r in body)
