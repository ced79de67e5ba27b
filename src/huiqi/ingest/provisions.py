"""Quantitative provisions of one measure: amounts, caps, thresholds, ranges, rates, per-unit money,
time limits, counts, ratios and other quantities, each with the exact span it was read from.

How a money figure is classified (the rule the tests pin down):

* Money only counts as a provision (AMOUNT / CAP / THRESHOLD / RANGE / PER_UNIT) inside an
  *incentive sentence*: one that grants or relieves something (给予, 奖励, 补助, 补贴, 奖补, 资助, 贴息,
  扶持, 列入, 享受, 予以, 减免, 参照 ...) or that opens with an eligibility 对/凡/针对. Money in goal or
  background sentences (主营业务收入突破400亿元, 全员劳动生产率超过24.23万元/人) is QUANTITY: it is a
  fact or a target, never a payment or a condition of one.
* A ceiling word (最高, 不超过, 最多, 封顶, 以内, 上限) on money that is granted gives comparator le and
  upper_bound=True. It is a CAP when the amount limits something computed — the same sentence has a
  rate, ratio or per-unit figure (按设备投资额的10%给予补助,最高补助300万元), or the ceiling is scoped
  (单户企业最高500万元, 每场最高20万元) or bounds a total (补助总额, 补贴金额). Otherwise it is an
  AMOUNT with upper_bound=True (给予最高50万元资助).
* Any other comparator (以上, 以下, 超过, 不满, 低于, 不低于, (含)/(不含) ...) makes a THRESHOLD: an
  eligibility condition, upper_bound=False even for 不超过 when a subject precedes it (年销售额不超过…).
* A plain figure next to a grant word is an AMOUNT (eq).

Ranges (10亿元(含)至20亿元, 2—3家): when either end carries a 含/不含 marker the text is a tier table, so
an unmarked upper end is exclusive (the next tier starts there, 20亿元(含)以上) and an unmarked lower
end inclusive; with no marker at all both ends are inclusive. Fractions (三分之一, 1/3) and ratios
(5:5) are RATIO with the two terms in low/high (numerator, denominator) and value None, because a
fraction such as 1/3 has no exact decimal value.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass, field
from decimal import Decimal

from huiqi.document import Comparator, Provision, ProvisionKind, Span
from huiqi.ingest.numbers import currency_of, money_multiplier, normalize, tidy
from huiqi.ingest.quantities import MARKER_RE, Quantity, read_suffix, scan_quantities
from huiqi.ingest.spans import sentence_bounds

_PER_PREFIX_RE = re.compile(r"(?:按)?每(平方米|平米|千瓦时|立方米|人次|标箱|千瓦|亩|辆|人|吨|台|套|度)(?:[^\d]{0,6})$")
_AVG_PREFIX_RE = re.compile(r"(亩|人|户)均")
# the part above a level that a rate applies to (超出部分, 超过部分, 超出额)
_FUND_SIZE_RE = re.compile(r"(?:基金|资金池)(?:总)?(?:规模|总额)|设立[^,，;；。]{0,12}规模")
_EXCESS_BASE_RE = re.compile(r"(?:的)?(?:部分|额|金额|数额)")
_SCOPE_RE = re.compile(
    r"单(?:户|个|家|项|笔|台|套)(?:企业|项目|车型|单位|机构|平台|园区|设备|活动|品种|产品)?"
    r"|单(?:品种|产品|个品种|个产品)|每(?:个)?(?:品种|产品)"
    r"|每(?:场|年|家|户|个|项|次|笔|批|季度|月)(?:企业|项目|活动)?"
    r"|同一(?:企业|项目|年度)"
)

_SENT_BREAK = "。;；!！?？\n"
_PHRASE_BREAK = _SENT_BREAK + ",，:"

# (word, comparator, is a ceiling on what is granted)
_PREFIX_WORDS: list[tuple[str, Comparator, bool]] = [
    ("最高不超过", Comparator.LE, True), ("不超过", Comparator.LE, True), ("不得超过", Comparator.LE, True),
    ("不高于", Comparator.LE, True), ("不多于", Comparator.LE, True), ("不大于", Comparator.LE, True),
    ("最高", Comparator.LE, True), ("最多", Comparator.LE, True), ("封顶", Comparator.LE, True),
    ("上限为", Comparator.LE, True), ("至多", Comparator.LE, True),
    ("最高可达", Comparator.LE, True), ("最高达", Comparator.LE, True), ("最多可达", Comparator.LE, True),
    ("未超过", Comparator.LE, False),
    ("超过", Comparator.GT, False), ("高于", Comparator.GT, False), ("大于", Comparator.GT, False),
    ("多于", Comparator.GT, False), ("超出", Comparator.GT, False), ("突破", Comparator.GT, False),
    ("过", Comparator.GT, False), ("逾", Comparator.GT, False),
    ("不低于", Comparator.GE, False), ("不少于", Comparator.GE, False), ("不小于", Comparator.GE, False),
    ("不得低于", Comparator.GE, False), ("至少", Comparator.GE, False),
    ("达到", Comparator.GE, False), ("达", Comparator.GE, False),
    ("未达到", Comparator.LT, False), ("低于", Comparator.LT, False), ("少于", Comparator.LT, False),
    ("小于", Comparator.LT, False), ("不足", Comparator.LT, False), ("不满", Comparator.LT, False),
    ("未满", Comparator.LT, False),
    ("约", Comparator.APPROX, False), ("大约", Comparator.APPROX, False),
]
# Single characters that only act as comparators right before the number, and not inside words
# such as 通过 / 发达.
_SHORT_WORDS = {"过": "通经超越不度", "逾": "", "达": "到表发下传送抵", "约": "制契节公签", "大约": ""}
_MAX_PREFIX_GAP = 10

_BENEFIT_RE = re.compile(
    r"给予|奖励|奖补|补助|补贴|资助|贴息|扶持|列入|享受|予以|减免|免征|免收|免予|参照|补偿|奖金|优惠|不纳入|一次性"
)
_ELIGIBILITY_RE = re.compile(r"^(?:[(（]?[一二三四五六七八九十\d]+[)）、.]?)?\s*(?:对于|对|凡|针对)")
_GRANT_BEFORE_RE = re.compile(r"给予|奖励|奖补|补助|补贴|资助|贴息|扶持|支持|一次性|奖|补")
_GRANT_AFTER_RE = re.compile(r"(?:的)?(?:一次性)?(?:奖励|补助|补贴|资助|奖补|财政补贴|贴息|扶持|支持|奖金)")
_TOTAL_RE = re.compile(r"总额|金额|累计|合计|额度|总计")
_CHANGE_RE = re.compile(r"(提高|增长|下降|降低|增加|减少|上浮|下浮|压缩|提升|降)(?:了)?$")
_CONDITION_AFTER_RE = re.compile(r"(?:的|且|或|并|,且|，且)")
_GRANT_RATE_AFTER_RE = re.compile(r"(?:的)?(?:比例|贴息|补助|补贴|奖励|奖补|资助|税收奖补|给予)")
_FROM_TO_RE = re.compile(
    r"^(?:压减|压缩|缩短|减少|降低|下降|降|提高|提升|增加|增长|上调|下调|调整|放宽|延长|扩大|减)?(?:到|至|为)(?:人均|亩均)?$"
)

# Subject extraction: the noun phrase right before a number.
_SUBJECT_HEADS = re.compile(
    r"(投资额|投资|融资额|收入|销售额|营业额|产值|税收|增加值|面积|容积率|贡献|利润|单价|增量|总额|费用|投入|规模|"
    r"天数|利率|LPR|价格|比例|比重|率|额|量|数|股本|标准|底价|产能|能耗|增长|下降|提高|降低|上浮|成本|工资|年限|"
    r"高度|密度|效益|密度|用地|亩数|人数|资产|增速|度)$"
)
_SUBJECT_STOPS = re.compile(
    r".*(?:对于|对|按照|按|给予|且|和|及|或|完成|实现|的|、|凡|针对|符合|上述|其中|"
    r"不超过|超过|不低于|低于|不少于|少于|达到|最高|不足|不满|原则上|分别|为|保障|确保|力争|推动|争取|保持|根据|加快)"
)




@dataclass
class _Ctx:
    """A quantity plus everything the classifier looked at."""

    q: Quantity
    left: str = ""
    left_start: int = 0
    prefix: tuple[Comparator, bool, int] | None = None  # comparator, ceiling, start offset
    grant: bool = False
    incentive: bool = False
    condition: bool = False
    sentence: tuple[int, int] = (0, 0)
    range_with: Quantity | None = None
    notes: list[str] = field(default_factory=list)


_BAND_LOW_RE = re.compile(r"(?:\(不?含\))?及?以上(?:\(不?含\))?")
_BAND_JOIN_RE = re.compile(r"\s*(?:至|到)\s*")


def _comparable(q: Quantity) -> Decimal:
    """A range's ends compared in one unit: 5000万元 is less than 1亿元."""
    if q.category == "money" and q.money_unit:
        return q.value * money_multiplier(q.money_unit)
    return q.value


