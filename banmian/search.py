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
from itertools import chain, repeat
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
_GAP = [""] + [_varint(g - 1) for g in range(1, 32768)]


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
@lru_cache(maxsize=1)
def _compat() -> re.Pattern[str]:
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
    return re.compile("[" + "".join(parts) + "]")


def _nfkc_lower(text: str) -> str:
    text = _compat().sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return text.lower()


# Configs folded together: the editions' own plus the usual ones a reader
# may type in (台灣, 香港 variants), so 裡/裏/里 all meet.
_FOLD_CONFIGS = ("t2s", "tw2s", "hk2s", "s2t", "s2tw", "s2hk")
_CJK_BLOCKS = (range(0x3400, 0x4DC0), range(0x4E00, 0xA000))


@lru_cache(maxsize=8)
def _char_conversions(config: str) -> Mapping[str, str]:
    """Every BMP Han character converted alone with one OpenCC config (only the changes)."""
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
    body: str


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
            docs.append(Doc(len(docs), article, head, rest, bodies[article.key].text))
    return docs


@dataclass
class Inverted:
    """Term → ids of the documents containing it, over all fields and over the head."""

    all: dict[object, list[int]]
    head: dict[object, list[int]]


def invert(docs: Sequence[Doc], pinyin: Mapping[str, Sequence[str]]) -> Inverted:
    """pinyin: Han character → readings (pinyin_readings)."""
    """Postings of every term; split over the cores when the archive is large."""
    jobs = _cores()
    if jobs < 2 or len(docs) < PARALLEL_DOCS or "fork" not in multiprocessing.get_all_start_methods():
        done = _invert_range(docs, pinyin, 0, len(docs))
        add_singles(done.all)
        return done
    global _WORK
    _WORK = (docs, pinyin)
    step = -(-len(docs) // jobs)
    ranges = [(start, min(len(docs), start + step)) for start in range(0, len(docs), step)]
    try:
        # fork: the workers inherit the documents instead of receiving them
        # pickled; this process indexes the first range meanwhile.
        with multiprocessing.get_context("fork").Pool(len(ranges) - 1) as pool:
            pending = pool.map_async(_invert_worker, ranges[1:])
            parts = [_invert_range(docs, pinyin, *ranges[0])] + pending.get()
    finally:
        _WORK = None
    merged = parts[0]
    for part in parts[1:]:
        # Ranges are in id order, so concatenation keeps every list sorted.
        for target, extra in ((merged.all, part.all), (merged.head, part.head)):
            for term, ids in extra.items():
                have = target.get(term)
                if have is None:
                    target[term] = list(ids)
                else:
                    have.extend(ids)
    add_singles(merged.all)
    return merged


PARALLEL_DOCS = 1500
_WORK: tuple[Sequence[Doc], Mapping[str, Sequence[str]]] | None = None


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _invert_worker(bounds: tuple[int, int]) -> Inverted:
    assert _WORK is not None
    docs, pinyin = _WORK
    done = _invert_range(docs, pinyin, *bounds)
    # Arrays pickle as raw bytes; lists of ints would cost more than indexing them.
    return Inverted(
        {term: array("I", ids) for term, ids in done.all.items()},
        {term: array("I", ids) for term, ids in done.head.items()},
    )


def _invert_range(docs: Sequence[Doc], pinyin: Mapping[str, Sequence[str]], start: int, stop: int) -> Inverted:
    every: defaultdict[object, list[int]] = defaultdict(list)
    head: defaultdict[object, list[int]] = defaultdict(list)
    for doc in docs[start:stop]:
        head_text = _nfkc_lower(doc.head)
        text = _nfkc_lower(doc.rest + "\n" + doc.body)
        in_head: set[object] = set(han_terms(head_text))
        in_head.update(latin_terms(head_text))
        in_head.update(pinyin_terms(_nfkc_lower(doc.article.src.title), pinyin))
        terms: set[object] = han_terms(text, singles=False)
        terms.update(latin_terms(text))
        terms |= in_head
        terms.add(page_term(doc.article.page_code))
        # C-level loops: append doc.id to every term's list without a Python loop.
        deque(map(list.append, map(every.__getitem__, terms), repeat(doc.id)), 0)
        deque(map(list.append, map(head.__getitem__, in_head), repeat(doc.id)), 0)
    return Inverted(dict(every), dict(head))


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


# -- conversion for display ------------------------------------------------------
def _context_pairs(bigrams: Sequence[str], converter: Converter) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Convert every distinct bigram in one call: the ones whose conversion in
    context differs from character by character (头发 → 頭髮, not 頭發) are the
    fixes a snippet needs; every converted pair of characters feeds the folding.
    """
    if converter.identity or not bigrams:
        return {}, []
    converted = converter.text("\n".join(bigrams)).split("\n")
    if len(converted) != len(bigrams):
        return {}, []
    alone = _char_conversions(converter.config or "")
    fixes: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    for source, target in zip(bigrams, converted):
        if len(target) != 2:
            continue
        pairs.extend((a, b) for a, b in zip(source, target) if a != b)
        # Unchanged in context can be a fix too: 阿里 stays, though 里 alone is 裡.
        if target != alone.get(source[0], source[0]) + alone.get(source[1], source[1]):
            fixes[source] = target
    return fixes, pairs


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


def search_files(
    site: Site, bodies: Mapping[str, Body], converters: Mapping[str, Converter], state: dict
) -> Iterator[tuple[str, bytes]]:
    """Every file of the search index, paths relative to the output root."""
    paper = site.paper
    docs = documents(site, bodies)
    pinyin = _pinyin_readings(docs, state)
    inverted = invert(docs, pinyin)
    raw_all, raw_head = _strings(inverted.all), _strings(inverted.head)

    # Conversion in context, per converted edition: snippet fixes and fold pairs.
    bigrams = sorted(t for t in raw_all if len(t) == 2 and not t.isascii())
    fixes: dict[str, dict[str, str]] = {}
    pairs: list[tuple[str, str]] = []
    for edition in paper.editions:
        fix, seen = _context_pairs(bigrams, converters[edition.code])
        fixes[edition.code] = fix
        pairs.extend(seen)
    configs = tuple(sorted({e.opencc for e in paper.editions if e.opencc}))
    # The character classes depend only on OpenCC and the configs: made once, kept in the cache.
    base_key = (configs, _opencc_version())
    if state.get("fold_base", (None,))[0] != base_key:
        state["fold_base"] = (base_key, fold_map(configs))
    folding = fold_map(configs, pairs, base=state["fold_base"][1]) if pairs else dict(state["fold_base"][1])
    corpus_chars = {t for t in raw_all if len(t) == 1}
    # The browser needs only the variants of characters the archive has:
    # a query character outside them cannot match anything either way.
    reach = {folding.get(c, c) for c in corpus_chars}
    shipped_fold = {a: b for a, b in folding.items() if b in reach}

    every, head = _fold_terms(raw_all, folding), _fold_terms(raw_head, folding)
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
        total += len(term.encode("utf-8")) + len(postings) + 8
    shards = _shard_count(total, state.get("shards"))
    state["shards"] = shards
    grouped: list[dict[str, object]] = [{} for _ in range(shards)]
    for term, value in encoded.items():
        grouped[shard_of(term, shards)][term] = value
    for number, shard in enumerate(grouped):
        yield f"{ROOT}/terms/{number}.json", _json(shard)

    yield from _doc_files(docs, site, converters, fixes, raw_all, state)
    yield f"{ROOT}/fold.json", _json({"schema": SCHEMA, "pairs": _pair_string(shipped_fold)})
    for edition in paper.editions:
        if converters[edition.code].identity:
            continue
        alone = _char_conversions(edition.opencc or "")
        chars = {c: alone[c] for c in sorted(corpus_chars) if c in alone}
        yield f"{ROOT}/{edition.path}/chars.json", _json({"schema": SCHEMA, "pairs": _pair_string(chars)})
    yield f"{ROOT}/manifest.json", _json(_manifest(site, docs, shards, converters))


def _manifest(site: Site, docs: Sequence[Doc], shards: int, converters: Mapping[str, Converter]) -> dict[str, object]:
    paper = site.paper
    names: dict[str, set[str]] = defaultdict(set)
    for issue in site.issues:
        for page in issue.pages:
            if page.name:
                names[page.code].add(page.name)
    pages = {}
    for code in sorted(names | {d.article.page_code: set() for d in docs}, key=_page_key):
        label = "/".join(sorted(names.get(code, ())))
        pages[code] = {e.code: converters[e.code].text(label) for e in paper.editions}
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


def _doc_files(
    docs: Sequence[Doc],
    site: Site,
    converters: Mapping[str, Converter],
    fixes: Mapping[str, Mapping[str, str]],
    postings: Mapping[str, list[int]],
    state: dict,
) -> Iterator[tuple[str, bytes]]:
    editions = site.paper.editions
    page_names = {(d.article.date, d.article.page_code): "" for d in docs}
    for issue in site.issues:
        for page in issue.pages:
            page_names[(page.date, page.code)] = page.name
    # Short strings are converted in one call per edition and cached across builds.
    conversions: dict[str, dict[str, str]] = {}
    for edition in editions:
        converter = converters[edition.code]
        if converter.identity:
            continue
        cache = state.setdefault("converted", {}).setdefault(converter.config, {})
        wanted = chain.from_iterable(_display_texts(d) for d in docs)
        conversions[edition.code] = _convert_cached(converter, chain(wanted, page_names.values()), cache)
        live = set(chain.from_iterable(_display_texts(d) for d in docs)) | set(page_names.values())
        for stale in set(cache) - live:
            del cache[stale]
    fix_docs = _fixes_by_doc(fixes, postings)
    for doc in docs:
        src, article = doc.article.src, doc.article
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
        doc_fixes = {ed: "".join(f) for ed, f in fix_docs.get(doc.id, {}).items()}
        if doc_fixes:
            record["x"] = doc_fixes
        yield f"{ROOT}/doc/{doc.id}.json", _json(record)


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
