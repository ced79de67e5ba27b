"""Bytes → text: encoding detection that prefers the reading a Chinese reader would.

Gov sites serve UTF-8, GBK/GB18030 and (Taiwan/HK-sourced or old) Big5. Detectors
guess; here every plausible codec is actually tried and the one whose output looks
most like Chinese prose wins. Bytes no codec can read are kept as U+FFFD and their
positions returned, so later stages can report them instead of losing text.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from dataclasses import dataclass, field

from charset_normalizer import from_bytes

from huiqi.errors import InputError
from huiqi.ingest.mojibake import is_han, lexicon

REPLACEMENT = "\ufffd"
_COMMON_HAN = 3000  # summed dictionary frequency above which a character is "common"
_MAX_BAD_RATIO = 0.02


@dataclass
class DecodedText:
    text: str
    encoding: str
    bad_spans: list[tuple[int, int]] = field(default_factory=list)


# UTF-32 before UTF-16: the UTF-32-LE mark starts with the UTF-16-LE one.
_BOMS: list[tuple[bytes, str, str]] = [
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
    (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
]
_CODEC_LABEL = {"utf-8": "utf-8", "gb18030": "gb18030", "big5": "big5", "cp950": "big5",
                "big5hkscs": "big5hkscs", "gbk": "gb18030", "gb2312": "gb18030"}


def _normalize_newlines(text: str, bad: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """\r\n and lone \r become \n; bad spans are moved to the new offsets."""
    if "\r" not in text:
        return text, bad
    new_index: list[int] = []
    out: list[str] = []
    n = len(text)
    for i, ch in enumerate(text):
        new_index.append(len(out))
        if ch == "\r" and i + 1 < n and text[i + 1] == "\n":
            continue  # the following \n stands for the pair
        out.append("\n" if ch == "\r" else ch)
    new_index.append(len(out))
    return "".join(out), [(new_index[s], new_index[e]) for s, e in bad]


def _decode_tolerant(data: bytes, encoding: str, max_errors: int) -> tuple[str, list[tuple[int, int]]] | None:
    """Decode, replacing each undecodable sequence by one U+FFFD; None when too damaged."""
    parts: list[str] = []
    bad: list[tuple[int, int]] = []
    out_len = 0
    pos = 0
    decoder_errors = 0
    while pos < len(data):
        try:
            chunk = data[pos:].decode(encoding)
        except UnicodeDecodeError as exc:
            good = data[pos : pos + exc.start].decode(encoding)
            parts.append(good)
            out_len += len(good)
            parts.append(REPLACEMENT)
            if bad and bad[-1][1] == out_len:  # one damaged stretch, one span
                bad[-1] = (bad[-1][0], out_len + 1)
            else:
                bad.append((out_len, out_len + 1))
            out_len += 1
            pos += max(exc.end, exc.start + 1)
            decoder_errors += 1
            if decoder_errors > max_errors:
                return None
            continue
        except LookupError:
            return None
        parts.append(chunk)
        break
    return "".join(parts), bad


def chinese_score(text: str) -> float:
    """Share of characters a Chinese policy reader would expect (common Han, ASCII, punctuation)."""
    lex = lexicon()
    good = total = 0
    # Each distinct character is judged once and weighted by its count (a C-level Counter
    # pass), instead of a Python step per character of every candidate decoding.
    for ch, n in Counter(text).items():
        if ch.isspace():
            continue
        total += n
        if is_han(ch):
            if lex.char_freq(ch) >= _COMMON_HAN:
                good += n
        elif (ch.isascii() and ch.isprintable()) or ch in lex.punct:
            good += n
    return good / total if total else 0.0


# Control bytes other than tab, newline, form feed, carriage return and escape.
_CONTROL_BYTES = bytes(b for b in range(0x20) if b not in (0x09, 0x0A, 0x0C, 0x0D, 0x1B))


def _looks_binary(data: bytes) -> bool:
    sample = data[:65536]
    if b"\x00" in sample:
        return True
    # translate(None, delete) keeps the non-control bytes in C; the length difference counts them.
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return controls > max(8, len(sample) // 100)


def _utf16_without_bom(data: bytes) -> DecodedText | None:
    """UTF-16 text saved without a byte-order mark (NUL bytes everywhere, so it looks binary).

    ASCII in UTF-16 has a NUL in every other byte; Chinese text has none in particular, so
    both byte orders are decoded and kept only if the result reads as Chinese prose.
    """
    sample = data[:65536]
    if len(data) < 4 or b"\x00" not in sample:
        return None
    best: tuple[float, str, str] | None = None
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = data[: len(data) - len(data) % 2].decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text[:20000] if ord(ch) < 0x20 and ch not in "\t\n\r\x0c")
        if controls > max(2, len(text[:20000]) // 200):
            continue
        score = chinese_score(text[:20000])
        if best is None or score > best[0]:
            best = (score, encoding, text)
    if best is None or best[0] < 0.6:
        return None
    text, bad = _normalize_newlines(best[2], [])
    return DecodedText(text, "utf-16", bad)


def decode_bytes(data: bytes, path: str) -> DecodedText:
    """Decode a text file of unknown encoding (UTF-8/16/32 with BOM, UTF-8, GB18030/GBK, Big5)."""
    if not data or not data.strip(b" \t\r\n\x00"):
        raise InputError("文件为空", file=path)
    for bom, encoding, label in _BOMS:
        if data.startswith(bom):
            decoded = _decode_tolerant(data[len(bom) :], encoding, max(16, len(data) // 200))
            if decoded is None:
                raise InputError(f"文件带有 {encoding} 字节顺序标记,但内容无法按该编码解码", file=path)
            text, bad = _normalize_newlines(*decoded)
            return DecodedText(text, label, bad)
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return utf16
    if _looks_binary(data):
        raise InputError("不是文本文件(疑似二进制)", file=path, hint="支持 .txt/.html/.docx/.pdf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        normalized, _ = _normalize_newlines(text, [])
        return DecodedText(normalized, "utf-8", [])

    candidates = ["utf-8", "gb18030", "big5", "big5hkscs"]
    guess = from_bytes(data[:200000]).best()
    if guess is not None:
        name = codecs.lookup(guess.encoding).name
        if name not in candidates and name not in ("ascii",):
            candidates.append(name)
    max_errors = max(4, int(len(data) * _MAX_BAD_RATIO / 2))
    best: tuple[float, str, str, list[tuple[int, int]]] | None = None
    for encoding in candidates:
        decoded = _decode_tolerant(data, encoding, max_errors)
        if decoded is None:
            continue
        text, bad = decoded
        # Every undecodable sequence costs as much as a few wrong characters.
        score = chinese_score(text) - 3.0 * len(bad) / max(len(text), 1)
        if best is None or score > best[0]:
            best = (score, encoding, text, bad)
    if best is None or best[0] < 0.3:
        raise InputError(
            "无法识别文件编码(已尝试 UTF-8、GB18030、Big5),内容可能已损坏",
            file=path,
            hint="请确认文件是文本文件,或先另存为 UTF-8",
        )
    _, encoding, text, bad = best
    text, bad = _normalize_newlines(text, bad)
    return DecodedText(text, _CODEC_LABEL.get(encoding, encoding), bad)


def sniff_declared_charset(data: bytes) -> str | None:
    """The charset an HTML page declares in <meta>, if it names a codec Python knows."""
    head = data[:4096].decode("ascii", errors="replace")
    m = re.search(r"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", head, re.I)
    if not m:
        return None
    try:
        name = codecs.lookup(m.group(1)).name
    except LookupError:
        return None
    # Pages labelled gb2312/gbk routinely contain GBK/GB18030-only characters.
    return {"gb2312": "gb18030", "gbk": "gb18030", "big5": "big5hkscs"}.get(name, name)


def decode_declared(data: bytes, path: str, encoding: str) -> DecodedText | None:
    """Decode with a declared charset; None when the declaration is clearly wrong."""
    decoded = _decode_tolerant(data, encoding, max(4, int(len(data) * _MAX_BAD_RATIO / 2)))
    if decoded is None:
        return None
    text, bad = _normalize_newlines(*decoded)
    if bad and encoding != "utf-8":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:  # declared legacy charset, but the bytes are valid UTF-8: trust the bytes
            return None
    return DecodedText(text, _CODEC_LABEL.get(encoding, encoding), bad)
