"""Import typeset pages: text exported from the layout system → Markdown articles.

A page arrives as the layout system (or a PDF) exports it: lines broken at the
column width in mid-sentence, blank lines where a column or page broke, dates
typeset with spaces (``1 月 20`` ⏎ ``日``), each story's headline printed *after*
its body and opening the next block with a leading space, bylines inside the
first paragraph. This module turns such a page into one Markdown article per
story without rewording, reordering or dropping a printed character: only
whitespace changes, and the markers that become front matter (【栏目】 tags,
（下转A09版）/（上接A01版）) leave the body.

It stands alone (text in, Markdown out): the build never imports it.
"""

from __future__ import annotations

import datetime
import re
import statistics
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence, TextIO

import yaml

from banmian.slugs import slugify, with_suffix

__all__ = [
    "ImportedArticle",
    "RawTextError",
    "read_raw",
    "run_import",
    "split_page",
    "to_markdown",
]


class RawTextError(Exception):
    """The raw page cannot be read or holds no story; the message names the file."""


@dataclass(frozen=True)
class ImportedArticle:
    title: str
    kicker: str | None
    subtitle: str | None
    reporters: tuple[str, ...]
    role: str | None
    column: str | None
    continued_to: str | None
    continued_from: str | None
    body: str  # Markdown
    date: datetime.date
    page: str
    order: int


# --------------------------------------------------------------------------
# Characters and widths

# Lines of a headline block of more than this many lines are not a headline:
# a real headline box holds at most a kicker, two title lines and a subtitle.
_MAX_HEADLINE_LINES = 4

_BLOCK_OPENERS = (" ", "\u3000", "\t")
# A sentence ends at 。！？… possibly followed by closing quotes/brackets; a bare
# closing quote does not (“稳”的基础、激发“进” ⏎ 的动能 is mid-sentence).
_SENTENCE_END = re.compile(r"[。！？!?…][”’」』）)》】〕]*$")
# A line ending like this continues on the next one, whatever its width.
_OPEN_END = re.compile(r"[，、；：,;:（(“‘「『《〔【—\-·]$")
_HAN_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")

_COLUMN_TAG = re.compile(r"^【(?P<name>[^【】\s]{1,12})】")
_MARKER_TO = re.compile(r"[（(]\s*(?:下转|转)\s*(?:第\s*)?(?P<code>[A-Za-z]{0,3}\s*\d{1,3})\s*版\s*[）)]")
_MARKER_FROM = re.compile(r"[（(]\s*(?:上接|接)\s*(?:第\s*)?(?P<code>[A-Za-z]{0,3}\s*\d{1,3})\s*版\s*[）)]")
_DASH_START = re.compile(r"^(?:——|—|―|─|--)")
_HEADLINE_MARKS = ("！", "？", "!", "?")
# A photo caption is a block of its own too: 图为… / ▲… / …本报记者 张三 摄
_CAPTION = re.compile(r"^(?:图为|[▲△◀▶→↑])|(?:记者|通讯员|摄影)\s*[\u4e00-\u9fff·]{2,8}\s*摄[）)]?$")

