"""The search stage: a sharded JSON index that the browser queries, no server.

Chinese has no spaces and segmenters miss phrases, so every character bigram
is indexed (and every single character, Latin word, number and the title's
pinyin). Text is folded before indexing and before querying — NFKC, lowercase,
and every traditional/variant character to one representative — so either
script finds either edition. The schema is docs/search-index.md; the browser
side is static/search.js, which must fold and hash exactly as this module does.

Layout under the output root (N documents, S term shards, S a power of two):

    search/manifest.json        counts, editions, issue calendar, page names
    search/fold.json            character folding map (variants → one form)
    search/<ed>/chars.json      simplified → edition characters, for snippets
    search/terms/<s>.json       term → posting list, for crc32(term) % S == s
    search/doc/<id>.json        one article: display fields per edition, text

Why this shape: a query fetches the manifest, the fold map, a few term
shards and the documents it shows; term shards are ~6 KB and their count
grows with the archive, so one query stays within a few hundred KB at any
size. Document ids are in date order (new issues append), and every file is
a pure function of its content, so an edit rewrites only the files it touches.

How it is built: from nothing, the documents are split in ranges, one per
core the caller grants (a build keeps one for its page worker); each range
is tokenised, inverted and its doc files made in its own process, and the
main process joins the ranges' postings (ids only grow from range to range,
so joining is concatenating). Later builds change the index
by difference (see _update); the build cache keeps no per-article terms and
no doc file's bytes, only each doc file's size and digest: the terms an edited
article had are read back from its previous doc file where it was published,
checked against them (a file edited by hand or gone: the index is built again).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import pickle
import re
import signal
import unicodedata
import zlib
from array import array
from collections import defaultdict, deque
from contextlib import suppress
from functools import lru_cache, partial
from itertools import accumulate, chain, compress, repeat
from operator import add, and_, itemgetter, lshift, ne, setitem, sub
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, NamedTuple, NoReturn, Sequence

from .cache import collector_paused
from .convert import Converter
from .model import Article, Body, Newspaper, Site
from .opencc_steps import char_class, package_key, read_shipped

SCHEMA = 1
ROOT = "search"
# Average bytes of a term shard; S is the power of two that gets closest.
SHARD_TARGET = 6 * 1024
# The pinyin of every run of 2 to PINYIN_SPAN title characters is a term, so
# "qinghai" finds 青海湖… and "lvsesuanli" finds 绿色算力 without knowing
# where words begin; the browser splits longer pinyin into such runs.
PINYIN_SPAN = 4
# Readings per character (pypinyin lists the common first) and per run:
# heteronyms are indexed under each reading, so 重庆 is found as chongqing.
PINYIN_READINGS = 2
PINYIN_COMBINATIONS = 8

HAN_CLASS = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAN_RUN = re.compile(f"[{HAN_CLASS}]+")
_FIRST = itemgetter(0)
_LOW32 = 0xFFFFFFFF

# Postings: gaps between sorted doc ids as base-32 varints written with a
# 64-letter alphabet (a letter < 32 ends a number), or "=" + base64url of a
# little-endian bitmap when that is shorter (common terms).
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _varint(value: int) -> str:
    digits = [ALPHABET[value & 31]]
    value >>= 5
    while value:
        digits.append(ALPHABET[32 + (value & 31)])
        value >>= 5
    return "".join(reversed(digits))


# _GAP[g] is the code of a gap g ≥ 1 (stored as g - 1), precomputed because
# encoding runs once per posting and a table lookup is the cheapest there is.
# Made by concatenation, not 32,767 _varint calls: it is built at import, on every build.
_LOW_DIGITS, _HIGH_DIGITS = ALPHABET[:32], ALPHABET[32:]
_GAP = (
    [""]
    + list(_LOW_DIGITS)
    + [h + d for h in _HIGH_DIGITS[1:] for d in _LOW_DIGITS]
    + [a + h + d for a in _HIGH_DIGITS[1:] for h in _HIGH_DIGITS for d in _LOW_DIGITS]
)[:32768]


def encode_postings(ids: Sequence[int]) -> str:
    """Sorted, distinct doc ids → the shortest of the two encodings."""
    count = len(ids)
    if not count:
        return ""
    top = ids[-1] + 1
    if count == 1 and top < len(_GAP):  # most terms are in one document: one table lookup
        return _GAP[top]
    bitmap_len = 1 + -(-((top + 7) // 8) * 4 // 3)
    if count >= bitmap_len:
        return _bitmap(ids, top)
    if top < len(_GAP):  # no gap is larger than the last id + 1
        text = "".join(map(_GAP.__getitem__, map(sub, ids, chain((-1,), ids))))
    else:
        gaps = list(map(sub, ids, chain((-1,), ids)))
        text = "".join(map(_GAP.__getitem__, gaps)) if max(gaps) < len(_GAP) else "".join(_varint(g - 1) for g in gaps)
    if len(text) > bitmap_len:
        return _bitmap(ids, top)
    return text


_BITS = bytes.maketrans(b"\x00\x01", b"01")


def _bitmap(ids: Sequence[int], top: int) -> str:
    return _mask_bitmap(_as_mask(ids, top))


def _as_mask(ids: Sequence[int], top: int | None = None) -> int:
    """Sorted doc ids → the integer with bit i set for each id i."""
    if not ids:
        return 0
    flags = bytearray(ids[-1] + 1 if top is None else top)
    # operator.setitem, not flags.__setitem__: a builtin function is called
    # faster than a slot wrapper, and this runs once per posting of common terms.
    deque(map(setitem, repeat(flags), ids, repeat(1)), 0)
    return int(flags[::-1].translate(_BITS), 2)  # bit i ↔ doc i


def _mask_bitmap(mask: int) -> str:
    raw = mask.to_bytes((mask.bit_length() + 7) // 8, "little")
    return "=" + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_postings(text: str) -> list[int]:
    """The inverse of encode_postings (the browser has its own copy)."""
    if text.startswith("="):
        raw = base64.urlsafe_b64decode(text[1:] + "=" * (-len(text[1:]) % 4))
        number = int.from_bytes(raw, "little")
        return [i for i in range(number.bit_length()) if number >> i & 1]
    ids, value, last = [], 0, -1
    for char in text:
        digit = ALPHABET.index(char)
        value = value * 32 + (digit & 31)
        if digit < 32:
            last += value + 1
            ids.append(last)
            value = 0
    return ids


# -- folding ---------------------------------------------------------------------
# The character tables below cost ~0.2 s to derive (six OpenCC configs are
# loaded for them): they are kept in the build cache as strings and decoded
# only when a build needs them (see _reuse_tables).
_COMPAT: re.Pattern[str] | None = None
_SAVED_COMPAT: str | None = None
_CONVERSIONS: dict[str, Mapping[str, str]] = {}
_SAVED_CONVERSIONS: dict[str, str] = {}  # config → _pair_string of its table


def _compat() -> re.Pattern[str]:
    global _COMPAT
    if _COMPAT is None:
        _COMPAT = re.compile(_SAVED_COMPAT or _shipped().get("compat") or _compat_class())
    return _COMPAT


def _compat_class() -> str:
    """Characters whose NFKC form is a letter, digit or Han (Ａ, １, ⑴, compatibility ideographs).

    Only these need NFKC for indexing; running NFKC over whole bodies would
    cost more than the rest of indexing, and punctuation is a separator anyway.
    """
    wanted = re.compile(f"[0-9A-Za-z{HAN_CLASS}]")
    codes = []
    for code in chain(range(0x80, 0xD800), range(0xE000, 0x10000), range(0x2F800, 0x2FA20)):
        char = chr(code)
        # A character without a decomposition mapping is its own NFKC form:
        # asking unicodedata that first is ten times cheaper than normalising.
        if not unicodedata.decomposition(char):
            continue
        folded = unicodedata.normalize("NFKC", char)
        if folded != char and wanted.search(folded):
            codes.append(code)
    return char_class(codes)


def _nfkc_lower(text: str) -> str:
    text = _compat().sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return text.lower()


# Configs folded together: the editions' own plus the usual ones a reader
# may type in (台灣, 香港 variants), so 裡/裏/里 all meet.
_FOLD_CONFIGS = ("t2s", "tw2s", "hk2s", "s2t", "s2tw", "s2hk")
_CJK_BLOCKS = (range(0x3400, 0x4DC0), range(0x4E00, 0xA000))


def _char_conversions(config: str) -> Mapping[str, str]:
    """Every BMP Han character converted alone with one OpenCC config (only the changes)."""
    table = _CONVERSIONS.get(config)
    if table is None:
        saved = _SAVED_CONVERSIONS.get(config)
        if saved is None:
            saved = _shipped().get("conversions", {}).get(config)
        table = _CONVERSIONS[config] = _pair_dict(saved) if saved is not None else _convert_chars(config)
    return table


def _convert_chars(config: str) -> Mapping[str, str]:
    chars, joined = _cjk_chars()
    converted = Converter(config, "").text(joined).split("\n")
    if len(converted) != len(chars):  # a config that merges lines: trust nothing
        return {}
    # Most characters do not change: the pairs that do are picked in C
    # (compress by map(ne)), not by a comprehension over 27,000 pairs for each of six configs.
    return {a: b for a, b in compress(zip(chars, converted), map(ne, chars, converted)) if len(b) == 1}


@lru_cache(maxsize=1)
def _cjk_chars() -> tuple[list[str], str]:
    chars = [chr(c) for block in _CJK_BLOCKS for c in block]
    return chars, "\n".join(chars)


class _Classes:
    """Union-find over characters that one script writes as another."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, char: str) -> str:
        root = char
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while char != root:
            self.parent[char], char = root, self.parent.get(char, char)
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # The smaller code point is the root: deterministic across builds.
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra


