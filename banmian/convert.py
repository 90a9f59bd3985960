"""The convert stage: 简 → 繁 for every human-visible string of an edition.

Conversion runs over finished HTML so that nothing a reader sees can be
missed (template labels included), while tags, attributes that are not shown,
URLs, scripts, code and text marked with another edition's `lang` (or
`translate="no"`) pass through untouched. Text split by inline markup is
converted as one run, so 头**发** is read as the phrase 头发 (頭髮), not 發.
"""

from __future__ import annotations

import re
from functools import lru_cache, partial
from itertools import compress
from operator import not_
from typing import Callable, Iterable, Sequence

from .opencc_loaded import converter_for, opencc_for
from .opencc_steps import dictionaries, shipped_plan, two_steps

# Elements whose content is never text for a reader to read in another script.
SKIP_ELEMENTS = frozenset({"script", "style", "code", "pre", "kbd", "samp", "var", "textarea", "svg", "math"})
# Inline elements do not end a run of text: phrases may cross them.
INLINE_ELEMENTS = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "cite", "data", "dfn", "em", "i", "mark", "q", "rp", "rt", "ruby",
     "s", "small", "span", "strong", "sub", "sup", "time", "u", "del", "ins", "wbr"}
)
VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)
# Attributes a reader sees (tooltips, alt text, placeholders, screen readers).
VISIBLE_ATTRIBUTES = ("alt", "title", "placeholder", "aria-label")
# <meta> whose content is shown to people (link previews, citation managers).
VISIBLE_META = frozenset(
    {"description", "og:title", "og:description", "og:site_name", "twitter:title", "twitter:description",
     "citation_title", "citation_journal_title", "citation_author", "citation_publisher", "application-name"}
)

# One leading "<" and possessive repeats: about twice as fast as alternatives
# each starting with "<", and linear on a "<" never closed. The element name
# is captured as well, so re.split lists the names beside the tags (None for
# a comment or doctype): most lines are then read without a call per tag.
SPLIT = re.compile(r"""(<(?:!--.*?--|![^>]*|/?([a-zA-Z][a-zA-Z0-9:-]*)(?:[^'">]++|"[^"]*+"|'[^']*+')*+)>)""", re.S)
TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)(.*)>\Z", re.S)
ATTRIBUTE = re.compile(r"""(\s([a-zA-Z-:]+)\s*=\s*)("([^"]*)"|'([^']*)')""")
LANG = re.compile(r"""\slang\s*=\s*["']?([A-Za-z-]+)""")
NO_TRANSLATE = re.compile(r"""\stranslate\s*=\s*["']?no\b""")
META_NAME = re.compile(r"""\s(?:name|property)\s*=\s*["']([^"']+)""")


