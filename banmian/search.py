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
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import re
import unicodedata
import zlib
from array import array
from collections import defaultdict, deque
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, chain, repeat
from operator import and_, sub
from typing import Iterable, Iterator, Mapping, Sequence

from .convert import Converter
from .model import Article, Body, Site

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
_NON_HAN = re.compile(f"[^{HAN_CLASS}]+")
_HAN_RUN = re.compile(f"[{HAN_CLASS}]+")
_LATIN = re.compile(r"[a-z0-9]+")
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
    if not ids:
        return ""
    top = ids[-1] + 1
    bitmap_len = 1 + -(-((top + 7) // 8) * 4 // 3)
    if len(ids) >= bitmap_len:
        return _bitmap(ids, top)
    gaps = list(map(sub, ids, chain((-1,), ids)))
    if max(gaps) < len(_GAP):
        text = "".join(map(_GAP.__getitem__, gaps))
    else:
        text = "".join(_varint(g - 1) for g in gaps)
    if len(text) > bitmap_len:
        return _bitmap(ids, top)
    return text


_BITS = bytes.maketrans(b"\x00\x01", b"01")


def _bitmap(ids: Sequence[int], top: int) -> str:
    flags = bytearray(top)
    deque(map(flags.__setitem__, ids, repeat(1)), 0)
    number = int(flags[::-1].translate(_BITS), 2)  # bit i ↔ doc i
    raw = number.to_bytes((top + 7) // 8, "little")
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
_COMPAT: re.Pattern[str] | None = None


def _compat() -> re.Pattern[str]:
    global _COMPAT
    if _COMPAT is None:
        _COMPAT = re.compile(_compat_class())
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
        folded = unicodedata.normalize("NFKC", char)
        if folded != char and wanted.search(folded):
            codes.append(code)
    # Written as ranges: a class of thousands of single characters is
    # matched one by one; ranges compile to a bitmap lookup.
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    parts = (re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)
    return "[" + "".join(parts) + "]"


def _nfkc_lower(text: str) -> str:
    text = _compat().sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return text.lower()


# Configs folded together: the editions' own plus the usual ones a reader
# may type in (台灣, 香港 variants), so 裡/裏/里 all meet.
_FOLD_CONFIGS = ("t2s", "tw2s", "hk2s", "s2t", "s2tw", "s2hk")
_CJK_BLOCKS = (range(0x3400, 0x4DC0), range(0x4E00, 0xA000))


_CONVERSIONS: dict[str, Mapping[str, str]] = {}


def _char_conversions(config: str) -> Mapping[str, str]:
    """Every BMP Han character converted alone with one OpenCC config (only the changes)."""
    table = _CONVERSIONS.get(config)
    if table is None:
        table = _CONVERSIONS[config] = _convert_chars(config)
    return table


def _convert_chars(config: str) -> Mapping[str, str]:
    chars = [chr(c) for block in _CJK_BLOCKS for c in block]
    converted = Converter(config, "").text("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # a config that merges lines: trust nothing
        return {}
    return {a: b for a, b in zip(chars, converted) if len(b) == 1 and a != b}


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


@lru_cache(maxsize=1)
def _opencc_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("opencc")
    except PackageNotFoundError:
        return "unknown"


def normalise(text: str, folding: Mapping[str, str]) -> str:
    """The query normaliser: what both the index and the browser do to text."""
    return _nfkc_lower(text).translate(str.maketrans(dict(folding))) if folding else _nfkc_lower(text)


# -- terms -----------------------------------------------------------------------
def han_terms(text: str, singles: bool = True) -> set[int]:
    """Every Han bigram and (unless not singles) single character of text, as integers.

    Integers, not strings: a bigram is the two code points packed in 64 bits,
    made for a whole text at once with memoryview copies, which is several
    times faster than slicing strings — this loop is most of indexing.
    A single character c is the integer c. Pairs that touch a separator (0)
    are either exactly the single character (c, 0) = c, or dropped later.
    """
    joined = _NON_HAN.sub("\x00", text) + "\x00"
    count = len(joined)
    if count < 2:
        return set()
    codes = memoryview(joined.encode("utf-32-le")).cast("I")
    pairs = bytearray(8 * (count - 1))
    view = memoryview(pairs).cast("I")
    view[0::2] = codes[:-1]
    view[1::2] = codes[1:]
    grams = set(memoryview(pairs).cast("Q"))
    if singles:
        grams.update(set(map(and_, grams, repeat(_LOW32))))
    return grams


def add_singles(index: dict[object, list[int]]) -> None:
    """Give every character the postings of the bigrams it starts.

    Bodies are inverted without their single characters (singles=False): a
    character is in a text exactly when a bigram starts with it or it ends a
    run, which han_terms keeps as (c, 0) = c. Uniting postings once per
    character here is much cheaper than a posting per character per article.
    """
    starts: defaultdict[int, list[list[int]]] = defaultdict(list)
    for key, ids in index.items():
        if isinstance(key, int) and key > _LOW32 and key & _LOW32:
            starts[key & _LOW32].append(ids)
    for char, lists in starts.items():
        own = index.get(char)
        index[char] = sorted(set(own or ()).union(*lists))


def term_text(code: int) -> str | None:
    """The string of a han_terms integer; None for a pair with a separator."""
    first, second = code & _LOW32, code >> 32
    if not first:
        return None
    return chr(first) + chr(second) if second else chr(first)


def latin_terms(text: str) -> set[str]:
    return set(_LATIN.findall(text))


def pinyin_terms(title: str, readings: Mapping[str, Sequence[str]]) -> set[str]:
    """~ + the pinyin of each run of 2..PINYIN_SPAN Han characters of a title."""
    chars = [readings.get(c, ()) for c in title]
    terms: set[str] = set()
    for start, first in enumerate(chars):
        spelled = list(first)
        for following in chars[start + 1 : start + PINYIN_SPAN]:
            if not following or not spelled:
                break
            # Each heteronym multiplies the spellings; a few are enough.
            spelled = [a + b for a in spelled for b in following][:PINYIN_COMBINATIONS]
            terms.update(map("~".__add__, spelled))
    return terms


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
@dataclass(frozen=True)
class Doc:
    """One published article as search sees it."""

    id: int
    article: Article
    head: str  # 引题, 主标题, 副题: a hit here ranks first
    rest: str  # 作者, 栏目, 版名
    content: Body

    @property
    def body(self) -> str:
        # Derived from the HTML on first use: an unchanged article never needs it.
        return self.content.text


def documents(site: Site, bodies: Mapping[str, Body]) -> list[Doc]:
    """Published articles, ids in date order; within a day A01 gets the highest id.

    New issues append ids at the end, so yesterday's shards keep their bytes;
    the browser ranks newest first by sorting ids downwards.
    """
    docs: list[Doc] = []
    for issue in site.issues:
        for article in reversed(issue.articles):
            if article.src.draft:
                continue
            src = article.src
            page = next(p for p in issue.pages if p.code == article.page_code)
            head = "\n".join(filter(None, (src.kicker, src.title, src.subtitle)))
            rest = "\n".join(filter(None, (" ".join(src.reporters), src.column, page.name)))
            docs.append(Doc(len(docs), article, head, rest, bodies[article.key]))
    return docs


class Terms:
    """What one article contributes to the index, kept in the build cache.

    An article whose texts hash to the same digest is never tokenised again.
    Pickled as its digest and one zlib blob, unpacked only when used: a
    rebuild after a one-article edit reads the terms of that article alone,
    and the cache loads as a few thousand bytes objects, not millions of ints.
    """

    __slots__ = ("digest", "_packed", "_parts")

    def __init__(self, digest: bytes, codes: array, words: tuple[str, ...], head_codes: array, head_words: tuple[str, ...]) -> None:
        self.digest = digest  # of every text the terms come from (_fingerprint)
        self._packed: bytes | None = None
        self._parts: tuple[array, tuple[str, ...], array, tuple[str, ...]] | None = (codes, words, head_codes, head_words)

    @property
    def codes(self) -> array:
        """'Q': every Han code of the article (single characters of the head only)."""
        return self._unpacked()[0]

    @property
    def words(self) -> tuple[str, ...]:
        """Latin words, title pinyin, the page term."""
        return self._unpacked()[1]

    @property
    def head_codes(self) -> array:
        """'Q': Han codes of the headline, single characters included."""
        return self._unpacked()[2]

    @property
    def head_words(self) -> tuple[str, ...]:
        return self._unpacked()[3]

    def __getstate__(self) -> tuple[bytes, bytes]:
        if self._packed is None:
            codes, words, head_codes, head_words = self._unpacked()
            text = ("\n".join(words) + "\x00" + "\n".join(head_words)).encode("utf-8")
            sizes = array("Q", (len(codes), len(head_codes)))
            self._packed = zlib.compress(sizes.tobytes() + codes.tobytes() + head_codes.tobytes() + text, 1)
        return self.digest, self._packed

    def __setstate__(self, state: tuple[bytes, bytes]) -> None:
        self.digest, self._packed = state
        self._parts = None

    def _unpacked(self) -> tuple[array, tuple[str, ...], array, tuple[str, ...]]:
        if self._parts is None:
            assert self._packed is not None
            raw = zlib.decompress(self._packed)
            sizes = array("Q", raw[:16])
            split = 16 + 8 * sizes[0]
            stop = split + 8 * sizes[1]
            words, head_words = raw[stop:].decode("utf-8").split("\x00")
            self._parts = (
                array("Q", raw[16:split]),
                tuple(words.split("\n")) if words else (),
                array("Q", raw[split:stop]),
                tuple(head_words.split("\n")) if head_words else (),
            )
        return self._parts


def _fingerprint(doc: Doc) -> bytes:
    """Everything an article's terms depend on: its file (headline, title, body), byline/column/page name, page.

    The file's digest stands for the body, as it does for the pipeline's cache
    of rendered bodies: hashing every body's text each build would cost more
    than the rest of an update.
    """
    src = doc.article.src
    text = "\x00".join((src.digest, doc.head, src.title, doc.rest, doc.article.page_code))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def article_terms(doc: Doc, pinyin: Mapping[str, Sequence[str]], digest: bytes) -> Terms:
    """pinyin: Han character → readings (pinyin_readings)."""
    head_text = _nfkc_lower(doc.head)
    text = _nfkc_lower(doc.rest + "\n" + doc.body)
    head_codes = han_terms(head_text)
    head_words = latin_terms(head_text) | pinyin_terms(_nfkc_lower(doc.article.src.title), pinyin)
    # Body bigrams without their single characters: add_singles derives those once per character.
    codes = han_terms(text, singles=False) | head_codes
    words = latin_terms(text) | head_words
    words.add(page_term(doc.article.page_code))
    # Codes in set order, not sorted: nothing depends on their order and sorting a thousand per article shows.
    return Terms(digest, array("Q", codes), tuple(sorted(words)), array("Q", head_codes), tuple(sorted(head_words)))


def tokenise(docs: Sequence[Doc], digests: Sequence[bytes], pinyin: Mapping[str, Sequence[str]]) -> list[Terms]:
    """article_terms of each document; split over the cores when there are many."""
    jobs = _cores()
    if jobs < 2 or len(docs) < PARALLEL_DOCS or "fork" not in multiprocessing.get_all_start_methods():
        return [article_terms(d, pinyin, g) for d, g in zip(docs, digests)]
    global _WORK
    _WORK = (docs, digests, pinyin)
    step = -(-len(docs) // jobs)
    ranges = [(start, min(len(docs), start + step)) for start in range(0, len(docs), step)]
    try:
        # fork: the workers inherit the documents instead of receiving them
        # pickled; this process tokenises the first range meanwhile.
        with multiprocessing.get_context("fork").Pool(len(ranges) - 1) as pool:
            pending = pool.map_async(_tokenise_worker, ranges[1:])
            own = _tokenise_worker(ranges[0])
            return own + list(chain.from_iterable(pending.get()))
    finally:
        _WORK = None


PARALLEL_DOCS = 1500
_WORK: tuple[Sequence[Doc], Sequence[bytes], Mapping[str, Sequence[str]]] | None = None


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _tokenise_worker(bounds: tuple[int, int]) -> list[Terms]:
    assert _WORK is not None
    docs, digests, pinyin = _WORK
    start, stop = bounds
    return [article_terms(docs[i], pinyin, digests[i]) for i in range(start, stop)]


@dataclass
class Inverted:
    """Term → ids of the documents containing it, over all fields and over the head."""

    all: dict[object, list[int]]
    head: dict[object, list[int]]
    counts: dict[int, int]  # Han code → number of documents, before add_singles


def invert(records: Sequence[Terms]) -> Inverted:
    """Postings of every term, doc id = position in records."""
    every: defaultdict[object, list[int]] = defaultdict(list)
    head: defaultdict[object, list[int]] = defaultdict(list)
    for doc_id, terms in enumerate(records):
        # C-level loops: append doc_id to every term's list without a Python loop.
        for target, keys in ((every, terms.codes), (every, terms.words), (head, terms.head_codes), (head, terms.head_words)):
            deque(map(list.append, map(target.__getitem__, keys), repeat(doc_id)), 0)
    counts = {key: len(ids) for key, ids in every.items() if isinstance(key, int)}
    done = Inverted(dict(every), dict(head), counts)
    add_singles(done.all)
    return done


def _strings(index: Mapping[object, list[int]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for key, ids in index.items():
        text = key if isinstance(key, str) else term_text(key)  # type: ignore[arg-type]
        if text is not None:
            out[text] = ids
    return out


def _fold_terms(index: Mapping[str, list[int]], folding: Mapping[str, str]) -> dict[str, list[int]]:
    """Apply the fold map to term strings; variants that meet have their postings merged."""
    table = str.maketrans(dict(folding))
    out: dict[str, list[int]] = {}
    for term, ids in index.items():
        key = term.translate(table) if not term.isascii() else term
        if key in out:
            out[key] = sorted(set(out[key]).union(ids))
        else:
            out[key] = ids
    return out


# -- conversion in context ---------------------------------------------------------
def _convert_bigrams(bigrams: Sequence[str], converter: Converter, cache: dict[str, str]) -> None:
    """Convert the bigrams not converted before, in one call, and remember each result."""
    wanted = [b for b in bigrams if b not in cache]
    if not wanted:
        return
    converted = converter.text("\n".join(wanted)).split("\n")
    if len(converted) != len(wanted):  # a config that merges lines: one at a time
        converted = [converter.text(b) for b in wanted]
    cache.update(zip(wanted, converted))


def _context_effect(source: str, target: str, alone: Mapping[str, str]) -> tuple[str | None, list[tuple[str, str]]]:
    """What converting a bigram in context tells: a snippet fix when it differs
    from character by character (头发 → 頭髮, not 頭發), and the pairs of
    characters that differ, which join variant classes for folding."""
    if len(target) != 2:
        return None, []
    pairs = [(a, b) for a, b in zip(source, target) if a != b]
    # Unchanged in context can be a fix too: 阿里 stays, though 里 alone is 裡.
    fix = target if target != alone.get(source[0], source[0]) + alone.get(source[1], source[1]) else None
    return fix, pairs


def _convert_cached(converter: Converter, texts: Iterable[str], cache: dict[str, str]) -> dict[str, str]:
    """Convert distinct short strings (titles, names) once per build and remember them."""
    wanted = sorted({t for t in texts if t and not t.isascii()} - cache.keys())
    if wanted:
        joined = converter.text("\n".join(wanted)).split("\n")
        if len(joined) == len(wanted):
            cache.update(zip(wanted, joined))
        else:
            cache.update((t, converter.text(t)) for t in wanted)
    return cache


# -- files -------------------------------------------------------------------------
def _json(data: object) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


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


def _pair_string(mapping: Mapping[str, str]) -> str:
    return "".join(a + b for a, b in sorted(mapping.items()))


class _Index:
    """The search part of the build cache: enough to update the index by difference.

    Every field is a function of the content (and the setup), so an update by
    difference gives the same bytes as a build from nothing.
    """

    def __init__(self, setup: tuple) -> None:
        self.setup = setup
        self.valid = False  # False while an update is half done: the next build starts over
        self.keys: list[str] = []  # article key by doc id
        self.records: list[Terms] = []  # by doc id
        self.counts: dict[int, int] = {}  # Han code → documents having it
        self.conv: dict[str, dict[str, str]] = {}  # edition → bigram → converted (only grows)
        self.fixes: dict[str, dict[str, str]] = {}  # edition → bigram → its conversion in context
        self.pairs: dict[tuple[str, str], int] = {}  # character pair → bigrams showing it
        self.folding: dict[str, str] = {}
        self.shards = 0
        self.total = 0  # the size estimate _shard_count is given
        self.shard_bytes: list[bytes] = []
        self.char_files: dict[str, bytes] = {}  # fold.json and the chars.json
        self.docs: list[tuple[bytes, bytes]] = []  # (what the doc file is made of, its bytes) by doc id


def search_files(
    site: Site, bodies: Mapping[str, Body], converters: Mapping[str, Converter], state: dict
) -> Iterator[tuple[str, bytes]]:
    """Every file of the search index, paths relative to the output root."""
    paper = site.paper
    docs = documents(site, bodies)
    setup = (
        SCHEMA,
        tuple((e.code, e.path, e.opencc or "", converters[e.code].config or "", converters[e.code].identity) for e in paper.editions),
        _opencc_version(),
    )
    _reuse_tables(state)
    index = state.get("index")
    if not isinstance(index, _Index) or index.setup != setup:
        index = state["index"] = _Index(setup)
    records = _records(docs, index, state)
    # Marked invalid while changing: an interrupted update makes the next build start over.
    updated, index.valid = index.valid and _update(index, docs, records, converters, site, state), False
    fixes_of = None if updated else _rebuild(index, records, converters, site, state)
    index.keys, index.records = [d.article.key for d in docs], records
    _refresh_docs(index, docs, records, site, converters, fixes_of, state)
    index.valid = True
    _keep_tables(state)

    for number, data in enumerate(index.shard_bytes):
        yield f"{ROOT}/terms/{number}.json", data
    for doc_id, (_, data) in enumerate(index.docs):
        yield f"{ROOT}/doc/{doc_id}.json", data
    yield from index.char_files.items()
    yield f"{ROOT}/manifest.json", _json(_manifest(site, docs, index.shards, converters, state))


def _tables_key() -> tuple[str, str]:
    return unicodedata.unidata_version, _opencc_version()


def _reuse_tables(state: dict) -> None:
    """Take the character tables from the cache: deriving them from unicodedata
    and OpenCC costs ~0.1 s in every new process, more than a one-article update."""
    global _COMPAT
    saved = state.get("tables")
    if saved is None or saved[0] != _tables_key():
        return
    if _COMPAT is None:
        _COMPAT = re.compile(saved[1])
    for config, table in saved[2].items():
        _CONVERSIONS.setdefault(config, table)


def _keep_tables(state: dict) -> None:
    saved = state.get("tables")
    if _COMPAT is not None and (saved is None or saved[2].keys() != _CONVERSIONS.keys() or saved[0] != _tables_key()):
        state["tables"] = (_tables_key(), _COMPAT.pattern, dict(_CONVERSIONS))


def _records(docs: Sequence[Doc], index: _Index, state: dict) -> list[Terms]:
    """Each document's Terms: from the last build when its texts hash the same, else tokenised."""
    digests = [_fingerprint(d) for d in docs]
    known = {t.digest: t for t in index.records}
    missing = [i for i, g in enumerate(digests) if g not in known]
    if missing:
        todo = [docs[i] for i in missing]
        made = tokenise(todo, [digests[i] for i in missing], _pinyin_readings(todo, state))
        known.update((t.digest, t) for t in made)
    return [known[g] for g in digests]


def _rebuild(index: _Index, records: Sequence[Terms], converters: Mapping[str, Converter], site: Site, state: dict) -> dict[int, dict[str, str]]:
    """Every term shard from the records; returns each document's context fixes."""
    inverted = invert(records)
    raw_all, raw_head = _strings(inverted.all), _strings(inverted.head)
    index.counts = inverted.counts
    index.fixes, index.pairs = {}, {}
    _context_update(index, site, converters, _bigrams(index.counts), ())
    index.folding = _folding(index, site, state)
    index.char_files = _char_files(index, site, converters)

    every, head = _fold_terms(raw_all, index.folding), _fold_terms(raw_head, index.folding)
    encoded: dict[str, object] = {}
    total = 0
    for term in sorted(every):
        postings = encode_postings(every[term])
        head_ids = head.get(term)
        if head_ids is None:
            value: object = postings
        else:
            value = [postings, "*" if head_ids == every[term] else encode_postings(head_ids)]
        encoded[term] = value
        total += _weight(term, postings)
    shards = _shard_count(total, index.shards or None)
    grouped: list[dict[str, object]] = [{} for _ in range(shards)]
    for term, value in encoded.items():
        grouped[shard_of(term, shards)][term] = value
    index.shards, index.total = shards, total
    index.shard_bytes = [_json(shard) for shard in grouped]
    fixes = _fixes_by_doc(index.fixes, raw_all)
    return {doc_id: {ed: "".join(f) for ed, f in by_edition.items()} for doc_id, by_edition in fixes.items()}


def _weight(term: str, postings: str) -> int:
    return len(term.encode("utf-8")) + len(postings) + 8


def _bigrams(codes: Iterable[int]) -> list[str]:
    return sorted(t for t in map(term_text, codes) if t is not None and len(t) == 2)


def _context_update(index: _Index, site: Site, converters: Mapping[str, Converter], added: Sequence[str], removed: Sequence[str]) -> bool:
    """Account for bigrams that appeared in or vanished from the archive; True when the set of fold pairs changed."""
    changed = False
    for edition in site.paper.editions:
        converter = converters[edition.code]
        fix = index.fixes.setdefault(edition.code, {})
        if converter.identity:
            continue
        cache = index.conv.setdefault(edition.code, {})
        _convert_bigrams(added, converter, cache)
        alone = _char_conversions(converter.config or "")
        for sign, bigrams in ((1, added), (-1, removed)):
            for source in bigrams:
                target, pairs = _context_effect(source, cache[source], alone)
                if target is not None:
                    if sign > 0:
                        fix[source] = target
                    else:
                        fix.pop(source, None)
                for pair in pairs:
                    count = index.pairs.get(pair, 0) + sign
                    if count:
                        changed |= count == 1 and sign > 0
                        index.pairs[pair] = count
                    else:
                        changed = True
                        del index.pairs[pair]
    return changed


def _folding(index: _Index, site: Site, state: dict) -> dict[str, str]:
    configs = tuple(sorted({e.opencc for e in site.paper.editions if e.opencc}))
    # The character classes depend only on OpenCC and the configs: made once, kept in the cache.
    base_key = (configs, _opencc_version())
    if state.get("fold_base", (None,))[0] != base_key:
        state["fold_base"] = (base_key, fold_map(configs))
    base = state["fold_base"][1]
    return fold_map(configs, sorted(index.pairs), base=base) if index.pairs else dict(base)


def _char_files(index: _Index, site: Site, converters: Mapping[str, Converter]) -> dict[str, bytes]:
    """fold.json and each converted edition's chars.json: both follow the archive's characters."""
    corpus_chars = {chr(c & _LOW32) for c in index.counts if c & _LOW32}
    folding = index.folding
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


def _update(
    index: _Index, docs: Sequence[Doc], records: Sequence[Terms], converters: Mapping[str, Converter], site: Site, state: dict
) -> bool:
    """Change the index by the documents whose terms changed, or False when it
    takes a rebuild: ids shifted (an issue inserted or an article removed
    before the end), the fold map or the shard count changed."""
    keys = [d.article.key for d in docs]
    common = min(len(keys), len(index.keys))
    if keys[:common] != index.keys[:common]:
        return False
    old = index.records
    changed = [i for i in range(common) if old[i].digest != records[i].digest]
    changed += range(common, max(len(keys), len(old)))
    if not changed:
        return True
    before = [old[i] if i < len(old) else None for i in changed]
    after = [records[i] if i < len(records) else None for i in changed]
    added, removed = _recount(index.counts, before, after)
    if added or removed:
        if _context_update(index, site, converters, _bigrams(added), _bigrams(removed)):
            if _folding(index, site, state) != index.folding:
                return False  # every folded term may have moved
        index.char_files = _char_files(index, site, converters)
    table = str.maketrans(index.folding)
    edits: defaultdict[str, tuple[list[tuple[int, bool]], list[tuple[int, bool]]]] = defaultdict(lambda: ([], []))
    for doc_id, was, now in zip(changed, before, after):
        for which, singles, pick in ((0, True, _all_terms), (1, False, _head_terms)):
            old_terms = _folded(*pick(was), table, singles) if was else set()
            new_terms = _folded(*pick(now), table, singles) if now else set()
            for term in old_terms ^ new_terms:
                edits[term][which].append((doc_id, term in new_terms))
    return _edit_shards(index, edits)


def _all_terms(terms: Terms) -> tuple[Sequence[int], Sequence[str]]:
    return terms.codes, terms.words


def _head_terms(terms: Terms) -> tuple[Sequence[int], Sequence[str]]:
    return terms.head_codes, terms.head_words


def _recount(counts: dict[int, int], before: Sequence[Terms | None], after: Sequence[Terms | None]) -> tuple[list[int], list[int]]:
    """Update the Han code counts; the codes that appeared and that vanished."""
    had: dict[int, bool] = {}
    for sign, side in ((-1, before), (1, after)):
        for terms in side:
            if terms is None:
                continue
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


def _folded(codes: Sequence[int], words: Sequence[str], table: Mapping[int, str], singles: bool) -> set[str]:
    """One document's folded terms, as the whole-archive inversion gives them."""
    texts = [t for t in map(term_text, codes) if t is not None]
    if singles:  # what add_singles gives the whole archive at once
        texts.extend(chr(c & _LOW32) for c in codes if c > _LOW32 and c & _LOW32)
    out = {t.translate(table) for t in texts}
    out.update(w if w.isascii() else w.translate(table) for w in words)
    return out


def _edit_shards(index: _Index, edits: Mapping[str, tuple[list[tuple[int, bool]], list[tuple[int, bool]]]]) -> bool:
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


_ONE = re.compile("1")


def _encode_mask(mask: int) -> str:
    """encode_postings of the set bits, without listing the ids of a bitmap."""
    top = mask.bit_length()
    bitmap_len = 1 + -(-((top + 7) // 8) * 4 // 3)
    if mask.bit_count() >= bitmap_len:
        raw = mask.to_bytes((top + 7) // 8, "little")
        return "=" + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    return encode_postings([m.start() for m in _ONE.finditer(format(mask, "b")[::-1])])


def _doc_fixes(terms: Terms, fixes: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """One document's context fixes per edition, as _fixes_by_doc finds them for all."""
    grams = _bigrams(terms.codes)
    out = {}
    for edition, fix in fixes.items():
        found = "".join(g + fix[g] for g in grams if g in fix)
        if found:
            out[edition] = found
    return out


def _show(text: str, converter: Converter, state: dict) -> str:
    """A short text converted through the cache: a build that converts nothing never loads OpenCC."""
    if converter.identity:
        return text
    cache = _convert_cached(converter, [text], state.setdefault("converted", {}).setdefault(converter.config, {}))
    return cache.get(text, text)


def _manifest(site: Site, docs: Sequence[Doc], shards: int, converters: Mapping[str, Converter], state: dict) -> dict[str, object]:
    paper = site.paper
    names: dict[str, set[str]] = defaultdict(set)
    for issue in site.issues:
        for page in issue.pages:
            if page.name:
                names[page.code].add(page.name)
    pages = {}
    for code in sorted(names | {d.article.page_code: set() for d in docs}, key=_page_key):
        label = "/".join(sorted(names.get(code, ())))
        pages[code] = {e.code: _show(label, converters[e.code], state) for e in paper.editions}
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
        "pages": pages,
    }


def _page_key(code: str) -> tuple[str, int]:
    match = re.match(r"^([A-Z]*)(\d+)$", code)
    return (match.group(1), int(match.group(2))) if match else (code, 0)


def _refresh_docs(
    index: _Index,
    docs: Sequence[Doc],
    records: Sequence[Terms],
    site: Site,
    converters: Mapping[str, Converter],
    fixes_of: Mapping[int, Mapping[str, str]] | None,
    state: dict,
) -> None:
    """Make the doc files whose inputs changed; keep the bytes of the others.

    fixes_of: each document's context fixes from a rebuild, None to find
    them per document (few are re-made after an update).
    """
    editions = site.paper.editions
    page_names = {(d.article.date, d.article.page_code): "" for d in docs}
    for issue in site.issues:
        for page in issue.pages:
            page_names[(page.date, page.code)] = page.name
    keys = [_doc_key(doc, terms, page_names) for doc, terms in zip(docs, records)]
    old = index.docs
    stale = [i for i, key in enumerate(keys) if i >= len(old) or old[i][0] != key]
    # Short strings are converted in one call per edition and cached across builds.
    conversions: dict[str, dict[str, str]] = {}
    for edition in editions:
        converter = converters[edition.code]
        if converter.identity:
            continue
        cache = state.setdefault("converted", {}).setdefault(converter.config, {})
        wanted = [t for i in stale for t in (*_display_texts(docs[i]), page_names[(docs[i].article.date, docs[i].article.page_code)])]
        conversions[edition.code] = _convert_cached(converter, wanted, cache)
        if fixes_of is not None:  # a rebuild: forget what no document shows any more
            live = set(chain.from_iterable(_display_texts(d) for d in docs)) | set(page_names.values())
            for gone in set(cache) - live:
                del cache[gone]
    made = list(old[: len(docs)])
    made.extend([(b"", b"")] * (len(docs) - len(made)))
    for i in stale:
        doc, article = docs[i], docs[i].article
        src = article.src
        name = page_names[(article.date, article.page_code)]
        fields: dict[str, dict[str, str]] = {}
        for edition in editions:
            table = conversions.get(edition.code, {})

            def show(text: str) -> str:
                return table.get(text, text)

            fields[edition.code] = {
                key: value
                for key, value in (
                    ("t", show(src.title)), ("k", show(src.kicker)), ("s", show(src.subtitle)),
                    ("r", show(" ".join(src.reporters))), ("c", show(src.column)), ("n", show(name)),
                    ("u", article.urls[edition.code]),
                )
                if value
            }
        record: dict[str, object] = {"d": article.date.isoformat(), "p": article.page_code, "e": fields, "b": doc.body}
        doc_fixes = fixes_of.get(i, {}) if fixes_of is not None else _doc_fixes(records[i], index.fixes)
        if doc_fixes:
            record["x"] = dict(doc_fixes)
        made[i] = (keys[i], _json(record))
    index.docs = made


def _doc_key(doc: Doc, terms: Terms, page_names: Mapping[tuple[dt.date, str], str]) -> bytes:
    """A digest of everything a doc file is made of (its terms' digest covers the body, so its fixes).

    A digest, not the tuple: one object per document keeps the cache quick to load.
    """
    article = doc.article
    name = page_names[(article.date, article.page_code)]
    made_of = "\x00".join((article.date.isoformat(), article.page_code, *_display_texts(doc), name, *(f"{code}={url}" for code, url in sorted(article.urls.items()))))
    return hashlib.blake2b(made_of.encode("utf-8", "surrogatepass"), digest_size=16, key=terms.digest).digest()


def _display_texts(doc: Doc) -> tuple[str, ...]:
    src = doc.article.src
    return (src.title, src.kicker, src.subtitle, " ".join(src.reporters), src.column)


def _fixes_by_doc(fixes: Mapping[str, Mapping[str, str]], postings: Mapping[str, list[int]]) -> dict[int, dict[str, list[str]]]:
    """For each document, the context fixes its text needs, found through the
    postings of the fixed bigrams (few) rather than by scanning every body."""
    out: dict[int, dict[str, list[str]]] = defaultdict(dict)
    for edition, fix in fixes.items():
        for source, target in sorted(fix.items()):
            for doc_id in postings.get(source, ()):
                out[doc_id].setdefault(edition, []).append(source + target)
    return out


def _pinyin_readings(docs: Sequence[Doc], state: dict) -> dict[str, tuple[str, ...]]:
    cache: dict[str, tuple[str, ...]] = state.setdefault("pinyin", {})
    chars = set(chain.from_iterable(_nfkc_lower(d.article.src.title) for d in docs))
    pinyin_readings(chars, cache)
    return {c: cache[c] for c in chars if c in cache}
