"""The feeds stage: RSS 2.0 and Atom per edition, and per 版名 (section).

An entry is one article as a feed reader shows it in one edition: converted
title, categories, names and full text; absolute URLs on base_url; the edition
date at 00:00 in the paper's own time zone (a paper prints no hour, and 00:00
local keeps the calendar date right for every reader, wherever they are).

The XML is written by hand through `_Node` rather than ElementTree so that the
namespace prefixes are the conventional ones (dc:, content:, atom:) and the
bytes are the same for the same site; only the build time in
lastBuildDate / <updated> changes between builds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html as htmllib
import mimetypes
import re
import zoneinfo
from dataclasses import dataclass
from itertools import chain
from typing import Iterable, Iterator, Mapping, Sequence
from urllib.parse import quote, urljoin, urlsplit

from .convert import Converter
from .fingerprint import fingerprint, text_digest
from .model import Article, Body, Edition, Issue, Link, Site
from .render import summary_of
from .resolve import section_url

GENERATOR = "banmian"
# A section that prints weekly would be nearly empty if cut to the main
# feed's window of days, so a section feed keeps its latest N articles
# (and never fewer than the main feed's window holds for it).
SECTION_FEED_ARTICLES = 50

NS_ATOM = "http://www.w3.org/2005/Atom"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_CONTENT = "http://purl.org/rss/1.0/modules/content/"

# Characters XML 1.0 cannot carry at all (not even escaped); a stray form
# feed from an imported page would otherwise make the whole feed unreadable.
# Listed, not as the complement of what XML allows: compiling that negated
# class took a tenth of the import time of a rebuild.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# URL-bearing attributes in an article body; relative ones break in a reader.
_URL_ATTRIBUTE = re.compile(r"""(\s(href|src|poster|srcset)\s*=\s*)("([^"]*)"|'([^']*)')""", re.I)
_TAG = re.compile(r"<[a-zA-Z][^>]*>")
_IMAGE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".svg": "image/svg+xml",
}
# Keep URL syntax and existing escapes; percent-encode only what a URL may not hold (e.g. 汉字).
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


# -- what a feed says ---------------------------------------------------------------
@dataclass(frozen=True)
class Enclosure:
    url: str
    type: str
    length: int = 0  # unknown: the image is not read at build time


@dataclass(frozen=True)
class Entry:
    """One article in one edition's feeds."""

    title: str
    link: str  # absolute permalink; also the guid / Atom id
    published: dt.datetime  # aware, in the paper's time zone
    authors: tuple[str, ...]
    categories: tuple[str, ...]  # 版名, 栏目 (converted)
    summary: str  # plain text
    content: str | None  # full HTML with absolute URLs; None when feed_full_text is off
    enclosure: Enclosure | None


@dataclass(frozen=True)
class Channel:
    title: str
    description: str
    home: str  # absolute URL of the HTML page the feed belongs to
    rss_url: str  # absolute
    atom_url: str  # absolute
    language: str
    built: dt.datetime  # aware, in the paper's time zone
    entries: tuple[Entry, ...]  # newest first


# -- time ---------------------------------------------------------------------------
def edition_time(day: dt.date, timezone: str) -> dt.datetime:
    """The moment an edition is published: its date at 00:00 in the paper's zone."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=zoneinfo.ZoneInfo(timezone))


def rfc822(moment: dt.datetime) -> str:
    """RSS dates: Tue, 21 Jan 2025 00:00:00 +0800."""
    import email.utils  # here: importing it costs more than a rebuild that writes no feed

    return email.utils.format_datetime(moment)


def rfc3339(moment: dt.datetime) -> str:
    """Atom dates: 2025-01-21T00:00:00+08:00."""
    return moment.isoformat(timespec="seconds")


# -- URLs ---------------------------------------------------------------------------
def origin_of(base_url: str, base_path: str) -> str:
    """https://host from https://host/epaper/: site paths already start with base_path."""
    return base_url[: len(base_url) - len(base_path)]


