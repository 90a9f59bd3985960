"""The sitemap stage: /sitemap.xml with hreflang alternates, split past the protocol's limits.

Only canonical pages are listed: every issue, page and article of every
edition, and each edition's archive, search and section-feed pages. The front
doors (`/` and `/{ed}/`) are left out on purpose: they show the latest issue
and name its dated URL as their canonical, and a sitemap that lists a page
whose canonical is elsewhere sends crawlers contradictory hints.

The output depends on the site alone (lastmod is an edition date, never the
build time), so an unchanged site gives byte-identical sitemaps.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterator, Mapping, Sequence

from .model import Site


# xml.sax.saxutils does the same, but importing it pulls in urllib.request:
# a twentieth of a second on every build, sitemap or not.
def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quoteattr(text: str) -> str:
    text = escape(text).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    return '"' + text.replace('"', "&quot;") + '"'


# The sitemap protocol's limits for one file (sitemaps.org/protocol.html).
MAX_URLS = 50_000
MAX_BYTES = 50 * 1024 * 1024

NS_SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
NS_XHTML = "http://www.w3.org/1999/xhtml"
INDEX_NAME = "sitemap.xml"
_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'
_URLSET_OPEN = f'<urlset xmlns="{NS_SITEMAP}" xmlns:xhtml="{NS_XHTML}">\n'
_URLSET_CLOSE = "</urlset>\n"


@dataclass(frozen=True)
class Document:
    """One document, published once per edition (the same slug in each)."""

    urls: Mapping[str, str]  # edition code → site path
    lastmod: dt.date


def documents(site: Site) -> Iterator[Document]:
    """Every canonical HTML document of the site, site pages first, then issues oldest first."""
    latest = site.latest.date
    for name in ("archive", "search", "sections"):
        yield Document(site.urls[name], latest)
    for issue in site.issues:
        yield Document(issue.urls, issue.date)
        for page in issue.pages:
            yield Document(page.urls, page.date)
            for article in page.articles:
                yield Document(article.urls, article.date)


def url_entries(site: Site) -> Iterator[tuple[str, dt.date]]:
    """(<url> element, lastmod) for every document in every edition."""
    paper = site.paper
    origin = paper.base_url[: len(paper.base_url) - len(paper.base_path)]
    for doc in documents(site):
        # Each <url> lists every edition including itself, and x-default,
        # as the hreflang rules ask: alternates must be reciprocal.
        alternates = "".join(
            f'    <xhtml:link rel="alternate" hreflang={quoteattr(e.code)} href={quoteattr(origin + doc.urls[e.code])}/>\n'
            for e in paper.editions
        )
        alternates += (
            f'    <xhtml:link rel="alternate" hreflang="x-default" '
            f"href={quoteattr(origin + doc.urls[paper.default_edition])}/>\n"
        )
        for edition in paper.editions:
            loc = escape(origin + doc.urls[edition.code])
            yield (
                f"  <url>\n    <loc>{loc}</loc>\n    <lastmod>{doc.lastmod.isoformat()}</lastmod>\n"
                f"{alternates}  </url>\n",
                doc.lastmod,
            )


def chunks(entries: Sequence[tuple[str, dt.date]], max_urls: int, max_bytes: int) -> list[list[tuple[str, dt.date]]]:
    """Split into files that keep both limits (an entry never straddles two files)."""
    room = max_bytes - len((_HEAD + _URLSET_OPEN + _URLSET_CLOSE).encode())
    files: list[list[tuple[str, dt.date]]] = [[]]
    size = 0
    for entry in entries:
        length = len(entry[0].encode())
        if files[-1] and (len(files[-1]) >= max_urls or size + length > room):
            files.append([])
            size = 0
        files[-1].append(entry)
        size += length
    return files


def urlset(entries: Sequence[tuple[str, dt.date]]) -> bytes:
    return (_HEAD + _URLSET_OPEN + "".join(e for e, _ in entries) + _URLSET_CLOSE).encode("utf-8")


def sitemap_index(children: Sequence[tuple[str, dt.date]]) -> bytes:
    """children: (absolute URL of a child sitemap, its newest lastmod)."""
    items = "".join(
        f"  <sitemap>\n    <loc>{escape(url)}</loc>\n    <lastmod>{lastmod.isoformat()}</lastmod>\n  </sitemap>\n"
        for url, lastmod in children
    )
    return (_HEAD + f'<sitemapindex xmlns="{NS_SITEMAP}">\n' + items + "</sitemapindex>\n").encode("utf-8")


def sitemap_files(
    site: Site,
    built_at: dt.datetime | None = None,
    *,
    max_urls: int = MAX_URLS,
    max_bytes: int = MAX_BYTES,
) -> Iterator[tuple[str, bytes]]:
    """(path relative to the output root, bytes): sitemap.xml, and sitemap-N.xml when split.

    built_at is accepted for the pipeline's uniform call and deliberately
    unused: a sitemap that changed on every build would tell crawlers that
    every page changed.
    """
    del built_at
    files = chunks(list(url_entries(site)), max_urls, max_bytes)
    if len(files) == 1:
        yield INDEX_NAME, urlset(files[0])
        return
    children = []
    for number, entries in enumerate(files, start=1):
        name = f"sitemap-{number}.xml"
        children.append((site.paper.base_url + name, max(lastmod for _, lastmod in entries)))
        yield name, urlset(entries)
    yield INDEX_NAME, sitemap_index(children)
