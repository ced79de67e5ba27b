"""Document outline: find the numbered items (measures) of a cleaned policy text.

The input is the cleaned body in simplified script. Headings are recognised at line
starts and inline (pages that flatten the whole body into one line). Inline headings are
only accepted when they continue the numbering sequence, because policy prose is full
of numbers that look like headings: 第(三)条, 1.5亿元, 2022.5.1, "实现1、2、3".

Conventions (shared with the gold annotations):
- every numbered item at any level is a measure, in document order;
- nesting follows the order in which numbering styles first appear;
- a measure's text runs from its heading to the next heading of the same or an outer
  level, so a section contains its children; ``own_end`` marks where its first child starts;
- "——" bullets have no number: their label is "—" plus the ordinal among siblings;
- an attachment body (附件 / 附件1 followed by its title) is a new top-level measure;
- signature blocks, dates, 抄送/印发 lines and attachment lists at the end belong to no measure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = ["MeasureDraft", "OutlineResult", "parse_cn_number", "segment"]

NO_STRUCTURE_WARNING = "未识别出条款编号,全文作为一条措施"

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_CN = "一二三四五六七八九十百零〇"


@dataclass
class MeasureDraft:
    """One numbered item; offsets index the text given to :func:`segment`."""

    label: str
    path: list[str]
    level: int
    style: str
    title: str
    text: str
    start: int
    end: int
    own_end: int

    @property
    def key(self) -> str:
        return "/".join([*self.path, self.label])

    @property
    def own_text(self) -> str:
        """The measure's text before its first child (where its own provisions live)."""
        return self.text[: self.own_end - self.start].rstrip()


@dataclass
class OutlineResult:
    measures: list[MeasureDraft] = field(default_factory=list)
    preamble: tuple[int, int] = (0, 0)
    warnings: list[str] = field(default_factory=list)
    # the trailing block of the main text (signature, date, attachment list); (n, n) if none
    trailer: tuple[int, int] = (0, 0)


def parse_cn_number(s: str) -> int | None:
    """Parse a Chinese numeral up to 999 (一, 十一, 二十三, 一百零五); None if not a numeral."""
    if not s:
        return None
    if all(c in _CN_DIGITS for c in s) and len(s) > 1:
        # positional form such as 二〇二二: not a heading number
        return None
    total = 0
    current = 0
    seen = False
    for ch in s:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
            seen = True
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
            seen = True
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
            seen = True
        else:
            return None
    return total + current if seen else None


# ---------------------------------------------------------------------------------------
# heading candidates

# (group, regex) — group decides nesting, the regex must match at the candidate position.
_HEADING_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("chapter", re.compile(rf"第(?P<n>[{_CN}]{{1,4}})章")),
    ("section", re.compile(rf"第(?P<n>[{_CN}]{{1,4}})节")),
    ("article", re.compile(rf"第(?P<n>[{_CN}]{{1,4}})条")),
    # 第1条, 第19条, and as pages print them from PDF, 第 1 0 条 (a space between every digit)
    ("article", re.compile(r"第[^\S\n]?(?P<n>\d(?:[^\S\n]?\d){0,2})[^\S\n]?条")),
    ("cn", re.compile(r"(?P<n>[一二三四五六七八九十]{1,3})\s?[、．]")),
    ("paren_cn", re.compile(r"[(（]\s?(?P<n>[一二三四五六七八九十]{1,3})\s?[)）]")),
    ("paren_arabic", re.compile(r"[(（]\s?(?P<n>\d{1,2})\s?[)）]")),
    ("arabic", re.compile(r"(?P<n>\d{1,2})\s?(?:[.．](?![\d.．])|、)")),
    ("arabic_paren", re.compile(r"(?P<n>\d{1,2})[)）]")),
    ("circled", re.compile(rf"(?P<n>[{_CIRCLED}])")),
]
# Characters a heading (or bullet) can start with: every _HEADING_PATTERNS regex and _BULLET
# begins with one of these, so other positions are skipped without testing each pattern.
_HEADING_START = re.compile(r"[\d第一二三四五六七八九十(（" + re.escape(_CIRCLED) + r"—─－\-]")
_NEXT_ARABIC_ENUM = re.compile(r"[^\S\n]*\d{1,2}\s?、")
_NEXT_CN_ENUM = re.compile(rf"[^\S\n]*[{_CN}]{{1,3}}\s?、")
_BULLET = re.compile(r"(?:——|──|－－|--)(?![—─－-])")