def absolute_html(fragment: str, base: str) -> str:
    """Make every URL in an HTML fragment absolute, resolved as a browser would on `base`."""

    def one(url: str) -> str:
        url = url.strip()
        if not url or urlsplit(url).scheme:
            return url
        return urljoin(base, url)

    def attribute(match: re.Match[str]) -> str:
        raw = match.group(4) if match.group(4) is not None else match.group(5)
        value = htmllib.unescape(raw)
        if match.group(2).lower() == "srcset":
            # "a.jpg 1x, b.jpg 2x": each candidate's URL is resolved on its own.
            candidates = []
            for candidate in value.split(","):
                parts = candidate.strip().split(None, 1)
                if parts:
                    candidates.append(" ".join([one(parts[0]), *parts[1:]]))
            resolved = ", ".join(candidates)
        else:
            resolved = one(value)
        if resolved == value:
            return match.group(0)
        return f'{match.group(1)}"{htmllib.escape(resolved, quote=True)}"'

    return _TAG.sub(lambda tag: _URL_ATTRIBUTE.sub(attribute, tag.group(0)), fragment)


def image_url(image: str, base_url: str, origin: str) -> str:
    """A lead image as written in front matter: an absolute URL, /root-path or site-relative path."""
    if urlsplit(image).scheme:
        return quote(image, safe=_URL_SAFE)
    if image.startswith("//"):
        return quote(urlsplit(base_url).scheme + ":" + image, safe=_URL_SAFE)
    if image.startswith("/"):
        return quote(origin + image, safe=_URL_SAFE)
    return quote(base_url + image.removeprefix("./"), safe=_URL_SAFE)


def image_type(url: str) -> str:
    path = urlsplit(url).path.lower()
    extension = path[path.rfind(".") :] if "." in path.rsplit("/", 1)[-1] else ""
    return _IMAGE_TYPES.get(extension) or mimetypes.guess_type(path)[0] or "application/octet-stream"


# -- entries ------------------------------------------------------------------------
class _Entries:
    """Builds (and remembers) each article's entry in one edition: the main feed
    and the section feeds share most articles."""

    def __init__(
        self,
        site: Site,
        bodies: Mapping[str, Body],
        edition: Edition,
        converter: Converter,
        memo: Mapping[tuple[str, ...], str] | None = None,
        used: dict[tuple[str, ...], str] | None = None,
    ) -> None:
        self.site = site
        # Converted full texts of earlier builds, by everything they are made
        # of: converting bodies is most of a feed's cost, and a daily rebuild
        # changes few of the articles in the window.
        self.memo = memo or {}
        self.used = used if used is not None else {}
        self.paper = site.paper
        self.bodies = bodies
        self.edition = edition
        self.convert = converter
        self.origin = origin_of(self.paper.base_url, self.paper.base_path)
        self.page_names = {p.key: p.name for i in site.issues for p in i.pages}
        self._made: dict[str, Entry] = {}
        self._converted: dict[tuple[str, ...], str] = {}  # by prepare()
        self._full: dict[str, tuple[tuple[str, str, str], str]] = {}  # article key → _full_text()

    def absolute(self, path: str) -> str:
        return self.origin + path

    def __call__(self, article: Article) -> Entry:
        entry = self._made.get(article.key)
        if entry is None:
            entry = self._made[article.key] = self._entry(article)
        return entry

    def prepare(self, articles: Iterable[Article]) -> None:
        """Convert the texts of these articles' entries at once: one OpenCC
        call for all their short texts and one for all full texts not
        remembered from an earlier build, instead of two or three per entry."""
        if self.convert.identity:
            return
        articles = list({article.key: article for article in articles}.values())
        shorts = []
        for article in articles:
            src = article.src
            shorts += [self._page_name(article), src.column, src.title, summary_of(article, self.bodies[article.key]), *src.reporters]
        self.convert.many([text for text in shorts if text])
        if self.paper.feed_full_text:
            todo = {}
            for article in articles:
                key, full = self._full_text(article)
                if key not in self.memo:
                    todo[key] = full
            self._converted.update(zip(todo, self.convert.html_many([absolute_html(full, link) for (_, link, _), full in todo.items()])))

    def _page_name(self, article: Article) -> str:
        return self.page_names.get(f"{article.date.isoformat()}/{article.page_code}", "")

    def _full_text(self, article: Article) -> tuple[tuple[str, str, str], str]:
        """(the key of its converted text in the memo, the full text); made
        once per article, though prepare() and the entry both ask."""
        made = self._full.get(article.key)
        if made is None:
            full = self._full_html(article, self.bodies[article.key])
            link = self.absolute(article.urls[self.edition.code])
            made = self._full[article.key] = (self.edition.code, link, hashlib.blake2b(full.encode()).hexdigest()), full
        return made

    def _entry(self, article: Article) -> Entry:
        src = article.src
        body = self.bodies[article.key]
        link = self.absolute(article.urls[self.edition.code])
        # Short texts that recur (page names, reporters, titles in several
        # feeds): remembered, instead of one OpenCC call each.
        categories = tuple(dict.fromkeys(self.convert.remembered(c) for c in (self._page_name(article), src.column) if c))
        content = None
        if self.paper.feed_full_text:
            key, full = self._full_text(article)
            content = self.memo.get(key) or self._converted.get(key)
            if content is None:
                content = self.convert.html(absolute_html(full, link))
            if not self.convert.identity:
                self.used[key] = content
        enclosure = None
        if src.image:
            url = image_url(src.image, self.paper.base_url, self.origin)
            enclosure = Enclosure(url=url, type=image_type(url))
        return Entry(
            title=self.convert.remembered(src.title),
            link=link,
            published=edition_time(article.date, self.paper.timezone),
            authors=tuple(self.convert.remembered(name) for name in src.reporters),
            categories=categories,
            summary=self.convert.remembered(summary_of(article, body)),
            content=content,
            enclosure=enclosure,
        )

    def _full_html(self, article: Article, body: Body) -> str:
        """The body, with 上接/下转 links, so a reader can follow a story across pages."""
        nav = self.site.nav.get(article.key)
        before = _jump_html(nav.continued_from if nav else None, self.edition.code)
        after = _jump_html(nav.continued_to if nav else None, self.edition.code)
        return before + body.html + after