def _find_prefix(left: str) -> tuple[Comparator, bool, int] | None:
    best: tuple[int, int, Comparator, bool] | None = None  # end, length, cmp, ceiling
    for word, cmp, ceiling in _PREFIX_WORDS:
        idx = left.rfind(word)
        while idx >= 0:
            end = idx + len(word)
            gap = len(left) - end
            ok = gap <= _MAX_PREFIX_GAP
            if word in _SHORT_WORDS:
                ok = gap <= 1 and not (idx > 0 and left[idx - 1] in _SHORT_WORDS[word])
            if ok and cmp == Comparator.GT and _EXCESS_BASE_RE.match(left, end):
                ok = False  # 超出部分的20% / 超出额0.5%: the base of a rate, not a comparison
            if ok:
                key = (end, len(word))
                if best is None or key > (best[0], best[1]):
                    best = (end, len(word), cmp, ceiling)
                break
            idx = left.rfind(word, 0, idx)
    if best is None:
        return None
    end, length, cmp, ceiling = best
    return cmp, ceiling, end - length


def _subject(left: str) -> str | None:
    text = re.sub(r"\([^()]*\)", "", left)
    text = re.sub(r"(?:的|在|为|达|按|是|达到|超过|不超过|不低于|低于|不少于|少于|最高|不足|不满|提高到|占|原则上)+$", "", text)
    text = text.strip(" “”\"")
    m = re.search(r"[\u4e00-\u9fffA-Za-z“”]{1,24}$", text)
    if not m:
        return None
    cand = m.group()
    stop = _SUBJECT_STOPS.match(cand)
    if stop:
        cand = cand[stop.end():]
    cut = max(cand.rfind("企业"), cand.rfind("项目"), cand.rfind("单位"))
    if cut >= 0 and len(cand) - (cut + 2) >= 2:
        cand = cand[cut + 2:]
    cand = cand.strip("“”")
    if len(cand) < 2 or not _SUBJECT_HEADS.search(cand):
        return None
    return cand


