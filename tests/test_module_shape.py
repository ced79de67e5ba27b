"""Shape (issue 12 §5): small modules in the rules layer, no private names shared between modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "huiqi"
RULES = PACKAGE / "rules"
MAX_LINES = 800


def _modules() -> list[Path]:
    return sorted(RULES.rglob("*.py"))


def _all_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_split_packages_exist() -> None:
    # The calculator and the pack loader are packages now; the old single files must not come back.
    assert (RULES / "calculator" / "__init__.py").is_file()
    assert (RULES / "packs" / "__init__.py").is_file()
    assert not (RULES / "calculator.py").exists()
    assert not (RULES / "packs.py").exists()


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(RULES)))
def test_module_is_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(RULES)} has {lines} lines (limit {MAX_LINES})"


@pytest.mark.parametrize("path", _all_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_names_imported_across_modules(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    private = [
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("huiqi")
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert private == []


def test_public_import_paths_still_work() -> None:
    from huiqi.rules import calculator, packs

    for name in calculator.__all__:
        assert getattr(calculator, name) is not None, name
    for name in packs.__all__:
        assert getattr(packs, name) is not None, name
    assert {"calculate", "plan_for", "condition_statement", "parse_param_value"} <= set(calculator.__all__)
    assert {"load_packs", "RuleBase", "ParameterSet", "parse_literal"} <= set(packs.__all__)
