"""The link checker: every internal link of a built site leads somewhere.

Reads the finished files, not the model, so it catches what templates,
converters and stages actually wrote: every href/src of every HTML page (and
every URL in issues.json, the sitemap and the feeds) that points inside the
site must resolve to a file, a #fragment to an id on its page, and every
hreflang alternate must be listed back by the page it names.
"""

from __future__ import annotations

import bisect
import functools
import html as htmllib
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import unquote, urljoin, urlsplit

from .errors import ContentError, Problem

# Schemes (and the lack of a path) that are never files of this site.
FOREIGN = ("mailto:", "tel:", "data:", "javascript:", "blob:")
URL_ATTRIBUTES = frozenset({"href", "src", "action", "poster"})
XML_URL = re.compile(r"""<(?:loc|link|id|guid)\b[^>]*>\s*([^<\s]+)\s*</|\bhref="([^"]+)\"""")


@dataclass(frozen=True)
class Reference:
    url: str
    line: int
    attribute: str


@dataclass
class ParsedPage:
    """What one HTML file links to and what it can be linked to."""

    references: list[Reference] = field(default_factory=list)
    alternates: dict[str, tuple[str, int]] = field(default_factory=dict)  # hreflang → (url, line)
    ids: set[str] = field(default_factory=set)
    canonical: str | None = None


# A start tag (attribute values may hold ">"), a comment, or an element whose
# content is not markup: scanned with regular expressions because html.parser
# spends seconds per thousand pages, and a 3,000-article archive has 12,000.
TAG = re.compile(
    r"<(?:!--.*?-->"
    r"|(?P<raw>script|style|textarea|title)\b(?P<raw_attrs>[^>]*)>.*?</(?P=raw)\s*>"
    r"|(?P<name>[a-zA-Z][a-zA-Z0-9:-]*)(?P<attrs>(?:[^>\"']+|\"[^\"]*\"|'[^']*')*)>)",
    re.S | re.I,
)
ATTRIBUTE = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
RELEVANT = re.compile(r"\b(?:href|src|srcset|id|name|action|poster|http-equiv)\s*=", re.I)
REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\"]+)", re.I)


@functools.lru_cache(maxsize=65536)
def _attributes(text: str) -> dict[str, str]:
    # Cached: the masthead's and page strip's tags recur, byte for byte, on
    # every page. Callers only read the dict.
    values: dict[str, str] = {}
    for match in ATTRIBUTE.finditer(text):
        value = next((v for v in match.group(2, 3, 4) if v is not None), "")
        values.setdefault(match.group(1).lower(), htmllib.unescape(value))
    return values


def _start_tag(page: ParsedPage, tag: str, values: dict[str, str], line: int) -> None:
    for name in ("id",) + (("name",) if tag == "a" else ()):
        if name in values:
            page.ids.add(values[name])
    rel = values.get("rel", "").split()
    if tag == "link" and "canonical" in rel:
        page.canonical = values.get("href")
    if tag == "link" and "alternate" in rel and "hreflang" in values:
        page.alternates[values["hreflang"]] = (values.get("href", ""), line)
    for name, value in values.items():
        if name in URL_ATTRIBUTES and not (tag == "form" and name == "action" and not value):
            page.references.append(Reference(value, line, name))
        elif name == "srcset":
            for candidate in value.split(","):
                if candidate.strip():
                    page.references.append(Reference(candidate.split()[0], line, name))
        elif tag == "meta" and name == "content" and values.get("http-equiv", "").lower() == "refresh":
            target = REFRESH_URL.search(value)
            if target:
                page.references.append(Reference(target.group(1).strip(), line, "refresh"))


def parse_page(text: str) -> ParsedPage:
    page = ParsedPage()
    newlines = [m.start() for m in re.finditer("\n", text)]
    for match in TAG.finditer(text):
        raw, raw_attrs, name, attrs = match.groups()
        if raw:
            name, attrs = raw, raw_attrs
        if not attrs or not RELEVANT.search(attrs):
            continue  # a comment, or a tag that links to nothing (<p>, <li>, <span class>)
        line = bisect.bisect_left(newlines, match.start()) + 1
        _start_tag(page, name.lower(), _attributes(attrs), line)
    return page