# The pipeline extracts a measure's provisions and then its targets, which need the same
# provisions again: remember the last result for that read-only second use.
_last: tuple[str, list[Provision]] | None = None


def provisions_for_reading(text: str) -> list[Provision]:
    """Provisions of ``text`` for callers that only read them (may be shared: do not mutate)."""
    last = _last
    if last is not None and last[0] == text:
        return last[1]
    return extract_provisions(text)[0]


def extract_provisions(text: str, conditions: bool = False) -> tuple[list[Provision], list[Span]]:
    """Provisions of one measure's text (simplified script) in order, plus spans of numbers that were
    seen but could not be classified. Offsets index ``text``. ``conditions``: the text is an item of
    a list of eligibility conditions, so its bounded figures are thresholds (新增纳税100万元以上,
    投资强度不低于300万元/亩) though it grants nothing itself."""
    global _last
    provisions, unparsed = _extract_provisions(text, conditions)
    _last = (text, list(provisions))
    return provisions, unparsed


def _extract_provisions(text: str, conditions: bool = False) -> tuple[list[Provision], list[Span]]:
    norm = normalize(text)
    quantities = scan_quantities(norm)
    if not quantities:
        return [], []  # most headings and many clauses hold no number at all
    for q in quantities:
        if q.excluded is None and q.category != "none":
            read_suffix(norm, q)

    live = [q for q in quantities if q.excluded is None and q.category != "none"]
    unparsed = [
        Span(start=q.start, end=q.end, text=text[q.start:q.end], reason="未能归类的数字")
        for q in quantities
        if q.excluded is None and q.category == "none"
    ]

    # Ranges: two numbers joined by 至/到/-/— where the first may omit the unit (2—3家).
    merged: list[Quantity] = []
    partner: dict[int, Quantity] = {}
    pending_none = {id(q): q for q in quantities if q.excluded is None and q.category == "none"}
    all_sorted = sorted([q for q in quantities if q.excluded is None], key=lambda x: x.start)
    skip: set[int] = set()
    for i, q in enumerate(all_sorted):
        if id(q) in skip:
            continue
        if i + 1 < len(all_sorted):
            nxt = all_sorted[i + 1]
            low_end = q.suffix_end if q.category != "none" else q.end
            if q.category == "none":
                mk = MARKER_RE.match(norm, q.end)
                if mk:
                    q.marker = mk.group(1) == "含"
                    low_end = mk.end()
            between = norm[low_end:nxt.start]
            # a band of a tier table: 1000万元及以上至5000万元, 5000万元以上至1亿元
            band_low = (
                q.suffix in (Comparator.GE, Comparator.GT)
                and _BAND_LOW_RE.fullmatch(norm, q.end, q.suffix_end) is not None
                and _BAND_JOIN_RE.fullmatch(between) is not None
            )
            if _bare_low_end(q, nxt, between):
                # 1亿(含1亿)至5亿元: the low end borrows the high end's 元
                q.category, q.unit = "money", q.unit + "元"
                q.money_unit = q.unit
            # 投资额在2000万元以上3000万元以下: a band written with 以上 and 以下, both ends inclusive
            above_below = (
                q.suffix in (Comparator.GE, Comparator.GT)
                and nxt.category == q.category
                and q.category in ("money", "measure", "count")
                and re.fullmatch(r"\s*、?\s*", between) is not None
                and nxt.suffix in (Comparator.LE, Comparator.LT)
                and nxt.suffix_end > nxt.end
                and "以下" in norm[nxt.end:nxt.suffix_end]
                and _comparable(q) < _comparable(nxt)
            )
            if above_below or (
                nxt.category not in ("none", "ratio")
                and re.fullmatch(r"\s*(?:至|到|-|~|—{1,2}|–)\s*", between)
                and (q.category == "none" or (q.category == nxt.category and (q.suffix is None or band_low)))
                and _comparable(q) <= _comparable(nxt)
            ):
                q.above_below = above_below
                if q.category == "none":
                    q.category, q.unit, q.money_unit, q.per = nxt.category, nxt.unit, nxt.money_unit, nxt.per
                    pending_none.pop(id(q), None)
                partner[id(q)] = nxt
                q.band_low = band_low
                skip.add(id(nxt))
                merged.append(q)
                continue
        if q.category != "none":
            merged.append(q)
    pending_starts = {q.start for q in pending_none.values()}
    unparsed = [s for s in unparsed if s.start in pending_starts]
    live = merged

    flow = _join_soft_breaks(norm)
    incentive_of: dict[tuple[int, int], bool] = {}
    ctxs: list[_Ctx] = []
    prev_end = 0
    for q in live:
        ph_start, _ = sentence_bounds(flow, q.start, _PHRASE_BREAK)
        left_start = max(ph_start, prev_end)
        left = norm[left_start:q.start]
        c = _Ctx(q=q, left=left, left_start=left_start)
        c.range_with = partner.get(id(q))
        c.prefix = _find_prefix(left)
        c.sentence = sentence_bounds(flow, q.start, _SENT_BREAK)
        incentive = incentive_of.get(c.sentence)
        if incentive is None:  # once per sentence: a page without full stops is one long sentence
            sent = norm[c.sentence[0]:c.sentence[1]]
            incentive = incentive_of[c.sentence] = bool(
                conditions or _BENEFIT_RE.search(sent) or _ELIGIBILITY_RE.search(sent)
            )
        c.incentive = incentive
        tail_end = (c.range_with.suffix_end if c.range_with else q.suffix_end)
        c.grant = bool(_GRANT_BEFORE_RE.search(left) or _GRANT_AFTER_RE.match(norm, tail_end))
        c.condition = bool(_CONDITION_AFTER_RE.match(norm, tail_end))
        ctxs.append(c)
        prev_end = tail_end

    # 分别给予50万元、30万元: later members of a 、 list inherit the head's grant and ceiling.
    for a, b in itertools.pairwise(ctxs):
        a_end = a.range_with.suffix_end if a.range_with else a.q.suffix_end
        if re.fullmatch(r"、(?:和|及|或)?", norm[a_end:b.q.start]) and a.q.category == b.q.category:
            b.grant = b.grant or a.grant
            if b.prefix is None and a.prefix is not None:
                b.prefix = (a.prefix[0], a.prefix[1], b.q.start - b.left_start)

    # 由30个工作日压减到20个工作日: old and new value.
    for a, b in itertools.pairwise(ctxs):
        a_end = a.range_with.suffix_end if a.range_with else a.q.suffix_end
        if (
            a.q.category == b.q.category
            and _FROM_TO_RE.match(norm[a_end:b.q.start])
            and re.search(r"(?:由|从)(?:人均|亩均)?$", norm[max(0, a.q.start - 4):a.q.start])
        ):
            a.notes.append("调整前")
            b.notes.append("调整后")

    basis = _basis_starts(ctxs)
    provisions = [_in_currency(_classify(c, basis, norm, text, conditions), c.q) for c in ctxs]
    _settle_tiers(provisions, ctxs, norm)
    return provisions, unparsed


