"""YAML (and JSON) with line numbers, read safely and within bounds.

Rule packs, field registries, profiles, tests and reforms are untrusted text, so they are
read with a ``yaml.SafeLoader`` subclass only (no Python objects, ever), and every mapping
remembers the line it started on so errors can point into the file. Bounds (configurable,
see :mod:`huiqi.limits`): the file size, the nesting depth, and the size of the document
once aliases are expanded — a few hundred bytes of nested aliases (a "billion laughs")
would otherwise expand to gigabytes downstream. Integers are limited in length, dates must
exist, duplicate keys are refused in YAML and JSON alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from huiqi import limits
from huiqi.errors import HuiqiError, RuleError

__all__ = ["LineDict", "LineList", "LineLoader", "line_of", "load_json", "load_yaml", "read_text_limited"]

MAX_INT_DIGITS = 30


class LineDict(dict[Any, Any]):
    """A mapping read from YAML that remembers where it and each of its keys started."""

    line: int | None = None
    key_lines: dict[Any, int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines = {}


class LineList(list[Any]):
    """A sequence read from YAML that remembers the line of each item."""

    line: int | None = None
    item_lines: list[int]

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.item_lines = []


class LineLoader(yaml.SafeLoader):
    """SafeLoader (no Python objects, ever) + line numbers + exact numbers + strict booleans + bounds.

    * YAML 1.1 reads ``on:``/``yes``/``no`` as booleans; ``on`` is a key of tiers and
      lookups, and 是/否 answers are common, so only true/false count as booleans.
    * Floats are read as ``Decimal`` from their text: money and rates never pass
      through binary floating point.
    * Nesting deeper than ``limits.yaml_depth()`` and documents whose alias expansion
      exceeds ``limits.yaml_nodes()`` nodes are refused while composing, before any
      object is built.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0
        self._max_depth = limits.yaml_depth()
        self._max_nodes = limits.yaml_nodes()

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > self._max_depth:
                raise yaml.composer.ComposerError(
                    None, None, f"嵌套层数超过 {self._max_depth} 层", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> Any:
        node = super().compose_document()
        if node is not None:
            _check_expanded_size(node, self._max_nodes)
        return node


def _check_expanded_size(root: yaml.Node, limit: int) -> None:
    """Count nodes as if every alias were copied out; refuse beyond ``limit``."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child)
                if total > limit:
                    break
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                total += size(key) + size(value)
                if total > limit:
                    break
        sizes[id(node)] = total
        return total

    if size(root) > limit:
        raise yaml.composer.ComposerError(
            None, None, f"展开别名(*引用)后超过 {limit} 个节点,疑似“别名炸弹”", root.start_mark)


# Drop the YAML 1.1 bool resolver (yes/no/on/off) and add a strict one.
LineLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_mapping(loader: LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "映射的键不能是列表或映射", key_node.start_mark
            ) from None
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"重复的键 {key}", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)  # type: ignore[no-untyped-call]
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: LineLoader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)  # type: ignore[no-untyped-call]
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


def _construct_float(loader: LineLoader, node: yaml.ScalarNode) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "")
    if len(text) > MAX_INT_DIGITS + 20:
        raise yaml.constructor.ConstructorError(None, None, f"数字位数过多:{text[:20]}…", node.start_mark)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise yaml.constructor.ConstructorError(None, None, f"无法识别的数字 {text}", node.start_mark) from None
    if not value.is_finite():
        raise yaml.constructor.ConstructorError(None, None, f"数字必须是有限数:{text}", node.start_mark)
    return value


def _construct_int(loader: LineLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if len(text.replace("_", "").lstrip("+-")) > MAX_INT_DIGITS:
        raise yaml.constructor.ConstructorError(
            None, None, f"整数位数过多(最多 {MAX_INT_DIGITS} 位):{text[:20]}…", node.start_mark)
    try:
        return int(loader.construct_yaml_int(node))
    except ValueError:
        raise yaml.constructor.ConstructorError(None, None, f"无法识别的整数 {text}", node.start_mark) from None


def _construct_timestamp(loader: LineLoader, node: yaml.ScalarNode) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except (ValueError, OverflowError):
        text = loader.construct_scalar(node)
        raise yaml.constructor.ConstructorError(
            None, None, f"日期 {text} 不存在(月份或日子超出范围)", node.start_mark) from None


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)  # type: ignore[arg-type]
LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)  # type: ignore[arg-type]
LineLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)  # type: ignore[arg-type]
LineLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)  # type: ignore[arg-type]
LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)  # type: ignore[arg-type]


def read_text_limited(path: Path, *, error: type[HuiqiError] = RuleError, max_bytes: int | None = None) -> str:
    """A UTF-8 text file, refused beyond ``max_bytes`` (default: ``limits.yaml_bytes()``)."""
    limit = limits.yaml_bytes() if max_bytes is None else max_bytes
    try:
        if path.is_dir():
            raise error("这是一个目录,不是文件", file=str(path))
        size = path.stat().st_size
        if size > limit:
            raise error(f"文件过大({size:,} 字节,上限 {limit:,} 字节)", file=str(path),
                        hint=f"可用环境变量 {limits.YAML_BYTES_ENV} 调整上限")
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise error("文件不存在", file=str(path)) from None
    except UnicodeDecodeError:
        raise error("文件不是 UTF-8 编码", file=str(path)) from None
    except OSError as exc:
        raise error(f"无法读取文件:{exc.strerror or '未知原因'}", file=str(path)) from None


def load_yaml(path: Path, *, error: type[HuiqiError] = RuleError, text: str | None = None) -> Any:
    """Parse one YAML (or JSON) file safely; syntax errors name the file and line."""
    if text is None:
        text = read_text_limited(path, error=error)
    try:
        return yaml.load(text, Loader=LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = _yaml_problem_zh(exc.problem or exc.context or "")
        hint = None if _is_own_problem(problem) else "检查缩进(只能用空格)、冒号后的空格与引号是否成对"
        raise error(f"YAML 格式错误:{problem}", file=str(path), line=line, hint=hint) from None
    except yaml.YAMLError as exc:
        raise error(f"YAML 格式错误:{_yaml_problem_zh(str(exc))}", file=str(path)) from None
    except RecursionError:
        raise error("嵌套层数过深,无法读取", file=str(path)) from None


def load_json(path: Path, *, error: type[HuiqiError] = RuleError, text: str | None = None) -> Any:
    """Strict JSON: exact numbers (Decimal), duplicate keys refused, depth bounded."""
    if text is None:
        text = read_text_limited(path, error=error)

    def pairs(items: list[tuple[str, Any]]) -> LineDict:
        out = LineDict()
        for key, value in items:
            if key in out:
                raise error(f"JSON 格式错误:重复的键 {key}", file=str(path))
            out[key] = value
        return out

    depth = _json_depth(text)
    if depth > limits.yaml_depth():
        raise error(f"JSON 嵌套层数超过 {limits.yaml_depth()} 层", file=str(path))
    try:
        return json.loads(text, parse_float=Decimal, object_pairs_hook=pairs, parse_int=_json_int(path, error))
    except json.JSONDecodeError as exc:
        raise error(f"JSON 格式错误:{exc.msg}", file=str(path), line=exc.lineno) from None
    except RecursionError:
        raise error("JSON 嵌套层数过深,无法读取", file=str(path)) from None


def _json_int(path: Path, error: type[HuiqiError]) -> Any:
    def parse(text: str) -> int:
        if len(text.lstrip("-")) > MAX_INT_DIGITS:
            raise error(f"整数位数过多(最多 {MAX_INT_DIGITS} 位)", file=str(path))
        return int(text)

    return parse


def _json_depth(text: str) -> int:
    """Bracket depth outside strings (a cheap scan before the recursive parser runs)."""
    depth = best = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}":
            depth -= 1
    return best


_YAML_PROBLEMS = {
    "found character '\\t' that cannot start any token": "出现了制表符(Tab),请改用空格缩进",
    "mapping values are not allowed here": "此处不能出现“键: 值”(可能缺少空格、引号或缩进不对)",
    "could not find expected ':'": "缺少冒号“:”",
    "found undefined alias": "引用了未定义的锚点",
    "expected <block end>, but found '-'": "列表项“-”的缩进不对",
    "found unhashable key": "映射的键不能是列表或映射",
    "could not determine a constructor for the tag": "不支持的 YAML 标签(!! 开头的类型标记)",
    "found unknown escape character": "字符串中有无法识别的转义字符",
    "expected ',' or ']'": "方括号列表缺少逗号或右方括号“]”",
    "expected ',' or '}'": "花括号映射缺少逗号或右花括号“}”",
    "found unexpected end of stream": "文件意外结束(引号或括号未闭合)",
    "found character that cannot start any token": "出现了不能作为开头的字符(如 @ 或 `)",
    "special characters are not allowed": "含有不允许的控制字符",
    "while scanning": "无法解析",
}


def _is_own_problem(problem: str) -> bool:
    return any(word in problem for word in ("嵌套层数", "别名", "位数过多", "不存在", "重复的键", "有限数"))


def _yaml_problem_zh(problem: str) -> str:
    for english, chinese in _YAML_PROBLEMS.items():
        if problem.startswith(english):
            return chinese
    if problem and all(ord(c) < 128 for c in problem):
        return "无法解析(语法错误)"  # no English parser internals in a Chinese message
    return problem or "无法解析"


def line_of(data: Any, loc: Sequence[Any]) -> int | None:
    """The line of the deepest node along ``loc`` (keys / list indices) in LineDict data."""
    line: int | None = getattr(data, "line", None)
    cur = data
    for part in loc:
        if isinstance(cur, LineDict) and part in cur:
            line = cur.key_lines.get(part, line)
            cur = cur[part]
        elif isinstance(cur, LineList) and isinstance(part, int) and 0 <= part < len(cur):
            line = cur.item_lines[part]
            cur = cur[part]
        else:
            break
    return line