# 本报讯 / 本报西宁讯 / 新华社北京1月20日电 / 中新网西宁1月20日电, then （…）.
_BYLINE = re.compile(
    r"^(?:[■●◆▲]\s*)?"
    r"(?P<lead>本报[^\s（(，。]{0,10}?讯|新华社[^\s（(，。]{0,14}?电|[^\s（(，。]{1,12}?\d{1,2}月\d{1,2}日电)"
    r"\s*[（(](?P<inner>[^（()）]{1,80})[）)]"
)
_BYLINE_START = re.compile(
    r"^(?:[■●◆▲]\s*)?(?:本报[^\s（(，。]{0,10}?讯|新华社[^\s（(，。]{0,14}?电|[^\s（(，。]{1,12}?\d{1,2}月\d{1,2}日电)\s*[（(]"
)
_ROLE = re.compile(
    r"(?:本报|特约|首席|实习|见习|全媒体|融媒体|驻站|摄影)?(?:记者|通讯员)|实习生"
)
# A byline printed as its own line: ■本报记者 张三 通讯员 李四. A space must
# follow the role, or 记者在现场看到 (a column line) would look like one.
_NAME = r"[\u4e00-\u9fff]{1,5}(?:·[\u4e00-\u9fff]{1,8})?"
_BYLINE_ROLE = r"(?:本报)?(?:特约|首席|实习|见习|全媒体|融媒体)?(?:记者|通讯员)|实习生"
_BYLINE_LINE = re.compile(
    rf"^(?:[■●◆▲]\s*)?(?:{_BYLINE_ROLE})\s+{_NAME}"
    rf"(?:(?:\s+|、)(?:(?:{_BYLINE_ROLE})\s+)?{_NAME})*$"
)


def _is_han(ch: str) -> bool:
    return bool(_HAN_CHAR.match(ch))


def _is_cjk(ch: str) -> bool:
    """Han or full-width punctuation: what needs no space next to a digit."""
    return _is_han(ch) or unicodedata.east_asian_width(ch) in ("W", "F")


def _width(text: str) -> float:
    # In column units: a Han character or full-width sign fills one; digits,
    # Latin and quotes (compressed by the typesetter) about half.
    return sum(1.0 if unicodedata.east_asian_width(c) in ("W", "F") else 0.5 for c in text)


def _is_blank(line: str) -> bool:
    return not line.strip()


def _ends_sentence(line: str) -> bool:
    return bool(_SENTENCE_END.search(line.rstrip()))


def _ends_open(line: str) -> bool:
    return bool(_OPEN_END.search(line.rstrip()))


def _ascii_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


_SPACE_RUN = re.compile(r"[ \t\u00a0]+")


def normalise_spacing(text: str) -> str:
    """Drop typeset spacing between digits/Latin and Chinese (1 月 20 日 → 1月20日).

    Spaces between two Han characters stay (特约记者 莫昌伟 names a person), and
    so do spaces between Latin words.
    """

    def keep(match: re.Match[str]) -> str:
        start, end = match.span()
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        if not before or not after:
            return ""
        if _is_han(before) and _is_han(after):
            return match.group()
        if _ascii_word_char(before) and _ascii_word_char(after):
            return " "
        if _is_cjk(before) or _is_cjk(after):
            return ""
        return " "

    return _SPACE_RUN.sub(keep, text)


def join_lines(lines: Iterable[str]) -> str:
    """Join column lines: Chinese with nothing between, Latin words with a space.

    Whitespace the typesetter left at either side of a break is kept as one
    space, so normalise_spacing can tell 王立彬 ⏎ 张辛欣 (two names) from
    王立 ⏎ 彬 (one name split by the column).
    """
    out = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        spaced = raw[:1].isspace() or out[-1:].isspace()
        out = out.rstrip()
        if not out:
            out = line
        elif _ascii_word_char(out[-1]) and _ascii_word_char(line[0]):
            # Two digits across a break are one number split by the column.
            glued = out[-1].isdigit() and line[0].isdigit() and not spaced
            out += line if glued else " " + line
        else:
            out += (" " if spaced else "") + line
        if raw[-1:].isspace():
            out += " "
    return normalise_spacing(out.strip())


# --------------------------------------------------------------------------
# Reading


