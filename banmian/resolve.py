"""The resolve stage: issues → pages → articles, slugs, 转版 pairs, every URL.

A URL is computed here and nowhere else; templates and feeds only print it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Callable, Iterable, Mapping, Sequence

from .errors import Problem
from .model import (
    Article,
    ArticleNav,
    ArticleSource,
    Edition,
    FrozenMap,
    Issue,
    IssueMeta,
    Link,
    Newspaper,
    Page,
    PageMeta,
    Site,
    frozen_map,
    page_sort_key,
)
from .slugs import slugify, with_suffix


class Reuse:
    """What one resolve made, for the next to take again by identity (serve).

    The loader hands an unchanged file's record back as the very object it
    made before. A page whose records are all those objects, in an equal
    paper and issue.toml entry, resolves to what it did last time: its Page
    is taken as it was, with the problems it raised; so is an issue whose
    pages all were, with its navigation. A rebuild after one edit then makes
    one page and one issue instead of the archive's thousands, and later
    stages can know unchanged pages and issues by identity.
    """

    def __init__(self) -> None:
        self.paper: Newspaper | None = None
        self.include_drafts = False
        # (date, code) → (its sources in file order, its issue.toml entry, the Page, its problems)
        self.pages: dict[tuple[dt.date, str], tuple[Sequence[ArticleSource], PageMeta, Page, list[Problem]]] = {}
        # date → (number, the Issue, its navigation, its problems)
        self.issues: dict[dt.date, tuple[str, Issue, dict[str, ArticleNav], list[Problem]]] = {}

    def page(self, date: dt.date, code: str, sources: Sequence[ArticleSource], page_meta: PageMeta) -> tuple[Page, list[Problem]] | None:
        kept = self.pages.get((date, code))
        if kept is None or kept[1] != page_meta or not _same_objects(kept[0], sources):
            return None
        return kept[2], kept[3]

    def issue(self, date: dt.date, number: str, pages: Sequence[Page]) -> tuple[Issue, dict[str, ArticleNav], list[Problem]] | None:
        kept = self.issues.get(date)
        if kept is None or kept[0] != number or not _same_objects(kept[1].pages, pages):
            return None
        return kept[1], kept[2], kept[3]


def _same_objects(a: Sequence[object], b: Sequence[object]) -> bool:
    """The very same objects, in the same order (identity, not equality: the point is not to compare)."""
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))

SITE_PAGES = ("home", "archive", "search", "sections", "feed", "atom")


class EditionUrls:
    """The site path of one document in every edition, from its edition-relative path.

    Each edition's prefix is made once: base_path is worked out from the
    base URL on every reading, and a build asks for thousands of URLs.
    """

    def __init__(self, paper: Newspaper) -> None:
        self.prefixes = tuple((e.code, f"{paper.base_path}{e.path}/") for e in paper.editions)

    def __call__(self, path: str) -> Mapping[str, str]:
        return FrozenMap([(code, prefix + path) for code, prefix in self.prefixes])


def site_urls(paper: Newspaper) -> dict[str, Mapping[str, str]]:
    paths = {
        "home": "",
        "archive": "archive/",
        "search": "search/",
        "sections": "section/",
        "feed": "feed.xml",
        "atom": "atom.xml",
    }
    edition_urls = EditionUrls(paper)
    urls = {name: edition_urls(path) for name, path in paths.items()}
    urls["root"] = frozen_map({e.code: paper.base_path for e in paper.editions})
    urls["issues_json"] = frozen_map({e.code: f"{paper.base_path}issues.json" for e in paper.editions})
    urls["static"] = frozen_map({e.code: f"{paper.base_path}static/" for e in paper.editions})
    return urls


def section_url(paper: Newspaper, edition: Edition, section_slug: str) -> str:
    return f"{paper.base_path}{edition.path}/section/{section_slug}/"


def slug_inputs(paper: Newspaper, sources: Iterable[ArticleSource], issue_meta: Mapping[dt.date, IssueMeta]) -> set[str]:
    """Every text resolve() may slugify: titles without a slug of their
    own, and every 版名 a page may take (front matter, issue.toml, config)."""
    texts = set(paper.page_names.values())
    for src in sources:
        if not src.slug:
            texts.add(src.title)
        if src.page_name:
            texts.add(src.page_name)
    for meta in issue_meta.values():
        texts.update(page.name for page in meta.pages.values() if page.name)
    texts.discard("")
    return texts


def resolve(
    paper: Newspaper,
    sources: Iterable[ArticleSource],
    issue_meta: Mapping[dt.date, IssueMeta],
    *,
    include_drafts: bool = False,
    slug_cache: dict[str, str] | None = None,
    reuse: Reuse | None = None,
) -> tuple[Site, list[Problem]]:
    """slug_cache (title → slug) is read and filled: pinyin is slow to load.
    reuse: what the last call made, taken again where it still holds, then
    replaced by what this one made."""
    problems: list[Problem] = []
    cache = slug_cache if slug_cache is not None else {}
    edition_urls = EditionUrls(paper)
    # What the last resolve made holds only for the same paper and drafts setting.
    before = reuse if reuse is not None and reuse.paper == paper and reuse.include_drafts == include_drafts else Reuse()
    after = Reuse()
    after.paper, after.include_drafts = paper, include_drafts

    def slug_of(title: str) -> str:
        slug = cache.get(title)
        if slug is None:
            slug = cache[title] = slugify(title)
        return slug

    published = [s for s in sources if include_drafts or not s.draft]
    # date → page code → its articles: grouped once, so that the work per
    # issue does not grow with the size of the archive.
    by_date: dict[dt.date, dict[str, list[ArticleSource]]] = defaultdict(lambda: defaultdict(list))
    for src in published:
        by_date[src.date][src.page].append(src)

    issues: list[Issue] = []
    nav: dict[str, ArticleNav] = {}
    nav_problems: list[Problem] = []  # after every page's, as they always came
    for date in sorted(by_date):
        meta = issue_meta.get(date)
        by_page = by_date[date]
        pages = []
        for code in sorted(by_page, key=page_sort_key):
            page_meta = meta.pages.get(code, PageMeta()) if meta else PageMeta()
            sources_here = by_page[code]
            kept_page = before.page(date, code, sources_here, page_meta)
            if kept_page is None:
                page_problems: list[Problem] = []
                kept_page = _page(paper, edition_urls, date, code, sources_here, page_meta, page_problems, slug_of), page_problems
            after.pages[(date, code)] = (sources_here, page_meta, *kept_page)
            pages.append(kept_page[0])
            problems.extend(kept_page[1])
        number = meta.number if meta else ""
        kept_issue = before.issue(date, number, pages)
        if kept_issue is None:
            issue = Issue(date=date, number=number, pages=tuple(pages), urls=edition_urls(f"{date.isoformat()}/"), key=date.isoformat())
            issue_problems: list[Problem] = []
            kept_issue = issue, _issue_navigation(issue, issue_problems), issue_problems
        after.issues[date] = (number, *kept_issue)
        issues.append(kept_issue[0])
        nav.update(kept_issue[1])
        nav_problems.extend(kept_issue[2])
    problems.extend(nav_problems)
    if reuse is not None:  # only this call's: the memo never outgrows the archive
        reuse.paper, reuse.include_drafts, reuse.pages, reuse.issues = after.paper, after.include_drafts, after.pages, after.issues

    sections = section_slugs((p.name for i in issues for p in i.pages), slug_of)
    site = Site(
        paper=paper,
        issues=tuple(issues),
        nav=frozen_map(nav),
        section_slugs=frozen_map(sections),
        urls=frozen_map(site_urls(paper)),  # type: ignore[arg-type]
    )
    return site, problems


def _page(
    paper: Newspaper,
    edition_urls: EditionUrls,
    date: dt.date,
    code: str,
    sources: Sequence[ArticleSource],
    page_meta: PageMeta,
    problems: list[Problem],
    slug_of: Callable[[str], str],
) -> Page:
    ordered = sorted(sources, key=lambda s: (s.order is None, s.order or 0, s.file))
    named = [s for s in ordered if s.page_name]
    names = {s.page_name for s in named}
    if len(names) > 1:
        listed = ", ".join(f"{s.file}: {s.page_name}" for s in named)
        problems.append(Problem(named[0].file, named[0].line_of("page_name"), f"page {code} of {date} has several names ({listed}); using {named[0].page_name}", "warning"))
    name = (named[0].page_name if named else "") or page_meta.name or paper.page_names.get(code, "")
    key = f"{date.isoformat()}/{code}"
    slugs = _slugs(ordered, key, problems, slug_of)
    # Records made once per article of the archive, on every build, are made
    # with their fields by position (src, slug, key, urls, date, page_code):
    # a frozen dataclass's __init__ takes keywords at 2.5 times the cost.
    articles = tuple(
        Article(src, slug, f"{key}/{slug}", edition_urls(f"{key}/{slug}/"), date, code) for src, slug in zip(ordered, slugs)
    )
    return Page(
        date=date,
        code=code,
        name=name,
        editor=page_meta.editor,
        image=page_meta.image,
        pdf=page_meta.pdf,
        articles=articles,
        urls=edition_urls(f"{key}/"),
        key=key,
    )


def _slugs(
    ordered: Sequence[ArticleSource], where: str, problems: list[Problem], slug_of: Callable[[str], str]
) -> list[str]:
    """Slugs for one page's articles: explicit ones win, the rest get -2, -3 …"""
    explicit: dict[str, ArticleSource] = {}
    for src in ordered:
        if not src.slug:
            continue
        if src.slug in explicit:
            first = explicit[src.slug]
            problems.append(
                Problem(
                    src.file,
                    src.line_of("slug"),
                    f"slug {src.slug!r} is also set by {first.file} (line {first.line_of('slug')}); "
                    f"both would be published at /{where}/{src.slug}/",
                )
            )
            continue
        explicit[src.slug] = src
    taken = set(explicit)
    slugs: list[str] = []
    for src in ordered:
        if src.slug:
            slugs.append(src.slug)
            continue
        base = slug_of(src.title)
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = with_suffix(base, n)
        taken.add(slug)
        slugs.append(slug)
    return slugs