def fold_map(configs: Iterable[str], pairs: Iterable[tuple[str, str]] = (), base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Character → representative of its variant class (only those that change).

    `pairs` are (source, converted) characters seen in context — 看着 → 看著
    makes 着 and 著 one class although t2s keeps 著 as it is. `base` is an
    earlier fold_map(configs) (it depends on OpenCC only; callers cache it).
    """
    classes = _Classes()
    if base is None:
        for config in dict.fromkeys((*_FOLD_CONFIGS, *configs)):
            for a, b in _char_conversions(config).items():
                classes.union(a, b)
        for a, b in _phrase_pairs(tuple(configs)):
            classes.union(a, b)
    else:
        for a, b in base.items():
            classes.union(a, b)
    for a, b in pairs:
        classes.union(a, b)
    members: dict[str, list[str]] = defaultdict(list)
    for char in list(classes.parent):
        members[classes.find(char)].append(char)
    simplify = _char_conversions("t2s")
    targets = set(simplify.values())
    folded: dict[str, str] = {}
    for root, group in members.items():
        group = sorted(set(group) | {root})
        # The representative is a simplified form when there is one, so the
        # folded text of a 简体 source is (almost always) the source itself.
        rep = min(group, key=lambda c: (c in simplify, c not in targets, not "\u4e00" <= c <= "\u9fff", c))
        folded.update({c: rep for c in group if c != rep})
    return folded


@lru_cache(maxsize=4)
def _phrase_pairs(configs: tuple[str, ...]) -> list[tuple[str, str]]:
    """The character pairs the editions' configs make in context, over a
    dictionary of common words (pypinyin's, ~47,000): 了解 → 瞭解 joins 了
    and 瞭 although 了 alone stays 了.

    In the fold map from the start, the pairs an archive's text brings
    later are (nearly always) there already: an edit then never changes
    the fold map, which would mean indexing the whole archive again.
    """
    shipped = _shipped().get("phrases", {})
    pairs: dict[tuple[str, str], None] = {}
    for config in configs:
        found = shipped.get(config)
        pairs.update(dict.fromkeys(zip(found[0::2], found[1::2]) if found is not None else _config_phrase_pairs(config)))
    return list(pairs)


@lru_cache(maxsize=8)
def _config_phrase_pairs(config: str) -> list[tuple[str, str]]:
    """_phrase_pairs of one config (~0.3 s: the words converted, the module of words imported)."""
    from pypinyin.phrases_dict import phrases_dict

    # One regular expression over the joined words, not a test per character of each.
    words = _PHRASE_WORD.findall("\n".join(phrases_dict))
    joined = "\n".join(words)
    converted = Converter(config, "").text(joined)
    # When no word changed length, the characters of the two texts pair up
    # one to one: the pairs are one zip over the whole text, in C.
    found = list(dict.fromkeys(compress(zip(joined, converted), map(ne, joined, converted))))
    if len(converted) == len(joined) and not any("\n" in pair for pair in found):
        return found
    lines = converted.split("\n")
    if len(lines) != len(words):
        return []
    pairs: dict[tuple[str, str], None] = {}
    for source, target in zip(words, lines):
        if source != target and len(source) == len(target):
            pairs.update(dict.fromkeys(_changed_pairs(source, target)))
    return list(pairs)


_PHRASE_WORD = re.compile("^[\u4e00-\u9fff]{2,}$", re.M)


@lru_cache(maxsize=1)
def _opencc_version() -> str:
    """What the OpenCC tables derive from: the installed package's file, by path, size and mtime.

    Not importlib.metadata: it imports a dozen modules and reads every
    distribution's metadata, ~20 ms on every build — a third of an update.
    Installing another version rewrites the file, so this changes too.
    """
    from importlib.util import find_spec

    try:
        spec = find_spec("opencc")
        if spec is None or spec.origin is None:
            return "none"
        stat = os.stat(spec.origin)
    except (ImportError, OSError, ValueError):
        return "unknown"
    return f"{spec.origin}:{stat.st_size}:{stat.st_mtime_ns}"


def normalise(text: str, folding: Mapping[str, str]) -> str:
    """The query normaliser: what both the index and the browser do to text."""
    return _nfkc_lower(text).translate(str.maketrans(dict(folding))) if folding else _nfkc_lower(text)


def _pair_string(mapping: Mapping[str, str]) -> str:
    return "".join(a + b for a, b in sorted(mapping.items()))


def _pair_dict(pairs: str) -> dict[str, str]:
    """The inverse of _pair_string for one-character keys and values."""
    return dict(zip(pairs[0::2], pairs[1::2]))


# -- terms -----------------------------------------------------------------------
def han_terms(text: str, singles: bool = True) -> set[int]:
    """Every Han bigram and (unless not singles) single character of text, as integers.

    Integers, not strings: a bigram is the two code points packed in 64 bits
    (the first in the low half), and the UTF-32-LE bytes of a text already
    are those integers — at every 4-byte offset. Reading them as 64-bit
    numbers from offsets 0 and 4 gives every bigram without a Python loop,
    which matters: this is most of tokenising. A single character c is the
    integer c. The last character of each run of Han characters is paired
    with a separator (0), which is exactly the single character (c, 0) = c.
    """
    runs = set(_HAN_RUN.findall(text))  # a repeated phrase adds nothing
    if not runs:
        return set()
    # Runs joined by the separator: findall + join is cheaper than replacing
    # every run of other characters (punctuation every few characters).
    raw = memoryview(("\x00".join(runs) + "\x00").encode("utf-32-le"))
    size = len(raw)
    grams = set(raw[: size // 8 * 8].cast("Q"))  # bigrams starting at even positions
    grams.update(raw[4 : 4 + (size - 4) // 8 * 8].cast("Q"))  # and at odd ones
    # (separator, first character of a run) is no term: dropped here, not posted.
    grams.difference_update(map(lshift, map(ord, map(_FIRST, runs)), repeat(32)))
    if singles:
        grams.update(set(map(and_, grams, repeat(_LOW32))))
    return grams


def add_singles(index: dict[object, Ids], span: int) -> None:
    """Give every character the postings of the bigrams it starts.

    Bodies are inverted without their single characters (singles=False): a
    character is in a text exactly when a bigram starts with it or it ends a
    run, which han_terms keeps as (c, 0) = c. Uniting postings once per
    character here is much cheaper than a posting per character per article,
    and for a common character it is a few `|` of the masks of its bigrams.
    span: the number of documents indexed (see _compact).
    """
    starts: defaultdict[int, list[Ids]] = defaultdict(list)
    for key, ids in index.items():
        if type(key) is int and key > _LOW32 and key & _LOW32:
            starts[key & _LOW32].append(ids)
    for char, parts in starts.items():
        own = index.get(char)
        if own is not None:
            parts.append(own)
        index[char] = _compact(_union(parts), span)


# -- postings while indexing -------------------------------------------------------
# A term's documents are sorted ids in an array('I') or, once the term is in
# more than one document in MASK_DENSITY, a bit mask (bit i ↔ doc i): a bit a
# document costs less than four bytes a posting then, uniting postings (single
# characters, folded variants, the shares of the archive) is one `|`, and the
# bitmap encoding of a common term is the mask's bytes.
Ids = array | int
MASK_DENSITY = 32


def _compact(ids: Ids, span: int) -> Ids:
    """ids as a mask when the term is in more than one of MASK_DENSITY of span documents."""
    return _as_mask(ids) if type(ids) is not int and len(ids) * MASK_DENSITY > span else ids


def _union(parts: Sequence[Ids]) -> Ids:
    """The documents of any of the parts."""
    if len(parts) == 1:
        return parts[0]
    lists = [p for p in parts if type(p) is not int]
    if len(lists) == len(parts):
        return array("I", sorted(set().union(*lists)))
    mask = 0
    for part in parts:
        if type(part) is int:
            mask |= part
    tops = [ids[-1] for ids in lists if ids]
    if tops:
        flags = bytearray(max(tops) + 1)
        for ids in lists:
            deque(map(setitem, repeat(flags), ids, repeat(1)), 0)
        mask |= int(flags[::-1].translate(_BITS), 2)
    return mask


def _joined(before: Ids, after: Ids) -> Ids:
    """The postings of two consecutive ranges of documents: concatenated, or united as masks."""
    if type(before) is not int and type(after) is not int:
        return before + after
    return (before if type(before) is int else _as_mask(before)) | (after if type(after) is int else _as_mask(after))


def _same(a: Ids, b: Ids) -> bool:
    if type(a) is type(b):
        return a == b
    return (a if type(a) is int else _as_mask(a)) == (b if type(b) is int else _as_mask(b))


def _encode(ids: Ids) -> str:
    return _encode_mask(ids) if type(ids) is int else encode_postings(ids)


def _ids_of(ids: Ids) -> Sequence[int]:
    return _mask_ids(ids) if type(ids) is int else ids


def term_text(code: int) -> str | None:
    """The string of a han_terms integer; None for a pair with a separator."""
    first, second = code & _LOW32, code >> 32
    if not first:
        return None
    return chr(first) + chr(second) if second else chr(first)


# Latin words are runs of [a-z0-9]: in ASCII bytes where everything
# else is a space, they are what split() returns. Three C calls instead of a
# regular expression stepping through every character of a Chinese text.
_LATIN_BYTES = bytes(c if 0x30 <= c <= 0x39 or 0x61 <= c <= 0x7A else 0x20 for c in range(256))


def latin_terms(text: str) -> set[str]:
    """Every run of [a-z0-9] (the text is lowercased already)."""
    return set(text.encode("ascii", "replace").translate(_LATIN_BYTES).decode("ascii").split())


def pinyin_terms(title: str, readings: Mapping[str, Sequence[str]], memo: dict[str, tuple[str, ...]] | None = None) -> set[str]:
    """~ + the pinyin of each run of 2..PINYIN_SPAN Han characters of a title.

    memo: window of PINYIN_SPAN characters → its terms, for titles tokenised
    with the same readings (titles share many windows: 高质量发展, 青海湖).
    """
    memo = {} if memo is None else memo
    size = len(title)
    # The windows and the memo's misses in C: most windows of a title were met before.
    windows = list(map(title.__getitem__, map(slice, range(size - 1), range(PINYIN_SPAN, size + PINYIN_SPAN - 1))))
    for window in set(windows).difference(memo):
        memo[window] = _window_pinyin(window, readings)
    return set().union(*map(memo.__getitem__, windows))


def _window_pinyin(window: str, readings: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The terms of window[:2], window[:3] …, up to a character without a reading."""
    spelled: Sequence[str] = readings.get(window[0], ())
    found: list[str] = []
    for char in window[1:]:
        following = readings.get(char, ())
        if not following or not spelled:
            break
        # Each heteronym multiplies the spellings; a few are enough.
        spelled = [a + b for a in spelled for b in following][:PINYIN_COMBINATIONS]
        found.extend(map("~".__add__, spelled))
    return tuple(found)


def pinyin_readings(chars: Iterable[str], cache: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Han character → its readings (lowercase, no tones, ü as v), remembered across builds."""
    wanted = {c for c in chars if _HAN_RUN.match(c)} - cache.keys()
    if wanted:
        from pypinyin import Style, pinyin

        for char in sorted(wanted):
            found = pinyin(char, style=Style.NORMAL, heteronym=True, errors=lambda _: [""])[0]
            cache[char] = tuple(dict.fromkeys(r for r in found if r.isascii() and r.isalpha()))[:PINYIN_READINGS]
    return cache


def page_term(code: str) -> str:
    return "@" + code.lower()


def shard_of(term: str, shards: int) -> int:
    """crc32 of the UTF-8 term, modulo the (power of two) shard count."""
    return zlib.crc32(term.encode("utf-8")) & (shards - 1)


# -- the documents ---------------------------------------------------------------
class Doc(NamedTuple):
    """One published article as search sees it (a tuple: thousands are made every build)."""

    id: int
    article: Article
    page_name: str
    bodies: Mapping[str, Body]  # every article's: a body is read (and its text made) only when indexed

    @property
    def body(self) -> Body:
        return self.bodies[self.article.key]


class Texts(NamedTuple):
    """Every text an article's terms and doc file are made of, in the source script."""

    kicker: str
    title: str
    subtitle: str
    reporters: str  # joined by spaces
    column: str
    page_name: str
    page_code: str
    body: str

    @property
    def head(self) -> str:
        """引题, 主标题, 副题: a hit here ranks first."""
        return "\n".join(filter(None, (self.kicker, self.title, self.subtitle)))

    @property
    def rest(self) -> str:
        """作者, 栏目, 版名."""
        return "\n".join(filter(None, (self.reporters, self.column, self.page_name)))


def doc_texts(doc: Doc) -> Texts:
    src = doc.article.src
    # The body's text is derived from its HTML here, on first use: an unchanged article never needs it.
    return Texts(src.kicker, src.title, src.subtitle, " ".join(src.reporters), src.column, doc.page_name, doc.article.page_code, doc.body.text)


def _record_texts(record: Mapping[str, object], source: str) -> Texts:
    """The Texts a doc file was made from: its source edition's fields are the texts themselves."""
    fields: Mapping[str, str] = record["e"][source]  # type: ignore[index]
    get = fields.get
    return Texts(get("k", ""), get("t", ""), get("s", ""), get("r", ""), get("c", ""), get("n", ""), record["p"], record["b"])  # type: ignore[arg-type]


def documents(site: Site, bodies: Mapping[str, Body]) -> list[Doc]:
    """Published articles, ids in date order; within a day A01 gets the highest id.

    New issues append ids at the end, so yesterday's shards keep their bytes;
    the browser ranks newest first by sorting ids downwards.
    """
    docs: list[Doc] = []
    for issue in site.issues:
        names: dict[str, str] = {}
        for page in issue.pages:
            names.setdefault(page.code, page.name)
        # Pages and their articles backwards: reversed(issue.articles), without making that tuple.
        for page in reversed(issue.pages):
            for article in reversed(page.articles):
                if not article.src.draft:
                    docs.append(Doc(len(docs), article, names[article.page_code], bodies))
    return docs


# A document's input line: what its terms and its doc file are made of, as
# one string, so that "did anything change" is one comparison of the joined
# lines. The file's digest stands for every text of the file (title, byline,
# body: the pipeline caches rendered bodies under it too).
_FIELD, _LINE = "\x00", "\x01"
_TERMS_FIELDS = slice(1, 4)  # digest, page code, page name: all that terms depend on


def _input_lines(docs: Sequence[Doc], editions: Sequence[str]) -> list[str]:
    """Each document's input line: one f-string each, as this runs on every build."""
    dates: dict[dt.date, str] = {}
    lines = []
    for doc in docs:
        article = doc.article
        date = dates.get(article.date) or dates.setdefault(article.date, article.date.isoformat())
        urls = _FIELD.join([article.urls[e] for e in editions])
        lines.append(f"{article.key}\x00{article.src.digest}\x00{article.page_code}\x00{doc.page_name}\x00{date}\x00{urls}")
    return lines


def _line_key(line: str) -> str:
    return line.partition(_FIELD)[0]


def _terms_key(line: str) -> list[str]:
    return line.split(_FIELD, 4)[_TERMS_FIELDS]


class Terms(NamedTuple):
    """What one article contributes to the index."""

    codes: set[int]  # every Han code of the article (single characters of the head only)
    words: set[str]  # Latin words, the page term
    head_codes: set[int]  # Han codes of the headline, single characters included
    head_words: set[str]  # Latin words of the headline
    spelled: set[str]  # title pinyin: in the headline, so in "head" and "all" alike


def article_terms(texts: Texts, pinyin: Mapping[str, Sequence[str]], windows: dict[str, tuple[str, ...]] | None = None) -> Terms:
    """pinyin: Han character → readings (pinyin_readings); windows: pinyin_terms' memo."""
    head_text = _nfkc_lower(texts.head)
    text = _nfkc_lower(texts.rest + "\n" + texts.body)
    head_codes = han_terms(head_text)
    head_words = latin_terms(head_text)
    # Body bigrams without their single characters: add_singles derives those once per character.
    codes = han_terms(text, singles=False)
    codes |= head_codes
    words = latin_terms(text)
    words |= head_words
    words.add(page_term(texts.page_code))
    return Terms(codes, words, head_codes, head_words, pinyin_terms(_nfkc_lower(texts.title), pinyin, windows))


# -- indexing a range of documents (one per core) -------------------------------------
class _Context(NamedTuple):
    """What indexing a range needs besides the documents (inherited by forked workers)."""

    pinyin: Mapping[str, Sequence[str]]
    editions: tuple[tuple[str, Converter], ...]  # (code, converter) in the paper's order
    windows: dict[str, tuple[str, ...]]  # pinyin_terms' memo, valid with these readings


class _Part(NamedTuple):
    """One range of documents, indexed: postings of raw terms (han_terms codes or words)."""

    every: dict[object, Ids]  # over all fields, single characters included
    head: dict[object, Ids]
    spelled: dict[object, Ids]  # title pinyin: "all" and "head" postings in one
    counts: dict[int, int]  # Han code → documents having it, before add_singles
    files: list[bytes]  # each document's doc file, without its context fixes

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        # From a forked child: tens of thousands of arrays pickle one by one
        # at ~3 µs each (both ways); their ids joined in one bytes object do not.
        return _unpacked_part, (_pack(self.every), _pack(self.head), _pack(self.spelled), self.counts, self.files)


Packed = tuple[list[object], bytes, bytes, dict[object, int]]


def _pack(index: Mapping[object, Ids]) -> Packed:
    """Postings as (terms, their lengths, every id in one run, the masks)."""
    lists = {term: ids for term, ids in index.items() if type(ids) is not int}
    masks = {term: ids for term, ids in index.items() if type(ids) is int}
    return list(lists), array("I", map(len, lists.values())).tobytes(), b"".join(map(array.tobytes, lists.values())), masks  # type: ignore[arg-type]


def _unpack(terms: list[object], lengths: bytes, ids: bytes, masks: dict[object, int]) -> dict[object, Ids]:
    joined = array("I", ids)
    ends = list(accumulate(array("I", lengths)))
    index: dict[object, Ids] = {term: joined[start:end] for term, start, end in zip(terms, chain((0,), ends), ends)}
    index.update(masks)
    return index


def _unpacked_part(every: Packed, head: Packed, spelled: Packed, counts: dict[int, int], files: list[bytes]) -> _Part:
    return _Part(_unpack(*every), _unpack(*head), _unpack(*spelled), counts, files)


def _index_range(docs: Sequence[Doc], context: _Context) -> _Part:
    # Doc ids go straight into arrays: half the memory of lists, which matters
    # when each posting appends to one of thousands of them.
    every: defaultdict[object, array] = defaultdict(_ids)
    head: defaultdict[object, array] = defaultdict(_ids)
    spelled: defaultdict[object, array] = defaultdict(_ids)
    texts = [doc_texts(d) for d in docs]
    for start in range(0, len(docs), BATCH):
        # Tokenised, then posted, a batch at a time: the posting arrays stay in
        # the processor's cache instead of being pushed out after every article.
        made = [article_terms(t, context.pinyin, context.windows) for t in texts[start : start + BATCH]]
        for doc, terms in zip(docs[start : start + BATCH], made):
            _post(every, head, spelled, terms, doc.id)
    counts = {key: len(ids) for key, ids in every.items() if type(key) is int}
    span = len(docs)
    postings = [dict(every), dict(head), dict(spelled)]
    del every, head, spelled
    for index in postings:
        for key, ids in index.items():
            index[key] = _compact(ids, span)
    add_singles(postings[0], span)
    return _Part(*postings, counts, _doc_files(docs, texts, context.editions, {}))


BATCH = 32


def _ids() -> array:
    return array("I")


def _post(every: defaultdict[object, array], head: defaultdict[object, array], spelled: defaultdict[object, array], terms: Terms, doc_id: int) -> None:
    # C-level loops: append doc_id to every term's array without a Python loop;
    # itemgetter fetches all the arrays in one call (a defaultdict makes the missing).
    # Title pinyin is posted once: its "all" and "head" postings are the same.
    for target, keys in ((every, terms.codes), (every, terms.words), (head, terms.head_codes), (head, terms.head_words), (spelled, terms.spelled)):
        if len(keys) > 1:
            deque(map(array.append, itemgetter(*keys)(target), repeat(doc_id)), 0)
        elif keys:
            target[next(iter(keys))].append(doc_id)


# Below this many documents a share, one process does everything: forking costs more.
PARALLEL_DOCS = 400


def _shares(count: int, jobs: int | None) -> int:
    """Into how many processes work on `count` documents is split (jobs: at most; None: a core each)."""
    if not hasattr(os, "fork"):
        return 1
    return max(1, min(jobs or _cores(), count // PARALLEL_DOCS))


def _run_forked(tasks: Sequence[Callable[[], object]], fork: bool = True) -> list[object]:
    """The results of the tasks: the first run in this process, the others in forked children meanwhile.

    Forked, so the children read this process's documents and postings
    without any pickling; only their results come back, pickled through a
    pipe. A child that fails sends nothing and its task is run again here,
    where an error surfaces as usual. Without fork everything runs here.
    """
    if not (fork and hasattr(os, "fork")):
        return [task() for task in tasks]
    children: list[tuple[int, int]] = []  # (pid, read end); pid 0: not forked, run here
    try:
        for task in tasks[1:]:
            children.append(_fork(task))
        results = [tasks[0]()]
        for task, (pid, read) in zip(tasks[1:], children):
            result: object = _NOTHING
            if pid:
                with os.fdopen(read, "rb") as pipe:
                    # Unpickled as it arrives: the whole pickle (tens of MB)
                    # is never held, nor copied as the read grows. A child
                    # that failed midway left it cut short: it does not load.
                    with suppress(EOFError, pickle.UnpicklingError):
                        result = pickle.load(pipe)
                _, status = os.waitpid(pid, 0)  # the pipe is closed: a child still writing stops
                result = result if status == 0 else _NOTHING
            results.append(task() if result is _NOTHING else result)
        children.clear()
        return results
    finally:
        for pid, read in children:  # interrupted: no child outlives the build
            if pid:
                with suppress(OSError):
                    os.close(read)
                with suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)


_NOTHING = object()  # no result came from a child


def _fork(task: Callable[[], object]) -> tuple[int, int]:
    """(pid, read end of its pipe) of a child running task; (0, 0) when fork fails (no memory, no processes)."""
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        return 0, 0
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        os.close(read)
        _child(task, write)
    os.close(write)
    return pid, read


def _child(task: Callable[[], object], write: int) -> NoReturn:  # pragma: no cover
    status = 1
    try:
        with os.fdopen(write, "wb") as pipe:
            pickle.dump(task(), pipe, protocol=pickle.HIGHEST_PROTOCOL)
        status = 0
    finally:
        # No cleanup of the parent's (atexit, buffers, temporary files): not the child's to do.
        os._exit(status)


def _split(count: int, shares: int, head_start: int = 0) -> list[range]:
    """count documents in shares of about equal work, the first `head_start` documents' worth lighter."""
    first = max(0, (count + head_start) // shares - head_start) if shares > 1 else count
    rest = count - first
    step = -(-rest // (shares - 1)) if shares > 1 and rest else max(1, rest)
    return [range(0, first), *(range(start, min(count, start + step)) for start in range(first, count, step))]


# Deriving the character tables (six OpenCC configs) costs about as much as
# indexing this many documents: the share that does it gets fewer.
TABLES_DOCS = 400


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _merge(parts: Sequence[_Part]) -> _Part:
    """One _Part of consecutive ranges: postings concatenated (ids only grow), counts added."""
    every, head, spelled, counts, files = parts[0]
    for part in parts[1:]:
        for mine, theirs in ((every, part.every), (head, part.head), (spelled, part.spelled)):
            for key, ids in theirs.items():
                known = mine.get(key)
                mine[key] = ids if known is None else _joined(known, ids)
        for code, count in part.counts.items():
            counts[code] = counts.get(code, 0) + count
        files += part.files
    return _Part(every, head, spelled, counts, files)


def _strings(index: Mapping[object, Ids]) -> dict[str, Ids]:
    out: dict[str, Ids] = {}
    for key, ids in index.items():
        text = key if type(key) is str else term_text(key)  # type: ignore[arg-type]
        if text is not None:
            out[text] = ids
    return out


def _fold_terms(index: Mapping[str, Ids], folding: Mapping[str, str]) -> dict[str, Ids]:
    """Apply the fold map to term strings; variants that meet have their postings merged."""
    table = str.maketrans(dict(folding))
    out: dict[str, Ids] = {}
    for term, ids in index.items():
        key = term.translate(table) if not term.isascii() else term
        known = out.get(key)
        out[key] = ids if known is None else _union([known, ids])
    return out


# -- doc files -----------------------------------------------------------------------
def _doc_files(docs: Sequence[Doc], texts: Sequence[Texts], editions: Sequence[tuple[str, Converter]], known: Mapping[str, Mapping[str, str]]) -> list[bytes]:
    """Each document's doc file without its context fixes ("x", added by _with_fixes).

    known: edition → source text → converted, from earlier doc files; the
    other short texts (titles, names) are converted in one call per edition.
    """
    shown: dict[str, Mapping[str, str]] = {}
    for code, converter in editions:
        if not converter.identity:
            shown[code] = _convert_texts(converter, chain.from_iterable(map(_display, texts)), known.get(code, {}))
    # Written as _json would write them (keys sorted: b, d, e, p; edition codes;
    # c, k, n, r, s, t, u), by hand: the generic encoder walking thousands of
    # small dicts cost more than the strings' escaping, which stays json's own.
    codes = sorted(code for code, _ in editions)
    files = []
    for doc, text in zip(docs, texts):
        article = doc.article
        source = (text.column, text.kicker, text.page_name, text.reporters, text.subtitle, text.title)
        shown_in = []
        for code in codes:
            table = shown.get(code, {})
            values = (*[table.get(t, t) for t in source], article.urls[code])
            fields = ",".join([f'"{key}":{_STRING(value)}' for key, value in zip("cknrstu", values) if value])
            shown_in.append(f"{_STRING(code)}:{{{fields}}}")
        body, date, page = _STRING(text.body), article.date.isoformat(), _STRING(text.page_code)
        files.append(f'{{"b":{body},"d":"{date}","e":{{{",".join(shown_in)}}},"p":{page}}}'.encode("utf-8"))
    return files


def _display(texts: Texts) -> tuple[str, ...]:
    """The texts a doc file shows per edition, in the order of their keys t, k, s, r, c, n."""
    return texts.title, texts.kicker, texts.subtitle, texts.reporters, texts.column, texts.page_name


def _convert_texts(converter: Converter, texts: Iterable[str], known: Mapping[str, str]) -> dict[str, str]:
    """Distinct short strings (titles, names) → converted: known ones looked up, the others in one call."""
    table = dict(known)
    wanted = sorted({t for t in texts if t and not t.isascii()} - table.keys())
    if wanted:
        joined = converter.text("\n".join(wanted)).split("\n")
        if len(joined) == len(wanted):
            table.update(zip(wanted, joined))
        else:  # a text with a line break: one at a time
            table.update((t, converter.text(t)) for t in wanted)
    return table


def _with_fixes(data: bytes, fixes: Mapping[str, str] | None) -> bytes:
    """A doc file with its context fixes: "x" sorts after every other key, so it is appended."""
    if not fixes:
        return data
    return data[:-1] + b',"x":' + _json(dict(fixes)) + b"}"


def _fixes_by_doc(fixes: Mapping[str, Mapping[str, str]], postings: Mapping[str, Ids]) -> dict[int, dict[str, str]]:
    """For each document, the context fixes its text needs, found through the
    postings of the fixed bigrams (few) rather than by scanning every body."""
    out: defaultdict[int, dict[str, list[str]]] = defaultdict(dict)
    for edition, fix in fixes.items():
        for source, target in sorted(fix.items()):
            for doc_id in _ids_of(postings.get(source, ())):  # type: ignore[arg-type]
                out[doc_id].setdefault(edition, []).append(source + target)
    return {doc_id: {ed: "".join(f) for ed, f in by_edition.items()} for doc_id, by_edition in out.items()}


def _doc_fixes(codes: Iterable[int], fixes: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """One document's context fixes per edition, as _fixes_by_doc finds them for all."""
    grams = _bigrams(codes)
    out = {}
    for edition, fix in fixes.items():
        found = "".join(g + fix[g] for g in grams if g in fix)
        if found:
            out[edition] = found
    return out


# -- conversion in context ---------------------------------------------------------
def _context_effects(bigrams: Sequence[str], converter: Converter) -> dict[str, str]:
    """Bigram → its conversion in context, for the bigrams where that matters:
    it differs from character by character (头发 → 頭髮, not 頭發: a snippet
    fix), or it changes a character (a pair that joins variant classes)."""
    if not bigrams:
        return {}
    converted = converter.text("\n".join(bigrams)).split("\n")
    if len(converted) != len(bigrams):  # a config that merges lines: one at a time
        converted = [converter.text(b) for b in bigrams]
    alone = _char_conversions(converter.config or "")
    return {
        source: target
        for source, target in zip(bigrams, converted)
        if len(target) == 2 and (target != source or source[0] in alone or source[1] in alone)
    }


def _fix_of(source: str, target: str, alone: Mapping[str, str]) -> bool:
    # Unchanged in context can be a fix too: 阿里 stays, though 里 alone is 裡.
    return target != alone.get(source[0], source[0]) + alone.get(source[1], source[1])


def _changed_pairs(source: str, target: str) -> list[tuple[str, str]]:
    return [(a, b) for a, b in zip(source, target) if a != b]


def _bigrams(codes: Iterable[int]) -> list[str]:
    return sorted(t for t in map(term_text, codes) if t is not None and len(t) == 2)


# -- files -------------------------------------------------------------------------
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# How _ENCODER writes a string (ensure_ascii=False), for files written by hand.
_STRING: Callable[[str], str] = json.encoder.encode_basestring  # type: ignore[attr-defined]


def _json(data: object) -> bytes:
    # One encoder for every file: json.dumps with options builds a new one per call.
    return _ENCODER.encode(data).encode("utf-8")


def _shard_count(total_bytes: int, previous: int | None) -> int:
    """A power of two near total/SHARD_TARGET, kept from the last build unless
    it is off by more than a factor of two (a changed count rewrites every shard)."""
    ideal = max(1, total_bytes / SHARD_TARGET)
    if previous and previous / 2 < ideal <= previous * 2:
        return previous
    shards = 1
    while shards * 1.5 < ideal:
        shards *= 2
    return shards


def _weight(term: str, postings: str) -> int:
    return len(term.encode("utf-8")) + len(postings) + 8


def _issue_calendar(docs: Sequence[Doc]) -> dict[str, str]:
    """The issues as the browser needs them to turn a date range into an id range.

    Compact because every query fetches the manifest: per issue, the days
    since the previous issue and its number of articles, as varints — about
    three characters an issue, 11 KB for ten years of a daily.
    """
    days: list[tuple[dt.date, int]] = []
    for doc in docs:
        if days and days[-1][0] == doc.article.date:
            days[-1] = (days[-1][0], days[-1][1] + 1)
        else:
            days.append((doc.article.date, 1))
    if not days:
        return {"first": "", "runs": ""}
    runs, previous = [], days[0][0]
    for day, count in days:
        runs.append(_varint((day - previous).days) + _varint(count))
        previous = day
    return {"first": days[0][0].isoformat(), "runs": "".join(runs)}


def _manifest(site: Site, docs: Sequence[Doc], shards: int, converters: Mapping[str, Converter], labels: dict[str, dict[str, str]]) -> dict[str, object]:
    paper = site.paper
    names: dict[str, set[str]] = defaultdict(set)
    for issue in site.issues:
        for page in issue.pages:
            if page.name:
                names[page.code].add(page.name)
    pages = {}
    for code in sorted(names | {d.article.page_code: set() for d in docs}, key=_page_key):
        pages[code] = "/".join(sorted(names.get(code, ())))
    # Page labels are converted through a small table kept in the cache: a
    # build that converts nothing else never loads OpenCC for them.
    shown = {}
    for e in paper.editions:
        converter = converters[e.code]
        table = {} if converter.identity else _convert_texts(converter, pages.values(), labels.get(e.code, {}))
        shown[e.code] = labels[e.code] = {label: table.get(label, label) for label in pages.values()}
    return {
        "schema": SCHEMA,
        "docs": len(docs),
        "shards": shards,
        "hash": "crc32-utf8",
        "base": paper.base_path,
        "source": paper.source_edition.code,
        "editions": {
            e.code: {"path": e.path, "label": e.label, "chars": None if e.is_source else f"{ROOT}/{e.path}/chars.json"}
            for e in paper.editions
        },
        "issues": _issue_calendar(docs),
        "pages": {code: {e.code: shown[e.code][label] for e in paper.editions} for code, label in pages.items()},
    }


def _page_key(code: str) -> tuple[str, int]:
    match = re.match(r"^([A-Z]*)(\d+)$", code)
    return (match.group(1), int(match.group(2))) if match else (code, 0)


# -- the index kept between builds ----------------------------------------------------
class _Aux:
    """The part of the index state that only an update reads: Han code counts
    and what conversion in context found. Pickled as one blob inside _Index and
    unpickled on first use, so a build that changed nothing never loads it."""

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}  # Han code → documents having it (before add_singles)
        self.chars: dict[str, int] = {}  # Han character of the archive → codes starting with it
        self.effects: dict[str, dict[str, str]] = {}  # edition → bigram → its conversion (_context_effects)
        self.fixes: dict[str, dict[str, str]] = {}  # edition → bigram → conversion differing from char by char
        self.pairs: dict[tuple[str, str], int] = {}  # character pair → bigrams showing it
        self.folding: dict[str, str] = {}

    def __getstate__(self) -> dict[str, object]:
        # Counts as two arrays: a few bytes objects pickle in no time, a dict of ints does not.
        state = dict(self.__dict__)
        state["counts"] = (array("Q", self.counts).tobytes(), array("I", self.counts.values()).tobytes())
        state["chars"] = ("".join(self.chars), array("I", self.chars.values()).tobytes())
        state["folding"] = _pair_string(self.folding)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        codes, counts = state.pop("counts")  # type: ignore[misc]
        chars, numbers = state.pop("chars")  # type: ignore[misc]
        self.__dict__.update(state)
        self.counts = dict(zip(array("Q", codes), array("I", counts)))
        self.chars = dict(zip(chars, array("I", numbers)))
        self.folding = _pair_dict(self.folding)  # type: ignore[arg-type]


class _Index:
    """The search part of the build cache: enough to update the index by difference.

    Every field is a function of the content (and the setup), so an update by
    difference gives the same bytes as a build from nothing. Pickled as a few
    large objects (the lines joined, the shards' bytes, the doc files' sums,
    one blob for _Aux).

    The doc files (most of the index's bytes, one per article) are not kept:
    they are published, and every build would pickle and unpickle them.
    Their sums say which published copy can be trusted (see _published_doc).
    """

    def __init__(self, setup: tuple) -> None:
        self.setup = setup
        self.valid = False  # False while an update is half done: the next build starts over
        self.joined = ""  # the documents' _input_line, joined by _LINE
        self.sums: list[bytes] = []  # doc id → _doc_sum of its file
        self.published = ""  # the folder its doc files were last made for, where they are read back from
        self.shards = 0
        self.total = 0  # the size estimate _shard_count is given
        self.shard_bytes: list[bytes] = []
        self.char_files: dict[str, bytes] = {}  # fold.json and the chars.json
        self.labels: dict[str, dict[str, str]] = {}  # edition → page label → converted
        self._aux: _Aux | None = _Aux()
        self._aux_blob = b""

    @property
    def aux(self) -> _Aux:
        if self._aux is None:
            self._aux = pickle.loads(self._aux_blob)
            self._aux_blob = b""
        return self._aux

    @aux.setter
    def aux(self, value: _Aux) -> None:
        self._aux, self._aux_blob = value, b""

    def lines(self) -> list[str]:
        return self.joined.split(_LINE) if self.joined else []

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        if self._aux is not None:
            state["_aux"], state["_aux_blob"] = None, pickle.dumps(self._aux, protocol=pickle.HIGHEST_PROTOCOL)
        # One bytes object, not a list of thousands: sums are of one size.
        state["sums"] = b"".join(self.sums)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        # Missing from the state of an older version, which the cache's stamp then discards: it must still load.
        joined: bytes = state.pop("sums", b"")  # type: ignore[assignment]
        self.__dict__.update(state)
        starts = range(0, len(joined), _SUM_SIZE)
        self.sums = list(map(joined.__getitem__, map(slice, starts, range(_SUM_SIZE, len(joined) + 1, _SUM_SIZE))))


# -- doc files, kept by their sum ---------------------------------------------------
# A doc file's sum: its size (4 bytes, little-endian) and a 16-byte digest of it.
# Equal sums are taken for equal files: what the state says a published file
# holds, and what an update may read back from it.
_SUM_SIZE = 20


def _doc_sum(data: bytes) -> bytes:
    return len(data).to_bytes(4, "little") + hashlib.md5(data, usedforsecurity=False).digest()  # a checksum, as write.digest_of


def _published_doc(folder: str, doc_id: int, doc_sum: bytes) -> bytes | None:
    """The doc file at doc_id in a published folder when it is the one with that
    sum; None when it is missing, unreadable or not that file (edited by hand,
    or never published: a build that failed after this stage)."""
    if not folder:
        return None
    try:
        with open(f"{folder}/{ROOT}/doc/{doc_id}.json", "rb") as file:
            data = file.read(int.from_bytes(doc_sum[:4], "little") + 1)  # a longer file is told by its length
    except OSError:
        return None
    return data if _doc_sum(data) == doc_sum else None


def _published_docs(index: _Index, doc_ids: Iterable[int]) -> dict[int, bytes] | None:
    """The published files of these doc ids; None if any is not the one the state describes."""
    found = {}
    for doc_id in doc_ids:
        data = _published_doc(index.published, doc_id, index.sums[doc_id])
        if data is None:
            return None
        found[doc_id] = data
    return found


def _remade_doc(doc: Doc, editions: Sequence[tuple[str, Converter]], fixes: Mapping[str, Mapping[str, str]]) -> bytes:
    """A doc file made again from its article alone, as a build from nothing makes it."""
    texts = doc_texts(doc)
    data = _doc_files([doc], [texts], editions, {})[0]
    # The fixes depend on the article's Han codes only: no pinyin readings needed.
    return _with_fixes(data, _doc_fixes(article_terms(texts, {}).codes, fixes))


def search_files(
    site: Site,
    bodies: Mapping[str, Body],
    converters: Mapping[str, Converter],
    state: dict,
    jobs: int | None = None,
    unchanged: set[str] | None = None,
    published: str | os.PathLike[str] | None = None,
) -> Iterator[tuple[str, bytes | Callable[[], bytes]]]:
    """Every file of the search index, paths relative to the output root.

    jobs: how many processes indexing from nothing may use (None: one per
    core). A caller whose own workers keep the cores busy meanwhile passes 1:
    forked shares then only add their overhead (pickling, copy-on-write).
    unchanged: filled, before each file is yielded, with the paths whose
    bytes are those the state held when called (an update keeps every file
    it does not touch), so that a caller who knows the state was published
    need not compare them. For a doc file among them the data may be a
    function giving its bytes: call it only when the published copy cannot be
    kept (it reads the file back, or makes it again). Without `unchanged`
    the data is always bytes.
    published: the output root the files go to; an update reads the doc files
    it needs (an edited article's previous terms) back from there next time.
    """
    paper = site.paper
    docs = documents(site, bodies)
    setup = (
        SCHEMA,
        tuple((e.code, e.path, e.opencc or "", converters[e.code].config or "", converters[e.code].identity) for e in paper.editions),
        _opencc_version(),
    )
    index = state.get("index")
    if not isinstance(index, _Index) or index.setup != setup:
        index = state["index"] = _Index(setup)
    # What the state held on the way in: files still these objects (doc files: these sums) are unchanged.
    shards_before, sums_before, chars_before = list(index.shard_bytes), list(index.sums), dict(index.char_files)
    # Where the doc files the state describes were published: read back from there, not from `published`.
    folder_before = index.published
    editions = [e.code for e in paper.editions]
    lines = _input_lines(docs, editions)
    joined = _LINE.join(lines)
    # A separator inside a field would make two different archives look alike: never trusted then.
    plain = joined.count(_FIELD) == len(lines) * (4 + len(editions)) and joined.count(_LINE) == max(0, len(lines) - 1)
    held: Mapping[int, bytes] = {}  # doc id → its file, for the doc files this call made or read
    # With no folder to read its doc files back from, the state can only be built again.
    if not (plain and index.valid and folder_before and joined == index.joined):
        _reuse_tables(state)
        # Marked invalid while changing: an interrupted update makes the next build start over.
        was_valid, index.valid = index.valid and plain and bool(folder_before), False
        with collector_paused():
            update = _update(index, docs, lines, converters, site, state) if was_valid else None
            held = update if update is not None else _rebuild(index, docs, converters, site, state, jobs)
        index.joined = joined if plain else ""
        index.valid = plain
        _keep_tables(state)
    index.published = os.fspath(published) if published is not None else ""

    for number, data in enumerate(index.shard_bytes):
        if unchanged is not None and number < len(shards_before) and shards_before[number] is data:
            unchanged.add(f"{ROOT}/terms/{number}.json")
        yield f"{ROOT}/terms/{number}.json", data
    kept = partial(_kept_doc, index, folder_before, docs, converters, site)
    for doc_id, doc_sum in enumerate(index.sums):
        path = f"{ROOT}/doc/{doc_id}.json"
        same = doc_id < len(sums_before) and sums_before[doc_id] == doc_sum
        if unchanged is not None and same:
            unchanged.add(path)
        data: bytes | Callable[[], bytes] | None = held.get(doc_id)
        if data is None:  # the file this id had on the way in (same): read back only when asked for
            data = partial(kept, doc_id) if unchanged is not None else kept(doc_id)
        yield path, data
    for name, data in index.char_files.items():
        if unchanged is not None and chars_before.get(name) is data:
            unchanged.add(name)
        yield name, data
    yield f"{ROOT}/manifest.json", _json(_manifest(site, docs, index.shards, converters, index.labels))


def _kept_doc(index: _Index, folder: str, docs: Sequence[Doc], converters: Mapping[str, Converter], site: Site, doc_id: int) -> bytes:
    """A doc file the state kept by its sum: its published copy, or (that one
    gone or edited) made again from its article."""
    doc_sum = index.sums[doc_id]
    data = _published_doc(folder, doc_id, doc_sum)
    if data is None:
        data = _remade_doc(docs[doc_id], tuple((e.code, converters[e.code]) for e in site.paper.editions), index.aux.fixes)
        if _doc_sum(data) != doc_sum:  # the state did not describe its own content: never trusted again
            index.valid = False
    return data


# -- tables shipped with banmian ---------------------------------------------------
# The character tables depend only on OpenCC, pypinyin's words and the
# Unicode version, not on any archive: deriving them costs ~0.75 s of CPU in
# every cold build (loading six OpenCC configs, converting 47,000 words).
# banmian ships them as derived from the versions it is tested with
# (`python -m banmian.search` writes the file), under a digest of what they
# derive from; with any other OpenCC or pypinyin they are derived at build
# time, as before, and kept in the build cache.
SHIPPED_TABLES = Path(__file__).with_name("search-tables.json")
# The configs whose tables are shipped: the fold configs, and those an edition usually has.
SHIPPED_CONFIGS = (*_FOLD_CONFIGS, "s2twp", "s2hk", "s2tw", "s2t")


def _sources_key() -> str:
    """A digest of everything the character tables derive from, by content
    (an install's paths and times differ): OpenCC (opencc_steps.package_key,
    read once per process for the two-step plans too), pypinyin's word list,
    the Unicode version, the schema. Read in a few milliseconds, without
    importing pypinyin."""
    from importlib.util import find_spec

    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{SCHEMA} {unicodedata.unidata_version} {package_key()}".encode())
    pinyin = find_spec("pypinyin")
    if pinyin is None or pinyin.origin is None:
        return ""
    words = Path(pinyin.origin).with_name("phrases_dict.json")
    digest.update(words.name.encode())
    digest.update(words.read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _shipped() -> dict:
    """The shipped tables when they derive from what is installed; else {}."""
    return read_shipped(SHIPPED_TABLES, _sources_key)


def ship_tables(path: Path = SHIPPED_TABLES) -> None:
    """Derive the character tables from the installed OpenCC and pypinyin and write them to ship."""
    tables = {
        "key": _sources_key(),
        "compat": _compat_class(),
        "conversions": {config: _pair_string(_convert_chars(config)) for config in dict.fromkeys(SHIPPED_CONFIGS)},
        "phrases": {config: "".join(a + b for a, b in _config_phrase_pairs(config)) for config in dict.fromkeys(SHIPPED_CONFIGS)},
    }
    path.write_text(json.dumps(tables, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")


def _tables_key() -> tuple[str, str]:
    return unicodedata.unidata_version, _opencc_version()


def _reuse_tables(state: dict) -> None:
    """Take the character tables from the cache: deriving them from unicodedata
    and OpenCC costs ~0.2 s in every new process, more than a one-article update.
    They are decoded when first used (_compat, _char_conversions)."""
    global _SAVED_COMPAT
    saved = state.get("tables")
    if saved is None or saved[0] != _tables_key():
        return
    _SAVED_COMPAT = _SAVED_COMPAT or saved[1]
    for config, pairs in saved[2].items():
        _SAVED_CONVERSIONS.setdefault(config, pairs)


def _keep_tables(state: dict) -> None:
    saved = state.get("tables")
    configs = _SAVED_CONVERSIONS.keys() | _CONVERSIONS.keys()
    compat = _COMPAT.pattern if _COMPAT is not None else _SAVED_COMPAT
    if compat is not None and (saved is None or saved[0] != _tables_key() or saved[2].keys() != configs):
        tables = {c: _SAVED_CONVERSIONS[c] if c in _SAVED_CONVERSIONS else _pair_string(_CONVERSIONS[c]) for c in configs}
        state["tables"] = (_tables_key(), compat, tables)


def _context(titles: Iterable[str], converters: Mapping[str, Converter], site: Site, state: dict) -> _Context:
    """The pinyin of the titles' characters (remembered across builds) and the converters."""
    cache: dict[str, tuple[str, ...]] = state.setdefault("pinyin", {})
    pinyin_readings(set(chain.from_iterable(map(_nfkc_lower, titles))), cache)
    return _Context(cache, tuple((e.code, converters[e.code]) for e in site.paper.editions), {})


def _rebuild(
    index: _Index, docs: Sequence[Doc], converters: Mapping[str, Converter], site: Site, state: dict, jobs: int | None = None
) -> dict[int, bytes]:
    """The whole index from the documents; every doc file, by id (the state keeps their sums)."""
    context = _context((d.article.src.title for d in docs), converters, site, state)
    _compat()  # compiled once, before forking
    shares = _shares(len(docs), jobs)
    # A share of the documents is indexed in each child; this process derives
    # the character tables (kept in the cache afterwards) and indexes the first
    # share, smaller by as much. Its part needs no pickling.
    head_start = 0 if _fold_base_known(site.paper, state) else TABLES_DOCS
    ranges = _split(len(docs), shares, head_start)
    tasks = [partial(_index_range, docs[r.start : r.stop], context) for r in ranges]
    tasks[0] = partial(_after, partial(_fold_base, site.paper, state), tasks[0])
    every, head, spelled, counts, files = _merge(_run_forked(tasks, fork=shares > 1))  # type: ignore[arg-type]
    every.update(spelled)
    head.update(spelled)
    aux = _Aux()
    aux.counts = counts
    aux.chars = _char_counts(counts)
    _context_update(aux, site, converters, _bigrams(counts), ())
    aux.folding = _folding(aux, site, state)
    index.char_files = _char_files(aux, site, converters)

    # Each intermediate is let go as soon as the next is made: the build's
    # peak memory is reached here, with every doc file of the archive held.
    raw_all = _strings(every)
    del every
    fixes = _fixes_by_doc(aux.fixes, raw_all)  # read before the postings are folded and encoded
    every_folded = _fold_terms(raw_all, aux.folding)
    del raw_all
    head_folded = _fold_terms(_strings(head), aux.folding)
    del head, spelled
    # Encoded here, not in forked shares: with common terms as masks it is
    # cheap, and a child would cost more (copied pages, the values pickled back).
    encoded, total = _encode_terms(every_folded, head_folded)
    index.shards, index.total = _shard_count(total, index.shards or None), total
    index.shard_bytes = _group(encoded, index.shards)
    del encoded
    for doc_id, fix in fixes.items():
        files[doc_id] = _with_fixes(files[doc_id], fix)  # the file without fixes is freed at once
    index.sums = list(map(_doc_sum, files))
    index.aux = aux
    return dict(enumerate(files))


def _after(first: Callable[[], object], then: Callable[[], object]) -> object:
    first()
    return then()


def _encode_terms(every: dict[str, Ids], head: Mapping[str, Ids]) -> tuple[dict[str, object], int]:
    """The shard value of each term and the sum of their _weight; every is
    emptied on the way, so that each term's postings are freed once encoded."""
    encoded: dict[str, object] = {}
    total = 0
    while every:
        term, ids = every.popitem()
        postings = _encode(ids)
        head_ids = head.get(term)
        encoded[term] = postings if head_ids is None else [postings, "*" if head_ids is ids or _same(head_ids, ids) else _encode(head_ids)]
        total += _weight(term, postings)
    return encoded, total


def _group(encoded: Mapping[str, object], shards: int) -> list[bytes]:
    grouped: list[dict[str, object]] = [{} for _ in range(shards)]
    # shard_of for every term at once: crc32 of each UTF-8 term, masked.
    numbers = map(and_, map(zlib.crc32, map(str.encode, encoded)), repeat(shards - 1))
    for number, (term, value) in zip(numbers, encoded.items()):
        grouped[number][term] = value
    return [_json(shard) for shard in grouped]


def _char_counts(counts: Iterable[int]) -> dict[str, int]:
    chars: defaultdict[str, int] = defaultdict(int)
    for code in counts:
        if code & _LOW32:
            chars[chr(code & _LOW32)] += 1
    return dict(chars)


def _context_update(
    aux: _Aux, site: Site, converters: Mapping[str, Converter], added: Sequence[str], removed: Sequence[str]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Account for bigrams that appeared in or vanished from the archive; the
    character pairs that appeared in and vanished from the fold pairs."""
    appeared: list[tuple[str, str]] = []
    vanished: list[tuple[str, str]] = []
    for edition in site.paper.editions:
        converter = converters[edition.code]
        fix = aux.fixes.setdefault(edition.code, {})
        if converter.identity:
            continue
        effects = aux.effects.setdefault(edition.code, {})
        alone = _char_conversions(converter.config or "")
        found = _context_effects(added, converter)
        gone = {source: effects.pop(source) for source in removed if source in effects}
        effects.update(found)
        for sign, side in ((1, found), (-1, gone)):
            for source, target in side.items():
                if _fix_of(source, target, alone):
                    if sign > 0:
                        fix[source] = target
                    else:
                        fix.pop(source, None)
                for pair in _changed_pairs(source, target):
                    count = aux.pairs.get(pair, 0) + sign
                    if count:
                        aux.pairs[pair] = count
                        if count == 1 and sign > 0:
                            appeared.append(pair)
                    else:
                        del aux.pairs[pair]
                        vanished.append(pair)
    return appeared, vanished


def _fold_may_change(aux: _Aux, appeared: Iterable[tuple[str, str]], vanished: Iterable[tuple[str, str]], site: Site, state: dict) -> bool:
    """Whether new or lost fold pairs can change the fold map, without making it (~0.1 s).

    A pair of characters already in one class changes nothing; a lost pair
    can split a class only when the configs alone do not join its characters.
    """
    folding = aux.folding
    if any(folding.get(a, a) != folding.get(b, b) for a, b in appeared):
        return True
    vanished = list(vanished)
    if not vanished:
        return False
    base = _fold_base(site.paper, state)
    return any(base.get(a, a) != base.get(b, b) for a, b in vanished)


def _folding(aux: _Aux, site: Site, state: dict) -> dict[str, str]:
    base = _fold_base(site.paper, state)
    return fold_map(_fold_configs(site.paper), sorted(aux.pairs), base=base) if aux.pairs else base


def _fold_configs(paper: Newspaper) -> tuple[str, ...]:
    return tuple(sorted({e.opencc for e in paper.editions if e.opencc}))


def _fold_base_known(paper: Newspaper, state: dict) -> bool:
    saved = state.get("fold_base")
    return saved is not None and saved[0] == (_fold_configs(paper), _opencc_version())


def _fold_base(paper: Newspaper, state: dict) -> dict[str, str]:
    """fold_map of the configs alone: it depends only on OpenCC, so it is made once and kept in the cache."""
    if not _fold_base_known(paper, state):
        configs = _fold_configs(paper)
        state["fold_base"] = ((configs, _opencc_version()), _pair_string(fold_map(configs)))
    return _pair_dict(state["fold_base"][1])


def tables_elsewhere(paper: Newspaper, state: dict) -> tuple[list[Callable[[], object]], Callable[[Iterable[str]], dict[str, object]]] | None:
    """What a helper process (elsewhere.py) can make ahead of a cold build's
    index, in its memory: steps deriving the character tables from OpenCC and
    unicodedata, then, given every title, the state entries that hold them and
    the titles' pinyin. The main process then loads none of it (~0.6 s, with
    pypinyin). None when the state has them already."""
    if _fold_base_known(paper, state):
        return None
    configs = _fold_configs(paper)
    steps: list[Callable[[], object]] = [partial(_char_conversions, c) for c in dict.fromkeys((*_FOLD_CONFIGS, *configs))]
    steps += [_compat, partial(_phrase_pairs, configs)]

    def later(titles: Iterable[str]) -> dict[str, object]:
        made: dict[str, object] = {}
        _fold_base(paper, made)
        _keep_tables(made)
        pinyin_readings(set(chain.from_iterable(map(_nfkc_lower, titles))), made.setdefault("pinyin", {}))  # type: ignore[arg-type]
        return made

    return steps, later


def adopt_tables(state: dict, made: object) -> None:
    """Put what tables_elsewhere's later step made into the state search_files
    reads; each entry is checked there against the installed OpenCC as if the cache had kept it."""
    if not isinstance(made, dict):
        return
    for key in ("fold_base", "tables"):
        if key in made:
            state[key] = made[key]
    if isinstance(made.get("pinyin"), dict):
        state.setdefault("pinyin", {}).update(made["pinyin"])


def _char_files(aux: _Aux, site: Site, converters: Mapping[str, Converter]) -> dict[str, bytes]:
    """fold.json and each converted edition's chars.json: both follow the archive's characters."""
    corpus_chars = aux.chars.keys()
    folding = aux.folding
    # The browser needs only the variants of characters the archive has:
    # a query character outside them cannot match anything either way.
    reach = {folding.get(c, c) for c in corpus_chars}
    shipped_fold = {a: b for a, b in folding.items() if b in reach}
    files = {f"{ROOT}/fold.json": _json({"schema": SCHEMA, "pairs": _pair_string(shipped_fold)})}
    for edition in site.paper.editions:
        if converters[edition.code].identity:
            continue
        alone = _char_conversions(edition.opencc or "")
        chars = {c: alone[c] for c in sorted(corpus_chars) if c in alone}
        files[f"{ROOT}/{edition.path}/chars.json"] = _json({"schema": SCHEMA, "pairs": _pair_string(chars)})
    return files


# -- updating by difference ----------------------------------------------------------
# An update that would re-tokenise more than this share of the archive (old
# and new versions counted) is left to a rebuild, which is about as fast then.
UPDATE_SHARE = 0.5


def _update(
    index: _Index, docs: Sequence[Doc], lines: Sequence[str], converters: Mapping[str, Converter], site: Site, state: dict
) -> dict[int, bytes] | None:
    """Change the index by the documents whose inputs changed; the doc files it
    made or read back, by id. None when it takes a rebuild: the fold map
    changed, too much of the archive did, or an old doc file it needs is not
    the published one the state describes.

    Documents before the first id whose article differs keep their ids; from
    there on, every old document leaves the index and every new one enters
    (an issue appended, an article inserted or removed: ids shifted).
    """
    old_lines = index.lines()
    shift = next(
        (i for i, (a, b) in enumerate(zip(old_lines, lines)) if a != b and _line_key(a) != _line_key(b)),
        min(len(old_lines), len(lines)),
    )
    kept = [i for i in range(shift) if old_lines[i] != lines[i] and _terms_key(old_lines[i]) != _terms_key(lines[i])]
    gone = {i: None for i in chain(kept, range(shift, len(old_lines)))}
    come = {i: None for i in chain(kept, range(shift, len(lines)))}
    if len(gone) + len(come) > max(16, UPDATE_SHARE * len(lines)):
        return None
    carried = _carried(lines, old_lines, shift)
    moves = _moves(carried.old_at, index.sums)
    parsed = gone.keys() | carried.previous.values()
    # Every old doc file the update reads is read before anything changes: one
    # that is gone or not what the state says (edited by hand) means starting over.
    old_files = _published_docs(index, sorted(parsed.union(moves.values())))
    if old_files is None:
        return None
    records = {j: json.loads(old_files[j]) for j in parsed}
    source = site.paper.source_edition.code
    old_texts = {j: _record_texts(records[j], source) for j in gone}
    new_texts = {i: doc_texts(docs[i]) for i in come}
    context = _context((t.title for t in chain(old_texts.values(), new_texts.values())), converters, site, state)
    before = _terms_by_id(old_texts, context)
    after = _terms_by_id(new_texts, context)

    aux = index.aux
    added, removed = _recount(aux, before.values(), after.values())
    if added or removed:
        appeared, vanished = _context_update(aux, site, converters, _bigrams(added), _bigrams(removed))
        if _fold_may_change(aux, appeared, vanished, site, state) and _folding(aux, site, state) != aux.folding:
            return None  # every folded term may have moved
    if _recount_chars(aux, added, removed):
        index.char_files = _char_files(aux, site, converters)
    if not _edit_shards(index, _edits(before, after, aux.folding)):
        _reshard(index)
    held = {i: old_files[j] for i, j in moves.items()}
    held.update(_refresh_docs(index, docs, carried, records, after, new_texts, context, aux))
    return held


class _Carried(NamedTuple):
    """Where each document's doc file comes from in an update."""

    old_at: list[int | None]  # new id → the old id whose file it is (its input line unchanged); None: made anew
    previous: dict[int, int]  # new id made anew → the old id of its article (converted texts and fixes to reuse)


def _carried(lines: Sequence[str], old_lines: Sequence[str], shift: int) -> _Carried:
    # Before `shift` a document keeps its id; from there on it may be at any old id.
    moved = {old_lines[j]: j for j in range(shift, len(old_lines))}
    old_at: list[int | None] = [i if i < shift and old_lines[i] == line else moved.get(line) for i, line in enumerate(lines)]
    stale = [i for i, j in enumerate(old_at) if j is None]
    old_ids = {_line_key(old_lines[j]): j for j in range(shift, len(old_lines))} if stale else {}
    before = [i if i < shift else old_ids.get(_line_key(lines[i])) for i in stale]
    return _Carried(old_at, {i: j for i, j in zip(stale, before) if j is not None})


def _moves(old_at: Sequence[int | None], old_sums: Sequence[bytes]) -> dict[int, int]:
    """New id → old id, for the files kept at another id whose bytes the file at the new id does not already have."""
    return {
        i: j
        for i, j in enumerate(old_at)
        if j is not None and j != i and (i >= len(old_sums) or old_sums[i] != old_sums[j])
    }


def _terms_by_id(texts: Mapping[int, Texts], context: _Context) -> dict[int, Terms]:
    # A document whose texts did not change but whose id shifted is tokenised once.
    made: dict[Texts, Terms] = {}
    out = {}
    for doc_id, text in texts.items():
        terms = made.get(text)
        if terms is None:
            terms = made[text] = article_terms(text, context.pinyin, context.windows)
        out[doc_id] = terms
    return out


def _recount(aux: _Aux, before: Iterable[Terms], after: Iterable[Terms]) -> tuple[list[int], list[int]]:
    """Update the Han code counts; the codes that appeared and that vanished."""
    counts = aux.counts
    had: dict[int, bool] = {}
    for sign, side in ((-1, before), (1, after)):
        for terms in side:
            for code in terms.codes:
                if code not in had:
                    had[code] = code in counts
                count = counts.get(code, 0) + sign
                if count:
                    counts[code] = count
                else:
                    del counts[code]
    added = [c for c, was in had.items() if not was and c in counts]
    removed = [c for c, was in had.items() if was and c not in counts]
    return added, removed


def _recount_chars(aux: _Aux, added: Iterable[int], removed: Iterable[int]) -> bool:
    """Update the codes per character for codes that appeared or vanished; True when the archive's characters changed."""
    chars, changed = aux.chars, False
    for sign, codes in ((1, added), (-1, removed)):
        for code in codes:
            if code & _LOW32:
                char = chr(code & _LOW32)
                number = chars.get(char, 0) + sign
                changed |= number == 0 or number == sign  # gone, or new
                if number:
                    chars[char] = number
                else:
                    del chars[char]
    return changed


Edits = Mapping[str, tuple[list[tuple[int, bool]], list[tuple[int, bool]]]]


def _edits(before: Mapping[int, Terms], after: Mapping[int, Terms], folding: Mapping[str, str]) -> Edits:
    """(doc id, present) per folded term whose postings change: (all fields, head)."""
    table = str.maketrans(folding)
    edits: defaultdict[str, tuple[list[tuple[int, bool]], list[tuple[int, bool]]]] = defaultdict(lambda: ([], []))
    for doc_id in sorted(before.keys() | after.keys()):
        was, now = before.get(doc_id), after.get(doc_id)
        for which, singles, pick in ((0, True, _all_terms), (1, False, _head_terms)):
            old_terms = _folded(*pick(was), table, singles) if was else set()
            new_terms = _folded(*pick(now), table, singles) if now else set()
            for term in old_terms ^ new_terms:
                edits[term][which].append((doc_id, term in new_terms))
    return edits


def _all_terms(terms: Terms) -> tuple[Iterable[int], Iterable[str]]:
    return terms.codes, chain(terms.words, terms.spelled)


def _head_terms(terms: Terms) -> tuple[Iterable[int], Iterable[str]]:
    return terms.head_codes, chain(terms.head_words, terms.spelled)


def _folded(codes: Iterable[int], words: Iterable[str], table: Mapping[int, str], singles: bool) -> set[str]:
    """One document's folded terms, as the whole-archive inversion gives them."""
    texts = [t for t in map(term_text, codes) if t is not None]
    if singles:  # what add_singles gives the whole archive at once
        texts.extend(chr(c & _LOW32) for c in codes if c > _LOW32 and c & _LOW32)
    out = {t.translate(table) for t in texts}
    out.update(w if w.isascii() else w.translate(table) for w in words)
    return out


def _edit_shards(index: _Index, edits: Edits) -> bool:
    """Apply (doc id, present) edits to the postings of the terms; re-encode only
    the shards they fall in. False when the shard count should change."""
    by_shard: defaultdict[int, list[str]] = defaultdict(list)
    for term in edits:
        by_shard[shard_of(term, index.shards)].append(term)
    total = index.total
    for number, terms in by_shard.items():
        shard = json.loads(index.shard_bytes[number])
        for term in terms:
            value = shard.pop(term, None)
            every, head = _masks(value)
            if value is not None:
                total -= _weight(term, value if isinstance(value, str) else value[0])
            every, head = _toggle(every, edits[term][0]), _toggle(head, edits[term][1])
            if not every:
                continue
            postings = _encode_mask(every)
            shard[term] = postings if not head else [postings, "*" if head == every else _encode_mask(head)]
            total += _weight(term, postings)
        index.shard_bytes[number] = _json(shard)
    index.total = total
    return _shard_count(total, index.shards) == index.shards


def _reshard(index: _Index) -> None:
    """Regroup the terms into the shard count the size now calls for (postings do not depend on it)."""
    terms: dict[str, object] = {}
    for data in index.shard_bytes:
        terms.update(json.loads(data))
    index.shards = _shard_count(index.total, index.shards)
    index.shard_bytes = _group(terms, index.shards)


def _masks(value: object) -> tuple[int, int]:
    """A shard value as bit masks of doc ids: (all, head)."""
    if value is None:
        return 0, 0
    if isinstance(value, str):
        return _mask(value), 0
    every = _mask(value[0])  # type: ignore[index]
    return every, every if value[1] == "*" else _mask(value[1])  # type: ignore[index]


def _mask(postings: str) -> int:
    if postings.startswith("="):
        raw = base64.urlsafe_b64decode(postings[1:] + "=" * (-len(postings[1:]) % 4))
        return int.from_bytes(raw, "little")
    mask = 0
    for doc_id in _gap_ids(postings):
        mask |= 1 << doc_id
    return mask


_GAP_NUMBER = re.compile(r"[g-z0-9_-]*[A-Za-f]")
_DIGIT = {char: value & 31 for value, char in enumerate(ALPHABET)}


def _gap_ids(text: str) -> list[int]:
    """decode_postings for the gap encoding, a number per regex match instead of a loop per letter."""
    gaps = []
    for number in _GAP_NUMBER.findall(text):
        value = 0
        for char in number:
            value = value * 32 + _DIGIT[char]
        gaps.append(value + 1)
    return list(accumulate(gaps, initial=-1))[1:]


def _toggle(mask: int, edits: Sequence[tuple[int, bool]]) -> int:
    for doc_id, present in edits:
        mask = mask | 1 << doc_id if present else mask & ~(1 << doc_id)
    return mask


# _GAP_ZEROS[z]: the code of an id that z ids without the term precede since the previous one.
_GAP_ZEROS = _GAP[1:]


def _encode_mask(mask: int) -> str:
    """encode_postings of the set bits, without a Python step per document of a bitmap."""
    top = mask.bit_length()
    bitmap_len = 1 + -(-((top + 7) // 8) * 4 // 3)
    if mask.bit_count() >= bitmap_len:
        return _mask_bitmap(mask)
    # The bits from doc 0 split at every set bit: the runs of zeros are the
    # gaps minus one, which is what a posting stores.
    zeros = list(map(len, format(mask, "b")[::-1].split("1")))[:-1]
    if top < len(_GAP_ZEROS):  # no run is longer than the mask
        text = "".join(map(_GAP_ZEROS.__getitem__, zeros))
    else:
        text = "".join(map(_varint, zeros))
    return _mask_bitmap(mask) if len(text) > bitmap_len else text


def _mask_ids(mask: int) -> list[int]:
    """The set bits of a mask, in order."""
    runs = map(len, format(mask, "b")[::-1].split("1"))
    return list(accumulate(map(add, runs, repeat(1)), initial=-1))[1:-1]


def _refresh_docs(
    index: _Index,
    docs: Sequence[Doc],
    carried: _Carried,
    records: Mapping[int, dict],
    after: Mapping[int, Terms],
    new_texts: Mapping[int, Texts],
    context: _Context,
    aux: _Aux,
) -> dict[int, bytes]:
    """Keep the doc file of every document whose input line is unchanged (at
    whatever id); make the others, their display texts converted as their
    previous version had them where the text is the same. Sets the sums;
    returns the files made, by id. records: old doc files, parsed, by old id."""
    old_sums = index.sums
    sums = [old_sums[j] if j is not None else b"" for j in carried.old_at]
    stale = [i for i, j in enumerate(carried.old_at) if j is None]
    made: dict[int, bytes] = {}
    if stale:
        previous = {i: records[j] for i, j in carried.previous.items()}
        source = next(code for code, converter in context.editions if converter.identity)
        known: defaultdict[str, dict[str, str]] = defaultdict(dict)
        for record in previous.values():
            for code, fields in record["e"].items():
                if code != source:
                    known[code].update((record["e"][source].get(k, ""), fields.get(k, "")) for k in "tksrcn")
        texts = [new_texts[i] if i in new_texts else doc_texts(docs[i]) for i in stale]
        files = _doc_files([docs[i] for i in stale], texts, context.editions, known)
        for i, data in zip(stale, files):
            # Terms unchanged (no entry in after): the previous file's fixes still hold.
            fixes = _doc_fixes(after[i].codes, aux.fixes) if i in after else previous[i].get("x")
            made[i] = data = _with_fixes(data, fixes)
            sums[i] = _doc_sum(data)
    index.sums = sums
    return made


if __name__ == "__main__":  # python -m banmian.search: write the shipped tables again
    ship_tables()