class Converter:
    """One edition's converter; the identity for the source edition."""

    def __init__(self, config: str | None, code: str) -> None:
        self.config = config
        self.code = code
        self.memo: dict[str, str] = {}
        # Whole lines of pages → converted line: a page's chrome (head,
        # masthead, page strip, labels) repeats on every page, so it is read
        # once instead of on each of thousands. Only lines that start and end
        # outside any skipped element; ASCII lines that pass through
        # unchanged too (half the lines of a page).
        self.lines: dict[str, str] = {}

    @property
    def identity(self) -> bool:
        return self.config is None

    def text(self, text: str) -> str:
        if self.config is None or text.isascii():
            return text
        # A long text (a batch of pages) in two plain steps, when the
        # installed OpenCC allows it exactly; a short one only when the plan
        # ships with banmian: deriving it is not worth it (~60 ms and the
        # whole config loaded, once per process).
        if len(text) >= TWO_STEPS_FROM or shipped_plan(self.config):
            steps = two_steps(self.config)
            if steps is not None:
                return steps.convert(text)
        # Loaded on first use: a rebuild that converts nothing never pays for it.
        return converter_for(self.config).convert(text)

    def load(self) -> None:
        """Load OpenCC's dictionaries here, now: before forking workers, which
        then share them instead of each reading its own (~0.1 s and ~30 MB).

        With a shipped plan the whole config converts only the rare lines
        its second step cannot (林国梁): loaded when one comes, not here
        (0.06 s and 17 MiB less before the workers start)."""
        if self.config is not None:
            for name in dictionaries(self.config):
                opencc_for(name)

    def many(self, texts: Iterable[str]) -> dict[str, str]:
        """Each text → converted, with one OpenCC call for all not remembered
        (each call costs about a tenth of a millisecond besides its text); the
        short ones are remembered."""
        memo = self.memo
        # Looked up, and what is not known picked out, in C: a batch of pages
        # has some hundred thousand texts. (Were a converted text empty, it
        # would only be converted again.)
        unique = list(dict.fromkeys(texts))
        known = list(map(memo.get, unique))
        found = dict(zip(unique, known))
        wanted = list(compress(unique, map(not_, known)))
        if wanted:
            joined = SEPARATOR.join(wanted)
            converted = self.text(joined).split(SEPARATOR)
            if len(converted) != len(wanted) or joined.count(SEPARATOR) != len(wanted) - 1:
                converted = [self.text(text) for text in wanted]
            found.update(zip(wanted, converted))
            remember: Iterable[tuple[str, str]] = zip(wanted, converted)
            if len(memo) > MEMO_SIZE:
                memo.clear()  # see MEMO_SIZE; what this call found there recurs: put back
                remember = found.items()
            memo.update([(text, result) for text, result in remember if len(text) <= MEMO_LIMIT])
        return found

    def remembered(self, text: str) -> str:
        """text(), memoised for the short strings that recur on every page."""
        converted = self.memo.get(text)
        if converted is None:
            converted = self.text(text)
            if len(text) <= MEMO_LIMIT:
                if len(self.memo) > MEMO_SIZE:
                    self.memo.clear()  # see MEMO_SIZE
                self.memo[text] = converted
        return converted

    def html(self, html: str) -> str:
        """Convert the visible text (and visible attributes) of an HTML page or fragment."""
        return self.html_many([html])[0]

    def html_many(self, pages: Sequence[str]) -> list[str]:
        """html() of several pages with one OpenCC call: each call costs about
        a tenth of a millisecond besides its text, as much as a short page."""
        if self.config is None:
            return list(pages)
        read: list[str | _Lines | _Reading | _OneRun] = []
        readings: list[_Reading | _OneRun] = []
        pending: dict[str, _Reading | _OneRun] = {}  # lines met earlier in this batch
        for page in pages:
            if page.isascii():
                read.append(page)
                continue
            lines = _scan_lines(self, page, pending) if page.count("\n") >= LINES_AT_LEAST else None
            if lines is not None:
                read.append(lines)
                readings.extend(lines.readings)
                continue
            whole = _read(self, page, NO_SKIP, strict=False)
            read.append(whole)
            readings.append(whole)
        _finish(readings, self)
        if len(self.lines) > LINE_MEMO_SIZE:
            self.lines.clear()  # the shared lines come back within a page or two
        for line, reading in pending.items():
            if reading.recurs and reading.end is NO_SKIP:
                self.lines[line] = reading.result
        return [item if isinstance(item, str) else item.text() if isinstance(item, _Lines) else item.result
                for item in read]


# Characters: a text this long is converted in two steps (opencc_steps).
TWO_STEPS_FROM = 4096

# Joins the runs of one page for a single OpenCC call; a private-use
# character is in no dictionary, so no phrase can match across it.
SEPARATOR = "\ue000"
# Short runs (labels, page names, titles) repeat on every page: remembered.
MEMO_LIMIT = 160
# Most short runs never come back (a teaser's title, a date): at 10,000
# articles a page worker asked for 128,000, and of the 50,000 a memo that
# stopped growing at this size kept (22 MB), 4,400 were ever asked again.
# Cleared when full instead, it holds what recurs nearby (a title on its
# page and its neighbours') and what recurs everywhere comes back at once.
MEMO_SIZE = 8_000


@lru_cache(maxsize=8192)
def _classify(tag: str) -> tuple[bool, str, str]:
    """(closing, lower-case name, attribute text) of a tag; name "" for comments."""
    match = TAG.match(tag)
    if match is None:
        return False, "", ""
    return bool(match.group(1)), match.group(2).lower(), match.group(3).rstrip()