def _bare_low_end(q: Quantity, nxt: Quantity, between: str) -> bool:
    """1亿至5亿元: a bare 万/亿 figure joined by 至/到 to money in the same magnitude is money."""
    return (
        q.category == "bare"
        and nxt.category == "money"
        and nxt.money_unit == q.unit + "元"
        and q.suffix is None
        and re.fullmatch(r"\s*(?:至|到|-|~|—{1,2}|–)\s*", between) is not None
    )


def _band_start(p: Provision, c: _Ctx) -> bool:
    """A band of a tier table: a range whose low end says 以上, or an open money threshold X以上."""
    if p.kind == ProvisionKind.RANGE:
        return c.q.band_low
    return (
        p.kind == ProvisionKind.THRESHOLD
        and p.yuan is not None
        and c.prefix is None
        and c.q.suffix in (Comparator.GE, Comparator.GT)
    )


def _settle_tiers(provisions: list[Provision], ctxs: list[_Ctx], norm: str) -> None:
    """Ends and amounts of the bands of a tier table, in place.

    固定资产投资1000万元及以上至5000万元的,奖励30万元;5000万元以上至1亿元的,奖励80万元;1亿元以上的,
    奖励150万元: the bands share their boundaries, so each boundary belongs to one band. A low end
    marked (含)/(不含) says so itself. When the table writes some low ends 及以上 and others a bare
    以上, the contrast is the drafter's: a bare 以上 leaves out the boundary, which then closes the
    band below (5000万元 falls in the first band, 1亿元 in the second). Without such a contrast 以上
    keeps its statutory inclusive meaning and the band below ends just under it. Each band then
    gets the money granted for it: the amount in its own clause, or, for "…分别奖励A、B、C", the
    amounts in order.
    """
    bands = [i for i, (p, c) in enumerate(zip(provisions, ctxs, strict=True)) if _band_start(p, c)]
    if not any(provisions[i].kind == ProvisionKind.RANGE for i in bands):
        return
    groups: list[list[int]] = []
    for i in bands:
        para = sentence_bounds(norm, ctxs[i].q.start, "。\n")
        if groups and sentence_bounds(norm, ctxs[groups[-1][-1]].q.start, "。\n") == para:
            groups[-1].append(i)
        else:
            groups.append([i])
    for group in groups:
        if len(group) < 2 or not any(provisions[i].kind == ProvisionKind.RANGE for i in group):
            continue
        low_words = [norm[ctxs[i].q.end : ctxs[i].q.suffix_end] for i in group]
        contrast = any("及以上" in w for w in low_words) and any("及以上" not in w for w in low_words)
        previous: int | None = None
        for i, word in zip(group, low_words, strict=True):
            p, q = provisions[i], ctxs[i].q
            if q.marker is not None:
                low_inclusive = q.marker
            else:
                low_inclusive = not (contrast and "及以上" not in word)
            low_yuan = p.low_yuan if p.kind == ProvisionKind.RANGE else p.yuan
            if p.kind == ProvisionKind.RANGE:
                provisions[i] = p.model_copy(update={"low_inclusive": low_inclusive})
            else:
                provisions[i] = p.model_copy(update={"comparator": Comparator.GE if low_inclusive else Comparator.GT})
            if previous is not None:
                prev, prev_hi = provisions[previous], ctxs[previous].range_with
                if (
                    prev.kind == ProvisionKind.RANGE
                    and prev_hi is not None
                    and prev_hi.marker is None
                    and prev.high_yuan == low_yuan
                ):
                    provisions[previous] = prev.model_copy(update={"high_inclusive": not low_inclusive})
            previous = i
        _band_amounts(provisions, group, ctxs, norm)


