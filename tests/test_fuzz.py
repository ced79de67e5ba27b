"""Fuzzing in the suite: hypothesis over every parser of user input.

Each target gets a fixed example budget (printed at the end of the run; raise it with
HUIQI_FUZZ_EXAMPLES, see docs/reliability.md). The only accepted outcomes are a result or
one of our own errors (HuiqiError, with a Chinese message): any other exception is a bug.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.errors import HuiqiError
from tests.fuzzing import budget, record_budget

SETTINGS = {"deadline": None, "suppress_health_check": list(HealthCheck), "derandomize": True, "database": None}
_ASCII_ONLY = re.compile(r"^[\x00-\x7f]*$")


def _chinese_message(exc: HuiqiError) -> None:
    text = str(exc)
    assert not _ASCII_ONLY.match(text), f"message without Chinese: {text!r}"
    assert "Traceback" not in text and "Error:" not in text, text


# -- document parser -------------------------------------------------------------------------------

_POLICY_PIECES = ["一、", "(一)", "1.", "第一条", "对", "企业", "给予", "补助", "最高", "500万元", "以上", "10%",
                  "不超过", "3000万元", "责任单位:市经信局", "\n", " ", "〔2022〕", "号", "到2025年", "亩均税收",
                  "萬", "臺", "\ufffd", "<p>", "</p>", "<div>", "&nbsp;", "\x00", "\r\n", "．", "％", "二〇二二年"]
DOC_TEXT = st.lists(st.sampled_from(_POLICY_PIECES) | st.text(max_size=12), max_size=40).map("".join)


def test_fuzz_document_parser(tmp_path: Path) -> None:
    from huiqi.ingest.pipeline import ingest_file

    n = budget(60)
    record_budget("ingest: document parser (txt/html bytes)", n)
    folder = tmp_path

    @settings(max_examples=n, **SETTINGS)
    @given(DOC_TEXT, st.sampled_from(["utf-8", "gb18030", "big5", "utf-16"]), st.sampled_from([".txt", ".html"]))
    def check(text: str, encoding: str, suffix: str) -> None:
        path = folder / f"doc{suffix}"
        path.write_bytes(text.encode(encoding, errors="replace"))
        try:
            doc = ingest_file(path)
        except HuiqiError as exc:
            _chinese_message(exc)
            return
        assert doc.id and isinstance(doc.measures, list)

    check()


def test_fuzz_docx_and_pdf_bytes(tmp_path: Path) -> None:
    from huiqi.ingest.formats import read_source

    n = budget(40)
    record_budget("ingest: .docx/.pdf readers (damaged bytes)", n)
    folder = tmp_path
    seeds = {".docx": b"PK\x03\x04" + b"\x14\x00" * 10, ".pdf": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"}

    @settings(max_examples=n, **SETTINGS)
    @given(st.sampled_from(sorted(seeds)), st.binary(max_size=200), st.integers(min_value=0, max_value=60))
    def check(suffix: str, noise: bytes, cut: int) -> None:
        path = folder / f"f{suffix}"
        path.write_bytes(seeds[suffix][:cut] + noise)
        try:
            read_source(path)
        except HuiqiError as exc:
            _chinese_message(exc)

    check()


# -- profile loader ----------------------------------------------------------------------------------

_YAML_PIECES = ["name: 甲\n", "region: {province: 浙江省, city: 台州市}\n", "enterprise:\n", "  annual_revenue: ",
                "600万元", "-1", "1e308", "1.0e+308", "9" * 40, "2023-02-30", "是", "t", "&a [1,2]", "*a", "[", "]",
                "{", "}", "projects:\n", "  - {id: ", "p1}", '""', "[1]", "\t", "  ", "\n", ": ", "- ", "!!python/object:os.system", "~",
                "  employees: ", "12.5", "  rd_ratio: ", "150%", "百分之", "  established: ", "history:\n",
                "  - {rule: x, year: ", "20230", "}\n", "'", '"', "#", "<<: *a\n"]
PROFILE_TEXT = st.lists(st.sampled_from(_YAML_PIECES) | st.text(max_size=6), max_size=30).map("".join)


def test_fuzz_profile_loader(tmp_path: Path) -> None:
    from huiqi.profile import default_registry, load_profile

    n = budget(300)
    record_budget("profile loader (YAML/JSON text)", n)
    folder = tmp_path
    registry = default_registry()

    @settings(max_examples=n, **SETTINGS)
    @given(PROFILE_TEXT, st.sampled_from([".yaml", ".json"]))
    def check(text: str, suffix: str) -> None:
        path = folder / f"p{suffix}"
        path.write_bytes(text.encode("utf-8", errors="replace"))
        try:
            profile = load_profile(path, registry)
        except HuiqiError as exc:
            _chinese_message(exc)
            return
        assert all(p.id for p in profile.projects)
        for value in profile.enterprise.values():
            if isinstance(value, int) and not isinstance(value, bool):
                assert abs(value) < 10**15

    check()


# -- rule-pack loader -----------------------------------------------------------------------------


def _pack_mutations() -> list[tuple[str, str]]:
    return [("300万元", "-300万元"), ("300万元", "9" * 50), ("300万元", "1.0e+308"), ("300万元", "[" * 300),
            ("2022", "2022-02-30"), ("id:", "id: &x"), (":", "::"), ("  ", "\t"), ("amount:", "amount: *nosuch"),
            ("formula:", "formula: __import__('os')"), ("when:", "when: 1 +"), ("万元", "千万元"), ("%", "%%"),
            ("rules:", "rules: !!python/object/apply:os.system ['true']"), ("quote:", "quote: [1, {a: b}]")]


def test_fuzz_rule_pack_loader(tmp_path: Path) -> None:
    from huiqi.rules.packs import builtin_packs_dir, load_packs

    source = (builtin_packs_dir() / "linhai-2022-22.yaml").read_text("utf-8")
    mutations = _pack_mutations()
    n = budget(60)
    record_budget("rule-pack loader (mutated shipped pack)", n)
    folder = tmp_path

    @settings(max_examples=n, **SETTINGS)
    @given(st.lists(st.tuples(st.sampled_from(mutations), st.integers(min_value=0, max_value=40)), min_size=1,
                    max_size=3), st.integers(min_value=0, max_value=len(source)), st.text(max_size=8))
    def check(changes: list[tuple[tuple[str, str], int]], at: int, junk: str) -> None:
        text = source
        for (old, new), nth in changes:
            hits = [m.start() for m in re.finditer(re.escape(old), text)]
            if hits:
                pos = hits[nth % len(hits)]
                text = text[:pos] + new + text[pos + len(old):]
        text = text[:at] + junk + text[at:]
        path = folder / "linhai-2022-22.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_packs([path])
        except HuiqiError as exc:
            _chinese_message(exc)

    check()


# -- expression compiler ----------------------------------------------------------------------------

_EXPR_PIECES = ["project.investment", "enterprise.annual_revenue", "param.lpr_1y", ">=", "<", "==", "!=", "and", "or",
                "not", "in", "(", ")", "[", "]", ",", "+", "-", "*", "/", "500万元", "5千万元", "10%", "0.5", "1e5",
                "9" * 40, "min(", "max(", "round(", "是", "否", "true", "null", '"A"', "“乙”", " ", "__class__", ".",
                "**", "=", "lambda", "if", "else", "万", "亿元", "％", "（", "）"]
EXPR_TEXT = st.lists(st.sampled_from(_EXPR_PIECES) | st.text(max_size=5), max_size=14).map(" ".join)


def test_fuzz_expression_compiler() -> None:
    from huiqi.rules.expr import compile_expr

    n = budget(500)
    record_budget("expression compiler (compile + evaluate)", n)
    env: dict[str, Any] = {"project.investment": 60_000_000, "enterprise.annual_revenue": 0, "param.lpr_1y": None}

    @settings(max_examples=n, **SETTINGS)
    @given(EXPR_TEXT)
    def check(text: str) -> None:
        try:
            expr = compile_expr(text)
        except HuiqiError as exc:
            _chinese_message(exc)
            return
        try:
            expr.evaluate(env)
        except HuiqiError as exc:
            _chinese_message(exc)

    check()


# -- population readers (the engines' DuckDB view and the per-row reader) -------------------------

_CELLS = ["", " ", "600万元", "5千万元", "-1", "9" * 40, "1e308", "abc", "是", "t", "2023-02-30", "12%", "1,000",
          "０.５", None, "A", "大型", "\x00", "\"", ",", "\n"]


def test_fuzz_population_readers(tmp_path: Path) -> None:
    from huiqi.engines.population import open_population
    from huiqi.simulation.population import read_population

    n = budget(60)
    record_budget("population readers (CSV cells, DuckDB view + per-row)", n)
    folder = tmp_path
    columns = ["project.investment", "enterprise.annual_revenue", "project.land_area_mu", "enterprise.listed"]

    @settings(max_examples=n, **SETTINGS)
    @given(st.lists(st.tuples(*[st.sampled_from(_CELLS) | st.text(max_size=4) for _ in columns]), min_size=1,
                    max_size=6), st.booleans())
    def check(rows: list[tuple[Any, ...]], as_csv: bool) -> None:
        data: dict[str, list[Any]] = {"id": [f"e{i}" for i in range(len(rows))],
                                      "project_id": [f"p{i}" for i in range(len(rows))]}
        for j, col in enumerate(columns):
            data[col] = [r[j] for r in rows]
        table = pa.table({k: pa.array(v, type=pa.string()) for k, v in data.items()})
        source: Any = table
        if as_csv:
            import pyarrow.csv as pcsv

            path = folder / "pop.csv"
            pcsv.write_csv(table, path)
            source = path
        outcomes = []
        for reader in (lambda: open_population(source), lambda: read_population(source)):
            try:
                reader()
                outcomes.append(True)
            except HuiqiError as exc:
                _chinese_message(exc)
                outcomes.append(False)
        assert outcomes[0] == outcomes[1], (rows, as_csv, outcomes)

    check()