Skip = tuple  # (name of the skipped element or None, nesting depth)
NO_SKIP: Skip = (None, 0)
# Holds an attribute value's place in a tag until the batch is converted:
# a private-use character, in no page (a tag holding one is converted alone).
VALUE_MARK = "\ue001"
VALUE_MARKS = re.compile("\ue001(\\d+)\ue001")
# One element holding only text, on one line: <p>…</p>, <h1>…</h1>, <title>…</title>.
# Indented too: the indent is text, but white space alone is never converted.
SIMPLE_LINE = re.compile(r"([ \t]*<([a-zA-Z][a-zA-Z0-9]*)(?:\s[^<>]*)?>)([^<>]*)(</\2>)\Z")
# <meta name="…" content="…">, the way pages write it. Groups: the tag up
# to the value, the name, the value, the rest.
META_LINE = re.compile(r"""([ \t]*<meta (?:name|property)="([^"'<>]+)" content=")([^"<>]*)(">)\Z""")
# Pages have at least this many lines: below it, line-wise is not worth it.
LINES_AT_LEAST = 8
LINE_MEMO_SIZE = 20_000
SIMPLE_MEMO_LIMIT = 200
# An ASCII line can still change what follows: it may open an element whose
# text is never converted, or one in another edition's lang.
# Both read lower-cased lines; apart, because a search for "\slang" stops at
# every space of a line, and most lines hold no "lang" at all.
SKIP_TAG_HINT = re.compile(r"<(?:script|style|code|pre|kbd|samp|var|textarea|svg|math)\b")
ATTRIBUTE_HINT = re.compile(r"\s(?:lang|translate)\s*=")
# Elements that end a run (True) or not (False), by their name as written:
# a line whose elements are all here, none of them skipped, is read
# without a call per tag. Any other name (upper case, custom elements) goes
# the long way, through _classify.
BOUNDARIES: dict[str, bool] = {name: False for name in INLINE_ELEMENTS} | {
    name: True
    for name in (
        "html", "head", "body", "title", "meta", "link", "base", "address", "article", "aside", "footer",
        "header", "h1", "h2", "h3", "h4", "h5", "h6", "hgroup", "main", "nav", "section", "search",
        "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure", "hr", "li", "menu", "ol", "p", "ul",
        "br", "img", "picture", "source", "audio", "video", "track", "map", "area", "iframe", "embed",
        "object", "canvas", "noscript", "caption", "col", "colgroup", "table", "tbody", "td", "tfoot", "th",
        "thead", "tr", "button", "datalist", "fieldset", "form", "input", "label", "legend", "meter",
        "optgroup", "option", "output", "progress", "select", "details", "dialog", "summary", "template",
    )
}


def _opens_state(line: str) -> bool:
    """Might this ASCII line open an element whose text is not converted?"""
    low = line.lower()
    if ("lang" in low or "translate" in low) and ATTRIBUTE_HINT.search(low):
        return True
    return SKIP_TAG_HINT.search(low) is not None


def _split_simple(line: str) -> tuple[str, str, str] | None:
    """(opening tag, text, closing tag) of <p>text</p> and the like, when
    nothing in the tags changes how the text is converted."""
    match = SIMPLE_LINE.match(line)
    if match is None:
        return None
    opening, name, text, closing = match.groups()
    if name.lower() in SKIP_ELEMENTS or not opening.isascii() or "lang" in opening or "translate" in opening:
        return None
    return opening, text, closing


class _CutTag(Exception):
    """A line's text holds < or >: a tag seems cut in two by a line break."""


class _OneRun:
    """A line that is one run of text inside ASCII markup: <p>…</p> and the
    like (most lines of a page), or a visible <meta>'s content. Lighter than
    a _Reading: there are tens of thousands in a batch."""

    __slots__ = ("source", "opening", "body", "closing", "recurs", "result")
    end: Skip = NO_SKIP  # opens nothing

    def __init__(self, source: str, opening: str, body: str, closing: str) -> None:
        self.source = source
        self.opening = opening
        self.body = body  # not ASCII
        self.closing = closing
        # A long one is a paragraph of one article: it does not come back,
        # and remembering it past the batch would crowd out the lines that do.
        self.recurs = len(source) <= SIMPLE_MEMO_LIMIT
        self.result = source  # the converted line, once _finish has run


