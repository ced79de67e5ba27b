"""Detect and repair GBK mojibake caused by one-byte misalignment.

When a GBK page is re-decoded starting one byte off (a lost lead byte, a
copy-paste through a broken converter), every following pair of bytes becomes a
different, usually rare, character until an ASCII-range byte puts the decoder back
in step. Such a run looks like ``?!傲阃恋亍奔几捻椖浚訉…``: rare or off-script
characters clustered together, with stray ``?`` (the lost byte) and ASCII marks
between them. Because GBK maps bytes to characters one-to-one, encoding the run
back to GBK and decoding it one byte shifted recovers the text; bytes that were
lost are guessed only when the guess forms a dictionary word with its known
neighbours (or is the CJK punctuation that such runs typically start on), and
otherwise shown as □ and reported as unreadable. A repair is accepted only when it
makes the text clearly more plausible; nothing is ever dropped silently.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jieba
import opencc

from huiqi.document import RepairedSpan, Span
from huiqi.ingest.boilerplate import OffsetMap

MISSING = "□"  # conventional mark for an illegible character in Chinese typesetting

_MAX_WORD = 4
# Characters rarer than this (summed dictionary frequency, both scripts) count as
# suspect when they are not part of any dictionary word in context.
_RARE = 6000
_UNKNOWN = -1  # a byte we know existed but whose value was lost
_EXHAUSTIVE_RUN = 80


@dataclass(frozen=True)
class Lexicon:
    freq: dict[str, int]
    words: dict[str, int]
    punct: frozenset[str]

    def char_freq(self, ch: str) -> int:
        return self.freq.get(ch, 0)


_COMMON_PUNCT = frozenset("。，、；：？！“”‘’（）《》〈〉【】—…·「」『』〔〕,.;:?!()<>-%/")


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """Character and word frequencies from jieba's dictionary, in both scripts."""
    dict_path = Path(jieba.__file__).parent / "dict.txt"
    words: list[str] = []
    freqs: list[int] = []
    with dict_path.open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.split(" ")
            if len(parts) >= 2 and parts[1].isdigit():
                words.append(parts[0])
                freqs.append(int(parts[1]))
    joined = "\n".join(words)
    # OpenCC's standard forms (爲, 纔) differ from the Taiwan ones (為, 才) that
    # pages actually use, so both traditional variants feed the tables.
    variants: list[list[str]] = []
    for config in ("s2t", "s2tw"):
        converted = str(opencc.OpenCC(config).convert(joined)).split("\n")
        variants.append(converted if len(converted) == len(words) else words)
    char_freq: Counter[str] = Counter()
    word_freq: dict[str, int] = {}
    for idx, (simp, f) in enumerate(zip(words, freqs, strict=True)):
        for ch in simp:
            char_freq[ch] += f
        forms = {simp}
        for variant in variants:
            trad = variant[idx]
            if trad in forms:
                continue
            forms.add(trad)
            for a, b in zip(simp, trad, strict=False):
                if a != b:
                    char_freq[b] += f
        if 2 <= len(simp) <= _MAX_WORD and f >= 3:
            for form in forms:
                word_freq[form] = max(word_freq.get(form, 0), f)
    return Lexicon(freq=dict(char_freq), words=word_freq, punct=_COMMON_PUNCT)


# --- character classes ---------------------------------------------------------


def is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\uf900" <= ch <= "\ufaff"


def _is_odd(ch: str) -> bool:
    """Characters that do not occur in Chinese policy prose but do in GBK mojibake."""
    o = ord(ch)
    return (
        0x3040 <= o <= 0x30FF  # kana
        or 0x3130 <= o <= 0x318F or 0xAC00 <= o <= 0xD7AF  # hangul
        or 0x2500 <= o <= 0x257F  # box drawing
        or 0xE000 <= o <= 0xF8FF  # private use (GBK user area)
        or 0xFF21 <= o <= 0xFF3A or 0xFF41 <= o <= 0xFF5A  # full-width Latin letters
        or 0x0370 <= o <= 0x03FF or 0x0400 <= o <= 0x04FF  # Greek, Cyrillic
        or 0x0100 <= o <= 0x024F  # pinyin letters with tone marks
        or 0x3100 <= o <= 0x312F  # bopomofo
        or 0x2474 <= o <= 0x24FF  # enclosed alphanumerics after ①-⑳
    )


