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

import hashlib
import itertools
import marshal
import math
import operator
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat
from pathlib import Path

import jieba
import opencc

from huiqi.document import RepairedSpan, Span
from huiqi.fsutil import atomic_open
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
    """Character and word frequencies from jieba's dictionary, in both scripts.

    Building the tables converts the whole dictionary with OpenCC, which takes seconds; every
    process (each ``--jobs`` worker, each CLI run) needs them, so they are kept in a cache file
    keyed by the dictionary and converter versions and rebuilt when that key changes.
    """
    dict_path = Path(jieba.__file__).parent / "dict.txt"
    cache = _lexicon_cache_path(dict_path)
    if cache is not None:
        try:
            freq, words = marshal.loads(cache.read_bytes())
            if isinstance(freq, dict) and isinstance(words, dict):
                return Lexicon(freq=freq, words=words, punct=_COMMON_PUNCT)
        except (OSError, EOFError, ValueError, TypeError):
            pass
    lex = _build_lexicon(dict_path)
    if cache is not None:
        try:
            with atomic_open(cache, "wb") as fh:
                fh.write(marshal.dumps((lex.freq, lex.words)))
        except OSError:
            pass  # a read-only cache directory only costs the rebuild next time
    return lex


def _lexicon_cache_path(dict_path: Path) -> Path | None:
    """Cache file for the lexicon tables; None when caching is switched off (HUIQI_CACHE_DIR="")."""
    root = os.environ.get("HUIQI_CACHE_DIR")
    if root == "":
        return None
    base = Path(root) if root else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "huiqi"
    try:
        stat = dict_path.stat()
    except OSError:
        return None
    key = hashlib.sha256(
        f"{_LEXICON_FORMAT}|{stat.st_size}|{stat.st_mtime_ns}|{getattr(opencc, '__version__', '')}|"
        f"{getattr(jieba, '__version__', '')}|{_MAX_WORD}".encode()
    ).hexdigest()[:16]
    return base / f"lexicon-{key}.marshal"


_LEXICON_FORMAT = 1  # bump when _build_lexicon changes what it computes


def _build_lexicon(dict_path: Path) -> Lexicon:
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

_HAN_CLASS = "\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff"
_HAN_RE = re.compile(f"[{_HAN_CLASS}]")
_HAN_RUN_RE = re.compile(f"[{_HAN_CLASS}]{{2,}}")
# Same ranges as _is_odd; a compiled class scans a whole document in C instead of a
# Python call per character.
_ODD_RE = re.compile(
    "[\u3040-\u30ff\u3130-\u318f\uac00-\ud7af\u2500-\u257f\ue000-\uf8ff\uff21-\uff3a"
    "\uff41-\uff5a\u0370-\u03ff\u0400-\u04ff\u0100-\u024f\u3100-\u312f\u2474-\u24ff]"
)
_FULLWIDTH_FOLD = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}


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


@lru_cache(maxsize=1)
def _rare_han_re() -> re.Pattern[str]:
    """Han characters rarer than _RARE. Built once per process: the common set is a few
    thousand characters, which sre compiles into a bitmap, so a document is scanned in C."""
    lex = lexicon()
    common = "".join(sorted(ch for ch, f in lex.freq.items() if f >= _RARE and _HAN_RE.fullmatch(ch)))
    return re.compile(f"(?![{re.escape(common)}])[{_HAN_CLASS}]")


def _covered_at(text: str, i: int, n: int, words: dict[str, int]) -> bool:
    """Whether text[i] lies inside a dictionary word (2-4 chars) starting on a Han char."""
    for j in range(max(0, i - _MAX_WORD + 1), i + 1):
        if not is_han(text[j]):
            continue
        for size in range(max(2, i - j + 1), _MAX_WORD + 1):
            if j + size > n:
                break
            if text[j : j + size] in words:
                return True
    return False


def _coverage(text: str, lex: Lexicon) -> list[bool]:
    """For each char: is it inside some dictionary word (2-4 chars) of the text?"""
    covered = [False] * len(text)
    n = len(text)
    words = lex.words
    for m in _HAN_RE.finditer(text):
        i = m.start()
        for size in range(2, _MAX_WORD + 1):
            if i + size > n:
                break
            if text[i : i + size] in words:
                for j in range(i, i + size):
                    covered[j] = True
    return covered