def _jump_html(link: Link | None, ed: str) -> str:
    if link is None:
        return ""
    text = htmllib.escape(link.text)
    if link.urls is None:
        return f"<p>（{text}）</p>"
    return f'<p>（<a href="{htmllib.escape(link.urls[ed], quote=True)}">{text}</a>）</p>'


def feed_window(issues: Sequence[Issue], count: int) -> tuple[Issue, ...]:
    """The latest `count` issues, newest first."""
    return tuple(reversed(issues[-count:])) if count > 0 else ()


def window_articles(window: Sequence[Issue]) -> Iterator[Article]:
    """The window's articles, newest issue first; within an issue in print order (A01 first)."""
    for issue in window:
        yield from issue.articles


def section_articles(site: Site, name: str, limit: int = SECTION_FEED_ARTICLES) -> tuple[Article, ...]:
    """A section's latest `limit` articles, or all it has in the main feed's window if more."""
    window = {i.key for i in feed_window(site.issues, site.paper.feed_issues)}
    chosen: list[Article] = []
    for issue in reversed(site.issues):
        for page in issue.pages:
            if page.name != name:
                continue
            for article in page.articles:
                if len(chosen) < limit or issue.key in window:
                    chosen.append(article)
        if len(chosen) >= limit and issue.key not in window:
            break
    return tuple(chosen)


def feeds_fingerprint(site: Site, build_fp: str, built_at: dt.datetime) -> str:
    """Everything the feeds are made of: the articles they carry (whole files,
    bodies included), where those articles sit and link to, and the sections.
    An edit to an article no feed carries leaves every feed as it was."""
    window = feed_window(site.issues, site.paper.feed_issues)
    carried: dict[str, Article] = {a.key: a for a in window_articles(window)}
    sections = []
    for name, slug in site.section_slugs.items():
        chosen = section_articles(site, name)
        carried.update((a.key, a) for a in chosen)
        sections.append((name, slug, [a.key for a in chosen]))
    page_names = {p.key: p.name for i in site.issues for p in i.pages}

    def jump(link: Link | None) -> object:
        return None if link is None else (link.text, link.urls)

    articles = []
    for key, article in carried.items():
        nav = site.nav.get(key)
        articles.append((
            key,
            article.src.digest,
            article.src.file,
            dict(article.urls),
            page_names.get(f"{article.date.isoformat()}/{article.page_code}", ""),
            jump(nav.continued_from if nav else None),
            jump(nav.continued_to if nav else None),
        ))
    return fingerprint(build_fp, built_at.isoformat(), [i.key for i in window], sections, articles, dict(site.urls))