_STYLE_NAMES = {
    "chapter": "第一章",
    "section": "第一节",
    "article": "第一条",
    "cn": "一、",
    "paren_cn": "(一)",
    "paren_arabic": "(1)",
    "arabic_paren": "1)",
    "circled": "①",
}

_BOUNDARY_BEFORE = set("。;；:：!！?？")
_OPEN = "(（《“‘【[〔<〈「『"
_CLOSE = ")）》”’】]〕>〉」』"
_TITLE_STOP = re.compile(r"[。;；:：!！?？\n]")

# Organ-name endings, used to recognise signature lines at the end of the text.
_ORGAN_SUFFIX = re.compile(
    r"(人民政府|政府|委员会|委|局|办公室|办|厅|部|中心|支行|分行|分局|管委会|管理委员会|院|"
    r"公司|集团|工作领导小组|领导小组|小组|协会|联合会|商会|总会|海关|监管局|税务局)$"
)
_DATE_LINE = re.compile(
    r"^[(（]?\s*(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}[-./]\d{1,2}[-./]\d{1,2}|"
    r"[〇零一二三四五六七八九]{4}\s*年\s*[一二三四五六七八九十]{1,2}\s*月\s*[一二三四五六七八九十]{1,3}\s*日|"
    r"(?:19|20)\d{5,6})"  # 2024229 / 20240229: a signing date printed without separators
    r"\s*(印发|发布|签发)?\s*[)）]?$"
)
_PUBLICITY = re.compile(r"^[(（]?\s*此件.{0,10}[)）]?$")
_CC_LINE = re.compile(r"^(抄送|抄报|主送|印发|分送)|印发$|^.{0,40}\d{4}年\d{1,2}月\d{1,2}日印发")
_ATTACH_LIST = re.compile(r"^附\s?件\s?[:：]")
_LIST_ITEM = re.compile(r"^(\d{1,2}|[一二三四五六七八九十]{1,3})\s?[.．、]")
_CLOSING = re.compile(
    r"^(本|以上|上述)(若干)?(意见|措施|方案|办法|通知|政策|细则|规定|决定|条款|计划|实施意见|政策措施)"
    r".{0,60}?(施行|实施|有效|解释|执行|为准)"
)
_ATTACH_HEAD = re.compile(r"附\s?件(?P<n>\d{1,2}|[一二三四五六七八九十]{1,3})?\s?(?P<colon>[:：])?")
_DOC_TYPE_END = re.compile(
    r"(方案|意见|办法|细则|措施|清单|目录|政策|规定|通知|计划|指南|标准|表|名单|规划|要点|条件|流程)"
    r"\s*([(（][^()（）]{0,20}[)）])?$"
)


@dataclass
class _Cand:
    pos: int  # where the number starts
    body: int  # where the heading text (after the number) starts
    group: str
    style: str
    label: str
    n: int
    strong: bool  # at a line start


@dataclass
class _Open:
    group: str
    n: int
    index: int  # index into the measures list


def _line_start(text: str, pos: int) -> bool:
    i = pos - 1
    while i >= 0 and text[i].isspace() and text[i] != "\n":
        i -= 1
    return i < 0 or text[i] == "\n"


_DEPTH_SPECIAL = re.compile("[\n。" + re.escape(_OPEN + _CLOSE) + "]")
_MAX_OPEN_RUN = 300


def _bracket_depth(text: str) -> list[int]:
    """Nesting depth of brackets/quotes before each position; reset at line and sentence ends so
    one unbalanced (mojibake) bracket cannot hide the rest of the document."""
    # Depth only changes at brackets, line and sentence ends, or when a bracket has stayed
    # open for _MAX_OPEN_RUN characters; plain stretches between them are filled with slice
    # assignments instead of a Python step per character.
    n = len(text)
    depth = [0] * (n + 1)
    d = 0
    run = 0
    i = 0
    for m in _DEPTH_SPECIAL.finditer(text):
        j = m.start()
        if j > i and d:
            k = i + _MAX_OPEN_RUN - run  # the gap character whose step makes run exceed the limit
            if k < j:
                depth[i : k + 1] = [d] * (k + 1 - i)
                d = run = 0
            else:
                depth[i:j] = [d] * (j - i)
                run += j - i
        depth[j] = d
        ch = m.group()
        if ch == "\n" or ch == "。":
            d = 0
        elif ch in _OPEN:
            d += 1
        else:
            d = max(0, d - 1)
        run = run + 1 if d else 0
        if run > _MAX_OPEN_RUN:
            d = run = 0
        i = j + 1
    if n > i and d:
        k = i + _MAX_OPEN_RUN - run
        if k < n:
            depth[i : k + 1] = [d] * (k + 1 - i)
            d = 0
        else:
            depth[i:n] = [d] * (n - i)
    depth[n] = d
    return depth


