"""Quantified goals (targets) stated in policy text: 到2023年底,力争全市规上工业亩均税收超过20.3万元.

A target is a figure a goal sentence promises to reach, not a condition of an incentive: sentences
that grant something (给予, 奖励, 补贴 ...) are skipped, and so is any figure that only qualifies a
noun (设备投资额500万元以上的项目, 过50亿元企业达到10家 — there the target is the 10家). Counts are
targets when they close a clause (培育…隐形冠军50家) or directly follow a goal verb (培育50家高成长企业);
figures buried in a clause (推动11个县市区建设…) describe scope and are left out.

Comparators follow the goal wording: 以上 → ge, 超过/突破 → gt, 左右 → approx, 不低于/不少于 → ge, and a
plain figure or 达到X → eq (达到 names the level to reach, not a floor). A range goal (培育3-5个) gives
value = the lower end with ge. "保持在8%左右、力争达到9%" is one target with stretch_value 9.
"""

from __future__ import annotations

import bisect
import re
from decimal import Decimal

from huiqi.document import Comparator, Provision, ProvisionKind, Target
from huiqi.ingest.numbers import normalize
from huiqi.ingest.provisions import provisions_for_reading
from huiqi.ingest.spans import sentence_bounds

_SENT_BREAK = "。!！?？\n"
_CLAUSE_BREAK = _SENT_BREAK + ";；"
_PHRASE_BREAK = _CLAUSE_BREAK + ",，:"

_BENEFIT_RE = re.compile(
    r"给予|奖励|奖补|补助|补贴|资助|贴息|扶持资金|享受|予以|减免|免征|免收|免予|补偿|奖金|优惠|一次性|不纳入"
)
_ELIGIBILITY_RE = re.compile(r"^\s*(?:对于|对|凡|针对)")
_GOAL_MARKER_RE = re.compile(
    r"到(?:19|20)\d\d年|(?:19|20)\d\d年|力争|确保|争取|目标|年均|每年|全年|计划|保障|达到|突破|(?<!不)超过|提高到|"
    r"新增|实现|完成|盘活|腾出|减碳|淘汰|形成|培育|建成|保持|稳定在"
)
_PCT_MARKER_RE = re.compile(r"到(?:19|20)\d\d年|(?:19|20)\d\d年|力争|争取|目标|年均|全年")
_COUNT_VERB_RE = re.compile(
    r"(?:培育|新培育|实施|形成|建成|争取|引进|招引|新增|打造|创建|达到|达|保有|淘汰|列入|完成|认定)(?:[^\d，,。；;]{0,0})$"
)
_YEAR_RE = re.compile(r"((?:19|20)\d\d)年")
_LEAD_STRIP_RE = re.compile(r"^(?:到(?:19|20)\d\d年(?:底|末)?(?:前)?|(?:19|20)\d\d年(?:底|末)?|力争|确保|争取|其中|计划|并|且|在)+")
_TAIL_STRIP_RE = re.compile(
    r"(?:超过|达到|达|不低于|不少于|不超过|保持在|稳定在|突破|提高到|提高至|增长到|为|实现|在|力争|各|分别|先后|迈入|过)+$"
)
_PREFIX_CMP: list[tuple[str, Comparator]] = [
    ("不低于", Comparator.GE), ("不少于", Comparator.GE), ("不超过", Comparator.LE), ("超过", Comparator.GT),
    ("突破", Comparator.GT), ("低于", Comparator.LT), ("左右", Comparator.APPROX),
]


_bounds = sentence_bounds

# Patterns applied at a position of the text (Pattern.match(text, pos)) instead of to a copy of
# the rest of it: one copy per provision made a long one-line document quadratic.
_QUALIFIES_NOUN_RE = re.compile(r"\s*(?:的|以上的|以下的)(?!目标|任务)")
_CHAIN_RE = re.compile(r"、[^，,。；;、]{0,12}?(?:以上|以下)?的")
_NOUN_RE = re.compile(r"[\u4e00-\u9fff“《]")
_NOT_NOUN_RE = re.compile(r"(?:左右|以上|以下|、|和|及|或)")
_LIST_NEXT_RE = re.compile(r"、\s*(?:过)?\d")
_NOUN_AFTER_RE = re.compile(r"[^，,。；;、的]{1,20}")


def _is_money(p: Provision) -> bool:
    return p.yuan is not None or p.low_yuan is not None or p.unit.endswith("元") or p.unit in ("亿", "万")


