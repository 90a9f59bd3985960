"""Pinyin URL slugs for Chinese titles.

重庆 → chongqing, 银行行长 → yinhang-hangzhang: words are found by a
dictionary segmenter (jieba-rs), read by pypinyin one word at a time so that
its phrase table picks the right reading of heteronyms (行 in 银行 vs 行长).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Iterable

SLUG_MAX = 60
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Used when a title has nothing readable at all (only symbols, emoji …):
# "wenzhang" is 文章, so such URLs still read as Chinese to a reader.
FALLBACK_SLUG = "wenzhang"

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_HAN_WORD = re.compile(f"{_HAN.pattern}+")
_ALNUM_RUN = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=1)
def _segmenter():  # type: ignore[no-untyped-def]
    # Imported lazily: an incremental build whose titles are all cached never
    # pays for loading the dictionaries.
    import rjieba

    return rjieba


@lru_cache(maxsize=1)
def _pinyin():  # type: ignore[no-untyped-def]
    from pypinyin import Style, lazy_pinyin

    def read(word: str) -> list[str]:
        # NORMAL style has no tones and writes ü as v (绿 → lv), as the
        # contract asks; errors="default" keeps non-Han characters as they are.
        return lazy_pinyin(word, style=Style.NORMAL, errors="default")

    return read


def _split_compound(word: str) -> list[str]:
    """Split a long dictionary word into the shorter words it is made of.

    jieba keeps 银行行长 or 中国联通 whole; a reader expects yinhang-hangzhang
    and zhongguo-liantong. Split only when dictionary words cover it exactly.
    """
    if len(word) < 4 or not _HAN_WORD.fullmatch(word):
        return [word]
    jieba = _segmenter()
    # covers[start]: word[start:] as two- and three-character dictionary
    # words, preferring a two-character word at each step, or None. Filled
    # from the end, so each is worked out once (a memoised recursion made a
    # cache per call, costlier than the words it split).
    covers: list[tuple[str, ...] | None] = [None] * (len(word) + 1)
    covers[len(word)] = ()
    for start in range(len(word) - 2, -1, -1):
        for size in (2, 3):  # prefer two-character words, the common case
            rest = covers[start + size] if start + size <= len(word) else None
            if rest is not None and jieba.has_word(word[start : start + size]):
                covers[start] = (word[start : start + size], *rest)
                break
    parts = covers[0]
    return list(parts) if parts else [word]


def _words(title: str) -> list[str]:
    # Fold accents before segmenting so Café stays one word.
    text = _ascii_fold(unicodedata.normalize("NFKC", title))
    jieba = _segmenter()
    words: list[str] = []
    for token in jieba.cut(text, True):
        if len(token) >= 3 and _HAN.match(token) and not jieba.has_word(token):
            # The HMM guesses unknown words and sometimes glues real ones
            # (阿里云万卡 → 阿里 + 云万卡); its guesses of three or more
            # characters are re-cut by the dictionary alone.
            words.extend(jieba.cut(token, False))
        elif len(token) < 4:  # too short to be a compound: most words
            words.append(token)
        else:
            words.extend(_split_compound(token))
    return words


class _WithoutMarks(dict):  # type: ignore[type-arg]
    """A str.translate() table that deletes combining marks: each character
    is looked up once, then translated in C, not one Python call a character."""

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        kept = self[code] = None if unicodedata.combining(char) else char
        return kept


_WITHOUT_MARKS = _WithoutMarks()


def _ascii_fold(text: str) -> str:
    # é → e, ß stays out: strip combining marks after compatibility decomposition.
    return unicodedata.normalize("NFKD", text).translate(_WITHOUT_MARKS)


@lru_cache(maxsize=200_000)
def _romanise(word: str) -> tuple[str, ...]:
    """One slug word per run of letters/digits, Han read as pinyin without spaces."""
    if _HAN.search(word):
        syllables = _pinyin()(word)
        text = "".join(s if s.isascii() else f" {s} " for s in syllables)
    else:
        text = word
    return tuple(_ALNUM_RUN.findall(text.lower()))


def _truncate(parts: list[str], limit: int) -> str:
    slug = ""
    for part in parts:
        candidate = f"{slug}-{part}" if slug else part
        if len(candidate) > limit:
            break
        slug = candidate
    # A first word longer than the limit has no boundary to cut at.
    return slug or parts[0][:limit]


@lru_cache(maxsize=65536)
def slugify(title: str, limit: int = SLUG_MAX) -> str:
    """The URL slug of a (simplified) title: lowercase ASCII words joined by '-'."""
    parts: list[str] = []
    for word in _words(title):
        parts.extend(_romanise(word))  # cached: the same words recur in every title
    if not parts:
        return FALLBACK_SLUG
    return _truncate(parts, limit)


def is_valid_slug(slug: str) -> bool:
    return len(slug) <= SLUG_MAX and bool(SLUG_PATTERN.match(slug))


def with_suffix(slug: str, n: int, limit: int = SLUG_MAX) -> str:
    """slug-2, slug-3 … for colliding URLs, still within the length limit."""
    suffix = f"-{n}"
    base = slug
    while len(base) + len(suffix) > limit and "-" in base:
        base = base.rsplit("-", 1)[0]
    return base[: limit - len(suffix)] + suffix


def load_tables() -> None:
    """Load the segmenter and the pinyin tables now (a helper does, ahead of the titles)."""
    _segmenter()
    _pinyin()


def slugify_all(texts: Iterable[str]) -> dict[str, str]:
    return {text: slugify(text) for text in texts}