def _inline_boundary(text: str, pos: int) -> bool:
    """Whether an inline heading may start at pos: after whitespace or a clause end, or after a
    bracket closing a sentence-final clause such as (责任单位:…)."""
    if pos == 0:
        return True
    prev = text[pos - 1]
    if prev.isspace() or prev in _BOUNDARY_BEFORE:
        return True
    if prev in ")）":
        j = pos - 2
        level = 1
        while j >= 0 and pos - j < 200:
            if text[j] in ")）":
                level += 1
            elif text[j] in "(（":
                level -= 1
                if level == 0:
                    break
            j -= 1
        if j >= 0 and level == 0:
            inner = text[j + 1 : pos - 1]
            if j == 0 or text[j - 1] in _BOUNDARY_BEFORE or re.search(r"责任单位|牵头|负责|配合", inner):
                return True
    if prev in "”\"" and pos >= 2 and text[pos - 2] in _BOUNDARY_BEFORE:
        return True
    return False


def _match_heading(text: str, pos: int) -> _Cand | None:
    strong = _line_start(text, pos)
    bullet = _BULLET.match(text, pos)
    if bullet:
        return _Cand(pos, bullet.end(), "bullet", "——", "—", 0, strong)
    for group, pat in _HEADING_PATTERNS:
        m = pat.match(text, pos)
        if not m:
            continue
        raw = m.group("n")
        if group == "article" and raw[0].isdigit():
            raw = "".join(raw.split())
        if group == "circled":
            n = _CIRCLED.index(raw) + 1
        elif raw.isdigit():
            n = int(raw)
        else:
            parsed = parse_cn_number(raw)
            if parsed is None:
                continue
            n = parsed
        if n <= 0:
            continue
        body = m.end()
        nxt = text[body : body + 1]
        if group in ("arabic", "arabic_paren", "paren_arabic"):
            # 1.5亿元, 2.0版, 3、4月: a digit or a unit right after is not a heading
            if nxt.isdigit() or nxt in "%％":
                continue
        if group == "cn" and nxt == "、":
            continue
        # 1、2、3 / 一、二、三 enumerations inside a sentence: the next token is another number
        if group == "arabic" and "、" in m.group(0) and _NEXT_ARABIC_ENUM.match(text, body):
            continue
        if group == "cn" and _NEXT_CN_ENUM.match(text, body):
            continue
        if not nxt or nxt == "\n":
            # a bare number on its own line is not a heading we can title
            if group not in ("chapter", "section", "article"):
                continue
        if group in ("chapter", "section", "article"):
            style = "第1条" if raw.isdigit() else _STYLE_NAMES[group]
            label = raw
        elif group == "arabic":
            style = "1、" if "、" in m.group(0) else "1."
            label = raw
        else:
            style = _STYLE_NAMES[group]
            label = raw
        while body < len(text) and text[body].isspace() and text[body] != "\n":
            body += 1
        return _Cand(pos, body, group, style, label, n, strong)
    return None


def _title(text: str, body: int, limit: int) -> str:
    """Heading text up to the first sentence/clause end, line end or (flattened pages) space."""
    m = _TITLE_STOP.search(text, body, limit)
    stop = m.start() if m else limit
    chunk = text[body:stop]
    # a blank printed next to a number (投资在 1000 万元以上, from PDF) is not the end of a flattened heading
    ws = re.search(r"(?<!\d)[^\S\n]+(?!\d|[^\S\n])", chunk)
    if ws and ws.start() >= 2:
        chunk = chunk[: ws.start()]
    return chunk.strip().strip("，,、")


# ---------------------------------------------------------------------------------------
# trailing block (signature, dates, attachment list)


