"""The newspaper, in its own terms: Edition, Issue, Page, Article.

Records here are immutable and carry no behaviour beyond what they are; the
stages (load → resolve → convert → render → write) build and read them.
"""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping, NoReturn

PAGE_CODE = re.compile(r"^([A-Z]*)(\d+)$")
WEEKDAYS = "一二三四五六日"


def page_sort_key(code: str) -> tuple[str, int]:
    """A01 < A02 < A09 < A10 < B01; plain 01 < 02 sort before lettered pages."""
    match = PAGE_CODE.match(code)
    if not match:
        return (code, 0)
    return (match.group(1), int(match.group(2)))


def chinese_date(day: dt.date) -> str:
    """2025年1月21日 星期二, as a masthead prints it."""
    return f"{day.year}年{day.month}月{day.day}日 星期{WEEKDAYS[day.weekday()]}"


class FrozenMap(dict):  # type: ignore[type-arg]
    """A read-only dict: immutable like MappingProxyType, but picklable for the cache."""

    def _readonly(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("FrozenMap is read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMap, (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))


def frozen_map(items: Mapping[Any, Any] | None = None) -> Mapping[Any, Any]:
    return FrozenMap(items or {})


@dataclass(frozen=True)
class Edition:
    """One published script of the paper (简体 source, 繁體 converted)."""

    code: str  # BCP 47: zh-Hans, zh-Hant, zh-HK …
    path: str  # URL segment
    label: str  # as shown in the switcher, in its own script
    opencc: str | None  # None: the source script, no conversion

    @property
    def is_source(self) -> bool:
        return self.opencc is None


@dataclass(frozen=True)
class Newspaper:
    """newspaper.toml, validated."""

    title: str
    base_url: str  # always ends with "/"
    timezone: str
    default_edition: str
    editions: tuple[Edition, ...]
    page_names: Mapping[str, str] = field(default_factory=frozen_map)
    feed_issues: int = 7
    feed_full_text: bool = True
    description: str = ""

    @property
    def base_path(self) -> str:
        """The path part of base_url: "/" or "/epaper/" when hosted in a folder."""
        rest = self.base_url.split("://", 1)[-1]
        return "/" + rest.split("/", 1)[1] if "/" in rest else "/"

    @property
    def default(self) -> Edition:
        return next(e for e in self.editions if e.code == self.default_edition)

    @property
    def source_edition(self) -> Edition:
        return next(e for e in self.editions if e.is_source)


@dataclass(frozen=True)
class ArticleSource:
    """One Markdown file, as the desk wrote it (front matter validated)."""

    file: str  # path relative to the source folder, with forward slashes
    digest: str  # of the file's bytes: the cache key
    title: str
    date: dt.date
    page: str
    body: str  # Markdown
    body_line: int  # line of the body's first line in the file
    kicker: str = ""
    subtitle: str = ""
    page_name: str = ""
    reporters: tuple[str, ...] = ()
    role: str = ""
    column: str = ""
    order: int | None = None
    continued_to: str = ""
    continued_from: str = ""
    slug: str = ""  # explicit override, "" when not given
    summary: str = ""
    draft: bool = False
    image: str = ""  # lead image (path or URL), used by feeds as enclosure
    lines: Mapping[str, int] = field(default_factory=frozen_map)  # key → line

    def line_of(self, key: str) -> int | None:
        return self.lines.get(key)

    def __reduce__(self) -> tuple[Any, ...]:
        # The cache holds thousands of these: pickled as flat tuples they
        # load about three times faster than field by field.
        values = tuple(self.__dict__[name] for name in SOURCE_FIELDS)
        return (restore_source, (values, dict(self.lines)))


_TAGS = re.compile(r"<[^>]+>")
_BLOCK_END = re.compile(r"</(p|h[1-6]|li|blockquote|div|tr|table|pre)>", re.I)
_FIRST_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.S)


SOURCE_FIELDS = tuple(name for name in ArticleSource.__dataclass_fields__ if name != "lines")


def restore_source(values: tuple[Any, ...], lines: dict[str, int]) -> ArticleSource:
    source = object.__new__(ArticleSource)
    # A frozen dataclass refuses setattr; filling its __dict__ is what
    # unpickling does anyway.
    source.__dict__.update(zip(SOURCE_FIELDS, values))
    source.__dict__["lines"] = FrozenMap(lines)
    return source


def with_body(source: ArticleSource, body: str) -> ArticleSource:
    """source with another body: the same fields otherwise, made the way
    unpickling makes it (dataclasses.replace runs __init__ again: 0.15 s
    for 5,000 articles at the end of every cold build)."""
    copy = object.__new__(ArticleSource)
    copy.__dict__.update(source.__dict__)
    copy.__dict__["body"] = body
    return copy


@dataclass(frozen=True)
class Body:
    """An article's body, rendered once and shared by pages, feeds and search.

    Only the HTML is kept in the build cache; the plain text and the lead are
    derived when first asked for, which an incremental build rarely does.
    """

    html: str

    @property
    def text(self) -> str:
        """Plain text, one paragraph a line (search, summaries).

        Not kept: only the search index reads it, once per article, and kept
        for every article it was 23 MB of a 10,000-article build's peak."""
        text = _BLOCK_END.sub(lambda m: m.group(0) + "\n", self.html)
        text = htmllib.unescape(_TAGS.sub("", text))
        return "\n".join(line.strip() for line in text.splitlines() if line.strip())

    @cached_property
    def lead(self) -> str:
        """Plain text of the first paragraph."""
        match = _FIRST_PARAGRAPH.search(self.html)
        return htmllib.unescape(_TAGS.sub("", match.group(1))).strip() if match else ""

    def __getstate__(self) -> dict[str, str]:
        return {"html": self.html}


@dataclass(frozen=True)
class PageMeta:
    """A page's entry in issue.toml."""

    name: str = ""
    editor: str = ""
    image: str = ""
    pdf: str = ""


@dataclass(frozen=True)
class IssueMeta:
    """content/<date>/issue.toml."""

    file: str
    date: dt.date
    number: str = ""  # 期号, as printed (第12345期 or 12345)
    note: str = ""
    pages: Mapping[str, PageMeta] = field(default_factory=frozen_map)


@dataclass(frozen=True)
class Link:
    """A resolved link: its text and its URL in every edition (None: no page)."""

    text: str
    urls: Mapping[str, str] | None


@dataclass(frozen=True)
class Article:
    src: ArticleSource
    slug: str
    key: str  # "2025-01-21/A01/slug": unique, edition-independent
    urls: Mapping[str, str]  # edition code → site path
    date: dt.date
    page_code: str

    @property
    def title(self) -> str:
        return self.src.title


@dataclass(frozen=True)
class Page:
    date: dt.date
    code: str
    name: str
    editor: str
    image: str
    pdf: str
    articles: tuple[Article, ...]
    urls: Mapping[str, str]
    key: str  # "2025-01-21/A01"

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}".strip()