def _coverage(text: str, lex: Lexicon) -> list[bool]:
    """For each char: is it inside some dictionary word (2-4 chars) of the text?"""
    covered = [False] * len(text)
    n = len(text)
    for i in range(n):
        if not is_han(text[i]):
            continue
        for size in range(2, _MAX_WORD + 1):
            if i + size > n:
                break
            if text[i : i + size] in lex.words:
                for j in range(i, i + size):
                    covered[j] = True
    return covered


def _suspect_flags(text: str, lex: Lexicon) -> list[int]:
    """2 = strong (odd char, '?' between Han), 1 = rare Han outside any word, 0 = fine."""
    covered = _coverage(text, lex)
    flags = [0] * len(text)
    for i, ch in enumerate(text):
        if _is_odd(ch):
            flags[i] = 2
        elif is_han(ch):
            if not covered[i] and lex.char_freq(ch) < _RARE:
                flags[i] = 1
        elif ch == "?":
            near_han = (i > 0 and is_han(text[i - 1])) or (i + 1 < len(text) and is_han(text[i + 1]))
            if near_han:
                flags[i] = 2
    return flags


@dataclass
class _Run:
    start: int
    end: int


def find_suspect_runs(text: str) -> list[tuple[int, int]]:
    """Clusters of suspect characters that look like mojibake, as (start, end)."""
    lex = lexicon()
    flags = _suspect_flags(text, lex)
    runs: list[_Run] = []
    current: _Run | None = None
    count = weight = 0
    for i, f in enumerate(flags):
        if not f:
            continue
        if current is not None and i - current.end <= 2 and "\n" not in text[current.end : i]:
            current.end = i + 1
            count += 1
            weight += f
            continue
        if current is not None and _qualifies(current, count, weight):
            runs.append(current)
        current, count, weight = _Run(i, i + 1), 1, f
    if current is not None and _qualifies(current, count, weight):
        runs.append(current)
    # One misaligned stretch can contain a few accidentally common characters that
    # split it in two; a run only ends where the decoder got back in step.
    merged: list[_Run] = []
    for r in runs:
        if merged and r.start - merged[-1].end <= 4 and "\n" not in text[merged[-1].end : r.start]:
            merged[-1].end = r.end
        else:
            merged.append(r)
    return [(r.start, r.end) for r in merged]


def _qualifies(run: _Run, count: int, weight: int) -> bool:
    length = run.end - run.start
    return count >= 3 and weight >= 4 and count / length >= 0.4


# --- byte-level re-decoding ------------------------------------------------------

def _char_byte_options(ch: str, fullwidth_folded: bool) -> list[list[int]] | None:
    if ch == "?":
        return [[_UNKNOWN]]
    if ch == MISSING:
        return [[_UNKNOWN, _UNKNOWN]]
    o = ord(ch)
    if o < 0x80:
        opts = [[o]]
        if fullwidth_folded and 0x21 <= o <= 0x7E:
            # The page had a full-width mark (A3xx in GBK) that was later folded to ASCII.
            opts.append([0xA3, o + 0x80])
        return opts
    try:
        return [list(ch.encode("gbk"))]
    except UnicodeEncodeError:
        return None


def _decode_pair(lead: int, trail: int) -> str | None:
    try:
        ch = bytes([lead, trail]).decode("gbk")
    except UnicodeDecodeError:
        return None
    return ch if len(ch) == 1 else None


@lru_cache(maxsize=4096)
def _candidates_for(lead: int, trail: int) -> tuple[str, ...]:
    """All characters a pair with one unknown byte (-1) could have been."""
    out: list[str] = []
    if lead == _UNKNOWN and trail == _UNKNOWN:
        return ()
    if lead == _UNKNOWN:
        for b in range(0x81, 0xFF):
            ch = _decode_pair(b, trail)
            if ch:
                out.append(ch)
    else:
        for b in itertools.chain(range(0x40, 0x7F), range(0x80, 0xFF)):
            ch = _decode_pair(lead, b)
            if ch:
                out.append(ch)
    return tuple(out)