# -- XML ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Node:
    name: str
    attrs: tuple[tuple[str, str], ...] = ()
    text: str | None = None
    children: tuple["_Node", ...] = ()

    def write(self, out: list[str], depth: int) -> None:
        if self.name == _RAW:  # serialized earlier, at this depth (see _Serialized)
            out.append(self.text or "")
            return
        pad = "  " * depth
        attrs = "".join(f' {k}="{_escape(v, True)}"' for k, v in self.attrs)
        if self.children:
            out.append(f"{pad}<{self.name}{attrs}>\n")
            for child in self.children:
                child.write(out, depth + 1)
            out.append(f"{pad}</{self.name}>\n")
        elif self.text is None:
            out.append(f"{pad}<{self.name}{attrs}/>\n")
        else:
            out.append(f"{pad}<{self.name}{attrs}>{_escape(self.text)}</{self.name}>\n")


_RAW = ""  # the name of a node that is already XML text


class _Serialized:
    """Each entry's XML, made once per format: the main feed and the section
    feeds share most entries, and an entry unchanged since the last build is
    taken from its memo (keyed by a digest of everything it shows)."""

    def __init__(self, memo: Mapping[tuple[str, ...], str], used: dict[tuple[str, ...], str]) -> None:
        self.memo = memo
        self.used = used
        self.digests: dict[int, str] = {}
        self.entries: list[Entry] = []

    def __call__(self, form: str, entry: Entry, depth: int) -> _Node:
        digest = self.digests.get(id(entry))
        if digest is None:  # one entry serves the main feed and a section's
            digest = self.digests[id(entry)] = text_digest(repr(entry))
            self.entries.append(entry)  # keeps id(entry) unique while remembered
        key = ("xml", form, digest)
        text = self.used.get(key) or self.memo.get(key)
        if text is None:
            out: list[str] = []
            (_rss_item if form == "rss" else _atom_entry)(entry).write(out, depth)
            text = "".join(out)
        self.used[key] = text
        return _Node(_RAW, (), text)