def read_raw(path: Path, encoding: str | None = None) -> str:
    """The page's text: UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RawTextError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if data.startswith(b"%PDF"):
        raise RawTextError(f"{path}: this is a PDF; export its text first (e.g. pdftotext)")
    text = _decode(path, data, encoding)
    if "\x00" in text or _mostly_control(text):
        raise RawTextError(f"{path}: does not look like text (binary data?)")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode(path: Path, data: bytes, encoding: str | None) -> str:
    if encoding:
        try:
            return data.decode(encoding)
        except LookupError:
            raise RawTextError(f"{path}: unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as exc:
            raise RawTextError(
                f"{path}: not valid {encoding} (byte {exc.start}); try another --encoding"
            ) from None
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        # GB18030 last: it accepts most byte strings, UTF-8 rejects what is not UTF-8.
        candidates = ["utf-8", "gb18030"]
    for name in candidates:
        try:
            return data.decode(name)
        except UnicodeDecodeError:
            continue
    raise RawTextError(
        f"{path}: neither UTF-8 nor GB18030; give the encoding with --encoding"
    )


def _mostly_control(text: str) -> bool:
    control = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\n\r\t\f")
    return control > max(8, len(text) // 100)


# --------------------------------------------------------------------------
# Splitting the page into stories


@dataclass(frozen=True)
class _Line:
    text: str  # stripped; "" for a blank line
    width: float
    opener: bool  # starts with a space: opens a layout block
    raw: str = ""  # as exported, for the whitespace at its ends

    @property
    def blank(self) -> bool:
        return not self.text


@dataclass(frozen=True)
class _Story:
    body: tuple[_Line, ...]
    headline: tuple[_Line, ...]


def _lines(text: str) -> list[_Line]:
    text = text.lstrip("\ufeff").replace("\f", "\n")
    rows = []
    for raw in text.split("\n"):
        stripped = raw.strip()
        opener = bool(stripped) and raw.startswith(_BLOCK_OPENERS)
        rows.append(_Line(stripped, _width(stripped), opener, raw.rstrip("\n")))
    return rows


def _starts_story_text(line: _Line) -> bool:
    """A byline, a 【栏目】 tag or a 转版 marker cannot be part of a headline."""
    return bool(
        _BYLINE_START.match(normalise_spacing(line.text))
        or _BYLINE_LINE.match(line.text)
        or _COLUMN_TAG.match(line.text)
        or _MARKER_FROM.match(line.text)
        or _MARKER_TO.match(line.text)
    )


def _headline_at(rows: Sequence[_Line], start: int) -> int | None:
    """End index of the headline block opened at ``start``, or None if it is not one."""
    end = start
    while end < len(rows) and not rows[end].blank:
        if end > start and _starts_story_text(rows[end]):
            break
        end += 1
    run = rows[start:end]
    if not 1 <= len(run) <= _MAX_HEADLINE_LINES:
        return None
    if any(_CAPTION.search(r.text) for r in run):
        return None
    tag_only = bool(_COLUMN_TAG.fullmatch(run[0].text))
    if tag_only and len(run) == 1:
        return None
    if (_starts_story_text(run[0]) and not _COLUMN_TAG.match(run[0].text)) or any(
        _ends_sentence(r.text) and not r.text.endswith(_HEADLINE_MARKS) for r in run
    ):
        return None
    if any(r.text.endswith(("；", "、", ";")) for r in run):
        return None
    return end


def _split_stories(rows: Sequence[_Line]) -> list[_Story]:
    stories: list[_Story] = []
    body: list[_Line] = []
    i = 0
    while i < len(rows):
        row = rows[i]
        # A headline closes the story above it; a block with no story above
        # (the page's first) is body, whatever its first line looks like.
        if row.opener and _story_finished(body):
            end = _headline_at(rows, i)
            if end is not None:
                stories.append(_Story(tuple(body), tuple(rows[i:end])))
                body = []
                i = end
                continue
        body.append(row)
        i += 1
    if any(not r.blank for r in body):
        rest, headline = _trailing_headline(body)
        stories.append(_Story(tuple(rest), tuple(headline)))
    return [s for s in stories if any(not r.blank for r in s.body)]


def _story_finished(body: Sequence[_Line]) -> bool:
    """A headline follows its story's last paragraph, never a broken sentence.

    Without this, a line that merely starts with a typeset space (`` 12 万吨``)
    in mid-paragraph would be taken for a headline.
    """
    last = next((r.text for r in reversed(body) if not r.blank), None)
    if last is None:
        return False
    return (
        _ends_sentence(last)
        or last.endswith(("）", ")"))
        or bool(_MARKER_TO.search(last) or _CAPTION.search(last))
    )


def _trailing_headline(body: list[_Line]) -> tuple[list[_Line], list[_Line]]:
    """The last story's headline: the lines after its last paragraph, if they look like one."""
    end = len(body)
    while end and body[end - 1].blank:
        end -= 1
    start = end
    while start and not body[start - 1].blank and end - start < _MAX_HEADLINE_LINES + 1:
        previous = body[start - 1]
        # A headline may end in a question or exclamation mark, on its last line only.
        asks = start == end and previous.text.endswith(_HEADLINE_MARKS)
        if (_ends_sentence(previous.text) and not asks) or _starts_story_text(previous):
            break
        start -= 1
    run = body[start:end]
    if not run or len(run) > _MAX_HEADLINE_LINES or any(_starts_story_text(r) for r in run):
        return body, []
    if any(_ends_open(r.text) and not _DASH_START.match(r.text) for r in run):
        return body, []
    if any(_ends_sentence(r.text) and r.text.endswith(("。", "”", "’")) for r in run):
        return body, []
    before = body[:start]
    if not any(not r.blank for r in before):
        return body, []
    # Without a blank line between, only a marker or a short closing line
    # proves the paragraph above ended (else the run is that paragraph's tail).
    if not before[-1].blank:
        last = before[-1]
        if not (_MARKER_TO.search(last.text) or _ends_sentence(last.text)):
            return body, []
        # …。 ⏎ 为什么？ is a paragraph of its own more often than a headline.
        if run[-1].text.endswith(_HEADLINE_MARKS) and not _MARKER_TO.search(last.text):
            return body, []
    if any(_CAPTION.search(r.text) for r in run):
        return body, []
    return before, run