@dataclass
class _Slot:
    char: str  # decoded char, or "" when it must be guessed
    candidates: tuple[str, ...] = ()


def _decode_stream(stream: list[int]) -> list[_Slot] | None:
    slots: list[_Slot] = []
    i = 0
    n = len(stream)
    while i < n:
        b = stream[i]
        if b != _UNKNOWN and b < 0x80:
            slots.append(_Slot(chr(b)))
            i += 1
            continue
        if i + 1 >= n:
            return None
        t = stream[i + 1]
        if b == _UNKNOWN or t == _UNKNOWN:
            slots.append(_Slot("", _candidates_for(b, t)))
        else:
            if not (0x81 <= b <= 0xFE):
                return None
            ch = _decode_pair(b, t)
            if ch is None:
                return None
            slots.append(_Slot(ch))
        i += 2
    return slots


def _resolve(
    slots: list[_Slot], left: str, right: str, lex: Lexicon, doc_bigrams: Counter[str]
) -> tuple[str, int, int]:
    """Fill guessed slots; returns (text, guessed, missing).

    A guess must form a word with a known neighbour. Words the document itself
    uses elsewhere weigh most (a place name such as 临海 recurs; 临危 does not),
    then dictionary frequency.
    """
    chars = [s.char for s in slots]
    guessed = missing = 0
    for k, slot in enumerate(slots):
        if slot.char:
            continue
        before = (left + "".join(chars[:k]))[-3:]
        after = ("".join(chars[k + 1 :]) + right)[:3]
        best, best_score = "", 0
        for cand in slot.candidates:
            if not is_han(cand):
                continue
            score = 0
            for size in range(1, 4):
                forms: list[str] = []
                if len(before) >= size and is_han(before[-1]):
                    forms.append(before[-size:] + cand)
                if len(after) >= size and is_han(after[0]):
                    forms.append(cand + after[:size])
                for w in forms:
                    score = max(score, lex.words.get(w, 0) + (200 * doc_bigrams[w] if size == 1 else 0))
            if score > best_score:
                best, best_score = cand, score
        if best and best_score >= 50:
            chars[k] = best
            guessed += 1
            continue
        punct = [c for c in slot.candidates if c in _GUESSABLE_PUNCT]
        if punct:
            chars[k] = punct[0]
            guessed += 1
            continue
        chars[k] = MISSING
        missing += 1
    return "".join(chars), guessed, missing


# Runs typically begin on punctuation whose lead byte (A1) was lost.
_GUESSABLE_PUNCT = "。，、；：·“”（）《》"


def _char_score(ch: str, covered: bool, lex: Lexicon) -> float:
    if ch == MISSING:
        return -0.3
    if _is_odd(ch):
        return -1.0
    if ch == "?":
        return -0.8
    if is_han(ch):
        base = min(math.log10(lex.char_freq(ch) + 1), 5.5) / 5.5
        return base + (1.0 if covered else -0.4)
    if ch in lex.punct or ch.isspace():
        return 0.6
    if ch.isdigit():
        return 0.5
    if ch.isascii() and ch.isalpha():
        return 0.1
    return -0.5  # stray symbols such as @ ^ ~ between Han characters


def plausibility(text: str) -> float:
    """Sum of per-character plausibility; higher means more like ordinary Chinese prose."""
    lex = lexicon()
    covered = _coverage(text, lex)
    return sum(_char_score(c, cov, lex) for c, cov in zip(text, covered, strict=True))


def _fold_fullwidth(text: str) -> str:
    return "".join(chr(ord(c) - 0xFEE0) if 0xFF01 <= ord(c) <= 0xFF5E else c for c in text)


@dataclass
class _Candidate:
    start: int
    end: int
    text: str
    score: float
    guessed: int
    missing: int
    method: str