def _band_amounts(provisions: list[Provision], group: list[int], ctxs: list[_Ctx], norm: str) -> None:
    end_of_list = sentence_bounds(norm, ctxs[group[-1]].q.start, "。\n")[1]
    stops = [*group[1:], len(provisions)]
    granted: list[list[int]] = []
    for i, stop in zip(group, stops, strict=True):
        granted.append([
            j for j in range(i + 1, stop)
            if provisions[j].kind in (ProvisionKind.AMOUNT, ProvisionKind.CAP)
            and provisions[j].yuan is not None
            and ctxs[j].q.start < end_of_list
        ])
    if all(granted):
        for i, amounts in zip(group, granted, strict=True):
            provisions[i] = provisions[i].model_copy(update={"band_yuan": provisions[amounts[0]].yuan})
    elif not any(granted[:-1]) and len(granted[-1]) == len(group):
        # 分别奖励20万元、50万元、100万元 after the list of bands
        for i, j in zip(group, granted[-1], strict=True):
            provisions[i] = provisions[i].model_copy(update={"band_yuan": provisions[j].yuan})


# A line break inside a sentence (pages converted from PDF break lines anywhere, even inside
# 5000 / 萬元) does not end it: only one after closing punctuation or before a numbered item does.
_SOFT_BREAK_RE = re.compile(
    r"(?<=[^\s。;；!！?？:：)）])[^\S\n]*\n(?=[^\S\n]*(?![一二三四五六七八九十]{1,3}[、.]|[(（]|\d{1,2}[.、)）]|第|——|[①-⑳])\S)"
)