def _issue_navigation(issue: Issue, problems: list[Problem]) -> dict[str, ArticleNav]:
    """Each article's neighbours and 转版 links: all within its own issue."""
    nav: dict[str, ArticleNav] = {}
    pages = {p.code: p for p in issue.pages}
    ordered = issue.articles
    for index, article in enumerate(ordered):
        src = article.src
        # Most articles are not continued: no call to find out.
        # By position (prev, next, continued_to, continued_from), as Article in _page.
        nav[article.key] = ArticleNav(
            ordered[index - 1] if index > 0 else None,
            ordered[index + 1] if index + 1 < len(ordered) else None,
            _jump(article, pages, "to", problems) if src.continued_to else None,
            _jump(article, pages, "from", problems) if src.continued_from else None,
        )
    return nav


def _jump(article: Article, pages: Mapping[str, Page], direction: str, problems: list[Problem]) -> Link | None:
    """下转B05版 / 上接A01版: the paired article, else the page, else plain text."""
    src = article.src
    target_code = src.continued_to if direction == "to" else src.continued_from
    if not target_code:
        return None
    text = f"下转{target_code}版" if direction == "to" else f"上接{target_code}版"
    page = pages.get(target_code)
    if page is None:
        key = "continued_to" if direction == "to" else "continued_from"
        problems.append(
            Problem(
                src.file,
                src.line_of(key),
                f"{key}: page {target_code} is not in the {article.date} issue; {text} is printed without a link",
                "warning",
            )
        )
        return Link(text=text, urls=None)
    back = "continued_from" if direction == "to" else "continued_to"
    partners = [a for a in page.articles if getattr(a.src, back) == article.page_code]
    same_title = [a for a in partners if a.src.title == src.title]
    if same_title:
        return Link(text=text, urls=same_title[0].urls)
    if len(partners) == 1:
        return Link(text=text, urls=partners[0].urls)
    return Link(text=text, urls=page.urls)


def section_slugs(names: Iterable[str], slug_of: Callable[[str], str] = slugify) -> dict[str, str]:
    """版名 → URL segment (要闻 → yaowen), unique across the archive."""
    slugs: dict[str, str] = {}
    taken: set[str] = set()
    for name in sorted({n for n in names if n}):
        base = slug_of(name)
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = with_suffix(base, n)
        taken.add(slug)
        slugs[name] = slug
    return slugs