def _mark_value(values: list[str], value: str) -> str:
    """Converted with the runs, in _finish: a mark holds the value's place."""
    values.append(value)
    return f"{VALUE_MARK}{len(values) - 1}{VALUE_MARK}"


class _Reading:
    """A line or page read for conversion: out is its text pieces (at the
    even indices) and tags (odd), with the runs and attribute values to convert."""

    __slots__ = ("source", "out", "runs", "marks", "end", "result")
    recurs = True  # worth remembering past the batch

    def __init__(self, source: str, out: list[str]) -> None:
        self.source = source
        self.out = out
        # (start, stop, text): the run's pieces are out[start:stop:2], and
        # text is them joined, kept so as to be joined once.
        self.runs: list[tuple[int, int, str]] = []
        # Visible attribute values to convert, and the indices in out of the
        # tags holding their marks; None for most, which have none.
        self.marks: tuple[list[str], list[int]] | None = None
        self.end: Skip = NO_SKIP
        self.result = source  # the converted text, once _finish has run

    def add_run(self, start: int, last: int) -> None:
        """The run of text pieces out[start], out[start + 2] … out[last]; an
        ASCII run has nothing to convert."""
        text = self.out[start] if start == last else "".join(self.out[start : last + 1 : 2])
        if not text.isascii():
            self.runs.append((start, last + 1, text))

    def tag(self, converter: Converter, tag: str, name: str, attrs: str, index: int) -> str:
        """The tag with its visible attribute values marked for conversion."""
        written_name = tag[1 : 1 + len(name)]
        visible: tuple[str, ...] = VISIBLE_ATTRIBUTES
        if name == "meta":
            meta = META_NAME.search(attrs)
            visible = ("content",) if meta and meta.group(1) in VISIBLE_META else ()
        if not visible:
            return tag

        if VALUE_MARK in tag:  # never in real pages; such a tag is converted on its own
            convert: Callable[[str], str] = converter.remembered
        else:
            if self.marks is None:
                self.marks = ([], [])
            values, marked = self.marks
            marked.append(index)
            convert = partial(_mark_value, values)

        def replace(match: re.Match[str]) -> str:
            if match.group(2).lower() not in visible:
                return match.group(0)
            quote = '"' if match.group(4) is not None else "'"
            value = match.group(4) if match.group(4) is not None else match.group(5)
            if value.isascii():
                return match.group(0)
            return f"{match.group(1)}{quote}{convert(value)}{quote}"

        return f"<{written_name}{ATTRIBUTE.sub(replace, attrs)}{tag[len(written_name) + 1 + len(attrs):]}"



def _read(converter: Converter, source: str, start: Skip, strict: bool) -> _Reading | _OneRun:
    """Split a line (or a whole page) into tags and runs of text, starting in
    the skip state start; raises _CutTag (strict) if a tag seems cut in two."""
    tags = source.count("<")
    if start is NO_SKIP:
        if tags == 2:
            simple = _split_simple(source)
            if simple is not None:
                # <p>text</p> and the like, most lines of a page: no scanning.
                opening, text, closing = simple
                if text.isascii():
                    return _Reading(source, [source])  # nothing to convert
                return _OneRun(source, opening, text, closing)
        elif tags == 1:
            meta = META_LINE.match(source)
            if meta and "lang" not in source and "translate" not in source and VALUE_MARK not in source:
                # <meta name="…" content="…">, a dozen in each article's
                # head, as tag() converts it: only the content of the names a
                # reader sees, its value converted alone.
                opening, name, content, closing = meta.groups()
                if name not in VISIBLE_META or content.isascii():
                    return _Reading(source, [source])
                return _OneRun(source, opening, content, closing)
    # re.split does the scanning in C: text, tag, name, text, tag, name … text.
    parts = SPLIT.split(source)
    names = parts[2::3]
    del parts[2::3]
    reading = _Reading(source, parts)
    if start is NO_SKIP and len(names) == tags and _read_plain(converter, reading, names):
        return reading
    _read_tags(converter, reading, start, strict)
    return reading