def _stream_variants(stream: list[int]) -> list[tuple[str, list[int]]]:
    variants: list[tuple[str, list[int]]] = []
    heads: list[tuple[str, list[int]]] = [
        ("drop-first", stream[1:]),
        ("lost-lead", [_UNKNOWN, *stream]),
    ]
    if stream and stream[0] == _UNKNOWN:
        heads.append(("as-is", stream))
    for head_name, s in heads:
        variants.append((head_name, s))
        if len(s) % 2:
            variants.append((head_name + "+lost-trail", [*s, _UNKNOWN]))
            variants.append((head_name + "+drop-last", s[:-1]))
    return variants


def _repair_window(
    text: str,
    start: int,
    end: int,
    fullwidth_folded: bool,
    lex: Lexicon,
    doc_bigrams: Counter[str],
    exhaustive: bool = True,
) -> list[_Candidate]:
    options: list[list[list[int]]] = []
    for ch in text[start:end]:
        opts = _char_byte_options(ch, fullwidth_folded)
        if opts is None:
            return []
        if not exhaustive and len(opts) > 1:
            # Long runs: marks below 0x40 cannot be GBK trail bytes, so they were full-width.
            opts = [opts[1] if ord(ch) < 0x40 else opts[0]]
        options.append(opts)
    multi = [i for i, o in enumerate(options) if len(o) > 1]
    if len(multi) > 5:  # too many ASCII marks: this is not a byte run
        return []
    left, right = text[max(0, start - 4) : start], text[end : end + 4]
    out: list[_Candidate] = []
    for choice in itertools.product(*(options[i] for i in multi)):
        picked = dict(zip(multi, choice, strict=True))
        stream = [b for i, o in enumerate(options) for b in picked.get(i, o[0])]
        for name, variant in _stream_variants(stream):
            slots = _decode_stream(variant)
            if not slots:
                continue
            repaired, guessed, missing = _resolve(slots, left, right, lex, doc_bigrams)
            if name.startswith("drop-first") and stream[0] == _UNKNOWN:
                # The dropped byte stood for lost text: show the loss, never hide it.
                repaired = MISSING + repaired
            repaired = "".join(MISSING if _is_odd(c) else c for c in repaired)
            if fullwidth_folded:
                repaired = _fold_fullwidth(repaired)
            missing = repaired.count(MISSING)
            out.append(_Candidate(start, end, repaired, 0.0, guessed, missing, name))
    return out


@dataclass
class MojibakeResult:
    """Repaired text; ``repaired``/``unreadable`` offsets index the input text and
    ``offsets`` maps positions of ``text`` back to the input."""

    text: str
    repaired: list[RepairedSpan] = field(default_factory=list)
    unreadable: list[Span] = field(default_factory=list)
    suspect_runs: int = 0
    offsets: OffsetMap | None = None

    def to_input(self, offset: int) -> int:
        return offset if self.offsets is None else self.offsets.to_input(offset)

    @property
    def changed(self) -> bool:
        return bool(self.repaired)


def repair_mojibake(text: str) -> MojibakeResult:
    """Find misaligned-GBK runs and repair those a re-decoding clearly improves.

    ``repaired`` and ``unreadable`` offsets index the input ``text``.
    """
    lex = lexicon()
    runs = find_suspect_runs(text)
    if not runs:
        return MojibakeResult(text=text, offsets=OffsetMap.identity(len(text)))
    fullwidth_folded = _folds_fullwidth(text)
    doc_bigrams = _bigrams_outside(text, runs)
    pieces: list[str] = []
    repaired: list[RepairedSpan] = []
    unreadable: list[Span] = []
    offsets = OffsetMap(src_length=len(text))
    out_len = 0
    cursor = 0
    for run_start, run_end in runs:
        if run_start < cursor:
            continue
        best = _best_repair(text, run_start, run_end, cursor, fullwidth_folded, lex, doc_bigrams)
        if best is None:
            unreadable.append(Span(start=run_start, end=run_end, text=text[run_start:run_end],
                                   reason="疑似乱码,无法可靠修复,保留原文"))
            continue
        cand, confidence = best
        offsets.add(out_len, cursor, cand.start - cursor)
        pieces.append(text[cursor : cand.start])
        out_len += cand.start - cursor
        # Repaired characters are new text: they map to no single input position.
        pieces.append(cand.text)
        out_len += len(cand.text)
        cursor = cand.end
        repaired.append(
            RepairedSpan(start=cand.start, end=cand.end, original=text[cand.start : cand.end],
                         repaired=cand.text, confidence=round(confidence, 2),
                         method=f"gbk-realign:{cand.method}")
        )
        if cand.missing:
            unreadable.append(Span(start=cand.start, end=cand.end, text=text[cand.start : cand.end],
                                   reason=f"乱码修复后仍有{cand.missing}个字符无法恢复(以{MISSING}标出)"))
    offsets.add(out_len, cursor, len(text) - cursor)
    pieces.append(text[cursor:])
    offsets.out_length = out_len + len(text) - cursor
    return MojibakeResult(text="".join(pieces), repaired=repaired, unreadable=unreadable,
                          suspect_runs=len(runs), offsets=offsets)