# --------------------------------------------------------------------------
# Headlines


@dataclass(frozen=True)
class _Headline:
    title: str
    kicker: str | None
    subtitle: str | None
    column: str | None


def _headline_fields(lines: Sequence[_Line]) -> _Headline:
    """Boxes of the headline: each space-opened or dash-opened line starts a box.

    One box is the title (its lines are phrases of one headline, joined with a
    space); a box opening with a dash is the 副题; with two boxes and no dash
    the first is the 引题, with three they are 引题/主题/副题.
    """
    boxes: list[list[str]] = []
    for index, line in enumerate(lines):
        text = normalise_spacing(line.text)
        if index == 0 or line.opener or _DASH_START.match(text):
            boxes.append([text])
        else:
            boxes[-1].append(text)
    column = None
    tag = _COLUMN_TAG.match(boxes[0][0]) if boxes else None
    if tag and (len(boxes[0][0]) > tag.end() or len(boxes[0]) > 1 or len(boxes) > 1):
        column = tag.group("name")
        boxes[0][0] = boxes[0][0][tag.end():].strip()
    texts = [" ".join(line for line in box if line) for box in boxes]
    texts = [t for t in texts if t]
    subtitle = None
    if len(texts) > 1 and _DASH_START.match(texts[-1]):
        subtitle = texts.pop()
    kicker = None
    if len(texts) > 1:
        kicker = texts.pop(0)
    return _Headline(" ".join(texts), kicker, subtitle, column)


# --------------------------------------------------------------------------
# Paragraphs


