"""The convert stage: 简 → 繁 for every human-visible string of an edition.

Conversion runs over finished HTML so that nothing a reader sees can be
missed (template labels included), while tags, attributes that are not shown,
URLs, scripts, code and text marked with another edition's `lang` (or
`translate="no"`) pass through untouched. Text split by inline markup is
converted as one run, so 头**发** is read as the phrase 头发 (頭髮), not 發.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable, Sequence

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
# each starting with "<", and linear on a "<" never closed.
SPLIT = re.compile(r"""(<(?:!--.*?--|![^>]*|/?[a-zA-Z][a-zA-Z0-9:-]*(?:[^'">]++|"[^"]*+"|'[^']*+')*+)>)""", re.S)
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
        # Whole lines of pages outside any skipped element → converted line:
        # a page's chrome (head, masthead, page strip, labels) repeats on
        # every page, so it is read once instead of on each of thousands.
        self.lines: dict[str, tuple[str, Skip]] = {}

    @property
    def identity(self) -> bool:
        return self.config is None

    def text(self, text: str) -> str:
        if self.config is None or text.isascii():
            return text
        # Loaded on first use: a rebuild that converts nothing never pays for it.
        return _opencc(self.config).convert(text)

    def remembered(self, text: str) -> str:
        """text(), memoised for the short strings that recur on every page."""
        converted = self.memo.get(text)
        if converted is None:
            converted = self.text(text)
            if len(text) <= MEMO_LIMIT and len(self.memo) < MEMO_SIZE:
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
        read: list[str | _Lines | _HtmlRun] = []
        runs: list[_HtmlRun] = []
        simple: list[_SimpleLine] = []
        pending: dict[str, _HtmlRun | _SimpleLine] = {}  # lines met earlier in this batch
        for page in pages:
            if page.isascii():
                read.append(page)
                continue
            lines = _scan_lines(self, page, pending) if page.count("\n") >= LINES_AT_LEAST else None
            if lines is not None:
                read.append(lines)
                runs.extend(lines.runs)
                simple.extend(lines.simple)
                continue
            run = _HtmlRun(self, page)
            run.scan(strict=False)
            read.append(run)
            runs.append(run)
        _finish(runs, simple, self)
        if len(self.lines) > LINE_MEMO_SIZE:
            self.lines.clear()  # the shared lines come back within a page or two
        for line, run in pending.items():
            # A long line of one element is a paragraph of one article: it
            # does not come back, and remembering it would crowd out the
            # lines that do.
            if len(line) <= SIMPLE_MEMO_LIMIT or not isinstance(run, _SimpleLine):
                self.lines[line] = (run.text(), run.end)
        return [item if isinstance(item, str) else item.text() for item in read]


@lru_cache(maxsize=None)
def _opencc(config: str):  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC(f"{config}.json")


# Joins the runs of one page for a single OpenCC call; a private-use
# character is in no dictionary, so no phrase can match across it.
SEPARATOR = "\ue000"
# Short runs (labels, page names, titles) repeat on every page: remembered.
MEMO_LIMIT = 160
MEMO_SIZE = 50_000


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


def _opens_state(line: str) -> bool:
    """Might this ASCII line open an element whose text is not converted?"""
    low = line.lower()
    if ("lang" in low or "translate" in low) and ATTRIBUTE_HINT.search(low):
        return True
    return SKIP_TAG_HINT.search(low) is not None


class _SimpleLine:
    """A line that is one element holding only text (<p>…</p>, most lines
    of a page): its text is one run, converted without a scanner."""

    __slots__ = ("source", "opening", "body", "closing", "converted")
    end = NO_SKIP  # opens nothing

    def __init__(self, source: str, parts: tuple[str, str, str]) -> None:
        self.source = source
        self.opening, self.body, self.closing = parts
        self.converted = self.body

    def text(self) -> str:
        return f"{self.opening}{self.converted}{self.closing}"


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


class _Lines:
    """A page cut at its line breaks: lines already converted, and runs to finish."""

    def __init__(
        self,
        lines: list[str],
        placed: list[tuple[int, "_HtmlRun | _SimpleLine"]],
        runs: list["_HtmlRun"],
        simple: list[_SimpleLine],
    ) -> None:
        self.lines = lines
        self.placed = placed  # (line number, the run that converts it)
        self.runs = runs  # the runs this page brought to the batch
        self.simple = simple  # and its lines of one element

    def text(self) -> str:
        for index, run in self.placed:
            self.lines[index] = run.text()
        return "\n".join(self.lines)


def _scan_lines(converter: Converter, html: str, pending: dict[str, "_HtmlRun | _SimpleLine"]) -> _Lines | None:
    """Read a page line by line, reusing the lines every page shares.

    Exact because no OpenCC phrase holds a line break, so a run of text
    converts the same whole or cut at its line breaks; the skip state
    (inside <script>, <pre>, another edition's lang …) is carried from line
    to line. None when a tag spans lines (a text piece holds < or >): then
    only the whole page read at once is right.
    """
    lines = html.split("\n")
    memo = converter.lines
    state: Skip = NO_SKIP
    placed: list[tuple[int, _HtmlRun | _SimpleLine]] = []
    runs: list[_HtmlRun] = []
    simple: list[_SimpleLine] = []
    for index, line in enumerate(lines):
        if state is NO_SKIP:
            ascii = line.isascii()
            if ascii and line.count("<") == line.count(">") and not _opens_state(line):
                continue  # nothing to convert, nothing opened
            known = memo.get(line)
            if known is not None:
                lines[index], state = known
                continue
            seen = pending.get(line)
            if seen is not None:
                placed.append((index, seen))
                state = seen.end
                continue
            if not ascii:
                parts = _split_simple(line)
                if parts is not None:
                    one = _SimpleLine(line, parts)
                    placed.append((index, one))
                    simple.append(one)
                    pending[line] = one
                    continue  # state stays NO_SKIP
        elif f"{state[0]}" not in line.lower():
            continue  # inside a skipped element that neither opens nor closes here
        run = _HtmlRun(converter, line, state)
        if not run.scan(strict=True):
            for mine in (*runs, *simple):  # later pages must not wait for runs never finished
                if pending.get(mine.source) is mine:
                    del pending[mine.source]
            return None
        placed.append((index, run))
        runs.append(run)
        if state is NO_SKIP:
            # An ASCII line too: <html lang="…"> and <script …> are read
            # once, not on every page.
            pending[line] = run
        state = run.end
    return _Lines(lines, placed, runs, simple)


def _finish(jobs: list["_HtmlRun"], simple: list[_SimpleLine], converter: Converter) -> None:
    """Convert every run and visible attribute of every piece at once (one
    OpenCC call: each call costs about a tenth of a millisecond besides its
    text) and put them back."""
    memo = converter.memo
    runs = [(job, run) for job in jobs for run in job.runs]
    texts = ["".join([job.out[i] for i in run]) for job, run in runs]
    values = [value for job in jobs for value in job.values]
    bodies = [line.body for line in simple]
    wanted = list(dict.fromkeys(text for text in (*texts, *values, *bodies) if text not in memo))
    done: dict[str, str] = {}
    if wanted:
        converted = converter.text(SEPARATOR.join(wanted)).split(SEPARATOR)
        if len(converted) != len(wanted) or SEPARATOR in "".join(wanted):
            converted = [converter.text(text) for text in wanted]
        for text, result in zip(wanted, converted):
            if len(text) <= MEMO_LIMIT and len(memo) < MEMO_SIZE:
                memo[text] = result
            else:
                done[text] = result
    for (job, run), text in zip(runs, texts):
        job.place(run, memo[text] if text in memo else done[text])
    for line in simple:
        body = line.body
        converted = memo[body] if body in memo else done[body]
        # As _HtmlRun.place does for a run of one piece.
        line.converted = converted if len(converted) == len(body) else converter.text(body)
    for job in jobs:
        if job.values:
            job.fill_values([memo[v] if v in memo else done[v] for v in job.values])


class _HtmlRun:
    def __init__(self, converter: Converter, html: str, start: Skip = NO_SKIP) -> None:
        self.converter = converter
        self.source = html
        self.start = start
        self.end = start
        self.out: list[str] = []
        self.run: list[int] = []  # indices in out of the text pieces of the current run
        self.runs: list[list[int]] = []  # finished runs with text to convert
        self.values: list[str] = []  # visible attribute values to convert
        self.marked: list[int] = []  # indices in out of the tags holding them

    def text(self) -> str:
        return "".join(self.out)

    def flush(self) -> None:
        if self.run:
            if not all(self.out[i].isascii() for i in self.run):
                self.runs.append(self.run)
            self.run = []

    def place(self, run: list[int], converted: str) -> None:
        pieces = [self.out[i] for i in run]
        if len(pieces) == 1:
            self.out[run[0]] = converted if len(converted) == len(pieces[0]) else self.converter.text(pieces[0])
            return
        if sum(map(len, pieces)) == len(converted):
            position = 0
            for index, piece in zip(run, pieces):
                self.out[index] = converted[position : position + len(piece)]
                position += len(piece)
        else:
            # Configs with vocabulary changes (s2twp: U盘 → 隨身碟) change
            # lengths; offsets no longer line up, so convert piece by piece.
            for index, piece in zip(run, pieces):
                self.out[index] = self.converter.text(piece)

    def scan(self, strict: bool) -> bool:
        """Split into tags and runs of text; False (strict) if a tag seems cut in two."""
        if self.start is NO_SKIP and self._simple():
            return True
        # re.split does the scanning in C: even items are text, odd items tags.
        parts = SPLIT.split(self.source)
        self.out = parts
        skip_name, skip_depth = self.start
        run = self.run
        for index in range(0, len(parts), 2):
            piece = parts[index]
            if piece and skip_name is None:
                if strict and ("<" in piece or ">" in piece):
                    return False
                run.append(index)
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
            if name not in INLINE_ELEMENTS:
                self.flush()
                run = self.run
            if closing:
                continue
            if name in SKIP_ELEMENTS or (attrs and self._skips(attrs)):
                self.flush()
                run = self.run
                if name not in VOID_ELEMENTS:
                    skip_name, skip_depth = name, 1
                continue
            if attrs and not tag.isascii():
                parts[index + 1] = self._tag(tag, name, attrs, index + 1)
        self.flush()
        # NO_SKIP itself, not an equal tuple: line reading tests it by identity.
        self.end = (skip_name, skip_depth) if skip_name is not None else NO_SKIP
        return True

    def _simple(self) -> bool:
        """<p>text</p> and the like, most lines of a page: split without scanning."""
        parts = _split_simple(self.source)
        if parts is None:
            return False
        opening, text, closing = parts
        self.out = [opening, text, closing]
        if not text.isascii():
            self.runs.append([1])
        return True

    def _skips(self, attrs: str) -> bool:
        if "translate" in attrs and NO_TRANSLATE.search(attrs):
            return True
        lang = LANG.search(attrs) if "lang" in attrs else None
        return bool(lang) and lang.group(1).lower() != self.converter.code.lower()

    def _tag(self, tag: str, name: str, attrs: str, index: int) -> str:
        written_name = tag[1 : 1 + len(name)]
        visible: tuple[str, ...] = VISIBLE_ATTRIBUTES
        if name == "meta":
            meta = META_NAME.search(attrs)
            visible = ("content",) if meta and meta.group(1) in VISIBLE_META else ()
        if not visible:
            return tag

        if VALUE_MARK in tag:  # never in real pages; such a tag is converted on its own
            convert: Callable[[str], str] = self.converter.remembered
        else:
            convert = self._mark_value
            self.marked.append(index)

        def replace(match: re.Match[str]) -> str:
            if match.group(2).lower() not in visible:
                return match.group(0)
            quote = '"' if match.group(4) is not None else "'"
            value = match.group(4) if match.group(4) is not None else match.group(5)
            if value.isascii():
                return match.group(0)
            return f"{match.group(1)}{quote}{convert(value)}{quote}"

        return f"<{written_name}{ATTRIBUTE.sub(replace, attrs)}{tag[len(written_name) + 1 + len(attrs):]}"

    def _mark_value(self, value: str) -> str:
        """Converted with the runs, in _finish: a mark holds the value's place."""
        self.values.append(value)
        return f"{VALUE_MARK}{len(self.values) - 1}{VALUE_MARK}"

    def fill_values(self, converted: list[str]) -> None:
        """Put the converted attribute values where _tag left their marks."""
        for index in self.marked:
            self.out[index] = VALUE_MARKS.sub(lambda m: converted[int(m.group(1))], self.out[index])