def _bigrams_outside(text: str, runs: list[tuple[int, int]]) -> Counter[str]:
    """Han bigrams of the document's readable part: its own vocabulary."""
    counts: Counter[str] = Counter()
    pos = 0
    for start, end in [*runs, (len(text), len(text))]:
        chunk = text[pos:start]
        counts.update(chunk[i : i + 2] for i in range(len(chunk) - 1)
                      if is_han(chunk[i]) and is_han(chunk[i + 1]))
        pos = end
    return counts


def _folds_fullwidth(text: str) -> bool:
    """Was the page's full-width punctuation folded to ASCII (NFKC) after decoding?"""
    ascii_marks = len(re.findall(r"(?<=[\u4e00-\u9fff])[,:;()]|[,:;()](?=[\u4e00-\u9fff])", text))
    wide_marks = len(re.findall(r"[，：；（）]", text))
    return ascii_marks > wide_marks


def _best_repair(
    text: str,
    run_start: int,
    run_end: int,
    floor: int,
    fullwidth_folded: bool,
    lex: Lexicon,
    doc_bigrams: Counter[str],
) -> tuple[_Candidate, float] | None:
    # The detector's edges are fuzzy: mangled characters can happen to be common,
    # and the run may begin on a character that merely looks fine. Try nearby edges
    # and judge every candidate inside the same fixed window.
    win_start = max(floor, run_start - 8)
    win_end = min(len(text), run_end + 8)
    window = text[win_start:win_end]
    base = plausibility(window)
    best: _Candidate | None = None
    # Long runs get a narrower search so the cost stays linear in the text length.
    exhaustive = run_end - run_start <= _EXHAUSTIVE_RUN
    reach = 4 if exhaustive else 1
    for s in range(max(floor, run_start - reach), min(run_start + reach - 1, run_end - 1) + 1):
        if "\n" in text[s:run_start]:
            continue
        for e in range(max(run_end - reach + 2, s + 2), min(len(text), run_end + reach) + 1):
            if "\n" in text[run_end:e]:
                break
            for cand in _repair_window(text, s, e, fullwidth_folded, lex, doc_bigrams, exhaustive):
                trial = text[win_start:s] + cand.text + text[e:win_end]
                # A guessed character is a claim we cannot check: make it cost.
                cand.score = plausibility(trial) - 0.8 * cand.guessed
                if best is None or cand.score > best.score:
                    best = cand
    if best is None:
        return None
    gain = best.score - base
    span_len = best.end - best.start
    if gain < max(3.0, 0.35 * span_len):
        return None
    repaired_cov = _coverage(best.text, lex)
    han = [i for i, c in enumerate(best.text) if is_han(c)]
    covered = sum(1 for i in han if repaired_cov[i]) / len(han) if han else 0.0
    uncertain = (best.guessed + best.missing) / max(len(best.text), 1)
    confidence = max(0.05, min(0.99, (0.45 + 0.5 * covered) * (1 - uncertain)))
    return best, confidence
