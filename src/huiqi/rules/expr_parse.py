"""Tokenizer and recursive-descent parser for rule expressions.

Hand-written on purpose: the accepted language is exactly what this file accepts,
there is no path from rule text to Python's own parser, and every rejection can
name the character position in Chinese.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal, NoReturn

from huiqi.errors import RuleError
from huiqi.rules.expr_ast import (
    CTX,
    FUNCTION_ALIASES,
    FUNCTIONS,
    MAX_ABS,
    MAX_DEPTH,
    MAX_INT_DIGITS,
    MAX_STRING_LENGTH,
    MAX_TEXT_LENGTH,
    SCALE,
    Arith,
    Bool,
    Call,
    Cmp,
    Field,
    In,
    Logic,
    Neg,
    Node,
    Not,
    Null,
    Num,
    Str,
    Tier,
    Unit,
    tidy,
)
from huiqi.values import MONEY_MULTIPLIERS, MONEY_UNITS

TokKind = Literal["num", "str", "name", "kw", "op", "eof"]


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokKind
    text: str
    pos: int
    num: Decimal | None = None
    unit: Unit = "number"


KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})
CHINESE_KEYWORDS = {"是": "true", "否": "false"}

# Words that only make sense to someone trying to write Python; naming them gives a
# clearer message than "unexpected name".
# Checked on the first segment only: later segments are mere mapping keys
# (enterprise.type is a fine field name), never attributes.
FORBIDDEN_WORDS = frozenset(
    {
        "import", "from", "lambda", "def", "class", "return", "yield", "while", "for",
        "with", "del", "global", "nonlocal", "assert", "raise", "try", "except", "finally",
        "async", "await", "pass", "break", "continue", "elif", "else", "is", "exec", "eval",
        "compile", "open", "getattr", "setattr", "delattr", "globals", "locals",
    }
)

# Full-width punctuation typed on a Chinese keyboard maps one-to-one onto ASCII, so
# positions in error messages stay right.
_ASCII_PUNCT = "()[],<>=!+-*/%"
_FULLWIDTH = str.maketrans({chr(0xFEE0 + ord(c)): c for c in _ASCII_PUNCT})
_OPEN_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’"}
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "”": "”", "’": "’"}
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
# Money units come from the one value vocabulary (huiqi.values), longest first: 千万元 before 万元.
_UNITS: tuple[tuple[str, Decimal, Unit], ...] = (
    *((u, Decimal(MONEY_MULTIPLIERS[u]), "money") for u in MONEY_UNITS),
    ("%", Decimal("0.01"), "percent"),
)
_TWO_CHAR_OPS = ("<=", ">=", "==", "!=")
_ONE_CHAR_OPS = "+-*/()[],<>"
_MISTAKES: dict[str, str] = {
    "**": "不支持乘方运算 **(规则语言没有乘方,请直接写出结果或用乘法)",
    "^": "不支持乘方运算 ^(规则语言没有乘方,请直接写出结果或用乘法)",
    "&&": "请用 and 表示“并且”",
    "||": "请用 or 表示“或者”",
    "<>": "请用 != 表示“不等于”",
    "=": "单个 = 不是比较运算,请用 == 表示“等于”",
    "!": "请用 not 表示“非”",
    "&": "请用 and 表示“并且”",
    "|": "请用 or 表示“或者”",
    "%": "% 只能紧跟在数字后表示百分比(规则语言没有取余运算)",
    ".": "点号只能用于字段名内部,如 project.equipment_investment",
    ":": "不支持冒号(规则语言没有 lambda、切片或字典)",
    "{": "不支持花括号",
    "}": "不支持花括号",
    ";": "不支持分号,一条表达式只能有一个值",
    "@": "不支持 @ 运算",
    "~": "不支持 ~ 运算",
    "`": "不支持反引号",
}


def _is_ident_start(ch: str) -> bool:
    return ch.isalpha() or ch == "_"


def _is_ident_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class ErrorSite:
    """Builds positioned RuleErrors for one expression text."""

    def __init__(self, text: str, file: str | None, line: int | None, field: str | None,
                 clause: str | None) -> None:
        self.text = text
        self.file = file
        self.line = line
        self.field = field
        self.clause = clause

    def __call__(self, message: str, pos: int, hint: str | None = None) -> NoReturn:
        start = max(0, pos - 12)
        snippet = self.text[start : pos + 12].replace("\n", " ")
        prefix = "…" if start > 0 else ""
        suffix = "…" if pos + 12 < len(self.text) else ""
        raise RuleError(
            f"表达式第{pos + 1}个字符处:{message}(附近:「{prefix}{snippet}{suffix}」)",
            file=self.file,
            line=self.line,
            field=self.field,
            clause=self.clause,
            hint=hint,
        )


def tokenize(text: str, err: ErrorSite) -> list[Token]:
    src = _translate_outside_strings(text)
    tokens: list[Token] = []
    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        if ch.isspace():
            i += 1
            continue
        if "0" <= ch <= "9":
            i = _read_number(src, i, err, tokens)
            continue
        if ch in _OPEN_QUOTES:
            i = _read_string(src, i, err, tokens)
            continue
        if _is_ident_start(ch):
            i = _read_name(src, i, err, tokens)
            continue
        two = src[i : i + 2]
        if two in _MISTAKES:
            err(_MISTAKES[two], i)
        if two in _TWO_CHAR_OPS:
            tokens.append(Token("op", two, i))
            i += 2
            continue
        if ch in _MISTAKES:
            err(_MISTAKES[ch], i)
        if ch in _ONE_CHAR_OPS:
            tokens.append(Token("op", ch, i))
            i += 1
            continue
        err(f"无法识别的字符 {ch!r}", i)
    tokens.append(Token("eof", "", n))
    return tokens


def _translate_outside_strings(text: str) -> str:
    out: list[str] = []
    close: str | None = None
    escaped = False
    for ch in text:
        if close is None:
            if ch in _OPEN_QUOTES:
                close = _OPEN_QUOTES[ch]
                out.append(ch)
            else:
                out.append(ch.translate(_FULLWIDTH))
            continue
        out.append(ch)
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == close:
            close = None
    return "".join(out)


def _read_number(src: str, i: int, err: ErrorSite, tokens: list[Token]) -> int:
    m = _NUMBER.match(src, i)
    assert m is not None  # src[i] is a digit
    digits = m.group(0)
    int_part = digits.split(".")[0]
    if len(int_part.lstrip("0")) > MAX_INT_DIGITS:
        err(f"整数部分超过{MAX_INT_DIGITS}位", i)
    if len(digits) > MAX_INT_DIGITS + SCALE + 1:
        err("数字位数过多", i)
    j = m.end()
    if j < len(src) and src[j] == ".":
        err("数字格式错误(小数点后须有数字,且不能对数字使用点号)", j)
    try:
        value = Decimal(digits)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid literals
        err("数字格式错误", i)
    unit: Unit = "number"
    for suffix, factor, suffix_unit in _UNITS:
        if src.startswith(suffix, j):
            value = CTX.multiply(value, factor)
            unit = suffix_unit
            j += len(suffix)
            break
    if j < len(src) and (_is_ident_char(src[j]) or src[j] in "万亿元%"):
        err("数字后不能紧跟名称或单位(支持的单位:元、万元、千万元、亿元、万、千万、亿、%)", j)
    if unit == "money" and value != value.quantize(Decimal("0.01"), None, CTX):
        err("金额最多精确到分(0.01元)", i)
    exponent = value.normalize(CTX).as_tuple().exponent
    if isinstance(exponent, int) and exponent < -SCALE:
        err(f"小数位数超过{SCALE}位(含百分比换算后)", i)
    if abs(value) >= MAX_ABS:
        err("数值超出允许范围(绝对值须小于10的26次方)", i)
    value = tidy(value)
    tokens.append(Token("num", src[i:j], i, value, unit))
    return j


def _read_string(src: str, i: int, err: ErrorSite, tokens: list[Token]) -> int:
    close = _OPEN_QUOTES[src[i]]
    chars: list[str] = []
    j = i + 1
    while True:
        if j >= len(src):
            err("字符串缺少结尾引号", i)
        ch = src[j]
        if ch == close:
            break
        if ch == "\\":
            nxt = src[j + 1 : j + 2]
            if nxt not in _ESCAPES:
                err("字符串中不支持的转义(可用 \\\\ \\\" \\' \\n \\t)", j)
            chars.append(_ESCAPES[nxt])
            j += 2
            continue
        if ch in "\r\n":
            err("字符串不能跨行(换行请写 \\n)", j)
        chars.append(ch)
        j += 1
    value = "".join(chars)
    if len(value) > MAX_STRING_LENGTH:
        err(f"字符串长度超过{MAX_STRING_LENGTH}个字符", i)
    tokens.append(Token("str", value, i))
    return j + 1


def _read_name(src: str, i: int, err: ErrorSite, tokens: list[Token]) -> int:
    j = i
    segments: list[str] = []
    while True:
        start = j
        if j >= len(src) or not _is_ident_start(src[j]):
            err("点号后须是字段名", j)
        while j < len(src) and _is_ident_char(src[j]):
            j += 1
        segment = src[start:j]
        if segment.startswith("__") or segment.endswith("__"):
            err(f"不允许使用双下划线名称 {segment}", start)
        if segment.startswith("_"):
            err(f"字段名不能以下划线开头:{segment}", start)
        if not segments and segment.lower() in FORBIDDEN_WORDS:
            err(f"不允许使用 {segment}(规则表达式不是 Python 代码)", start,
                hint="只能使用字段、字面量、运算符和白名单函数")
        segments.append(segment)
        if j < len(src) and src[j] == ".":
            j += 1
            continue
        break
    name = ".".join(segments)
    lowered = name.lower()
    if len(segments) == 1 and lowered in KEYWORDS:
        tokens.append(Token("kw", lowered, i))
    elif len(segments) == 1 and name in CHINESE_KEYWORDS:
        tokens.append(Token("kw", CHINESE_KEYWORDS[name], i))
    else:
        if len(segments) > 1 and any(s.lower() in KEYWORDS or s in CHINESE_KEYWORDS for s in segments):
            err(f"字段名 {name} 中含有关键字", i)
        tokens.append(Token("name", name, i))
    return j


class Parser:
    """Recursive descent; precedence from loosest: or, and, not, comparison/in, + -, * /, unary -."""

    def __init__(self, tokens: list[Token], err: ErrorSite) -> None:
        self.tokens = tokens
        self.i = 0
        self.err = err
        self.nesting = 0

    # -- token helpers -------------------------------------------------------------
    def peek(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, kind: TokKind, text: str | None = None) -> bool:
        tok = self.tokens[self.i]
        return tok.kind == kind and (text is None or tok.text == text)

    def expect_op(self, text: str, what: str) -> Token:
        if not self.at("op", text):
            self.unexpected(f"此处应为 {text}({what})")
        return self.advance()

    def unexpected(self, message: str) -> NoReturn:
        tok = self.peek()
        found = "表达式结尾" if tok.kind == "eof" else f"「{tok.text}」"
        self.err(f"{message},但遇到{found}", tok.pos)

    def checked(self, node: Node) -> Node:
        if node.depth > MAX_DEPTH:
            self.err(f"表达式嵌套超过{MAX_DEPTH}层", node.pos, hint="请拆分为多个参数或多条规则")
        return node

    def enter(self, pos: int) -> None:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            self.err(f"表达式嵌套超过{MAX_DEPTH}层", pos, hint="请拆分为多个参数或多条规则")

    # -- grammar ---------------------------------------------------------------------
    def parse(self) -> Node:
        if self.at("eof"):
            self.err("表达式为空", 0)
        node = self.expr()
        if not self.at("eof"):
            tok = self.peek()
            if tok.kind == "op" and tok.text == "[":
                self.err("不支持下标访问,方括号只用于列表(in [...] 或 tier 表)", tok.pos)
            if tok.kind == "op" and tok.text == "(":
                self.err("只有白名单函数可以调用", tok.pos)
            if tok.kind == "kw" and tok.text == "in":
                self.err("连写的 in 需要加括号", tok.pos)
            if tok.kind == "name" and tok.text.lower() == "if":
                self.err("条件请写作 if(条件, 成立时的值, 不成立时的值)", tok.pos)
            self.unexpected("表达式应在此结束")
        return node

    def expr(self) -> Node:
        return self.logic("or")

    def logic(self, op: str) -> Node:
        sub = self.logic_and if op == "or" else self.not_expr
        first = sub()
        operands = [first]
        while self.at("kw", op):
            self.advance()
            operands.append(sub())
        if len(operands) == 1:
            return first
        return self.checked(Logic(pos=first.pos, op="or" if op == "or" else "and", operands=tuple(operands)))

    def logic_and(self) -> Node:
        return self.logic("and")

    def not_expr(self) -> Node:
        if self.at("kw", "not"):
            tok = self.advance()
            self.enter(tok.pos)
            operand = self.not_expr()
            self.nesting -= 1
            return self.checked(Not(pos=tok.pos, operand=operand))
        return self.comparison()

    def comparison(self) -> Node:
        left = self.additive()
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("<", "<=", ">", ">=", "==", "!="):
            self.advance()
            right = self.additive()
            node = self.checked(Cmp(pos=tok.pos, op=tok.text, left=left, right=right))  # type: ignore[arg-type]
            nxt = self.peek()
            if nxt.kind == "op" and nxt.text in ("<", "<=", ">", ">=", "==", "!="):
                self.err("不支持连写比较(如 a < b < c),请用 and 连接两个比较", nxt.pos)
            return node
        negated = False
        after = self.tokens[self.i + 1] if tok.kind != "eof" else tok
        if tok.kind == "kw" and tok.text == "not" and after.kind == "kw" and after.text == "in":
            self.advance()
            negated = True
            tok = self.peek()
        if tok.kind == "kw" and tok.text == "in":
            self.advance()
            if not self.at("op", "["):
                self.unexpected("in 后须是方括号列表,如 in [\"A类\", \"B类\"]")
            items = self.list_literal()
            if not items:
                self.err("in 后的列表不能为空", tok.pos)
            return self.checked(In(pos=tok.pos, needle=left, items=tuple(items), negated=negated))
        return left

    def additive(self) -> Node:
        left = self.multiplicative()
        while self.peek().kind == "op" and self.peek().text in ("+", "-"):
            tok = self.advance()
            right = self.multiplicative()
            left = self.checked(Arith(pos=tok.pos, op=tok.text, left=left, right=right))  # type: ignore[arg-type]
        return left

    def multiplicative(self) -> Node:
        left = self.unary()
        while self.peek().kind == "op" and self.peek().text in ("*", "/"):
            tok = self.advance()
            right = self.unary()
            if tok.text == "/" and isinstance(right, Num) and right.value == 0:
                self.err("除数为零", right.pos)
            left = self.checked(Arith(pos=tok.pos, op=tok.text, left=left, right=right))  # type: ignore[arg-type]
        return left

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("-", "+"):
            self.advance()
            self.enter(tok.pos)
            operand = self.unary()
            self.nesting -= 1
            if tok.text == "+":
                return operand
            if isinstance(operand, Num):
                # Folding keeps "-5万元" a literal, so tier bounds and SQL stay simple.
                return Num(pos=tok.pos, value=-operand.value, unit=operand.unit, text="-" + operand.text)
            return self.checked(Neg(pos=tok.pos, operand=operand))
        return self.primary()

    def primary(self) -> Node:
        node = self.atom()
        nxt = self.peek()
        if nxt.kind == "op" and nxt.text == "[":
            self.err("不支持下标访问,方括号只用于列表(in [...] 或 tier 表)", nxt.pos)
        if nxt.kind == "op" and nxt.text == "(":
            self.err("只有白名单函数可以调用,值之后不能接括号", nxt.pos)
        return node

    def atom(self) -> Node:
        tok = self.peek()
        if tok.kind == "num":
            self.advance()
            assert tok.num is not None
            return Num(pos=tok.pos, value=tok.num, unit=tok.unit, text=tok.text)
        if tok.kind == "str":
            self.advance()
            return Str(pos=tok.pos, value=tok.text)
        if tok.kind == "kw" and tok.text in ("true", "false"):
            self.advance()
            return Bool(pos=tok.pos, value=tok.text == "true")
        if tok.kind == "kw" and tok.text == "null":
            self.advance()
            return Null(pos=tok.pos)
        if tok.kind == "name":
            self.advance()
            if self.at("op", "("):
                return self.call(tok)
            canonical = tok.text.lower()
            if canonical in FUNCTIONS or canonical in FUNCTION_ALIASES:
                self.err(f"函数 {tok.text} 须带括号调用", tok.pos)
            return Field(pos=tok.pos, name=tok.text)
        if tok.kind == "kw" and tok.text == "not":
            self.err("not 须写在比较之前,如 not (a > b)", tok.pos)
        if tok.kind == "op" and tok.text == "(":
            self.advance()
            self.enter(tok.pos)
            if self.at("op", ")"):
                self.err("空括号不是合法的值", tok.pos)
            inner = self.expr()
            self.expect_op(")", "与前面的左括号配对")
            self.nesting -= 1
            return inner
        if tok.kind == "op" and tok.text == "[":
            self.err("列表只能出现在 in 之后或 tier 表中", tok.pos)
        self.unexpected("此处应为数字、字符串、字段名、函数调用或左括号")

    def list_literal(self) -> list[Node]:
        open_tok = self.expect_op("[", "列表开始")
        self.enter(open_tok.pos)
        items: list[Node] = []
        while not self.at("op", "]"):
            if self.at("op", "["):
                self.err("此处不允许嵌套列表", self.peek().pos)
            items.append(self.expr())
            if self.at("op", ","):
                self.advance()
                continue
            if not self.at("op", "]"):
                self.unexpected("列表元素之间应为逗号")
        self.advance()
        self.nesting -= 1
        return items

    def call(self, name_tok: Token) -> Node:
        canonical = name_tok.text.lower()
        canonical = FUNCTION_ALIASES.get(canonical, canonical)
        if "." in name_tok.text:
            self.err(f"不允许调用 {name_tok.text}:只能调用白名单函数,不能调用字段的方法", name_tok.pos)
        if canonical not in FUNCTIONS:
            self.err(f"未知函数 {name_tok.text}", name_tok.pos,
                     hint="可用函数:" + "、".join((*FUNCTIONS, *FUNCTION_ALIASES)))
        open_tok = self.advance()
        self.enter(open_tok.pos)
        if canonical == "tier":
            node = self.tier_args(name_tok)
        else:
            args: list[Node] = []
            while not self.at("op", ")"):
                args.append(self.expr())
                if self.at("op", ","):
                    self.advance()
                    if self.at("op", ")"):
                        self.unexpected("逗号后应为参数")
                    continue
                if not self.at("op", ")"):
                    self.unexpected("参数之间应为逗号")
            self.advance()
            self.check_arity(canonical, len(args), name_tok.pos)
            node = Call(pos=name_tok.pos, func=canonical, args=tuple(args))
        self.nesting -= 1
        return self.checked(node)

    def check_arity(self, func: str, count: int, pos: int) -> None:
        fixed = {"if": 3, "floor": 1, "round_yuan": 1, "abs": 1}
        if func in fixed and count != fixed[func]:
            self.err(f"函数 {func} 需要{fixed[func]}个参数,实际{count}个", pos)
        if func in ("min", "max", "coalesce") and count < 2:
            self.err(f"函数 {func} 至少需要2个参数,实际{count}个", pos)

    def tier_args(self, name_tok: Token) -> Node:
        x = self.expr()
        self.expect_op(",", "tier 的第二个参数是分段表 [[下限, 值], ...]")
        table_tok = self.expect_op("[", "分段表 [[下限, 值], ...]")
        bounds: list[Decimal] = []
        texts: list[str] = []
        units: list[Unit] = []
        values: list[Node] = []
        while not self.at("op", "]"):
            row_tok = self.expect_op("[", "分段表的每一行写作 [下限, 值]")
            self.enter(row_tok.pos)
            bound = self.unary()
            if not isinstance(bound, Num):
                self.err("分段下限必须是数字常量", bound.pos)
            if bounds and bound.value <= bounds[-1]:
                self.err("分段下限必须严格递增", bound.pos)
            self.expect_op(",", "分段表的每一行写作 [下限, 值]")
            values.append(self.expr())
            self.expect_op("]", "分段表的每一行写作 [下限, 值]")
            self.nesting -= 1
            bounds.append(bound.value)
            texts.append(bound.text)
            units.append(bound.unit)
            if self.at("op", ","):
                self.advance()
            elif not self.at("op", "]"):
                self.unexpected("分段表的行之间应为逗号")
        self.advance()
        if not bounds:
            self.err("分段表不能为空", table_tok.pos)
        default: Node = Null(pos=table_tok.pos)
        if self.at("op", ","):
            self.advance()
            default = self.expr()
        self.expect_op(")", "tier(x, [[下限, 值], ...][, 低于最低下限时的值])")
        return Tier(pos=name_tok.pos, x=x, bounds=tuple(bounds), values=tuple(values),
                    default=default, bound_texts=tuple(texts), bound_units=tuple(units))


def parse(text: str, *, file: str | None = None, line: int | None = None,
          field: str | None = None, clause: str | None = None) -> Node:
    err = ErrorSite(text, file, line, field, clause)
    if not isinstance(text, str):
        raise RuleError("表达式必须是字符串", file=file, line=line, field=field, clause=clause)
    if len(text) > MAX_TEXT_LENGTH:
        raise RuleError(f"表达式长度超过{MAX_TEXT_LENGTH}个字符(实际{len(text)}个)",
                        file=file, line=line, field=field, clause=clause)
    return Parser(tokenize(text, err), err).parse()


# -- static types -------------------------------------------------------------------
# Fields are "any" until run time; the check still catches what a rule author can see
# on the page ("A类" + 1, if(x, 1, "是")) at load time instead of mid-simulation.
StaticType = Literal["number", "bool", "string", "null", "any"]
_TYPE_NAMES = {"number": "数值", "bool": "真假值", "string": "字符串", "null": "空值", "any": "任意"}


def _unify(a: StaticType, b: StaticType) -> StaticType | None:
    if a == b:
        return a
    if a == "null":
        return b
    if b == "null":
        return a
    if a == "any":
        return b
    if b == "any":
        return a
    return None


def check_types(node: Node, err: ErrorSite) -> StaticType:
    def need(child: Node, want: StaticType, what: str) -> None:
        got = check_types(child, err)
        if _unify(got, want) is None:
            err(f"{what}需要{_TYPE_NAMES[want]},但这里是{_TYPE_NAMES[got]}", child.pos)

    def unify_all(children: tuple[Node, ...], what: str) -> StaticType:
        result: StaticType = "null"
        for child in children:
            got = check_types(child, err)
            merged = _unify(result, got)
            if merged is None:
                err(f"{what}的类型不一致:{_TYPE_NAMES[result]}与{_TYPE_NAMES[got]}", child.pos)
            result = merged
        return result

    if isinstance(node, Num):
        return "number"
    if isinstance(node, Str):
        return "string"
    if isinstance(node, Bool):
        return "bool"
    if isinstance(node, Null):
        return "null"
    if isinstance(node, Field):
        return "any"
    if isinstance(node, Neg):
        need(node.operand, "number", "负号")
        return "number"
    if isinstance(node, Not):
        need(node.operand, "bool", "not ")
        return "bool"
    if isinstance(node, Arith):
        need(node.left, "number", f"运算 {node.op} ")
        need(node.right, "number", f"运算 {node.op} ")
        return "number"
    if isinstance(node, Cmp):
        if node.op in ("==", "!="):
            unify_all((node.left, node.right), f"比较 {node.op} 两边")
        else:
            need(node.left, "number", f"比较 {node.op} ")
            need(node.right, "number", f"比较 {node.op} ")
        return "bool"
    if isinstance(node, Logic):
        for child in node.operands:
            need(child, "bool", f"{node.op} ")
        return "bool"
    if isinstance(node, In):
        unify_all((node.needle, *node.items), "in 两边")
        return "bool"
    if isinstance(node, Tier):
        need(node.x, "number", "tier 的第一个参数")
        return unify_all((*node.values, node.default), "tier 各档的值")
    if isinstance(node, Call):
        if node.func == "if":
            need(node.args[0], "bool", "if 的条件")
            return unify_all(node.args[1:], "if 两个分支")
        if node.func == "coalesce":
            return unify_all(node.args, "coalesce 各参数")
        for arg in node.args:
            need(arg, "number", f"函数 {node.func} ")
        return "number"
    raise AssertionError(f"unhandled node {type(node).__name__}")  # pragma: no cover