@dataclass(frozen=True)
class _Metrics:
    """The page's column measure: full line width and first-line indent."""

    full: float
    indent: float | None  # None: the page has too few paragraphs to tell
    # Measured on enough lines to trust: a page of a few lines proves little,
    # so a line must then be much shorter to stand alone.
    reliable: bool = True

    def first_line_like(self, line: _Line) -> bool:
        # Latin, digits and typeset spaces make the width estimate unreliable
        # (the typesetter stretches them to fill the line): never evidence.
        if any(c.isascii() and (c.isalnum() or c == " ") for c in line.text):
            return False
        indent = self.indent or 0.0
        low = self.full - indent - 2.5
        high = self.full - max(1.25, 0.5 * indent)
        return low <= line.width <= high and not _ends_sentence(line.text)


def _measure(line: _Line) -> float:
    # The typesetter may hang a line's last punctuation mark past the column
    # (禁则): measure the column without it.
    if line.text[-1:] and unicodedata.category(line.text[-1]).startswith("P"):
        return line.width - _width(line.text[-1])
    return line.width


def _unfinished_count(lines: Sequence[_Line]) -> int:
    return sum(1 for r in lines if not r.blank and not _ends_sentence(r.text))


def _full_width(lines: Sequence[_Line], fallback: float | None = None) -> float:
    unfinished = [r for r in lines if not r.blank and not _ends_sentence(r.text)]
    if len(unfinished) >= 5:
        # The upper quartile: first lines and sub-heads are among the
        # unfinished lines too, and only ever shorter than a full one.
        return statistics.quantiles([r.width for r in unfinished], n=4)[2]
    if fallback is not None:
        return fallback
    # Too few lines to tell full ones from short: the widest line, less any
    # hanging punctuation, is the measure, so that no line of a tiny page
    # passes for a sub-head by being short.
    return max((_measure(r) for r in lines if not r.blank), default=0.0)


def _page_indent(stories: Sequence[_Story], fulls: Sequence[float]) -> float | None:
    """How much shorter a paragraph's first line is than a full line on this page."""
    deltas: list[float] = []
    for story, full in zip(stories, fulls):
        rows = story.body
        for i in range(1, len(rows) - 1):
            row, prev, nxt = rows[i], rows[i - 1], rows[i + 1]
            if row.blank or nxt.blank or _ends_sentence(row.text) or _ends_sentence(nxt.text):
                continue
            after_paragraph = prev.blank and i >= 2 and _ends_sentence(rows[i - 2].text)
            # Far shorter lines are sub-heads, not indented first lines.
            if after_paragraph and not _COLUMN_TAG.match(row.text) and full - row.width <= 4:
                deltas.append(full - row.width)
    # Two or three samples say nothing about a page's habit.
    return statistics.median(deltas) if len(deltas) >= 4 else None


@dataclass(frozen=True)
class _Block:
    kind: str  # "p", "heading", "box"
    text: str


def _next_text(rows: Sequence[_Line], i: int) -> int | None:
    for j in range(i, len(rows)):
        if not rows[j].blank:
            return j
    return None


def _subhead(rows: Sequence[_Line], i: int, m: _Metrics) -> tuple[int, str] | None:
    """The sub-head starting at ``i`` (which starts a paragraph): lines used, text.

    A paragraph's lines, but its last, fill the column (its first less the
    indent); a line that does not, and does not end a sentence, stands alone.
    A sub-head may take two lines: one wrapped in the column (joined as one
    line), or two short phrases (joined with a space, like a headline's).
    """
    first = rows[i]
    if not _may_be_subhead(first):
        return None
    j = _next_text(rows, i + 1)
    if j is None:
        return None
    second = rows[j]
    after = _next_text(rows, j + 1)
    if after is not None and j == i + 1 and _may_be_subhead(second):
        if _stands_alone(second, rows[after], m):
            if first.width >= m.full - 1 and second.width < first.width - 1:
                return 2, join_lines([first.raw, second.raw])
            if _stands_alone(first, second, m):
                return 2, f"{join_lines([first.raw])} {join_lines([second.raw])}"
    if _stands_alone(first, second, m):
        return 1, join_lines([first.raw])
    return None