def _segments(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Non-blank runs between whitespace in text[start:end] (lines, or pieces of a flattened line)."""
    return [(m.start(), m.end()) for m in re.finditer(r"\S+", text[start:end])]


def _line_segments(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Segments split at line ends and at runs of whitespace; shifts to absolute offsets."""
    return [(start + a, start + b) for a, b in _segments(text, start, end)]


def _is_trailing(seg: str) -> bool:
    s = seg.strip()
    if not s:
        return True
    if _DATE_LINE.match(s) or _PUBLICITY.match(s) or _CC_LINE.search(s):
        return True
    if len(s) <= 40 and not re.search(r"[。，,;；:：、]", s) and _ORGAN_SUFFIX.search(s):
        return True
    # page chrome left by the cleaner: 打印 关闭 | 目录导读
    return len(s) <= 6 and not re.search(r"[。，,;；:：]", s) and not _LIST_ITEM.match(s)


_TRAILER_WINDOW = 4000


def _trailer_start(text: str, start: int, end: int) -> int:
    """Start of the trailing block of text[start:end]; ``end`` if there is none."""
    # The block is short: walk back over the pieces of the last few thousand characters first,
    # and over the whole text only when the walk reaches the window's first piece (it may be cut).
    window = max(start, end - _TRAILER_WINDOW)
    if window > start:
        segs = _line_segments(text, window, end)
        cut, lowest = _trailing_from(text, segs, end)
        if lowest > 0:
            return _closing_paragraphs(text, start, cut)
    cut, _ = _trailing_from(text, _line_segments(text, start, end), end)
    return _closing_paragraphs(text, start, cut)


def _trailing_from(text: str, segs: list[tuple[int, int]], end: int) -> tuple[int, int]:
    """Walk back over trailing segments: (offset where they start, lowest segment index looked at)."""
    i = len(segs)
    cut = end
    lowest = i
    while i > 0:
        a, b = segs[i - 1]
        lowest = min(lowest, i - 1)
        seg = text[a:b]
        if _is_trailing(seg) or _ATTACH_LIST.match(seg):
            i -= 1
            cut = a
            continue
        # items of an attachment list (附件:1.XX办法 / 2.XX清单) — only if an 附件: line precedes
        j = i
        while j > 0 and _LIST_ITEM.match(text[segs[j - 1][0] : segs[j - 1][1]]) and "。" not in text[
            segs[j - 1][0] : segs[j - 1][1]
        ]:
            j -= 1
        lowest = min(lowest, max(j - 1, 0))
        if j < i and j > 0 and _ATTACH_LIST.match(text[segs[j - 1][0] : segs[j - 1][1]]):
            i = j - 1
            cut = segs[i][0]
            continue
        break
    return cut, lowest


def _closing_paragraphs(text: str, start: int, cut: int) -> int:
    """"以上措施自印发之日起实施" after the last item's own text is a closing paragraph, not part of it."""
    while cut > start:
        e = cut
        while e > start and text[e - 1].isspace():
            e -= 1
        nl = text.rfind("\n", start, e)
        line_start = nl + 1 if nl >= 0 else start
        while line_start < e and text[line_start].isspace():
            line_start += 1
        line = text[line_start:e]
        if not line or not _CLOSING.match(line):
            break
        prev = text[start:line_start].rstrip()
        if not prev or not re.search(r"[。)）]$", prev):
            break  # follows a bare heading like 三、其他: it is that item's content
        cut = line_start
    return cut


# ---------------------------------------------------------------------------------------
# attachments


@dataclass
class _Attachment:
    pos: int
    label: str
    title: str
    body: int


def _find_attachments(text: str) -> list[_Attachment]:
    found: list[_Attachment] = []
    segs = _line_segments(text, 0, len(text))
    for idx, (a, b) in enumerate(segs):
        m = _ATTACH_HEAD.match(text, a)
        if not m or m.start() != a:
            continue
        if not (_line_start(text, a) or _inline_boundary(text, a)):
            continue
        rest = text[m.end() : b]
        if rest and not m.group("colon") and not re.match(r"\s", text[m.end() : m.end() + 1]):
            # 附件1-3 or 附件中…: not a heading
            if not rest.startswith(("(", "（")):
                continue
        label = "附件" + (m.group("n") or "")
        # gather the title: short pieces without a full stop
        parts: list[str] = [rest] if rest else []
        body = b
        j = idx + 1
        while j < len(segs) and len("".join(parts)) < 80:
            if parts and _DOC_TYPE_END.search("".join(parts)):
                break
            sa, sb = segs[j]
            piece = text[sa:sb]
            if "。" in piece or len(piece) > 40 or _match_heading(text, sa) or _ATTACH_HEAD.match(piece):
                break
            parts.append(piece)
            body = sb
            j += 1
        title = "".join(parts).strip().strip(":：").strip()
        found.append(_Attachment(a, label, title, body))
    if not found:
        return []
    # a label's body is its last occurrence; earlier ones are mentions in the attachment list
    result: list[_Attachment] = []
    for k, att in enumerate(found):
        if any(later.label == att.label for later in found[k + 1 :]):
            continue
        nxt = next((x.pos for x in found[k + 1 :]), len(text))
        if _trailer_start(text, att.body, nxt) <= att.body or _trailer_start(text, att.pos, nxt) <= att.pos:
            continue  # followed only by signature/date: a list entry whose file is separate
        if not att.title:
            continue
        result.append(att)
    return result


# ---------------------------------------------------------------------------------------
# outline


def _accept(c: _Cand, stack: list[_Open], last: dict[str, int]) -> bool:
    """Sequence check. Line-start headings may skip a number or restart at 1; inline ones must
    continue an open level, continue a closed one, or open a deeper level at 1."""
    open_entry = next((o for o in stack if o.group == c.group), None)
    if open_entry is not None:
        if c.n == open_entry.n + 1:
            return True
        return c.strong and (open_entry.n < c.n <= open_entry.n + 3 or c.n == 1)
    if c.group in last:
        if c.n == 1 or c.n == last[c.group] + 1:
            return True
        return c.strong and last[c.group] < c.n <= last[c.group] + 3
    return c.n == 1


def _outline_part(
    text: str,
    start: int,
    end: int,
    base_path: list[str],
    measures: list[MeasureDraft],
    warnings: list[str],
    depth: list[int] | None = None,
    open_anywhere: bool = False,
) -> None:
    """Detect headings in text[start:end] and append measures (ends are fixed up later).

    ``open_anywhere`` lets the first line-start heading open the numbering at any number: a
    page that publishes one measure of a larger policy starts at (十六)."""
    if depth is None:
        depth = _bracket_depth(text)
    rank: list[str] = []
    last: dict[str, int] = {}
    stack: list[_Open] = []
    bullet_count: dict[int, int] = {}
    pos = start
    while pos < end:
        # Jump to the next character a heading can start with; no other position can match.
        hm = _HEADING_START.search(text, pos, end)
        if hm is None:
            break
        pos = hm.start()
        cand: _Cand | None = None
        if _line_start(text, pos) or (depth[pos] == 0 and _inline_boundary(text, pos)):
            cand = _match_heading(text, pos)
        if cand is None or cand.body >= end:
            pos += 1
            continue
        if cand.group == "bullet":
            parent = stack[-1] if stack else None
            key = parent.index if parent else -1
            bullet_count[key] = bullet_count.get(key, 0) + 1
            label = f"—{bullet_count[key]}"
            path = [*base_path, *(measures[o.index].label for o in stack)]
        else:
            opens_page = open_anywhere and not rank and cand.strong and cand.group != "bullet"
            if not (opens_page or _accept(cand, stack, last)):
                if cand.strong and cand.group in rank:
                    line_no = text.count("\n", 0, pos) + 1
                    warnings.append(f"第{line_no}行的编号“{text[pos:cand.body].strip()}”不连续,按正文处理")
                pos = cand.body
                continue
            if cand.group not in rank:
                rank.append(cand.group)
            r = rank.index(cand.group)
            while stack and rank.index(stack[-1].group) >= r:
                stack.pop()
            path = [*base_path, *(measures[o.index].label for o in stack)]
            label = cand.label
            last[cand.group] = cand.n
        line_end = text.find("\n", cand.body)
        limit = min(end, line_end if line_end >= 0 else end)
        measures.append(
            MeasureDraft(
                label=label,
                path=path,
                level=len(path),
                style=cand.style,
                title=_title(text, cand.body, limit),
                text="",
                start=cand.pos,
                end=end,
                own_end=end,
            )
        )
        if cand.group != "bullet":
            stack.append(_Open(cand.group, cand.n, len(measures) - 1))
        pos = cand.body


def _finish(text: str, measures: list[MeasureDraft], limits: list[int]) -> None:
    """Set each measure's end (next heading of the same or an outer level), own_end and text."""
    for i, m in enumerate(measures):
        end = limits[i]
        own_end = end
        for j in range(i + 1, len(measures)):
            if measures[j].start >= limits[i]:
                break
            if own_end == end and measures[j].level > m.level:
                own_end = measures[j].start
            if measures[j].level <= m.level:
                end = measures[j].start
                break
        own_end = min(own_end, end)
        body = text[m.start : end].rstrip()
        m.end = m.start + len(body)
        m.text = body
        m.own_end = m.start + len(text[m.start : own_end].rstrip())


@lru_cache(maxsize=8)
def _layout(text: str) -> tuple[tuple[_Attachment, ...], int, int]:
    """(attachments, end of the main content, end of the main text). Cached because metadata
    extraction asks for the trailer of the text the pipeline has just segmented."""
    attachments = tuple(_find_attachments(text))
    main_end = attachments[0].pos if attachments else len(text)
    return attachments, _trailer_start(text, 0, main_end), main_end


def trailer(text: str) -> tuple[int, int]:
    """``segment(text).trailer`` without building the outline."""
    _, content_end, main_end = _layout(text)
    return content_end, main_end


# a heading at a line start above the first measure found, numbered other than one
_HEADING_ABOVE = re.compile(
    r"(?m)^[^\S\n]*(?:第[^\S\n]*[二三四五六七八九十百\d][一二三四五六七八九十百\d\s]{0,6}条"
    r"|[二三四五六七八九十][一二三四五六七八九十]{0,2}、|[(（][二三四五六七八九十][一二三四五六七八九十]{0,2}[)）])"
)


def _one_article_above(found: list[MeasureDraft], opened: list[MeasureDraft]) -> bool:
    """A page holding one article of a larger policy with its own items (第三条 奖励标准 / (一)… /
    (二)…): the items number from one, so the usual pass finds them, but not the article above
    them. Opened at any number, the page gains exactly that article and the items nest under it."""
    if len(opened) != len(found) + 1 or opened[0].start >= found[0].start:
        return False
    head = opened[0].label
    return all(
        o.start == f.start and o.path[:1] == [head] for o, f in zip(opened[1:], found, strict=True)
    )


def segment(text: str) -> OutlineResult:
    """Split a cleaned (simplified) policy text into measures. See the module docstring."""
    result = OutlineResult()
    attachments, content_end, main_end = _layout(text)
    result.trailer = (content_end, main_end)
    depth = _bracket_depth(text)  # one pass for all parts

    measures: list[MeasureDraft] = []
    limits: list[int] = []
    _outline_part(text, 0, content_end, [], measures, result.warnings, depth)
    if not attachments and (not measures or _HEADING_ABOVE.search(text, 0, measures[0].start)):
        # no numbering starts at 1: a page holding one measure (or a run of them) of a larger policy
        opened: list[MeasureDraft] = []
        _outline_part(text, 0, content_end, [], opened, [], depth, open_anywhere=True)
        if not measures or _one_article_above(measures, opened):
            measures = opened
    limits.extend([content_end] * len(measures))
    for k, att in enumerate(attachments):
        nxt = attachments[k + 1].pos if k + 1 < len(attachments) else len(text)
        att_end = _trailer_start(text, att.body, nxt)
        measures.append(
            MeasureDraft(
                label=att.label,
                path=[],
                level=0,
                style="附件",
                title=att.title,
                text="",
                start=att.pos,
                end=att_end,
                own_end=att_end,
            )
        )
        limits.append(att_end)
        before = len(measures)
        _outline_part(text, att.body, att_end, [att.label], measures, result.warnings, depth)
        limits.extend([att_end] * (len(measures) - before))

    if not measures:
        lead = len(text) - len(text.lstrip())
        measures.append(
            MeasureDraft(
                label="全文",
                path=[],
                level=0,
                style="none",
                title="",
                text="",
                start=lead,
                end=max(lead, content_end),
                own_end=max(lead, content_end),
            )
        )
        limits.append(max(lead, content_end))
        result.warnings.append(NO_STRUCTURE_WARNING)
        result.preamble = (0, 0)
    else:
        result.preamble = (0, measures[0].start)
    _finish(text, measures, limits)
    result.measures = measures
    return result