def _read_plain(converter: Converter, reading: _Reading, names: list[str | None]) -> bool:
    """Read a source of ordinary elements only, without a call per tag: no
    comment, nothing skipped, no lang or translate, no < or > outside tags
    (so nothing cut either). False, having read nothing, for any other.
    The caller has checked that there are as many < as tags."""
    source = reading.source
    count = len(names)
    if source.count(">") != count or "lang" in source or "translate" in source:
        return False
    boundaries = list(map(BOUNDARIES.get, names))
    if None in boundaries:
        return False
    parts = reading.out
    runs = reading.runs
    # Runs are the text pieces between two tags that end a run (or an end).
    start = 0
    for stop in (*compress(range(1, 2 * count, 2), boundaries), 2 * count + 1):
        text = parts[start] if stop == start + 1 else "".join(parts[start:stop:2])
        if not text.isascii():
            runs.append((start, stop, text))
        start = stop + 1
    if not all(map(str.isascii, parts[1::2])):
        for index in range(1, 2 * count, 2):
            tag = parts[index]
            if not tag.isascii():
                closing, name, attrs = _classify(tag)
                if attrs and not closing:
                    parts[index] = reading.tag(converter, tag, name, attrs, index)
    return True


def _read_tags(converter: Converter, reading: _Reading, start: Skip, strict: bool) -> None:
    """Read tag by tag: skipped elements, lang and translate, comments, cut tags."""
    parts = reading.out
    skip_name, skip_depth = start
    first = -1  # index in parts of the current run's first text piece, -1 if none
    last = 0  # and of its last
    for index in range(0, len(parts), 2):
        piece = parts[index]
        if piece and skip_name is None:
            if strict and ("<" in piece or ">" in piece):
                raise _CutTag
            if first < 0:
                first = index
            last = index
        if index + 1 == len(parts):
            break
        tag = parts[index + 1]
        closing, name, attrs = _classify(tag)
        if not name:  # comment or doctype: not a boundary
            continue
        if skip_name is not None:
            if name == skip_name and name not in VOID_ELEMENTS and not attrs.endswith("/"):
                skip_depth += -1 if closing else 1
                if skip_depth == 0:
                    skip_name = None
            continue
        if name not in INLINE_ELEMENTS and first >= 0:
            reading.add_run(first, last)
            first = -1
        if closing:
            continue
        if name in SKIP_ELEMENTS or (attrs and _skips(attrs, converter.code)):
            if first >= 0:
                reading.add_run(first, last)
                first = -1
            if name not in VOID_ELEMENTS:
                skip_name, skip_depth = name, 1
            continue
        if attrs and not tag.isascii():
            parts[index + 1] = reading.tag(converter, tag, name, attrs, index + 1)
    if first >= 0:
        reading.add_run(first, last)
    # NO_SKIP itself, not an equal tuple: line reading tests it by identity.
    reading.end = (skip_name, skip_depth) if skip_name is not None else NO_SKIP


def _skips(attrs: str, code: str) -> bool:
    """Do these attributes mark text not to convert (translate="no", another lang)?"""
    if "translate" in attrs and NO_TRANSLATE.search(attrs):
        return True
    lang = LANG.search(attrs) if "lang" in attrs else None
    return bool(lang) and lang.group(1).lower() != code.lower()


class _Lines:
    """A page cut at its line breaks: lines already converted, and readings to finish."""

    __slots__ = ("lines", "at", "placed", "readings")

    def __init__(
        self, lines: list[str], at: list[int], placed: list[_Reading | _OneRun], readings: list[_Reading | _OneRun]
    ) -> None:
        self.lines = lines
        self.at = at  # the line numbers of …
        self.placed = placed  # … the readings that convert them
        self.readings = readings  # the readings this page brought to the batch

    def text(self) -> str:
        for index, reading in zip(self.at, self.placed):
            self.lines[index] = reading.result
        return "\n".join(self.lines)