def _may_be_subhead(row: _Line) -> bool:
    return not (
        row.blank
        or _ends_sentence(row.text)
        or _ends_open(row.text)
        or _starts_story_text(row)
    )


def _stands_alone(line: _Line, following: _Line, m: _Metrics) -> bool:
    if m.indent is not None and m.indent >= 1.0:
        # Indented page: a first line may be short by the indent and then
        # some, so only a much shorter line, or one followed by what looks
        # like a paragraph's (indented) first line, is not a paragraph's start.
        return line.width <= m.full - m.indent - 5 or m.first_line_like(following)
    # A first line fills the column on a page known not to indent; else leave
    # room for an indent the page's few lines did not show.
    if not m.reliable or m.indent is None:
        return line.width <= m.full - 5
    return line.width <= m.full - 3


def _paragraphs(rows: Sequence[_Line], m: _Metrics) -> list[_Block]:
    blocks: list[_Block] = []
    current: list[str] = []
    kind = "p"
    box_next = False

    def close() -> None:
        nonlocal current, kind
        if current:
            blocks.append(_Block(kind, join_lines(current)))
        current, kind = [], "p"

    i = 0
    while i < len(rows):
        row = rows[i]
        if row.blank:
            # A blank after a finished sentence ends the paragraph; after an
            # unfinished one the column or page broke there.
            if current and _ends_sentence(current[-1].strip()):
                close()
            i += 1
            continue
        if not current and _BYLINE_LINE.match(row.text):
            blocks.append(_Block("p", join_lines([row.raw])))
            i += 1
            continue
        if not current:
            tag = _COLUMN_TAG.match(row.text)
            if tag:
                blocks.append(_Block("tag", tag.group("name")))
                rest = row.text[tag.end():].strip()
                box_next = True
                if not rest:
                    i += 1
                    continue
                row = _Line(rest, _width(rest), False, rest)
            else:
                subhead = _subhead(rows, i, m)
                if subhead:
                    size, text = subhead
                    blocks.append(_Block("heading", text))
                    i += size
                    continue
            # A tag over a byline heads the story itself, not a box inside it.
            kind = "box" if box_next and not _starts_story_text(row) else "p"
            box_next = False
        current.append(row.raw or row.text)
        if _line_ends_paragraph(rows, i, m):
            close()
        i += 1
    close()
    return blocks


def _line_ends_paragraph(rows: Sequence[_Line], i: int, m: _Metrics) -> bool:
    row = rows[i]
    if _MARKER_TO.fullmatch(row.text) or _MARKER_FROM.fullmatch(row.text):
        return True
    nxt = rows[i + 1] if i + 1 < len(rows) else None
    if nxt is None or nxt.blank or not _ends_sentence(row.text):
        return False
    # A sentence ending on a short line ends its paragraph even when no blank
    # line follows (the rest of the column stayed empty).
    return row.width <= m.full - 1.5 or m.first_line_like(nxt) and row.width <= m.full - 1


# --------------------------------------------------------------------------
# Fields from the body


@dataclass(frozen=True)
class _Byline:
    reporters: tuple[str, ...]
    role: str | None


def _parse_byline(text: str) -> _Byline | None:
    match = _BYLINE.match(text)
    inner = match.group("inner") if match else None
    if inner is None and _BYLINE_LINE.match(text):
        inner = re.sub(r"^[■●◆▲]\s*", "", text)
    if inner is None:
        return None
    roles: list[str] = []
    names: list[str] = []
    pieces = _ROLE.split(inner)
    found = _ROLE.findall(inner)
    for position, chunk in enumerate(pieces):
        chunk_names = [n for n in re.split(r"[\s、，,/／]+", chunk) if n]
        if position > 0:
            role = found[position - 1].removeprefix("本报")
            if chunk_names and role not in roles:
                roles.append(role)
        names.extend(chunk_names)
    if not names:
        return None
    return _Byline(tuple(dict.fromkeys(names)), "、".join(roles) or None)


