"""Responsible units (责任单位) of a measure.

Policy measures name the organs that carry them out in a bracket, usually at the end:
(责任单位:A、B) / (牵头单位:A;配合单位:B) / (A牵头,B、C配合) / (A、B按职责分工负责) / (A).

Name normalisation: whitespace removed, every bracket form inside a name (（） 〔〕 【】 [])
becomes ASCII "()" — so 各镇〔街道〕 and 各镇（街道） are both "各镇(街道)" —, trailing
等/等单位/等部门 and 下同 dropped. Order of appearance is kept and duplicates removed.
"""

from __future__ import annotations

import re

from huiqi.document import Units

__all__ = ["extract_units", "normalize_unit_name"]

_OPEN = "(（"
_CLOSE = ")）"
_GROUP_SPECIAL = re.compile(r"[(（)）\n]")

_EXPLICIT = re.compile(r"^(责任单位|责任部门|牵头单位|牵头部门|配合单位|配合部门|协办单位|实施单位|主办单位|承办单位)\s*[:：]")
_ROLE_LABEL = re.compile(
    r"(?P<role>责任单位|责任部门|牵头单位|牵头部门|配合单位|配合部门|协办单位|参与单位|实施单位|主办单位|承办单位)\s*[:：]"
)
_LEAD_SUFFIX = re.compile(r"(?:分别|共同)?牵头(?:负责|实施|落实)?$")
_SUPPORT_SUFFIX = re.compile(r"(?:等单位|等部门|等)?(?:分别|共同|积极)?(?:配合|协助|协办|参与)(?:落实|实施)?$")
_PLAIN_SUFFIX = re.compile(
    r"(?:按职责分工负责|按照职责分工负责|按职责分工落实|按职责负责|分别负责|共同负责|具体负责|负责落实|负责实施|"
    r"组织实施|负责|落实|为责任主体)$"
)
_MARKER = re.compile(r"责任单位|责任部门|牵头|负责|配合|责任主体|按职责分工")
_UNIT_SUFFIX = re.compile(
    r"(局|委|办|厅|部|部门|中心|院|室|行|会|政府|管委会|支行|分行|分局|公司|集团|区|县|市|镇|乡|街道|街|村|小组|组|"
    r"大队|支队|队|海关|办事处|单位|所|站|处|科|署|社|馆|校|专班|热线|机构|平台|园|办公室|党委|党组|委员会|"
    r"监管局|税务局|成员单位)$"
)
_TRAILING_NOISE = re.compile(r"(?:,|，)?下同$|等有关单位$|等相关单位$|等单位$|等部门$|等$")
_SEPARATORS = re.compile(r"[、,，;；]|以及|及(?=[^时])")
_BRACKETS = str.maketrans({"（": "(", "）": ")", "〔": "(", "〕": ")", "【": "(", "】": ")", "[": "(", "]": ")"})
# brackets that are content, not units: (以下简称…) (含…) (从…)
_NOT_UNITS = re.compile(r"简称|^含|^不含|^从|^包括|^即|^详见|^见|^如|^其中|^按|^以|^年|%|％|\d{3,}")


def normalize_unit_name(name: str) -> str:
    """Canonical form of a unit name (see the module docstring)."""
    s = re.sub(r"\s+", "", name).translate(_BRACKETS)
    prev = None
    while prev != s:
        prev = s
        s = _TRAILING_NOISE.sub("", s).strip("、,，;；:：。.")
    return s


def _bracket_groups(text: str) -> list[tuple[int, int]]:
    """Top-level (…) groups as (start, end) with end after the closing bracket."""
    groups: list[tuple[int, int]] = []
    depth = 0
    start = -1
    # Only brackets and line ends change the state: visit just those (found in C).
    for m in _GROUP_SPECIAL.finditer(text):
        i, ch = m.start(), m.group()
        if ch in _OPEN:
            if depth == 0:
                start = i
            depth += 1
        elif ch in _CLOSE and depth:
            depth -= 1
            if depth == 0:
                groups.append((start, i + 1))
        elif ch == "\n":
            depth = 0
    return groups


def _unit_like(name: str) -> bool:
    base = re.sub(r"\([^()]*\)$", "", name)
    return bool(base) and len(name) <= 40 and bool(_UNIT_SUFFIX.search(base))