def _join_soft_breaks(norm: str) -> str:
    """``norm`` with soft line breaks turned into spaces (same length), for sentence bounds only."""
    if "\n" not in norm:
        return norm
    return _SOFT_BREAK_RE.sub(lambda m: m.group().replace("\n", " "), norm)


def _basis_starts(ctxs: list[_Ctx]) -> list[int]:
    """Sorted starts of the figures an amount can be computed from (rates, ratios, per-unit money)."""
    return sorted(
        o.q.start for o in ctxs if o.q.category in ("percent", "discount", "ratio") or o.q.per is not None
    )


def _basis_in_sentence(c: _Ctx, basis: list[int]) -> bool:
    """Whether another figure of c's sentence is a basis; a binary search, not a scan of the measure."""
    lo, hi = c.sentence
    own = c.q.start if (c.q.category in ("percent", "discount", "ratio") or c.q.per is not None) else None
    i = bisect.bisect_left(basis, lo)
    while i < len(basis) and basis[i] < hi:
        if basis[i] != own:
            return True
        i += 1
    return False


def _in_currency(p: Provision, q: Quantity) -> Provision:
    """Money in a foreign currency keeps its currency and its amount in that currency; yuan stays
    empty, as no exchange rate is assumed."""
    code = currency_of(q.money_unit) if q.category == "money" and q.money_unit else None
    if code is None:
        return p
    p.currency = code
    if p.kind != ProvisionKind.RANGE and p.value is not None:
        amount = p.value * money_multiplier(q.money_unit or "")
        p.currency_amount = int(amount) if amount == amount.to_integral_value() else None
    return p


