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

SPLIT = re.compile(r"(<!--.*?-->|<![^>]*>|</?[a-zA-Z][a-zA-Z0-9:-]*(?:\"[^\"]*\"|'[^']*'|[^'\">])*>)", re.S)
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
        if self.config is None or html.isascii():
            return html
        return _HtmlRun(self, html).convert()


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


class _HtmlRun:
    def __init__(self, converter: Converter, html: str) -> None:
        self.converter = converter
        self.source = html
        self.out: list[str] = []
        self.run: list[int] = []  # indices in out of the text pieces of the current run
        self.runs: list[list[int]] = []  # finished runs with text to convert

    def flush(self) -> None:
        if self.run:
            if not all(self.out[i].isascii() for i in self.run):
                self.runs.append(self.run)
            self.run = []

    def finish(self) -> None:
        """Convert every run of the page at once and put the pieces back."""
        memo = self.converter.memo
        texts = ["".join(self.out[i] for i in run) for run in self.runs]
        pending = [n for n, text in enumerate(texts) if text not in memo]
        if pending:
            batch = [texts[n] for n in pending]
            converted = self.converter.text(SEPARATOR.join(batch)).split(SEPARATOR)
            if len(converted) != len(batch) or SEPARATOR in "".join(batch):
                converted = [self.converter.text(text) for text in batch]
            for n, text in zip(pending, converted):
                if len(texts[n]) <= MEMO_LIMIT and len(memo) < MEMO_SIZE:
                    memo[texts[n]] = text
                else:
                    self.place(self.runs[n], text)
        for n, run in enumerate(self.runs):
            if texts[n] in memo:
                self.place(run, memo[texts[n]])

    def place(self, run: list[int], converted: str) -> None:
        pieces = [self.out[i] for i in run]
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

    def convert(self) -> str:
        # re.split does the scanning in C: even items are text, odd items tags.
        parts = SPLIT.split(self.source)
        self.out = parts
        skip_name: str | None = None
        skip_depth = 0
        run = self.run
        for index in range(0, len(parts), 2):
            if parts[index] and skip_name is None:
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
                parts[index + 1] = self._tag(tag, name, attrs)
        self.flush()
        self.finish()
        return "".join(parts)

    def _skips(self, attrs: str) -> bool:
        if "translate" in attrs and NO_TRANSLATE.search(attrs):
            return True
        lang = LANG.search(attrs) if "lang" in attrs else None
        return bool(lang) and lang.group(1).lower() != self.converter.code.lower()

    def _tag(self, tag: str, name: str, attrs: str) -> str:
        written_name = tag[1 : 1 + len(name)]
        visible: tuple[str, ...] = VISIBLE_ATTRIBUTES
        if name == "meta":
            meta = META_NAME.search(attrs)
            visible = ("content",) if meta and meta.group(1) in VISIBLE_META else ()
        if not visible:
            return tag

        def replace(match: re.Match[str]) -> str:
            if match.group(2).lower() not in visible:
                return match.group(0)
            quote = '"' if match.group(4) is not None else "'"
            value = match.group(4) if match.group(4) is not None else match.group(5)
            return f"{match.group(1)}{quote}{self.converter.remembered(value)}{quote}"

        return f"<{written_name}{ATTRIBUTE.sub(replace, attrs)}{tag[len(written_name) + 1 + len(attrs):]}"
