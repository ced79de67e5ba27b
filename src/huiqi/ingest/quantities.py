"""Numbers with their units as they stand in policy text, before any classification.

``scan_quantities`` finds every number (Arabic, full-width or Chinese, fractions, ratios,
percentages, discounts) with its unit and marks the ones that are not quantities (years,
dates, document and clause numbers, codes, names in quotes). ``read_suffix`` reads what
follows a figure: a (含)/(不含) marker and 以上/以下/以内/左右. Offsets index the normalised text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from huiqi.document import Comparator
from huiqi.errors import HuiqiError
from huiqi.ingest.numbers import CN_DIGITS, parse_number, parse_percent
from huiqi.ingest.spans import QuotedSpans

__all__ = ["MARKER_RE", "UNIT_RE", "Quantity", "read_suffix", "scan_quantities"]

_CN = "零〇一二两三四五六七八九十百千万亿廿"
_NUM_RE = re.compile(rf"\d+(?:,\d{{3}}(?!\d))*(?:\.\d+)?|[{_CN}]+")

_MONEY_UNITS = [
    *(magnitude + currency for currency in ("美元", "欧元", "港元", "港币", "日元")
      for magnitude in ("亿", "千万", "百万", "万", ""))
]
_MONEY_UNITS += ["万亿元", "千亿元", "百亿元", "十亿元", "千万元", "百万元", "十万元", "亿元", "万元", "千元", "百元", "元"]
_PERCENT_UNITS = ["%", "个百分点", "百分点"]
_TIME_UNITS = ["个工作日", "工作日", "个小时", "小时", "个月", "个星期", "星期", "周", "天", "日", "年"]
_COUNT_UNITS = [
    "万名", "万人", "万户", "万家", "万辆", "万台", "万套", "万个", "万件", "家次", "人次", "部门",
    "家", "个", "项", "名", "户", "批", "次", "人", "台", "套", "种", "宗", "类", "条", "座", "所", "位",
    "处", "辆", "件", "场", "强", "张", "支", "部", "笔", "款", "间", "栋", "幢", "只", "头", "株", "枚",
]
_MEASURE_UNITS = [
    "万吨标准煤", "吨标准煤", "万千瓦时", "亿千瓦时", "千瓦时", "万千瓦", "千瓦", "兆瓦", "万平方米", "平方公里",
    "平方米", "平米", "万亩", "亩", "万吨", "吨", "万立方米", "立方米", "公里", "千米", "米", "层", "倍", "公顷",
    "万标箱", "标箱",
]
_BARE_UNITS = ["亿", "万"]

_UNIT_CATEGORY: dict[str, str] = {}
for _u in _MONEY_UNITS:
    _UNIT_CATEGORY[_u] = "money"
for _u in _PERCENT_UNITS:
    _UNIT_CATEGORY[_u] = "percent"
for _u in _TIME_UNITS:
    _UNIT_CATEGORY[_u] = "time"
for _u in _COUNT_UNITS:
    _UNIT_CATEGORY[_u] = "count"
for _u in _MEASURE_UNITS:
    _UNIT_CATEGORY[_u] = "measure"
for _u in _BARE_UNITS:
    _UNIT_CATEGORY[_u] = "bare"
# 1千万 / 5百万 after Arabic digits: money written without 元 (1千万 = 1000万元)
for _u in ("千万", "百万"):
    _UNIT_CATEGORY[_u] = "bare_money"
UNIT_RE = re.compile("|".join(re.escape(u) for u in sorted(_UNIT_CATEGORY, key=len, reverse=True)))

_PER_UNITS = [
    "平方米", "平米", "千瓦时", "立方米", "人次", "标箱", "千瓦", "亩", "辆", "人", "吨", "台", "套", "年", "月",
    "个", "家", "次", "场", "件", "小时", "天", "户", "度", "项",
]
_PER_RE = re.compile("/(" + "|".join(sorted(_PER_UNITS, key=len, reverse=True)) + ")")
# 每亩/每平方米 name a unit of measure (per-unit money); 每场/每家 name who a ceiling applies to (scope).

# Patterns applied at a position of the whole normalised text (Pattern.match(text, pos)) rather
# than to a slice of the rest of it, which would copy the remainder for every number.
# match() anchors at pos, so they carry no "^".
_CHENG_WORD_RE = re.compile(r"成(?:本|功|员|果|立|为|熟|效|长|交|型|品|套|绩|就|都|年|的|果|片|批|规|链|群|像|才)")
_CHENG_TAIL_RE = re.compile(r"成([一二三四五六七八九])?(?![\u4e00-\u9fff]{0,0}折)")
_ZHE_WORD_RE = re.compile(r"折(?:旧|算|合|扣|叠|返|现)")
_COLON_DIGIT_RE = re.compile(r":\d")
_RATIO_TAIL_RE = re.compile(r":(\d+(?:\.\d+)?)(?![\d:.])")
_CLOCK_TAIL_RE = re.compile(r"(?::\d+)+")
_FRACTION_TAIL_RE = re.compile(r"/(\d{1,3})(?![\d/\-])")
_YEAR_TAIL_RE = re.compile(r"\s*(年|[-~—–至到]\s*(19|20)\d\d|\.\d)")
_DECIMAL_TAIL_RE = re.compile(r"\.\d")
_DASH_AMOUNT_RE = re.compile(r"-\s*\d+(?:\.\d+)?\s*(?:" + UNIT_RE.pattern + ")")
# 5家(个)以上, 1000万元(人民币,下同)以上: a gloss in brackets between a figure and its 以上/以下
_GLOSS_RE = re.compile(r"\((?!不?含\))(?:[\u4e00-\u9fff]{1,3}|人民币(?:[,，]下同)?|下同)\)(?=及?以[上下])")
# (含) / (不含), also restating the figure or the rule: (含1亿), (不含1000万元), (含本数,下同)
MARKER_RE = re.compile(r"\((不?含)(?:本数|本级|\s*\d+(?:\.\d+)?\s*[\u4e00-\u9fff]{0,3})?(?:[,，]下同)?\)")
_SUFFIX_RE = re.compile(r"(及以上|以上|及以下|以下(?!简称)|以内|之内|内|左右)")


@dataclass
class Quantity:
    """A number with its unit as found in the text, before classification."""

    start: int
    end: int  # end of number + unit (+ /per)
    value: Decimal
    unit: str
    category: str  # money | percent | discount | time | count | measure | bare | ratio | none
    number_text: str = ""
    money_unit: str | None = None
    per: str | None = None
    more: bool = False  # 100余家 / 30多个
    chinese: bool = False
    low: Decimal | None = None  # ratio terms
    high: Decimal | None = None
    rank: bool = False  # 前三名
    # context, filled in afterwards
    suffix_end: int = 0
    suffix: Comparator | None = None
    marker: bool | None = None  # (含) True, (不含) False, none None
    excluded: str | None = None
    band_low: bool = False  # low end of a band written 以上/及以上 (1000万元及以上至5000万元)
    above_below: bool = False  # low end of a band written A以上B以下 (2000万元以上3000万元以下)


_QUOTED_RE = re.compile(r"“[^”“]{0,25}”|\"[^\"]{0,25}\"|《[^》]*》")


def _quoted_spans(norm: str) -> QuotedSpans:
    return QuotedSpans([(m.start(), m.end()) for m in _QUOTED_RE.finditer(norm)])


def _try_number(text: str) -> Decimal | None:
    try:
        return parse_number(text)
    except HuiqiError:
        return None


def scan_quantities(norm: str) -> list[Quantity]:
    """Find every number with its unit; mark the ones that are not quantities (years, codes...)."""
    out: list[Quantity] = []
    quoted = _quoted_spans(norm)
    pos = 0
    while True:
        m = _NUM_RE.search(norm, pos)
        if not m:
            break
        s, e = m.start(), m.end()
        raw = m.group()
        pos = e
        chinese = not raw[0].isdigit()
        # 百分之十 / 千分之五 / 三分之一: denominator first.
        if norm.startswith("分之", e):
            num_m = _NUM_RE.match(norm, e + 2)
            if num_m:
                pos = num_m.end()
                numer = _try_number(num_m.group())
                if raw in ("百", "千", "万"):
                    try:
                        pct = parse_percent(norm[s:pos])
                    except HuiqiError:
                        continue
                    out.append(Quantity(s, pos, pct, "%", "percent", norm[s:pos], chinese=True))
                    continue
                denom = _try_number(raw)
                if numer is not None and denom:
                    out.append(Quantity(s, pos, numer, "分之", "ratio", norm[s:pos], low=numer, high=denom,
                                        chinese=chinese))
                continue
        if chinese:
            # Chinese numerals only count with a unit and never as ordinals (第一) or inside names.
            if s > 0 and norm[s - 1] == "第":
                continue
            if s in quoted:
                continue
            value = _try_number(raw)
            if value is None or value == 0:
                # 零部件 / 两高 / 万企 / 亿元企业: not numerals; a shorter tail may still be (十二条 inside 第十二条 is
                # handled above).
                continue
            if norm.startswith("成", e) and len(raw) == 1 and not _CHENG_WORD_RE.match(norm, e):
                tail = _CHENG_TAIL_RE.match(norm, e)
                end = tail.end() if tail else e + 1
                out.append(Quantity(s, end, parse_percent(norm[s:end]), "%", "discount", norm[s:end],
                                    chinese=True))
                pos = end
                continue
            if norm.startswith("折", e) and len(raw) <= 2 and all(c in CN_DIGITS for c in raw) and not _ZHE_WORD_RE.match(norm, e):
                out.append(Quantity(s, e + 1, parse_percent(norm[s:e + 1]), "%", "discount", norm[s:e + 1],
                                    chinese=True))
                pos = e + 1
                continue
            um = UNIT_RE.match(norm, e)
            if not um:
                continue
            unit = um.group()
            cat = _UNIT_CATEGORY[unit]
            if cat == "bare":
                continue
            if raw == "一" and cat in ("count", "time"):
                continue  # 一批 / 一次 / 一个 / 一年: idiom, not a count
            if cat == "time" and unit == "年":
                before = norm[max(0, s - 2):s]
                if not (before.endswith("连续") or before.endswith("近") or norm.startswith("内", um.end())
                        or norm.startswith("以内", um.end())):
                    continue
            q = Quantity(s, um.end(), value, unit, cat, raw, chinese=True,
                         money_unit=unit if cat == "money" else None)
            if s > 0 and norm[s - 1] == "前" and cat == "count":
                q.rank = True
                q.start = s - 1
            _attach_per(norm, q)
            out.append(q)
            pos = q.end
            continue

        # Arabic number.
        q = Quantity(s, e, Decimal(0), "", "none", raw)
        value = _try_number(raw)
        if value is None:
            continue
        q.value = value
        out.append(q)
        # a space stands for "nothing there" so that membership tests below never match an empty string
        prev = norm[s - 1] if s > 0 else " "
        nxt = norm[e] if e < len(norm) else " "
        if re.match(r"[A-Za-z@_+]", prev) or re.match(r"[A-Za-z@_+]", nxt):
            q.excluded = "identifier"
            continue
        if prev == "第" or (prev in " \t\u3000" and _SPACED_ORDINAL_RE.search(norm, max(0, s - 8), s)):
            q.excluded = "ordinal"  # 第19条, and 第 1 0 条 printed with spaces
            continue
        if s in quoted:
            q.excluded = "name"
            continue
        if norm[max(0, s - 5):s].rstrip().endswith("含"):
            opening = norm.rfind("(", max(0, s - 5), s)
            marker = MARKER_RE.match(norm, opening) if opening >= 0 else None
            if marker is not None and marker.end() > e:
                q.excluded = "restated"  # 1亿(含1亿), 1000万元(不含1000万元): the marker repeats the figure
                pos = marker.end()
                continue
        # ratio 5:5; clock times (08:30, 08:30:00) are not ratios
        if nxt == ":" and _COLON_DIGIT_RE.match(norm, e):
            rm = _RATIO_TAIL_RE.match(norm, e)
            clock = rm is None or (re.fullmatch(r"\d{1,2}", raw) is not None and re.fullmatch(r"\d{2}", rm.group(1)) is not None)
            if clock:
                q.excluded = "time_of_day"
                tm = _CLOCK_TAIL_RE.match(norm, e)
                pos = tm.end() if tm else e
                continue
            assert rm is not None
            q.category, q.unit = "ratio", ":"
            q.low, q.high = value, Decimal(rm.group(1))
            q.end = rm.end()
            pos = q.end
            continue
        fm = _FRACTION_TAIL_RE.match(norm, e)
        if fm and prev not in "/-" and len(raw) <= 3:
            q.category, q.unit = "ratio", "/"
            q.low, q.high = value, Decimal(fm.group(1))
            q.end = fm.end()
            pos = q.end
            continue
        # years, dates, document and clause numbers
        is_year_like = re.fullmatch(r"(19|20)\d\d", raw) is not None
        if is_year_like and (
            _YEAR_TAIL_RE.match(norm, e)
            or re.search(r"(19|20)\d\d\s*[-~—–至到]\s*$", norm[max(0, s - 6):s])
            or prev in "〔[【"
        ):
            q.excluded = "year"
            continue
        if nxt == "月" or (nxt == "日" and re.search(r"月\s*$", norm[max(0, s - 2):s])):
            q.excluded = "date"
            continue
        if nxt == "号" or prev in "〔[【" or nxt in "〕]】":
            q.excluded = "doc_number"
            continue
        if re.match(r"[.、.]", nxt or " ") and (s == 0 or norm[s - 1] in "\n(（ " or re.fullmatch(r"\s*", norm[max(0, s - 3):s])):
            if not _DECIMAL_TAIL_RE.match(norm, e):
                q.excluded = "clause_number"
                continue
        if prev in "(（" and nxt in ")）":
            q.excluded = "clause_number"
            continue
        if nxt == "折" and value < 100 and not _ZHE_WORD_RE.match(norm, e):
            q.category, q.unit, q.end = "discount", "%", e + 1
            q.value = parse_percent(norm[s:e + 1])
            pos = q.end
            continue
        head = re.match(r"[余多]", nxt or " ")
        ustart = e + (1 if head else 0)
        found_unit = _unit_after(norm, ustart)
        if found_unit:
            unit, unit_end = found_unit
            cat = _UNIT_CATEGORY[unit]
            if cat == "bare_money":
                unit, cat = unit + "元", "money"
            if cat == "time" and unit == "年" and is_year_like:
                q.excluded = "year"
                continue
            if norm.startswith("级", unit_end):
                q.excluded = "grade"  # 500亿级 / 10亿级企业: a size class in a name
                pos = unit_end
                continue
            q.unit, q.category, q.end, q.more = unit, cat, unit_end, bool(head)
            if cat == "money":
                q.money_unit = unit
            if s > 0 and norm[s - 1] == "前" and cat == "count":
                q.rank = True
                q.start = s - 1
            _attach_per(norm, q)
            pos = q.end
            continue
        if norm.startswith("大", e) and value < 100 and "." not in raw:
            q.unit, q.category, q.end = "大", "count", e + 1
            pos = q.end
            continue
        if re.fullmatch(r"\d+\.0", raw) or ("." in raw and len(raw) <= 4 and nxt in "版代"):
            q.excluded = "version"
            continue
        if "." not in raw and len(raw) >= 4:
            q.excluded = "code"
            continue
        if prev == "-" or nxt == "-":
            if not _DASH_AMOUNT_RE.match(norm, e):
                q.excluded = "code"
                continue
    return out


# Pages converted from PDF or typeset with spaces put blanks, or one line break, between a
# number and its unit (给予 30 万元, 5000 / 万元) and even inside the unit (50 万 / 元).
_SPACED_ORDINAL_RE = re.compile(r"第[\s\d]*$")
_UNIT_GAP_RE = re.compile(r"[ \t\u3000]*\n?[ \t\u3000]*")


def _unit_after(norm: str, pos: int) -> tuple[str, int] | None:
    """The unit starting at ``pos`` (across such a gap) as (unit without the gap, end offset)."""
    um = UNIT_RE.match(norm, pos)
    if um is None:
        gap = _UNIT_GAP_RE.match(norm, pos)
        if gap is None or gap.end() == pos:
            return None
        um = UNIT_RE.match(norm, gap.end())
        # only money and percentages are read across a gap: 10 年均… is a number and a new word
        if um is None or _UNIT_CATEGORY[um.group()] not in ("money", "bare", "bare_money", "percent"):
            return None
    unit, end = um.group(), um.end()
    if _UNIT_CATEGORY[unit] in ("bare", "bare_money"):
        gap = _UNIT_GAP_RE.match(norm, end)
        if gap is not None and gap.end() > end and norm.startswith("元", gap.end()):
            return unit + "元", gap.end() + 1
    return unit, end


def _attach_per(norm: str, q: Quantity) -> None:
    if q.category not in ("money", "measure", "count"):
        return
    pm = _PER_RE.match(norm, q.end)
    if pm:
        q.per = pm.group(1)
        q.unit = q.unit + "/" + q.per
        q.end = pm.end()


def read_suffix(norm: str, q: Quantity) -> None:
    i = q.end
    # 5家(个)以上: a unit gloss in brackets does not end the figure
    gloss = _GLOSS_RE.match(norm, i)
    if gloss:
        i = gloss.end()
    mk = MARKER_RE.match(norm, i)
    if mk:
        q.marker = mk.group(1) == "含"
        i = mk.end()
    sm = _SUFFIX_RE.match(norm, i)
    if sm:
        word = sm.group(1)
        i = sm.end()
        mk2 = MARKER_RE.match(norm, i)
        if mk2:
            q.marker = mk2.group(1) == "含"
            i = mk2.end()
        if word.endswith("以上"):
            q.suffix = Comparator.GT if q.marker is False else Comparator.GE
        elif word.endswith("以下"):
            q.suffix = Comparator.LT if q.marker is False else Comparator.LE
        elif word in ("以内", "之内", "内"):
            q.suffix = Comparator.LE
        else:
            q.suffix = Comparator.APPROX
    q.suffix_end = i