class SiteFiles:
    """Maps the site's URLs to its files, as a static web server would."""

    def __init__(self, root: Path, base_path: str, base_url: str | None) -> None:
        self.root = root
        self.base_path = base_path if base_path.endswith("/") else base_path + "/"
        self.base_url = base_url
        # Most links are the same on every page (masthead, page strip): each
        # distinct one is resolved, and looked up on disk, once.
        self._absolute: dict[str, str | None] = {}
        self._files: dict[str, Path | None] = {}

    def url_of(self, relative: str) -> str:
        """The URL a file is served at (index.html is its folder's URL)."""
        if relative == "index.html":
            return self.base_path
        if relative.endswith("/index.html"):
            return self.base_path + relative[: -len("index.html")]
        return self.base_path + relative

    def internal_path(self, url: str, page_url: str) -> str | None:
        """The site path of an internal URL, None for a URL outside the site."""
        if url.startswith("/") and not url.startswith("//") or url.startswith(("http://", "https://")):
            if url not in self._absolute:
                self._absolute[url] = self._internal_path(url, page_url)
            return self._absolute[url]
        return self._internal_path(url, page_url)

    def _internal_path(self, url: str, page_url: str) -> str | None:
        if url.lower().startswith(FOREIGN):
            return None
        if self.base_url and url.startswith(self.base_url):
            url = self.base_path + url[len(self.base_url) :]
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            return None  # another site (or this one under another name: not ours to check)
        return urljoin(page_url, url)

    def file_of(self, path: str) -> Path | None:
        """The file a path serves, or None when a server would answer 404."""
        if path not in self._files:
            self._files[path] = self._file_of(path)
        return self._files[path]

    def _file_of(self, path: str) -> Path | None:
        path = unquote(urlsplit(path).path)
        if not path.startswith(self.base_path):
            return None
        relative = path[len(self.base_path) :]
        if ".." in relative.split("/"):
            return None
        target = self.root / relative
        if relative == "" or relative.endswith("/"):
            target = target / "index.html"
        elif target.is_dir():
            target = target / "index.html"  # servers redirect /x to /x/
        return target if target.is_file() else None


def check_site_links(site_dir: Path, base_path: str = "/", base_url: str | None = None) -> list[Problem]:
    """Every problem with the internal links of a built site, as site-relative path:line.

    base_url: absolute URLs under it are internal too (canonical, hreflang,
    og:url); read from the site's issues.json when not given.
    """
    site_dir = site_dir.resolve()
    if base_url is None:
        base_url = _base_url_of(site_dir)
    files = SiteFiles(site_dir, base_path, base_url)
    pages: dict[str, ParsedPage] = {}
    problems: list[Problem] = []
    for path in sorted(site_dir.rglob("*.html")):
        relative = path.relative_to(site_dir).as_posix()
        pages[relative] = parse_page(path.read_text(encoding="utf-8", errors="replace"))
    for relative, page in pages.items():
        problems.extend(_page_problems(files, relative, page, pages))
    problems.extend(_data_problems(files, site_dir))
    return problems


def _base_url_of(site_dir: Path) -> str | None:
    try:
        value = json.loads((site_dir / "issues.json").read_text(encoding="utf-8")).get("base_url")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _page_problems(files: SiteFiles, relative: str, page: ParsedPage, pages: dict[str, ParsedPage]) -> Iterator[Problem]:
    page_url = files.url_of(relative)
    for ref in page.references:
        if not ref.url.strip():
            yield Problem(relative, ref.line, f"empty {ref.attribute}")
            continue
        path = files.internal_path(ref.url.strip(), page_url)
        if path is None:
            continue
        target = files.file_of(path)
        if target is None:
            yield Problem(relative, ref.line, f"broken link: {ref.attribute}={ref.url!r} leads to no file")
            continue
        fragment = urlsplit(path).fragment
        if fragment and target.suffix == ".html":
            target_page = pages.get(target.relative_to(files.root).as_posix())
            if target_page is not None and unquote(fragment) not in target_page.ids:
                yield Problem(relative, ref.line, f"broken link: {ref.url!r} names #{fragment}, which is not on that page")
    yield from _alternate_problems(files, relative, page, pages)