def _suspect_flags(text: str, lex: Lexicon) -> list[int]:
    """2 = strong (odd char, '?' between Han), 1 = rare Han outside any word, 0 = fine."""
    flags = [0] * len(text)
    for i, f in _sparse_flags(text, lex):
        flags[i] = f
    return flags


def _sparse_flags(text: str, lex: Lexicon) -> list[tuple[int, int]]:
    """The non-zero entries of :func:`_suspect_flags`, in order.

    Ordinary text has almost no suspect characters, so the classes are found by regex
    and dictionary coverage is checked only around the rare Han characters.
    """
    n = len(text)
    found: dict[int, int] = {m.start(): 2 for m in _ODD_RE.finditer(text)}
    words = lex.words
    for m in _rare_han_re().finditer(text):
        i = m.start()
        if not _covered_at(text, i, n, words):
            found[i] = 1
    q = text.find("?")
    while q >= 0:
        if (q > 0 and is_han(text[q - 1])) or (q + 1 < n and is_han(text[q + 1])):
            found[q] = 2
        q = text.find("?", q + 1)
    return sorted(found.items())


@dataclass
class _Run:
    start: int
    end: int


def find_suspect_runs(text: str) -> list[tuple[int, int]]:
    """Clusters of suspect characters that look like mojibake, as (start, end)."""
    lex = lexicon()
    runs: list[_Run] = []
    current: _Run | None = None
    count = weight = 0
    for i, f in _sparse_flags(text, lex):
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

@lru_cache(maxsize=16384)  # every candidate window re-reads the same characters; callers never mutate
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


@lru_cache(maxsize=65536)  # candidate windows re-decode the same pairs many times
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


def _decode_stream(stream: list[int]) -> tuple[_Slot, ...] | None:
    # Neighbouring candidate windows share most of their byte streams; slots are never
    # mutated, so decoded results can be shared.
    return _decode_bytes(tuple(stream))


@lru_cache(maxsize=8192)
def _decode_bytes(stream: tuple[int, ...]) -> tuple[_Slot, ...] | None:
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
    return tuple(slots)