def _candidate(p: Provision) -> bool:
    if p.kind == ProvisionKind.TIME_LIMIT:
        return p.note == "调整后"
    if p.kind in (ProvisionKind.AMOUNT, ProvisionKind.CAP, ProvisionKind.PER_UNIT, ProvisionKind.RATIO):
        return False
    if p.kind == ProvisionKind.RANGE:
        return p.unit not in ("年", "个月", "天", "日")
    if p.kind == ProvisionKind.THRESHOLD and _is_money(p):
        return False
    if p.note == "调整前":
        return False
    if p.unit in ("年", "个月", "周", "日"):
        return False
    if p.unit in ("天",):
        return p.comparator is not None
    return True


def _comparator(p: Provision, norm: str, phrase_start: int) -> Comparator:
    if p.kind == ProvisionKind.RANGE:
        return Comparator.GE
    text = p.text
    if re.search(r"以上\(不含\)|\(不含\)以上", text):
        return Comparator.GT
    if re.search(r"以上|以上\(含\)", text):
        return Comparator.GE
    if re.search(r"以下\(不含\)|\(不含\)以下", text):
        return Comparator.LT
    if re.search(r"以下|以内|之内", text):
        return Comparator.LE
    if text.endswith("左右"):
        return Comparator.APPROX
    left = norm[phrase_start:p.start]
    for word, cmp in _PREFIX_CMP:
        if left.endswith(word) or text.startswith(word):
            return cmp
    if re.search(r"(?<![通经超越不])过$", left):
        return Comparator.GT
    return Comparator.EQ


def _indicator(norm: str, phrase_start: int, start: int, fallback: str) -> str:
    left = norm[phrase_start:start].lstrip("、和及")
    left = re.sub(r"(?:从|由)(?:人均|亩均)?\d.*$", "", left)
    left = re.sub(r"(?:不低于|不少于|不超过|超过|突破|低于|达到|达|最高|过)$", "", left)
    ind = _LEAD_STRIP_RE.sub("", left.strip())
    ind = _TAIL_STRIP_RE.sub("", ind).strip()
    if re.fullmatch(r"(?:全年|每年|当年|年均)?", ind):
        ind = (fallback + ind) if fallback else ind
    return ind or fallback


def extract_targets(text: str) -> list[Target]:
    """Quantified goals in ``text`` in order; offsets index ``text`` and ``measure`` is left None."""
    provisions = provisions_for_reading(text)
    if not any(_candidate(p) for p in provisions):
        return []
    norm = normalize(text)
    targets: list[Target] = []
    prev_phrase_text = ""
    facts = _SpanFacts(norm)
    for i, p in enumerate(provisions):
        if not _candidate(p):
            continue
        s_start, s_end = _bounds(norm, p.start, _SENT_BREAK)
        c_start, c_end = _bounds(norm, p.start, _CLAUSE_BREAK)
        ph_start, ph_end = _bounds(norm, p.start, _PHRASE_BREAK)
        if facts.benefit(c_start, c_end) or (facts.eligibility(ph_start, ph_end) and p.kind != ProvisionKind.TIME_LIMIT):
            continue
        if _QUALIFIES_NOUN_RE.match(norm, p.end):
            continue  # qualifies a noun: 过10亿元的项目
        # a chain 6000亿元、600亿元的基金: the whole chain qualifies the noun
        chained = _CHAIN_RE.match(norm, p.end)
        if chained and _is_money(p):
            continue
        noun_follows = bool(_NOUN_RE.match(norm, p.end)) and not _NOT_NOUN_RE.match(norm, p.end)
        followed_by_count = _count_follows(provisions, i, ph_start, ph_end)
        if not facts.goal(s_start, s_end) and p.kind != ProvisionKind.TIME_LIMIT:
            continue
        verb_before = False
        if _is_money(p) or p.unit in ("%",):
            has_cmp = p.comparator not in (None, Comparator.EQ)
            if (noun_follows and (has_cmp or followed_by_count)) or _LIST_NEXT_RE.match(norm, p.end):
                continue
            if p.unit == "%":
                strong = bool(re.search(r"(?:以上|左右)$", p.text)) or bool(
                    re.search(r"(?:达到|达|超过|保持在|稳定在)$", norm[ph_start:p.start]))
                if not (facts.percent_marker_before(s_start, s_end, p.start) or strong):
                    continue
        else:
            at_end = not noun_follows
            verb_before = bool(_COUNT_VERB_RE.search(norm[ph_start:p.start]))
            if not (at_end or verb_before):
                continue
            if p.kind == ProvisionKind.QUANTITY and noun_follows:
                continue
        year = facts.last_year_before(s_start, s_end, p.start)
        fallback = re.sub(r"^[^\u4e00-\u9fff]+", "", prev_phrase_text)[-16:] if ph_start > s_start else ""
        if ph_start > 0:
            pp_start, _ = _bounds(norm, max(ph_start - 1, 0), _PHRASE_BREAK)
            fallback = _LEAD_STRIP_RE.sub("", norm[pp_start:ph_start - 1])[-16:]
        left_bound = ph_start
        for t in reversed(targets):
            if ph_start <= t.end <= p.start:
                left_bound = t.end
                break
            if t.end < ph_start:
                break  # targets come in text order: earlier ones end before this phrase too
        indicator = _indicator(norm, left_bound, p.start, fallback)
        if verb_before and noun_follows:
            nm = _NOUN_AFTER_RE.match(norm, p.end)
            if nm:
                indicator += nm.group()
        value = p.low if p.kind == ProvisionKind.RANGE else p.value
        if value is None:
            continue
        comparator = _comparator(p, norm, ph_start)
        copies = 1
        if norm[max(0, p.start - 1):p.start] == "各":
            copies = max(1, _money_in_phrase_before(provisions, i, ph_start))
        unit = p.unit
        for _ in range(copies):
            targets.append(
                Target(indicator=indicator or "", value=value, unit=unit, comparator=comparator, year=year,
                       stretch_value=None, text=text[p.start:p.end], start=p.start, end=p.end, measure=None)
            )
    return _merge_stretch(targets, norm)