def _alternate_problems(files: SiteFiles, relative: str, page: ParsedPage, pages: dict[str, ParsedPage]) -> Iterator[Problem]:
    """Page A names B as its alternate in some language ⇒ B names A back.

    A page whose canonical is another page (/zh-hans/ shows the latest issue,
    whose dated URL is canonical) is a copy: its alternates are the canonical
    page's, which is checked on its own.
    """
    own = files.url_of(relative)
    if page.canonical:
        canonical = files.internal_path(page.canonical, own)
        if canonical is not None and urlsplit(canonical).path != own:
            return
    for lang, (url, line) in sorted(page.alternates.items()):
        path = files.internal_path(url, own)
        if path is None:
            yield Problem(relative, line, f"hreflang {lang} alternate {url!r} is not a page of this site")
            continue
        target = files.file_of(path)
        if target is None:
            continue  # already reported as a broken link
        other_relative = target.relative_to(files.root).as_posix()
        other = pages.get(other_relative)
        if other is None or other_relative == relative:
            continue
        back = {files.internal_path(u, files.url_of(other_relative)) for u, _ in other.alternates.values()}
        if own not in back:
            yield Problem(
                relative,
                line,
                f"hreflang {lang}: {other_relative} does not list this page back as an alternate",
            )


def _data_problems(files: SiteFiles, site_dir: Path) -> Iterator[Problem]:
    """URLs in the machine-readable files (issues.json, sitemap, feeds) lead somewhere too."""
    issues = site_dir / "issues.json"
    if issues.is_file():
        try:
            document = json.loads(issues.read_text(encoding="utf-8"))
        except ValueError as exc:
            yield Problem("issues.json", None, f"not valid JSON: {exc}")
        else:
            for url in _json_urls(document):
                yield from _check_url(files, "issues.json", None, url)
    for path in sorted(site_dir.rglob("*.xml")):
        relative = path.relative_to(site_dir).as_posix()
        text = path.read_text(encoding="utf-8", errors="replace")
        newlines = [m.start() for m in re.finditer("\n", text)]
        for match in XML_URL.finditer(text):
            url = match.group(1) or match.group(2)
            if url.startswith(("http://", "https://", "/")):
                line = bisect.bisect_left(newlines, match.start()) + 1
                yield from _check_url(files, relative, line, htmllib.unescape(url))


def _json_urls(node: object) -> Iterator[str]:
    """Values under "urls", "from" and "to" maps: the document URLs of issues.json."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("urls", "from", "to") and isinstance(value, dict):
                yield from (v for v in value.values() if isinstance(v, str))
            else:
                yield from _json_urls(value)
    elif isinstance(node, list):
        for item in node:
            yield from _json_urls(item)


def _check_url(files: SiteFiles, where: str, line: int | None, url: str) -> Iterable[Problem]:
    path = files.internal_path(url, files.base_path)
    if path is not None and files.file_of(path) is None:
        return [Problem(where, line, f"broken link: {url!r} leads to no file")]
    return []


def check_links_of_build(source: Path, drafts: bool = False) -> list[Problem]:
    """Build into a temporary folder (the published site and its record untouched) and check it."""
    from .pipeline import BuildOptions, build

    with tempfile.TemporaryDirectory(prefix="banmian-links-") as temp:
        output = Path(temp) / "site"
        options = BuildOptions(
            source=source, output=output, drafts=drafts, use_cache=False, record_urls=False
        )
        try:
            build(options)
        except ContentError as error:
            return list(error.problems)
        problems = check_site_links(output, result_base_path(output), _base_url_of(output))
    # Named as a user finds the file after a real build; the build's own
    # warnings are not repeated, check has reported them already.
    return [Problem(f"site/{p.path}", p.line, p.message, p.severity) for p in problems]


def result_base_path(site_dir: Path) -> str:
    """The path part of the built site's base_url ("/" or "/epaper/")."""
    base_url = _base_url_of(site_dir) or "/"
    rest = base_url.split("://", 1)[-1]
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/"