def _resolve(
    slots: Sequence[_Slot],
    left: str,
    right: str,
    lex: Lexicon,
    doc_bigrams: Counter[str],
    memo: _Memo | None = None,
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
        # The edge search re-decodes the same bytes in many windows, so one document
        # asks for the same (slot, context) guess many times over.
        if memo is None:
            memo = _Memo()
        key = (slot.candidates, before, after)
        guess = memo.guesses.get(key)
        if guess is None:
            guess = memo.guesses[key] = _guess(slot.candidates, before, after, lex, doc_bigrams, memo)
        chars[k] = guess
        if guess == MISSING:
            missing += 1
        else:
            guessed += 1
    return "".join(chars), guessed, missing


@lru_cache(maxsize=4096)
def _han_candidates(candidates: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(c for c in candidates if is_han(c))


@dataclass
class _Memo:
    """Per-document caches of the guessing step (its scores depend on the document's bigrams)."""

    guesses: dict[tuple[tuple[str, ...], str, str], str] = field(default_factory=dict)
    # (context is before the slot, candidates, context) -> best word score per candidate
    sides: dict[tuple[bool, tuple[str, ...], str], list[int]] = field(default_factory=dict)


def _side_scores(
    cands: tuple[str, ...], context: str, before: bool, lex: Lexicon, doc_bigrams: Counter[str], memo: _Memo
) -> list[int]:
    """Best word score of each candidate with the context on one side (0 without Han context).

    The score of a candidate is the best of: the dictionary frequency of the bigram it forms
    with its neighbour plus a bonus of 200 per use of that bigram in this document, and the
    frequency of the 3- and 4-character words it forms. The dictionary part does not depend on
    the document and is shared between documents; only candidates whose bigram the document
    uses get the bonus, and those are found from the document's bigram index.
    """
    key = (before, cands, context)
    scores = memo.sides.get(key)
    if scores is not None:
        return scores
    if not (context and is_han(context[-1] if before else context[0])):
        scores = [0] * len(cands)
        memo.sides[key] = scores
        return scores
    part = context[-3:] if before else context[:3]
    bigram_scores, longer_scores = _dictionary_side_scores(cands, part, before)
    scores = list(map(max, bigram_scores, longer_scores))
    if doc_bigrams:
        edge = context[-1] if before else context[0]
        forms = [edge + c for c in cands] if before else [c + edge for c in cands]
        for i, count in enumerate(map(doc_bigrams.get, forms, repeat(0))):
            if count:
                scores[i] = max(bigram_scores[i] + 200 * count, longer_scores[i])
    memo.sides[key] = scores
    return scores


@lru_cache(maxsize=32768)
def _dictionary_side_scores(cands: tuple[str, ...], part: str, before: bool) -> tuple[list[int], list[int]]:
    """(bigram frequency, best 3-4 character word frequency) of each candidate next to ``part``
    (the up to three context characters on that side). Callers must not mutate the lists."""
    get = lexicon().words.get
    n = len(cands)
    bigram = [0] * n
    longer = [0] * n
    for size in range(1, len(part) + 1):
        piece = part[-size:] if before else part[:size]
        forms = [piece + c for c in cands] if before else [c + piece for c in cands]
        vals = list(map(get, forms, repeat(0)))
        if size == 1:
            bigram = vals
        else:
            longer = list(map(max, longer, vals))
    return bigram, longer


def _guess(
    candidates: tuple[str, ...],
    before: str,
    after: str,
    lex: Lexicon,
    doc_bigrams: Counter[str],
    memo: _Memo,
) -> str:
    """The character a lost byte most plausibly stood for, or MISSING."""
    cands = _han_candidates(candidates)
    best, best_score = "", 0
    if cands:
        left = _side_scores(cands, before, True, lex, doc_bigrams, memo)
        right = _side_scores(cands, after, False, lex, doc_bigrams, memo)
        scores = list(map(max, left, right))
        top = max(scores)
        # the first candidate reaching the maximum, as in a strict ">" scan
        if top > 0:
            best, best_score = cands[scores.index(top)], top
    if best and best_score >= 50:
        return best
    for c in candidates:
        if c in _GUESSABLE_PUNCT:
            return c
    return MISSING


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


# Per-character scores (uncovered, covered): a pure function of the character once the
# lexicon is loaded, and the candidate search scores the same few hundred characters
# thousands of times.
_SCORES: dict[str, tuple[float, float]] = {}


def _scores_of(ch: str, lex: Lexicon) -> tuple[float, float]:
    pair = _SCORES.get(ch)
    if pair is None:
        pair = _SCORES[ch] = (_char_score(ch, False, lex), _char_score(ch, True, lex))
    return pair


@lru_cache(maxsize=16384)
def plausibility(text: str) -> float:
    """Sum of per-character plausibility; higher means more like ordinary Chinese prose."""
    lex = lexicon()
    covered = _coverage(text, lex)
    # Same values summed in the same order as before, so the float result is identical.
    return sum(_scores_of(c, lex)[cov] for c, cov in zip(text, covered, strict=True))


def _fold_fullwidth(text: str) -> str:
    return text.translate(_FULLWIDTH_FOLD)


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
    memo: _Memo | None = None,
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
            repaired, guessed, missing = _resolve(slots, left, right, lex, doc_bigrams, memo)
            if name.startswith("drop-first") and stream[0] == _UNKNOWN:
                # The dropped byte stood for lost text: show the loss, never hide it.
                repaired = MISSING + repaired
            repaired = _ODD_RE.sub(MISSING, repaired)
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
    memo = _Memo()  # guesses depend on doc_bigrams: one memo per document
    pieces: list[str] = []
    repaired: list[RepairedSpan] = []
    unreadable: list[Span] = []
    offsets = OffsetMap(src_length=len(text))
    out_len = 0
    cursor = 0
    for run_start, run_end in runs:
        if run_start < cursor:
            continue
        best = _best_repair(text, run_start, run_end, cursor, fullwidth_folded, lex, doc_bigrams, memo)
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
    pieces: list[str] = []
    pos = 0
    for start, end in [*runs, (len(text), len(text))]:
        # Bigrams only occur inside runs of Han characters: find those runs in C.
        pieces.extend(m.group() for m in _HAN_RUN_RE.finditer(text, pos, max(pos, start)))
        pos = end
    # every run's bigrams, built in C and counted in one pass
    return Counter(itertools.chain.from_iterable(map(operator.add, r, r[1:]) for r in pieces))


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
    memo: _Memo | None = None,
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
            for cand in _repair_window(text, s, e, fullwidth_folded, lex, doc_bigrams, exhaustive, memo):
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