class _SpanFacts:
    """What the goal tests need to know about each sentence, clause and phrase, worked out once
    per span rather than once per figure in it: a page flattened without full stops is one long
    sentence, and rescanning it for every figure made the stage quadratic."""

    def __init__(self, norm: str) -> None:
        self.norm = norm
        self._benefit: dict[tuple[int, int], bool] = {}
        self._eligibility: dict[tuple[int, int], bool] = {}
        self._goal: dict[tuple[int, int], bool] = {}
        self._percent: dict[tuple[int, int], list[int]] = {}  # ends of 力争/目标/年均… matches
        self._years: dict[tuple[int, int], list[tuple[int, int]]] = {}  # (end, year) of 2025年

    def benefit(self, start: int, end: int) -> bool:
        key = (start, end)
        if key not in self._benefit:
            self._benefit[key] = _BENEFIT_RE.search(self.norm, start, end) is not None
        return self._benefit[key]

    def eligibility(self, start: int, end: int) -> bool:
        key = (start, end)
        if key not in self._eligibility:
            self._eligibility[key] = _ELIGIBILITY_RE.search(self.norm[start:end]) is not None
        return self._eligibility[key]

    def goal(self, start: int, end: int) -> bool:
        key = (start, end)
        if key not in self._goal:
            self._goal[key] = _GOAL_MARKER_RE.search(self.norm[start:end]) is not None
        return self._goal[key]

    def percent_marker_before(self, start: int, end: int, pos: int) -> bool:
        key = (start, end)
        ends = self._percent.get(key)
        if ends is None:
            ends = self._percent[key] = [start + m.end() for m in _PCT_MARKER_RE.finditer(self.norm[start:end])]
        return bool(ends) and ends[0] <= pos

    def last_year_before(self, start: int, end: int, pos: int) -> int | None:
        key = (start, end)
        years = self._years.get(key)
        if years is None:
            years = self._years[key] = [
                (start + m.end(), int(m.group(1))) for m in _YEAR_RE.finditer(self.norm[start:end])
            ]
        i = bisect.bisect_right(years, (pos, 10**6))
        return years[i - 1][1] if i else None


def _count_follows(provisions: list[Provision], i: int, ph_start: int, ph_end: int) -> bool:
    """Whether a non-money count or quantity follows provision i in its phrase. Provisions are in
    text order, so the walk stops at the phrase end instead of scanning the rest of the measure."""
    for j in range(i + 1, len(provisions)):
        q = provisions[j]
        if q.start >= ph_end:
            return False
        if (
            q.kind in (ProvisionKind.COUNT, ProvisionKind.QUANTITY, ProvisionKind.RANGE)
            and not _is_money(q)
            and ph_start <= q.start
        ):
            return True
    return False


def _money_in_phrase_before(provisions: list[Provision], i: int, ph_start: int) -> int:
    """Money figures before provision i in its phrase (walking back to the phrase start)."""
    n = 0
    for j in range(i - 1, -1, -1):
        q = provisions[j]
        if q.start < ph_start:
            break
        if _is_money(q):
            n += 1
    return n


def _merge_stretch(targets: list[Target], norm: str) -> list[Target]:
    """保持在8%左右、力争达到9%: the second figure is the stretch goal of the first."""
    out: list[Target] = []
    for t in targets:
        if out:
            prev = out[-1]
            between = norm[prev.end:t.start]
            if prev.unit == t.unit and re.fullmatch(r"[、,，]?\s*力争(?:达到|达|超过)?", between):
                out[-1] = prev.model_copy(update={"stretch_value": Decimal(t.value), "end": t.end,
                                                  "text": prev.text + between + t.text})
                continue
        out.append(t)
    return out