@dataclass(frozen=True)
class _Markers:
    blocks: tuple[_Block, ...]
    continued_to: str | None
    continued_from: str | None


def _page_code(raw: str) -> str:
    code = re.sub(r"\s+", "", raw).upper()
    letters = code.rstrip("0123456789")
    digits = code[len(letters):]
    return f"{letters}{int(digits):02d}"


def _take_markers(blocks: Sequence[_Block]) -> _Markers:
    """Move the first 下转/上接 marker of each kind out of the text into fields."""
    found: dict[str, str] = {}
    kept: list[_Block] = []
    for block in blocks:
        text = block.text
        for key, pattern in (("to", _MARKER_TO), ("from", _MARKER_FROM)):
            if key in found or block.kind not in ("p", "box"):
                continue
            match = pattern.search(text)
            if match:
                found[key] = _page_code(match.group("code"))
                text = (text[: match.start()] + text[match.end():]).strip()
        if text:
            kept.append(_Block(block.kind, text))
    return _Markers(tuple(kept), found.get("to"), found.get("from"))


# --------------------------------------------------------------------------
# Markdown

_MD_INLINE = re.compile(r"([\\`*_\[\]])")
_MD_BLOCK_START = re.compile(r"^(#{1,6}\s|>|[-+*]\s|\d+[.)]\s|=+\s*$|-+\s*$)")


def _escape(text: str) -> str:
    # Printed text is never markup: 1. at a line start is no list, <b> no tag.
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    text = _MD_INLINE.sub(r"\\\1", text)
    ordered = re.match(r"^(\d+)([.)])(\s)", text)
    if ordered:
        text = f"{ordered.group(1)}\\{text[ordered.end(1):]}"
    elif _MD_BLOCK_START.match(text):
        text = "\\" + text
    return text


def _render(blocks: Sequence[_Block]) -> str:
    parts = []
    for block in blocks:
        if block.kind == "heading":
            parts.append("## " + _escape(block.text))
        elif block.kind == "box":
            parts.append("> " + _escape(block.text))
        else:
            parts.append(_escape(block.text))
    return "\n\n".join(parts) + "\n" if parts else ""


# --------------------------------------------------------------------------
# The page


def split_page(text: str, date: datetime.date, page: str) -> list[ImportedArticle]:
    """Every story of a typeset page, in the order printed."""
    return [article for article, _ in _split(text, date, page)]


def _split(text: str, date: datetime.date, page: str) -> list[tuple[ImportedArticle, bool]]:
    """Articles, each with whether its headline was found on the page."""
    rows = _lines(text)
    stories = _split_stories(rows)
    page_lines = [r for s in stories for r in s.body]
    page_full = _full_width(page_lines)
    reliable = _unfinished_count(page_lines) >= 5
    fulls = [_full_width(s.body, page_full) for s in stories]
    indent = _page_indent(stories, fulls)
    articles = []
    for order, (story, full) in enumerate(zip(stories, fulls), start=1):
        blocks = _paragraphs(story.body, _Metrics(full, indent, reliable))
        articles.append((_article(story, blocks, date, page, order), bool(story.headline)))
    return articles


def _article(
    story: _Story, blocks: list[_Block], date: datetime.date, page: str, order: int
) -> ImportedArticle:
    headline = _headline_fields(story.headline) if story.headline else None
    column = headline.column if headline else None
    tags = [b for b in blocks if b.kind == "tag"]
    if tags and column is None:
        column = tags[0].text
    blocks = [b for b in blocks if b.kind != "tag"]
    markers = _take_markers(blocks)
    byline = None
    for block in markers.blocks[:3]:
        byline = _parse_byline(block.text) if block.kind == "p" else None
        if byline:
            break
    title = headline.title if headline and headline.title else _first_words(markers.blocks)
    return ImportedArticle(
        title=title,
        kicker=headline.kicker if headline else None,
        subtitle=headline.subtitle if headline else None,
        reporters=byline.reporters if byline else (),
        role=byline.role if byline else None,
        column=column,
        continued_to=markers.continued_to,
        continued_from=markers.continued_from,
        body=_render(markers.blocks),
        date=date,
        page=page,
        order=order,
    )