def _scan_lines(converter: Converter, html: str, pending: dict[str, _Reading | _OneRun]) -> _Lines | None:
    """Read a page line by line, reusing the lines every page shares.

    Exact because no OpenCC phrase holds a line break, so a run of text
    converts the same whole or cut at its line breaks; the skip state
    (inside <script>, <pre>, another edition's lang …) is carried from line
    to line. None when a tag spans lines (a text piece holds < or >): then
    only the whole page read at once is right.
    """
    lines = html.split("\n")
    memo = converter.lines
    # Most lines are known: looked up all at once, in C, and only the
    # others visited. Known lines start and end outside any skipped element.
    done = list(map(memo.get, lines))
    at: list[int] = []  # the line numbers of …
    placed: list[_Reading | _OneRun] = []  # … the readings that convert them
    readings: list[_Reading | _OneRun] = []
    walked = 0  # lines before this one are read
    try:
        for index in [index for index, line in enumerate(done) if line is None]:
            if index < walked:
                continue  # inside a skipped element, read below
            line = lines[index]
            reading = pending.get(line)  # met earlier in this batch
            if reading is None:
                if line.isascii() and line.count("<") == line.count(">") and not _opens_state(line):
                    memo[line] = done[index] = line  # nothing to convert, nothing opened
                    continue
                reading = _read(converter, line, NO_SKIP, strict=True)
                readings.append(reading)
                # An ASCII line too: <html lang="…"> and <script …> are read
                # once, not on every page.
                pending[line] = reading
            at.append(index)
            placed.append(reading)
            state = reading.end
            walked = index + 1
            # Inside a skipped element: line by line, known or not, until it ends.
            while state is not NO_SKIP and walked < len(lines):
                line = lines[walked]
                if f"{state[0]}" in line.lower():
                    reading = _read(converter, line, state, strict=True)
                    readings.append(reading)
                    at.append(walked)
                    placed.append(reading)
                    state = reading.end
                else:
                    done[walked] = line  # neither opens nor closes the skipped element
                walked += 1
    except _CutTag:
        for mine in readings:  # later pages must not wait for readings never finished
            if pending.get(mine.source) is mine:
                del pending[mine.source]
        return None
    return _Lines(done, at, placed, readings)  # type: ignore[arg-type]  # every None is placed


def _finish(readings: list[_Reading | _OneRun], converter: Converter) -> None:
    """Convert every run and visible attribute of every reading at once (one
    OpenCC call: each call costs about a tenth of a millisecond besides its
    text), put them back and join each reading's result."""
    ones = [reading for reading in readings if type(reading) is _OneRun]
    full = [reading for reading in readings if type(reading) is _Reading]
    texts = [one.body for one in ones]
    texts += [text for reading in full for _, _, text in reading.runs]
    texts += [value for reading in full if reading.marks for value in reading.marks[0]]
    found = converter.many(texts)
    alone = converter.text
    for one in ones:
        body = one.body
        converted_body = found[body]
        # As for a run of one piece below.
        if len(converted_body) != len(body):
            converted_body = alone(body)
        one.result = f"{one.opening}{converted_body}{one.closing}"
    for reading in full:
        out = reading.out
        for start, stop, text in reading.runs:
            converted_run = found[text]
            if len(converted_run) != len(text):
                # Configs with vocabulary changes (s2twp: U盘 → 隨身碟) change
                # lengths; offsets no longer line up, so convert piece by piece.
                out[start:stop:2] = [alone(piece) for piece in out[start:stop:2]]
            elif stop - start == 1:
                out[start] = converted_run
            else:
                pieces = []
                position = 0
                for piece in out[start:stop:2]:
                    pieces.append(converted_run[position : position + len(piece)])
                    position += len(piece)
                out[start:stop:2] = pieces
        if reading.marks:
            # Put the converted attribute values where tag() left their marks.
            values = [found[value] for value in reading.marks[0]]
            for index in reading.marks[1]:
                out[index] = VALUE_MARKS.sub(lambda m: values[int(m.group(1))], out[index])
        reading.result = "".join(out)
