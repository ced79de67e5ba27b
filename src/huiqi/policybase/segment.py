"""Word segmentation for the full-text index.

Indexing and querying must cut text the same way, so both go through this module and
its private jieba tokenizer: words other code adds to jieba's global dictionary cannot
shift the index's word boundaries between ingest and search.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from functools import lru_cache

import jieba

# Full-width ASCII (Ａ-Ｚ, ０-９ …) folds to half-width and ASCII to lower case; both are
# one-to-one per character, so offsets found in the folded text are valid in the original.
# str.translate is single-pass, so full-width capitals map straight to lower case.
_FOLD = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FOLD[0x3000] = 0x20
_FOLD.update({cp: cp + 32 for cp in range(ord("A"), ord("Z") + 1)})
_FOLD.update({cp: cp - 0xFEE0 + 32 for cp in range(0xFF21, 0xFF3B)})

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


def fold(text: str) -> str:
    return text.translate(_FOLD)


def _jieba() -> jieba.Tokenizer:
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            # jieba logs a failed cache write with a traceback; a failed write only costs time.
            jieba.setLogLevel(logging.CRITICAL)
            tk = jieba.Tokenizer()
            tk.tmp_dir = _cache_dir()
            tk.initialize()
            _tokenizer = tk
        return _tokenizer


def _cache_dir() -> str | None:
    """A directory of this user's for jieba's dictionary cache.

    jieba's default, /tmp/jieba.cache, belongs to whoever ran first: any other user can
    neither read nor replace it, so each of their runs rebuilt the dictionary, printed a
    traceback and left a 9 MB temporary file in /tmp.
    """
    candidates = [os.environ.get("HUIQI_CACHE_DIR"), os.environ.get("XDG_CACHE_HOME") and
                  os.path.join(os.environ["XDG_CACHE_HOME"], "huiqi"),
                  os.path.join(os.path.expanduser("~"), ".cache", "huiqi"),
                  os.path.join(tempfile.gettempdir(), f"huiqi-cache-{os.getuid() if hasattr(os, 'getuid') else 0}")]
    for candidate in candidates:
        if not candidate:
            continue
        try:
            os.makedirs(candidate, mode=0o700, exist_ok=True)
        except OSError:
            continue
        if os.access(candidate, os.W_OK | os.X_OK):
            return candidate
    return None


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


def segment(text: str) -> str:
    """Index form of ``text``: search-mode tokens (words and their sub-words) joined by spaces.

    Search mode emits 技术改造 together with 技术 and 改造, so a query for either part
    still finds the compound.
    """
    tokens = (t.strip() for t in _jieba().cut_for_search(fold(text)))
    return " ".join(t for t in tokens if t and _is_word(t))


@lru_cache(maxsize=256)
def _to_simplified(text: str) -> str:
    import opencc

    return str(opencc.OpenCC("t2s").convert(text))


def normalize_query(text: str) -> str:
    """Queries may be typed in traditional script; the index holds simplified text."""
    return fold(_to_simplified(text.strip()))


def query_terms(query: str) -> list[str]:
    """Precise-mode words of an already normalised query, unique, punctuation dropped."""
    seen: dict[str, None] = {}
    for token in _jieba().cut(query):
        token = token.strip()
        if token and _is_word(token):
            seen.setdefault(token, None)
    return list(seen)
