"""Strip web-site chrome from extracted page text, keeping metadata lines aside.

Government pages wrap the policy text in navigation, breadcrumbs, print/close
buttons, search boxes and a filing-number footer. Those lines are removed and
reported (``removed``); metadata lines (索引号, 文号, 发布机构, 成文日期 …) are not
chrome, they feed the metadata extractor, so they are moved to ``header`` verbatim.
The classifier works line by line and is deliberately conservative: a line that
looks like a sentence or a numbered clause is never removed.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from huiqi.document import Span
from huiqi.ingest.script import to_simplified_text


@dataclass
class OffsetMap:
    """Piecewise map from offsets in a derived text back to its source text.

    Each segment says: ``length`` chars starting at ``out_start`` in the derived
    text were copied from ``src_start`` in the source. Offsets in a gap (text that
    was inserted, e.g. a repaired character) map to the start of the next segment's
    source, which is the nearest faithful position.
    """

    out_starts: list[int] = field(default_factory=list)
    src_starts: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    out_length: int = 0
    src_length: int = 0

    def add(self, out_start: int, src_start: int, length: int) -> None:
        if length <= 0:
            return
        if (
            self.out_starts
            and self.out_starts[-1] + self.lengths[-1] == out_start
            and self.src_starts[-1] + self.lengths[-1] == src_start
        ):
            self.lengths[-1] += length
            return
        self.out_starts.append(out_start)
        self.src_starts.append(src_start)
        self.lengths.append(length)

    def to_input(self, offset: int) -> int:
        """Source offset of derived offset ``offset`` (``out_length`` maps to the end)."""
        if offset >= self.out_length:
            return self.src_length
        i = bisect.bisect_right(self.out_starts, offset) - 1
        if i >= 0 and offset < self.out_starts[i] + self.lengths[i]:
            return self.src_starts[i] + (offset - self.out_starts[i])
        nxt = i + 1
        if nxt < len(self.src_starts):
            return self.src_starts[nxt]
        return self.src_length

    def as_list(self) -> list[int]:
        """One source offset per derived character."""
        return [self.to_input(i) for i in range(self.out_length)]

    @classmethod
    def identity(cls, length: int) -> OffsetMap:
        m = cls(out_length=length, src_length=length)
        m.add(0, 0, length)
        return m


@dataclass
class Cleaned:
    body: str
    removed: list[Span]
    header: str
    header_spans: list[Span]
    offsets: OffsetMap

    def to_input(self, offset: int) -> int:
        return self.offsets.to_input(offset)


# --- line classification -------------------------------------------------------

# Metadata field names as they appear on gov pages (simplified; lines are matched
# after a traditional→simplified pass).
_META_KEYS = (
    "索引号", "主题分类", "主题词", "组配分类", "体裁分类", "服务对象", "公开方式", "公开范围", "公开时限",
    "公开属性", "文号", "发文字号", "发文文号", "发布文号", "发文机关", "发文单位", "发布机构", "发布单位",
    "发布部门", "制发机关", "成文日期", "成文时间", "发文日期", "发文时间", "发布日期", "发布时间",
    "印发日期", "生效日期", "实施日期", "施行日期", "废止日期", "失效日期", "有效期", "有效性", "时效性",
    "效力状态", "信息来源", "来源", "文章来源", "信息分类", "所属主题", "政策层级分类", "政策层级",
    "规范性文件统一编号", "文件统一编号", "统一编号", "登记号", "文种", "责任编辑", "信息名称", "标题", "关键词",
    "所属机构", "文件编号", "文件类型", "是否有效",
)
_META_KEY_ALT = "|".join(sorted((re.escape(k) for k in _META_KEYS), key=len, reverse=True))
_META_LINE = re.compile(rf"^[|\s]*(?:【)?(?:{_META_KEY_ALT})(?:】)?\s*(?:[:：|]|\s{{2,}}|$)")
_META_KEY_ONLY = re.compile(rf"^[|\s]*(?:{_META_KEY_ALT})[:：]?[|\s]*$")

_NAV_WORDS = {
    "首页", "网站首页", "要闻动态", "政务公开", "政府信息公开", "信息公开", "在线服务", "政务服务", "办事服务",
    "网上办事", "政民互动", "互动交流", "公众参与", "部门导航", "网站地图", "新闻中心", "新闻动态", "专题专栏",
    "无障碍", "无障碍浏览", "长者模式", "关怀版", "简体", "繁体", "简体版", "繁体版", "English", "登录",
    "注册", "个人中心", "移动版", "手机版", "微博", "微信", "头条", "政策文件", "政策解读", "机构设置",
    "领导信息", "政府公报", "数据发布", "便民服务", "走进", "概况", "今日", "通知公告",
}
_NAV_SUFFIXES = ("动态", "公开", "服务", "互动", "导航", "中心", "专栏", "地图", "首页", "概况", "解读", "公告",
                 "要闻", "新闻", "信息", "专题")

_CHROME_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(?:您(?:当前|现在)?的?(?:所在)?位置|当前(?:所在)?位置|所在位置|当前页面|您的位置)"), "当前位置"),
    (re.compile(r"^[【\[]?(?:字号|字体)[】\]]?[:：]?\s*[【\[]?\s*[大中小]"), "字号"),
    (re.compile(r"(?:ICP\s*备|ICP证|网安备|公网安备|备案号|备案编号)", re.I), "备案号"),
    (re.compile(r"(?:版权所有|Copyright|©|\(c\)\s*\d{4})", re.I), "版权所有"),
    (re.compile(r"^(?:主办单位|承办单位|主办|承办|协办单位|技术支持|网站标识码|网站识别码|运维单位|维护单位)[:：\s]"),
     "主办单位"),
    (re.compile(r"^(?:精确检索|模糊检索|开始检索|高级检索|全文检索|站内搜索|站内检索|政务公开检索|搜索|检索|"
                r"请输入(?:关键字|关键词|搜索内容)|热门搜索|热搜)"), "检索框"),
    (re.compile(r"^(?:分享到|分享)[:：]?"), "分享"),
    (re.compile(r"^(?:微信)?扫一扫|^(?:用手机|手机)?扫(?:描|码)"), "扫一扫"),
    (re.compile(r"(?:浏览次数|访问次数|阅读次数|浏览量|阅读量|点击数|点击量|访问量)[:：]?\s*\d*"), "浏览次数"),
    (re.compile(r"^(?:PM2\.5|PM10|空气质量|AQI)\b|℃", re.I), "天气"),
    (re.compile(r"^(?:上一篇|下一篇|上一条|下一条|相关链接|相关阅读|相关文章|相关新闻|友情链接)[:：]?"), "翻页链接"),
    (re.compile(r"^(?:目录导读|返回顶部|回到顶部|TOP)$", re.I), "页面控件"),
]

_PRINT_CLOSE_TOKEN = r"[【\[]?(?:打印本页|打印此页|打印正文|打印|关闭本页|关闭窗口|关闭|返回|收藏|保存本页|保存|顶部)[】\]]?"
_PRINT_CLOSE = re.compile(rf"^(?:{_PRINT_CLOSE_TOKEN}[\s|]*)+$")

_PHONE = r"(?:\d{3,4}[-—－\s]?)?\d{7,8}|1[3-9]\d[-\s]?\d{4}[-\s]?\d{4}|400[-\s]?\d{3}[-\s]?\d{4}"
# Labels that only ever introduce site advertising or webmaster contacts.
_CHROME_PHONE_LINE = re.compile(
    rf"^(?:加盟电话|客服电话|网站电话|服务热线|招商热线|投诉电话|合作电话|广告合作|网站维护|技术支持电话)[:：\s]*(?:{_PHONE})"
)
_CONTACT_LINE = re.compile(
    rf"^(?:(?:联系|咨询|办公|值班)?电话|传真|联系方式|地址|邮编|邮箱|电子邮箱|E-?mail)[:：\s]*.*(?:{_PHONE}|@|\d{{6}})",
    re.I,
)
_BARE_PHONE = re.compile(rf"^(?:{_PHONE})$")
# A signing date printed without separators under the issuer (2024229, 20240229) has the shape
# of a telephone number; it is kept when it reads as a date of this century or the last.
_COMPACT_DATE = re.compile(r"^(?:19|20)\d{2}(?:0?[1-9]|1[0-2])(?:0?[1-9]|[12]\d|3[01])$")
# Breadcrumbs: 首页 >> 走进某县 >> 投资政策, or the same path starting with the separator.
_BREADCRUMB = re.compile(r"^(?:>>|»|>)\s*\S|\S\s*(?:>>|»)\s*\S.*(?:>>|»)|\S\s+>\s+\S.*\s>\s+\S")

_SENTENCE_END = re.compile(r"[。；;！!？?]")
_CLAUSE_START = re.compile(
    r"^\s*(?:[一二三四五六七八九十百]+[、.．]|[(（][一二三四五六七八九十]+[)）]|\d{1,3}[、.．](?!\d)|[(（]\d{1,3}[)）]|"
    r"[①②③④⑤⑥⑦⑧⑨⑩]|第[一二三四五六七八九十百\d]+[条章节])"
)
_PIPES_ONLY = re.compile(r"^\s*[|｜][\s|｜]*$")
_TRAILING_PIPES = re.compile(r"(?:\s*[|｜])+\s*$")
_LEADING_PIPES = re.compile(r"^\s*(?:[|｜]\s*)+")


def _looks_like_content(line: str) -> bool:
    """A sentence, a numbered clause or a long line is policy text, whatever else it holds."""
    core = line.strip(" \t|｜\u3000")
    if _SENTENCE_END.search(core) and not core.endswith(("?", "？")):
        return True
    if _CLAUSE_START.match(core):
        return True
    return len(core) > 100


def _is_navigation(line: str) -> bool:
    tokens = [t for t in re.split(r"[\s|｜>»/·•]+", line) if t]
    if not tokens:
        return False
    if len(tokens) == 1:
        return tokens[0] in {"首页", "网站首页", "返回首页"}
    if any(len(t) > 8 for t in tokens):
        return False
    navish = sum(1 for t in tokens if t in _NAV_WORDS or t.endswith(_NAV_SUFFIXES) or t.startswith("走进"))
    return len(tokens) >= 3 and navish * 2 >= len(tokens) and ("首页" in tokens or navish >= 3)


def _chrome_reason(simplified: str) -> str | None:
    if _PIPES_ONLY.match(simplified):
        return "空表格线"
    core = simplified.strip(" \t|｜\u3000")
    if not core:
        return None
    if _looks_like_content(core):
        # Only unmistakable footer markers may override the content guard.
        if len(core) <= 120 and re.search(r"ICP\s*备|公网安备|版权所有|Copyright", core, re.I):
            return "备案号" if re.search(r"备", core) else "版权所有"
        return None
    if _PRINT_CLOSE.match(core):
        return "打印/关闭"
    if _CHROME_PHONE_LINE.match(core) or (_BARE_PHONE.match(core) and not _COMPACT_DATE.match(core)):
        return "电话"
    if _BREADCRUMB.search(core) and len(core) <= 80:
        return "当前位置"
    for pattern, reason in _CHROME_RULES:
        if pattern.search(core):
            return reason
    if _is_navigation(core):
        return "网站导航"
    return None


def _is_meta(simplified: str) -> bool:
    core = simplified.strip(" \t\u3000")
    if not core or len(core) > 160:
        return False
    if not _META_LINE.match(core):
        return False
    # "标题/名称/来源" could open a real sentence; require a short label:value shape.
    return not (_SENTENCE_END.search(core.replace("?", "")) and len(core) > 60)


@dataclass
class _Line:
    start: int  # offset of the first char in the input
    text: str  # without the newline
    newline: bool  # followed by "\n" in the input


def _split_lines(text: str) -> list[_Line]:
    lines: list[_Line] = []
    pos = 0
    for raw in text.split("\n"):
        end = pos + len(raw)
        lines.append(_Line(pos, raw, end < len(text)))
        pos = end + 1
    return lines


_DATED_CHROME = re.compile(r"(?:发布时间|发布日期)\s*[:：]\s*(?:19|20)\d\d")


def strip_boilerplate(text: str) -> Cleaned:
    """Remove site chrome; move metadata lines to ``header``; keep everything else verbatim."""
    lines = _split_lines(text)
    simplified = to_simplified_text("\n".join(line.text for line in lines)).split("\n")
    if len(simplified) != len(lines):  # conversion never adds newlines; guard anyway
        simplified = [line.text for line in lines]

    kind: list[str] = ["body"] * len(lines)
    reasons: list[str] = [""] * len(lines)
    for i, s in enumerate(simplified):
        if _is_meta(s):
            kind[i] = "meta"
            continue
        reason = _chrome_reason(s)
        if reason:
            kind[i], reasons[i] = "chrome", reason

    _attach_meta_values(simplified, kind)
    _navigation_blocks(simplified, kind, reasons)
    _footer_contacts(simplified, kind, reasons)
    _duplicate_titles(lines, kind, reasons)

    removed: list[Span] = []
    header_parts: list[str] = []
    header_spans: list[Span] = []
    out: list[str] = []
    offsets = OffsetMap(src_length=len(text))
    out_len = 0
    blank_run = 0
    started = False
    for line, simple, k, reason in zip(lines, simplified, kind, reasons, strict=True):
        end = line.start + len(line.text)
        if k == "chrome":
            removed.append(Span(start=line.start, end=end, text=line.text, reason=reason))
            if _DATED_CHROME.search(simple):
                # 作者: 来源: 发布时间:2023-01-03 09:55 浏览次数: — chrome that still carries the date
                header_parts.append(line.text)
            continue
        if k == "meta":
            header_parts.append(line.text)
            header_spans.append(Span(start=line.start, end=end, text=line.text, reason="元数据"))
            continue
        content_start, content_end = line.start, end
        lead = _LEADING_PIPES.match(line.text)
        if lead:
            removed.append(Span(start=line.start, end=line.start + lead.end(), text=lead.group(),
                                reason="表格分隔符"))
            content_start = line.start + lead.end()
        trail = _TRAILING_PIPES.search(text, content_start, end) if content_start < end else None
        if trail and trail.start() >= content_start:
            removed.append(Span(start=trail.start(), end=trail.end(), text=trail.group(), reason="表格分隔符"))
            content_end = trail.start()
        content = text[content_start:content_end]
        if not content.strip():
            blank_run += 1
            continue
        # Keep one paragraph break where the source had blank lines; separators are
        # unmapped, so they resolve to the start of the following line.
        sep = ("\n\n" if blank_run else "\n") if started else ""
        blank_run = 0
        if sep:
            out.append(sep)
            out_len += len(sep)
        offsets.add(out_len, content_start, len(content))
        out.append(content)
        out_len += len(content)
        started = True
    offsets.out_length = out_len
    return Cleaned(
        body="".join(out),
        removed=removed,
        header="\n".join(header_parts),
        header_spans=header_spans,
        offsets=offsets,
    )


def key_row_cells(line: str) -> list[str] | None:
    """The keys of a header row that holds only keys (索引号 文号 成文日期 发布日期 有效性), else None."""
    cells = [c for c in re.split(r"[\s|｜]+", line.strip(" \t\u3000|｜")) if c]
    if len(cells) < 2 or not all(re.fullmatch(rf"(?:{_META_KEY_ALT})[:：]?", c) for c in cells):
        return None
    return [c.rstrip(":：") for c in cells]


def _attach_meta_values(simplified: list[str], kind: list[str]) -> None:
    """A key alone on its line (索引号 / 011081002/2020-16303) owns the next short value line; a row
    of keys owns the next row when it has as many cells (a header table flattened row by row)."""
    for i, s in enumerate(simplified):
        keys = key_row_cells(s)
        if keys is not None and i + 1 < len(simplified):
            kind[i] = "meta"
            values = [c for c in re.split(r"\s+|[|｜]", simplified[i + 1].strip(" \t\u3000|｜")) if c]
            if len(values) == len(keys):
                kind[i + 1] = "meta"
            continue
        if kind[i] != "meta" or not _META_KEY_ONLY.match(s):
            continue
        j = i + 1
        if j < len(simplified) and kind[j] == "body":
            value = simplified[j].strip(" \t|\u3000")
            if value and len(value) <= 40 and not _looks_like_content(value) and not _META_LINE.match(value):
                kind[j] = "meta"


def _navigation_blocks(simplified: list[str], kind: list[str], reasons: list[str]) -> None:
    """Menus extracted one item per line: a run of short lines made of menu words."""
    def short(i: int) -> bool:
        core = simplified[i].strip(" \t|\u3000")
        return 0 < len(core) <= 8 and not _looks_like_content(core) and not re.search(r"[,，、:：]", core)

    i = 0
    n = len(simplified)
    while i < n:
        if kind[i] not in ("body", "chrome") or not short(i):
            i += 1
            continue
        run = [i]
        j = i + 1
        while j < n:
            if not simplified[j].strip():
                j += 1
                continue
            if kind[j] in ("body", "chrome") and short(j):
                run.append(j)
                j += 1
                continue
            break
        cores = [simplified[k].strip(" \t|\u3000") for k in run]
        exact = sum(1 for c in cores if c in _NAV_WORDS)
        navish = sum(1 for c in cores if c in _NAV_WORDS or c.endswith(_NAV_SUFFIXES) or c.startswith("走进"))
        if len(run) >= 3 and exact >= 2 and navish >= 0.6 * len(run):
            for k in run:
                if kind[k] == "body":
                    kind[k], reasons[k] = "chrome", "网站导航"
        i = j if j > i else i + 1


def _footer_contacts(simplified: list[str], kind: list[str], reasons: list[str]) -> None:
    """Contact lines next to a site footer belong to the footer, not to the policy."""
    footer = {"备案号", "版权所有", "主办单位"}
    for i, s in enumerate(simplified):
        if kind[i] != "body" or _looks_like_content(s) or not _CONTACT_LINE.match(s.strip()):
            continue
        near = range(max(0, i - 2), min(len(simplified), i + 3))
        if any(kind[j] == "chrome" and reasons[j] in footer for j in near):
            kind[i], reasons[i] = "chrome", "电话"


def _duplicate_titles(lines: list[_Line], kind: list[str], reasons: list[str]) -> None:
    """Pages often print the title twice (page heading + article heading)."""
    prev: int | None = None
    for i, line in enumerate(lines):
        if kind[i] != "body" or not line.text.strip():
            continue
        core = line.text.strip(" \t|｜\u3000")
        if prev is not None and core and core == lines[prev].text.strip(" \t|｜\u3000") \
                and len(core) <= 80 and not _SENTENCE_END.search(core):
            kind[i], reasons[i] = "chrome", "重复标题"
            continue
        prev = i