def _escape(text: str, attribute: bool = False) -> str:
    text = _NOT_XML.sub("", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if attribute:
        text = text.replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    else:
        text = text.replace("\r", "&#13;")
    return text


def _document(root: _Node) -> bytes:
    out = ['<?xml version="1.0" encoding="utf-8"?>\n']
    root.write(out, 0)
    return "".join(out).encode("utf-8")


def _node(name: str, text: str) -> _Node:
    return _Node(name, (), text)


def rss(channel: Channel, serialized: _Serialized | None = None) -> bytes:
    items = [serialized("rss", entry, 2) if serialized else _rss_item(entry) for entry in channel.entries]
    newest = channel.entries[0].published if channel.entries else channel.built
    head = [
        _node("title", channel.title),
        _node("link", channel.home),
        _node("description", channel.description),
        _node("language", channel.language),
        _node("pubDate", rfc822(newest)),
        _node("lastBuildDate", rfc822(channel.built)),
        _node("generator", GENERATOR),
        _node("docs", "https://www.rssboard.org/rss-specification"),
        _Node("atom:link", (("href", channel.rss_url), ("rel", "self"), ("type", "application/rss+xml"))),
        _Node("atom:link", (("href", channel.atom_url), ("rel", "alternate"), ("type", "application/atom+xml"))),
    ]
    root = _Node(
        "rss",
        (("version", "2.0"), ("xmlns:atom", NS_ATOM), ("xmlns:content", NS_CONTENT), ("xmlns:dc", NS_DC)),
        None,
        (_Node("channel", (), None, tuple(head + items)),),
    )
    return _document(root)


def _rss_item(entry: Entry) -> _Node:
    children = [
        _node("title", entry.title),
        _node("link", entry.link),
        _Node("guid", (("isPermaLink", "true"),), entry.link),
        _node("pubDate", rfc822(entry.published)),
        # RSS's own <author> must be an e-mail address; reporters have names.
        # Several reporters share one byline, as printed (张三、李四): feed
        # readers show a single author field, and only the last of several.
        *((_node("dc:creator", "、".join(entry.authors)),) if entry.authors else ()),
        *(_node("category", c) for c in entry.categories),
        # description is HTML in RSS; the summary is plain text, so escape it once as HTML.
        _node("description", htmllib.escape(entry.summary, quote=False)),
    ]
    if entry.content is not None:
        children.append(_node("content:encoded", entry.content))
    if entry.enclosure is not None:
        e = entry.enclosure
        children.append(_Node("enclosure", (("url", e.url), ("length", str(e.length)), ("type", e.type))))
    return _Node("item", (), None, tuple(children))


def atom(channel: Channel, author: str, serialized: _Serialized | None = None) -> bytes:
    """author: the feed's own author (the paper), which entries without a reporter inherit."""
    head = [
        _node("title", channel.title),
        _node("subtitle", channel.description),
        _node("id", channel.atom_url),
        _Node("link", (("rel", "self"), ("type", "application/atom+xml"), ("href", channel.atom_url))),
        _Node("link", (("rel", "alternate"), ("type", "text/html"), ("href", channel.home))),
        _Node("link", (("rel", "alternate"), ("type", "application/rss+xml"), ("href", channel.rss_url))),
        _node("updated", rfc3339(channel.built)),
        _Node("author", (), None, (_node("name", author),)),
        _node("generator", GENERATOR),
    ]
    root = _Node(
        "feed",
        (("xmlns", NS_ATOM), ("xml:lang", channel.language)),
        None,
        tuple(head + [serialized("atom", entry, 1) if serialized else _atom_entry(entry) for entry in channel.entries]),
    )
    return _document(root)


def _atom_entry(entry: Entry) -> _Node:
    children = [
        _Node("title", (("type", "text"),), entry.title),
        _node("id", entry.link),
        _Node("link", (("rel", "alternate"), ("type", "text/html"), ("href", entry.link))),
        _node("published", rfc3339(entry.published)),
        _node("updated", rfc3339(entry.published)),
        *((_Node("author", (), None, (_node("name", "、".join(entry.authors)),)),) if entry.authors else ()),
        *(_Node("category", (("term", c),)) for c in entry.categories),
        _Node("summary", (("type", "text"),), entry.summary),
    ]
    if entry.content is not None:
        children.append(_Node("content", (("type", "html"),), entry.content))
    if entry.enclosure is not None:
        e = entry.enclosure
        children.append(
            _Node("link", (("rel", "enclosure"), ("type", e.type), ("length", str(e.length)), ("href", e.url)))
        )
    return _Node("entry", (), None, tuple(children))


# -- the stage ----------------------------------------------------------------------
def feed_files(
    site: Site,
    bodies: Mapping[str, Body],
    converters: Mapping[str, Converter],
    built_at: dt.datetime,
    memo: dict[tuple[str, ...], str] | None = None,
) -> Iterator[tuple[str, bytes]]:
    """(path relative to the output root, bytes) for every feed of every edition.

    memo, kept by the caller between builds, is read and then left holding
    only the converted texts and entries' XML this build used.
    """
    paper = site.paper
    used: dict[tuple[str, ...], str] = {}
    built = built_at.astimezone(zoneinfo.ZoneInfo(paper.timezone)).replace(microsecond=0)
    window = feed_window(site.issues, paper.feed_issues)
    serialized = _Serialized(memo or {}, used)
    for edition in paper.editions:
        convert = converters[edition.code]
        entries = _Entries(site, bodies, edition, convert, memo, used)
        sections = {name: section_articles(site, name) for name in site.section_slugs}
        entries.prepare(chain(window_articles(window), *sections.values()))
        title = convert.text(paper.title)
        description = convert.text(paper.description or paper.title)
        ed = edition.code
        main = Channel(
            title=title,
            description=description,
            home=entries.absolute(site.urls["home"][ed]),
            rss_url=entries.absolute(site.urls["feed"][ed]),
            atom_url=entries.absolute(site.urls["atom"][ed]),
            language=ed,
            built=built,
            entries=tuple(entries(a) for a in window_articles(window)),
        )
        yield _output_path(paper.base_path, site.urls["feed"][ed]), rss(main, serialized)
        yield _output_path(paper.base_path, site.urls["atom"][ed]), atom(main, title, serialized)
        for name, slug in site.section_slugs.items():
            folder = section_url(paper, edition, slug)
            section = Channel(
                title=f"{title} · {convert.text(name)}",
                description=description,
                # No HTML page per section: the list of section feeds stands for them.
                home=entries.absolute(site.urls["sections"][ed]),
                rss_url=entries.absolute(folder + "feed.xml"),
                atom_url=entries.absolute(folder + "atom.xml"),
                language=ed,
                built=built,
                entries=tuple(entries(a) for a in sections[name]),
            )
            yield _output_path(paper.base_path, folder + "feed.xml"), rss(section, serialized)
            yield _output_path(paper.base_path, folder + "atom.xml"), atom(section, title, serialized)
    if memo is not None:
        memo.clear()
        memo.update(used)


def _output_path(base_path: str, site_path: str) -> str:
    """Site paths start with base_path; the output folder is base_path's root."""
    assert site_path.startswith(base_path), (site_path, base_path)
    return site_path[len(base_path) :]