def _classify(c: _Ctx, basis: list[int], norm: str, text: str, conditions: bool = False) -> Provision:
    q = c.q
    hi_q = c.range_with
    end = hi_q.suffix_end if hi_q else q.suffix_end
    start = q.start
    if c.prefix is not None and q.start - (c.left_start + c.prefix[2]) <= 4:
        start = c.left_start + c.prefix[2]
    prefix_cmp = c.prefix[0] if c.prefix else None
    ceiling = bool(c.prefix and c.prefix[1])
    comparator = q.suffix or prefix_cmp
    if q.more and comparator is None:
        comparator = Comparator.GT
    subject = _subject(norm[c.left_start:q.start] if c.prefix is None else
                       norm[c.left_start:c.left_start + c.prefix[2]] or c.left)
    note = "、".join(c.notes) or None

    per = q.per
    if per is None and q.category == "money":
        pm = _PER_PREFIX_RE.search(c.left)
        if pm:
            per = pm.group(1)
        else:
            am = _AVG_PREFIX_RE.search(c.left[-6:])
            if am:
                per = am.group(1)

    base: dict[str, object] = {"text": text[start:end], "start": start, "end": end, "unit": q.unit,
                               "subject": subject, "note": note}

    def yuan_of(x: Quantity) -> int | None:
        if x.category != "money" or x.money_unit is None or currency_of(x.money_unit):
            return None
        v = x.value * money_multiplier(x.money_unit)
        return int(v) if v == v.to_integral_value() else None

    if hi_q is not None:
        marked = q.marker is not None or hi_q.marker is not None
        low_inc = q.marker if q.marker is not None else True
        high_inc = hi_q.marker if hi_q.marker is not None else (not marked)
        if q.above_below:  # 以上 and 以下 include the number; (不含) turned them into gt / lt
            low_inc, high_inc = q.suffix == Comparator.GE, hi_q.suffix == Comparator.LE
        high_value = hi_q.value
        if q.money_unit and hi_q.money_unit and q.money_unit != hi_q.money_unit:
            # 5000万元以上至1亿元: both ends in the low end's unit (1亿元 = 10000万元)
            high_value = tidy(hi_q.value * money_multiplier(hi_q.money_unit) / money_multiplier(q.money_unit))
        return Provision(kind=ProvisionKind.RANGE, low=q.value, high=high_value, low_inclusive=low_inc,
                         high_inclusive=high_inc, low_yuan=yuan_of(q), high_yuan=yuan_of(hi_q),
                         per=per, **base)  # type: ignore[arg-type]

    if q.category == "ratio":
        return Provision(kind=ProvisionKind.RATIO, low=q.low, high=q.high, comparator=comparator,
                         **base)  # type: ignore[arg-type]

    if q.category == "money":
        yuan = yuan_of(q)
        scope_m = None
        for m in _SCOPE_RE.finditer(c.left):
            scope_m = m
        scope = scope_m.group() if scope_m else None
        if per is not None and scope is not None and scope.endswith(per):
            scope = None
        if not c.incentive or _FUND_SIZE_RE.search(c.left):
            # 基金规模不低于1亿元: the size of a fund the government sets up, not a condition on firms
            return Provision(kind=ProvisionKind.QUANTITY, value=q.value, yuan=yuan, comparator=comparator,
                             upper_bound=ceiling, per=per, **base)  # type: ignore[arg-type]
        upper = ceiling or (q.suffix == Comparator.LE and q.suffix_end > q.end
                            and norm[q.end:q.suffix_end].endswith("内"))
        if per is not None and conditions and not upper and comparator not in (None, Comparator.APPROX):
            # 项目投资强度不低于300万元/亩 among the conditions: a bound on the applicant, not money paid
            return Provision(kind=ProvisionKind.THRESHOLD, value=q.value, yuan=yuan, comparator=comparator,
                             per=per, **base)  # type: ignore[arg-type]
        if per is not None:
            cmp = Comparator.LE if upper else (comparator or Comparator.EQ)
            return Provision(kind=ProvisionKind.PER_UNIT, value=q.value, yuan=yuan, comparator=cmp,
                             upper_bound=upper and cmp == Comparator.LE, per=per, scope=scope,
                             **base)  # type: ignore[arg-type]
        if upper and (c.grant or subject is None or scope is not None):
            is_cap = (
                scope is not None
                or _basis_in_sentence(c, basis)
                or bool(_TOTAL_RE.search(c.left))
            )
            return Provision(kind=ProvisionKind.CAP if is_cap else ProvisionKind.AMOUNT, value=q.value,
                             yuan=yuan, comparator=Comparator.LE, upper_bound=True, scope=scope,
                             **base)  # type: ignore[arg-type]
        if comparator is not None and comparator != Comparator.APPROX:
            return Provision(kind=ProvisionKind.THRESHOLD, value=q.value, yuan=yuan, comparator=comparator,
                             **base)  # type: ignore[arg-type]
        return Provision(kind=ProvisionKind.AMOUNT, value=q.value, yuan=yuan,
                         comparator=comparator or Comparator.EQ, scope=scope,
                         **base)  # type: ignore[arg-type]

    if q.category in ("percent", "discount"):
        if q.unit in ("个百分点", "百分点"):
            return Provision(kind=ProvisionKind.QUANTITY, value=q.value, comparator=comparator,
                             **{**base, "note": note or "百分点变化"})  # type: ignore[arg-type]
        grant_rate = c.grant or bool(_GRANT_RATE_AFTER_RE.match(norm, q.suffix_end)) or "按" in c.left
        if ceiling and grant_rate:
            return Provision(kind=ProvisionKind.RATE, value=q.value, comparator=Comparator.LE, upper_bound=True,
                             **base)  # type: ignore[arg-type]
        if comparator is not None and c.condition and not grant_rate:
            return Provision(kind=ProvisionKind.THRESHOLD, value=q.value, comparator=comparator,
                             **base)  # type: ignore[arg-type]
        if _CHANGE_RE.search(c.left) and not grant_rate:
            return Provision(kind=ProvisionKind.QUANTITY, value=q.value, comparator=comparator,
                             **base)  # type: ignore[arg-type]
        return Provision(kind=ProvisionKind.RATE, value=q.value, comparator=comparator or Comparator.EQ,
                         upper_bound=ceiling, **base)  # type: ignore[arg-type]

    if q.category == "time":
        within = q.suffix == Comparator.LE
        if q.unit in ("个工作日", "工作日", "小时", "个小时") or within:
            return Provision(kind=ProvisionKind.TIME_LIMIT, value=q.value, comparator=comparator or Comparator.EQ,
                             **base)  # type: ignore[arg-type]
        return Provision(kind=ProvisionKind.QUANTITY, value=q.value, comparator=comparator,
                         **base)  # type: ignore[arg-type]

    if q.category == "count":
        if comparator is not None and c.condition and c.incentive:
            return Provision(kind=ProvisionKind.THRESHOLD, value=q.value, comparator=comparator,
                             **base)  # type: ignore[arg-type]
        if q.rank:
            base = {**base, "note": note or "排名前列"}
            comparator = comparator or Comparator.LE
        return Provision(kind=ProvisionKind.COUNT, value=q.value, comparator=comparator,
                         **base)  # type: ignore[arg-type]

    # measure / bare 万 亿
    if comparator is not None and c.condition:
        return Provision(kind=ProvisionKind.THRESHOLD, value=q.value, comparator=comparator, per=per,
                         **base)  # type: ignore[arg-type]
    return Provision(kind=ProvisionKind.QUANTITY, value=q.value, comparator=comparator, per=per,
                     **base)  # type: ignore[arg-type]