def _split_names(s: str) -> list[str]:
    names: list[str] = []
    for part in _SEPARATORS.split(s):
        n = normalize_unit_name(part)
        if not n:
            continue
        # 和 joins two units (各园区所在镇街和发改局) but is also part of names (人力资源和社会保障局):
        # split only when both halves are unit names on their own
        k = n.find("和")
        if k > 0:
            left, right = n[:k], n[k + 1 :]
            if _unit_like(left) and _unit_like(right):
                names.extend([left, right])
                continue
        names.append(n)
    return names


def _parse_clause(content: str) -> tuple[list[str], list[str], list[str], list[str]] | None:
    """(all, lead, support, plain) names of one bracket's content; None if it is not a units clause."""
    inner = content.translate(_BRACKETS)
    explicit = bool(_EXPLICIT.match(inner.strip()))
    if not explicit and _NOT_UNITS.search(inner.strip()):
        return None
    if "。" in inner:
        return None
    order: list[str] = []
    lead: list[str] = []
    support: list[str] = []
    plain: list[str] = []

    # split into role pieces at 责任单位:/牵头单位:/配合单位: labels, then at ;/, boundaries
    pieces: list[tuple[str | None, str]] = []
    last_role: str | None = None
    pos = 0
    for m in _ROLE_LABEL.finditer(inner):
        if m.start() > pos:
            pieces.append((last_role, inner[pos : m.start()]))
        last_role = m.group("role")
        pos = m.end()
    pieces.append((last_role, inner[pos:]))

    for role_label, chunk in pieces:
        for clause in re.split(r"[;；,，]", chunk):
            clause = clause.strip()
            if not clause:
                continue
            clause = re.sub(r"[,，]?下同$", "", clause)
            if role_label in ("牵头单位", "牵头部门"):
                role = "lead"
            elif role_label in ("配合单位", "配合部门", "协办单位", "参与单位"):
                role = "support"
            else:
                role = "plain"
            lm = _LEAD_SUFFIX.search(clause)
            sm = _SUPPORT_SUFFIX.search(clause)
            pm = _PLAIN_SUFFIX.search(clause)
            if lm and lm.start() > 0:
                role = "lead"
                clause = clause[: lm.start()]
            elif sm and sm.start() > 0:
                role = "support"
                clause = clause[: sm.start()]
            elif pm and pm.start() > 0:
                clause = clause[: pm.start()]
            names = _split_names(clause)
            for n in names:
                if n not in order:
                    order.append(n)
                target = {"lead": lead, "support": support, "plain": plain}[role]
                if n not in target:
                    target.append(n)
    if not order:
        return None
    if support and not lead and plain:
        # (A负责,B配合): the units that answer for the task lead it, the 配合 ones support.
        lead, plain = plain, []
    marked = explicit or bool(_MARKER.search(inner))
    like = [n for n in order if _unit_like(n)]
    if marked:
        if any(len(n) > 40 for n in order) or len(like) * 2 < len(order):
            return None
    elif len(like) != len(order):
        return None
    return order, lead, support, plain


def _merge(dst: list[str], src: list[str]) -> None:
    for n in src:
        if n not in dst:
            dst.append(n)


def extract_units(text: str) -> Units:
    """Responsible units named in a measure's own text (empty Units if none)."""
    stripped = text.rstrip()
    chosen: list[tuple[int, int]] = []
    for a, b in _bracket_groups(stripped):
        content = stripped[a + 1 : b - 1]
        after = stripped[b : b + 2]
        at_end = b >= len(stripped.rstrip("。.;；")) or after[:1] == "\n" or after.lstrip("。.;；")[:1] in ("\n", "")
        if _EXPLICIT.match(content.strip()) or at_end:
            chosen.append((a, b))
    all_names: list[str] = []
    lead: list[str] = []
    support: list[str] = []
    plain: list[str] = []
    clauses: list[str] = []
    for a, b in chosen:
        parsed = _parse_clause(stripped[a + 1 : b - 1])
        if parsed is None:
            continue
        order, lead_c, support_c, plain_c = parsed
        _merge(all_names, order)
        _merge(lead, lead_c)
        _merge(support, support_c)
        _merge(plain, plain_c)
        clauses.append(stripped[a:b])
    if not clauses:
        m = re.search(r"(?:^|\n)\s*(责任单位|牵头单位|责任部门)\s*[:：][^\n。]+$", stripped)
        if m:
            parsed = _parse_clause(m.group(0).strip())
            if parsed is not None:
                all_names, lead, support, plain = (list(x) for x in parsed)
                clauses.append(m.group(0).strip())
    if not clauses:
        return Units(text=None)
    if lead:
        _merge(support, [n for n in plain if n not in lead])
    return Units(all=all_names, lead=lead, support=support, text=" ".join(clauses))