@dataclass(frozen=True)
class Issue:
    date: dt.date
    number: str
    pages: tuple[Page, ...]
    urls: Mapping[str, str]
    key: str  # "2025-01-21"

    @cached_property
    def articles(self) -> tuple[Article, ...]:
        """Every article of the issue, page by page (made once: a build asks several times)."""
        return tuple(a for p in self.pages for a in p.articles)


@dataclass(frozen=True)
class ArticleNav:
    """What an article page links to besides itself."""

    prev: Article | None
    next: Article | None
    continued_to: Link | None
    continued_from: Link | None


@dataclass(frozen=True)
class Site:
    """Everything known before anything is written (the resolve stage's output)."""

    paper: Newspaper
    issues: tuple[Issue, ...]  # oldest first
    nav: Mapping[str, ArticleNav]  # article key → nav
    section_slugs: Mapping[str, str]  # 版名 → pinyin slug (要闻 → yaowen)
    urls: Mapping[str, Mapping[str, str]]  # site-wide pages: name → edition code → path

    @property
    def latest(self) -> Issue:
        return self.issues[-1]

    @cached_property
    def articles(self) -> tuple[Article, ...]:
        """Every article of the archive, oldest issue first (made once: a build asks several times)."""
        return tuple(a for i in self.issues for a in i.articles)