def _first_words(blocks: Sequence[_Block]) -> str:
    # A story without a printed headline still needs a title; its first
    # sentence, as printed, is the least invented one. run_import warns.
    text = blocks[0].text if blocks else ""
    text = _BYLINE.sub("", text)
    sentence = re.split(r"(?<=[。！？])", text, maxsplit=1)[0]
    return sentence[:30] or "无题"


def to_markdown(article: ImportedArticle) -> str:
    """Front matter (DESIGN's keys, empty ones left out) and the body."""
    meta: dict[str, object] = {"title": article.title}
    if article.kicker:
        meta["kicker"] = article.kicker
    if article.subtitle:
        meta["subtitle"] = article.subtitle
    meta["date"] = article.date
    meta["page"] = article.page
    if article.reporters:
        meta["reporter"] = (
            article.reporters[0] if len(article.reporters) == 1 else list(article.reporters)
        )
    if article.role:
        meta["role"] = article.role
    if article.column:
        meta["column"] = article.column
    meta["order"] = article.order
    if article.continued_to:
        meta["continued_to"] = article.continued_to
    if article.continued_from:
        meta["continued_from"] = article.continued_from
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1_000_000)
    return f"---\n{front}---\n{article.body}"


# --------------------------------------------------------------------------
# The command

_PAGE_CODE = re.compile(r"^[A-Za-z]*\d+$")


def run_import(
    raw: Path,
    date: datetime.date,
    page: str,
    source: Path,
    *,
    dry_run: bool,
    encoding: str | None,
    force: bool,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """``build.py import``: write one Markdown file per story; 0 done, 1 bad input."""
    page = page.strip().upper()
    if not _PAGE_CODE.match(page):
        err.write(f"{raw}: page {page!r} is not a page code like A01\n")
        return 1
    try:
        text = read_raw(raw, encoding)
    except RawTextError as exc:
        err.write(f"{exc}\n")
        return 1
    found = _split(text, date, page)
    if not found:
        err.write(f"{raw}: no story found in this page\n")
        return 1
    for article, has_headline in found:
        if not has_headline:
            err.write(
                f"{raw}: story {article.order} has no headline; "
                f"title taken from its text, check it: {article.title}\n"
            )
    articles = [article for article, _ in found]
    folder = Path(source) / "content" / date.isoformat() / page
    if dry_run:
        for article in articles:
            out.write(f"==> {folder / (slugify(article.title) + '.md')} <==\n")
            out.write(to_markdown(article))
            out.write("\n")
        return 0
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for path, article in zip(_target_paths(folder, articles, force), articles):
            # "x" refuses to replace a file that appeared since we looked.
            with path.open("w" if force else "x", encoding="utf-8", newline="\n") as fh:
                fh.write(to_markdown(article))
            out.write(f"wrote {path}\n")
    except OSError as exc:
        err.write(f"{getattr(exc, 'filename', None) or folder}: cannot write: {exc.strerror or exc}\n")
        return 1
    return 0


def _target_paths(folder: Path, articles: Sequence[ImportedArticle], force: bool) -> list[Path]:
    """One file per article: its slug, with -2, -3 … past existing and sibling files."""
    taken: set[str] = set()
    paths = []
    for article in articles:
        base = slugify(article.title)
        name, n = base, 1
        while name in taken or (not force and (folder / f"{name}.md").exists()):
            n += 1
            name = with_suffix(base, n)
        taken.add(name)
        paths.append(folder / f"{name}.md")
    return paths
