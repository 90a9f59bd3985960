"""The render stage: Markdown → HTML once per article, Jinja2 templates per page kind.

Every output page is a Job: its path, a fingerprint of everything it is made
from, and how to make it. The writer links the published file instead of
rendering when the fingerprint is unchanged, which is what makes a rebuild
after one edit touch only the pages that show that edit.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, NamedTuple, Sequence

import jinja2
import jinja2.compiler
import markupsafe

from . import code_digest
from .convert import Converter
from .fingerprint import fingerprint, text_digest
from .model import Article, Body, Edition, Issue, Page, Site, chinese_date

SUMMARY_LENGTH = 110


# -- article bodies ------------------------------------------------------------
class MarkdownRenderer:
    def __init__(self) -> None:
        self._md: Any = None

    def __call__(self, source: str) -> Body:
        html = plain_copy(source)
        if html is None:
            if self._md is None:
                import markdown

                # "extra" brings tables, footnotes and attribute lists a desk may
                # use; no "smarty": quotes go out exactly as the newsroom typed them.
                self._md = markdown.Markdown(extensions=["extra", "sane_lists"], output_format="html")
            self._md.reset()
            html = self._md.convert(source)
        return Body(html=html)


# Plain news copy: paragraphs, "## " sub-heads and **bold**, in text with no
# other Markdown meaning. It is most of what a desk writes, and Python-Markdown
# spends about a millisecond an article finding that out; plain_copy() gives
# the same bytes directly and says None for anything else, which then goes to
# Python-Markdown (tests/test_render.py checks the two agree, on generated
# text full of Markdown's special characters and on the benchmark corpus).
_PLAIN_LINE = re.compile(r"[^\x00-\x09\x0b-\x1f\x7f&<>\[\]\\`_{}|~^=+]*\Z")
_HEADING = re.compile(r"(#{1,6}) ([^#\s][^#\n]*)\Z")
# Lists, rules and setext underlines begin so; "**" (bold) does not.
_LIST_START = re.compile(r"[-+=]|\*(?:\s|\Z)|\d+[.)](?:\s|\Z)")


def plain_copy(source: str) -> str | None:
    """HTML of a body that is plain copy, exactly as Python-Markdown makes it; else None."""
    if not source.strip() or not _PLAIN_LINE.match(source):
        return None
    blocks: list[str] = []
    paragraph: list[str] = []

    def close() -> bool:
        if paragraph:
            inline = _strong("\n".join(paragraph))
            if inline is None:
                return False
            blocks.append(f"<p>{inline}</p>")
            paragraph.clear()
        return True

    lines = source.split("\n")
    for number, line in enumerate(lines):
        if not line:
            if not close():
                return None
            continue
        if line[0].isspace() or line[-1].isspace() or line.startswith((":", ">")) or _LIST_START.match(line):
            return None
        if line[0] == "#":
            heading = _HEADING.match(line)
            # A sub-head is a block of its own, a blank line before and after.
            if heading is None or paragraph or (number + 1 < len(lines) and lines[number + 1]):
                return None
            text = _strong(heading.group(2))
            if text is None:
                return None
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{text}</h{level}>")
            continue
        if "#" in line:
            return None
        paragraph.append(line)
    if not close():
        return None
    return "\n".join(blocks)


def _strong(text: str) -> str | None:
    """**bold** pairs as <strong>; None for any other use of *."""
    if "*" not in text:
        return text
    pieces = text.split("**")
    if len(pieces) % 2 == 0 or any("*" in piece for piece in pieces):
        return None
    # Python-Markdown reads ** as bold only around text that does not start
    # or end with a space.
    if any(not piece or piece[0].isspace() or piece[-1].isspace() for piece in pieces[1::2]):
        return None
    if any("\n" in piece for piece in pieces[1::2]):
        return None
    return "".join(f"<strong>{piece}</strong>" if n % 2 else piece for n, piece in enumerate(pieces))


def summary_of(article: Article, body: Body) -> str:
    if article.src.summary:
        return article.src.summary
    lead = body.lead or body.text.split("\n", 1)[0]
    return lead if len(lead) <= SUMMARY_LENGTH else lead[:SUMMARY_LENGTH].rstrip() + "……"


# -- fingerprints ----------------------------------------------------------------
def issue_fingerprint(issue: Issue, prev: Issue | None, next_: Issue | None) -> str:
    """What every page of an issue shows of the whole issue (titles, pages, neighbours)."""
    return fingerprint(
        issue.date,
        issue.number,
        prev.date if prev else None,
        next_.date if next_ else None,
        [
            (p.code, p.name, p.editor, p.image, p.pdf, [
                (a.slug, a.src.title, a.src.kicker, a.src.subtitle, a.src.reporters, a.src.role,
                 a.src.column, a.src.continued_to, a.src.continued_from, a.src.draft, a.src.summary)
                for a in p.articles
            ])
            for p in issue.pages
        ],
    )


# -- jobs ------------------------------------------------------------------------
class Job(NamedTuple):
    """One page to make. A named tuple: a build lists every page of the
    archive (35,000 at 10,000 articles) each time, even to render two."""

    path: str  # relative to the output folder
    fingerprint: str
    kind: str
    edition: str  # edition code
    target: str  # the key of the issue / page / article it renders ("" for site pages)


def document_path(edition: Edition, key: str) -> str:
    """The output file of an issue's, page's or article's page in an edition."""
    return f"{edition.path}/{key}/index.html"


_HTML_SPECIAL = re.compile("[&<>\"']").search


def escape_text(value: Any) -> str:
    """markupsafe.escape's text, without making a Markup of plain text.

    Most values a page prints (URLs, titles, names) hold none of & < > " ',
    and making a Markup of each cost a fifth of Jinja's time: 0.45 s of
    2.3 s for the 12,260 pages of 5,000 articles. The page's bytes are the
    same: a Markup is a str.
    """
    if value.__class__ is str and _HTML_SPECIAL(value) is None:
        return value
    return markupsafe.escape(value)


class _CodeGenerator(jinja2.compiler.CodeGenerator):
    """Compiles an autoescaped {{ value }} to escape_text(value)."""

    def _output_child_pre(self, node: Any, frame: Any, finalize: Any) -> None:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape:
            super()._output_child_pre(node, frame, finalize)
            return
        # The module of a compiled template sees `environment`, not our globals.
        self.write("environment.escape_text(")
        if finalize.src is not None:
            self.write(finalize.src)


# Names a plain dict has as attributes (keys, items, get …): for these
# `d.name` is the attribute, as in Jinja.
_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(jinja2.Environment):
    # Documented for this: "the class used for code generation".
    code_generator_class = _CodeGenerator
    escape_text = staticmethod(escape_text)

    def getattr(self, obj: Any, attribute: str) -> Any:
        """jinja2.Environment.getattr, the same answers, without an exception per dict key.

        Jinja tries the attribute first and the item after an AttributeError;
        the page contexts' dicts (teasers, urls) were asked for 245,000 keys
        in a 5,000-article build, each through a raised and caught
        exception (1.5 µs against 0.2). A key of a plain dict that is no
        dict attribute is exactly what Jinja would find second.
        """
        if obj.__class__ is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        try:
            return getattr(obj, attribute)
        except AttributeError:
            pass
        try:
            return obj[attribute]
        except (TypeError, LookupError, AttributeError):
            return self.undefined(obj=obj, name=attribute)


class _QuietBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between builds; a read-only cache folder is no error."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _compiled_pattern(folder: Path) -> str:
    """File names of compiled templates, by banmian's code digest.

    Jinja checks a compiled template against its source only: code made by
    another banmian (another _CodeGenerator) must not be taken for it. Other
    versions' files are removed.
    """
    prefix = f"{code_digest()[:16]}-"
    for entry in os.scandir(folder):
        if not entry.name.startswith(prefix):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
    return f"{prefix}%s.cache"


class Theme:
    """The default templates, overridden file by file by <source>/templates."""

    def __init__(self, folders: Sequence[Path], compiled: Path | None = None) -> None:
        self.folders = [f for f in folders if f.is_dir()]
        bytecode = None
        if compiled is not None:
            try:
                compiled.mkdir(parents=True, exist_ok=True)
                bytecode = _QuietBytecodeCache(str(compiled), _compiled_pattern(compiled))
            except OSError:
                bytecode = None
        self.env = _Environment(
            loader=jinja2.FileSystemLoader([str(f) for f in self.folders]),
            bytecode_cache=bytecode,
            autoescape=True,
            # A Theme lives for one build (serve makes a new one for each):
            # no need to stat every template file on each of thousands of pages.
            auto_reload=False,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    @functools.cached_property
    def fingerprint(self) -> str:
        """Digest of every theme file, read once per build."""
        return self.digest()

    def digest(self) -> str:
        h = hashlib.blake2b(digest_size=16)
        for folder in self.folders:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    h.update(path.relative_to(folder).as_posix().encode())
                    h.update(path.read_bytes())
        return h.hexdigest()


class Renderer:
    """Renders the pages of one resolved site in every edition."""

    def __init__(
        self,
        site: Site,
        theme: Theme,
        bodies: Mapping[str, Body],
        build_fingerprint: str,
        *,
        serving: bool = False,
        memo: dict[str, Any] | None = None,
    ) -> None:
        """memo: kept by a long-running caller (serve) between builds: each
        issue's fingerprints, taken again while the issue and its neighbours
        are the very objects they were (resolve.Reuse keeps them so)."""
        self.site = site
        self.paper = site.paper
        self.theme = theme
        self.bodies = bodies  # article key → Body
        self.build_fp = build_fingerprint
        self.serving = serving
        self.converters = {e.code: Converter(e.opencc, e.code) for e in self.paper.editions}
        self.editions = {e.code: e for e in self.paper.editions}
        self.issues = site.issues
        self.issue_index = {i.key: n for n, i in enumerate(self.issues)}
        self.pages = {p.key: p for i in self.issues for p in i.pages}
        self.articles = {a.key: a for i in self.issues for a in i.articles}
        self.issue_of = {p.key: i for i in self.issues for p in i.pages}
        before = memo.get("issues", {}) if memo is not None and memo.get("build_fp") == build_fingerprint else {}
        # issue key → (the issue, its neighbours, its fingerprint, its documents' (kind, key, fingerprint))
        self._by_issue: dict[str, tuple[Issue, Issue | None, Issue | None, str, list[tuple[str, str, str]]]] = {}
        for issue in self.issues:
            prev, next_ = self._neighbour(issue, -1), self._neighbour(issue, 1)
            kept = before.get(issue.key)
            if kept is None or kept[0] is not issue or kept[1] is not prev or kept[2] is not next_:
                kept = (issue, prev, next_, issue_fingerprint(issue, prev, next_), [])
            self._by_issue[issue.key] = kept
        if memo is not None:
            memo["build_fp"], memo["issues"] = build_fingerprint, self._by_issue
        self._issue_fps = {key: kept[3] for key, kept in self._by_issue.items()}
        self._groups: dict[str, str] = {}  # issue key → issue_group()
        self.origin = self.paper.base_url[: len(self.paper.base_url) - len(self.paper.base_path)]
        self._edition_contexts = {code: self._edition_context(code) for code in self.editions}

    # -- the job list ----------------------------------------------------------
    def jobs(self, issues: Iterable[Issue] | None = None) -> Iterator[Job]:
        """Every page to make: the site's own, and those of each issue (or
        only of `issues`, the ones a rebuild does not keep whole)."""
        site_fp = fingerprint(self.build_fp, "site")
        archive_fp = fingerprint(self.build_fp, [(i.key, i.number, len(i.articles)) for i in self.issues])
        latest = self.site.latest
        # The search page offers the archive's pages and date range as filters.
        search_fp = fingerprint(site_fp, self._search_filters(), self.issues[0].key, latest.key)
        # Each document's fingerprint is the same in every edition: made once.
        documents = [document for issue in (self.issues if issues is None else issues) for document in self.issue_documents(issue)]
        for edition in self.paper.editions:
            ed = edition.code
            base = edition.path
            latest_fp = fingerprint(self.build_fp, self._issue_fps[latest.key], self._page_bodies(latest.pages))
            yield Job(f"{base}/index.html", latest_fp, "home", ed, latest.key)
            yield Job(f"{base}/archive/index.html", archive_fp, "archive", ed, "")
            yield Job(f"{base}/search/index.html", search_fp, "search", ed, "")
            yield Job(f"{base}/section/index.html", fingerprint(site_fp, dict(self.site.section_slugs)), "sections", ed, "")
            for kind, key, fp in documents:
                yield Job(document_path(edition, key), fp, kind, ed, key)
        default = self.paper.default_edition
        yield Job("index.html", fingerprint(self.build_fp, "root", self._issue_fps[latest.key], self._page_bodies(latest.pages)), "root", default, latest.key)
        yield Job("404.html", fingerprint(site_fp, "404", latest.key), "404", default, "")

    def issue_documents(self, issue: Issue) -> list[tuple[str, str, str]]:
        """(kind, key, fingerprint) of the issue's own pages, its articles' and its own.

        Made once per issue object (serve keeps them between builds). An
        article's is the plain digest of its issue's and its file's, not
        fingerprint()'s marshalling: a build lists every article's, 10,000
        of them, even to render two pages.
        """
        mine = self._by_issue[issue.key][4]
        if not mine:
            issue_fp = fingerprint(self.build_fp, self._issue_fps[issue.key])
            mine.append(("issue", issue.key, issue_fp))
            for page in issue.pages:
                mine.append(("page", page.key, fingerprint(issue_fp, self._page_bodies([page]))))
                for article in page.articles:
                    src = article.src
                    mine.append(("article", article.key, text_digest(f"{issue_fp}\0{src.digest}\0{src.file}")))
        return mine

    def issue_paths(self, issue: Issue) -> list[str]:
        """The output files of the issue's own pages (issue_documents) in every
        edition, without their fingerprints."""
        keys = [issue.key]
        for page in issue.pages:
            keys.append(page.key)
            keys.extend([article.key for article in page.articles])
        return [document_path(edition, key) for edition in self.paper.editions for key in keys]

    def issue_group(self, issue: Issue) -> str:
        """One fingerprint for all of an issue's own pages (issue_documents) in
        every edition: made of what theirs are (its issue fingerprint, each
        article's file and digest), without making them. A rebuild keeps the
        pages of an issue whose group is unchanged as a whole; at 10,000
        articles that is 250 fingerprints instead of 24,500 pages' each."""
        group = self._groups.get(issue.key)
        if group is None:
            group = self._groups[issue.key] = fingerprint(
                self.build_fp, self._issue_fps[issue.key], [(a.src.digest, a.src.file) for p in issue.pages for a in p.articles]
            )
        return group

    def issue_fingerprints(self) -> list[str]:
        """Each issue's fingerprint (issue_fingerprint: titles, pages, neighbours; not bodies), in order."""
        return [self._issue_fps[issue.key] for issue in self.issues]

    def _search_filters(self) -> list[tuple[str, str]]:
        return sorted({(p.code, p.name) for i in self.issues for p in i.pages})

    def _page_bodies(self, pages: Iterable[Page]) -> list[str]:
        return [a.src.digest for p in pages for a in p.articles]

    def _neighbour(self, issue: Issue, step: int) -> Issue | None:
        index = self.issue_index[issue.key] + step
        return self.issues[index] if 0 <= index < len(self.issues) else None

    # -- rendering ---------------------------------------------------------------
    def render(self, job: Job) -> bytes:
        return self.render_many([job])[0]

    def render_many(self, jobs: Sequence[Job]) -> list[bytes]:
        """Render pages, converting each edition's pages together (one OpenCC call)."""
        pages = [self._html(job) for job in jobs]
        for code, converter in self.converters.items():
            if converter.identity:
                continue
            mine = [n for n, job in enumerate(jobs) if job.edition == code]
            for n, converted in zip(mine, converter.html_many([pages[n] for n in mine])):
                pages[n] = converted
        return [page.encode("utf-8") for page in pages]

    def _html(self, job: Job) -> str:
        method: Callable[[Edition, str], tuple[str, dict[str, Any]]] = getattr(self, f"_ctx_{job.kind}")
        template, context = method(self.editions[job.edition], job.target)
        return self.theme.env.get_template(template).render(context)

    def absolute(self, path: str) -> str:
        return self.origin + path

    def _common(self, edition: Edition, doc_urls: Mapping[str, str] | None, title: str, issue: Issue | None) -> dict[str, Any]:
        paper = self.paper
        ed = edition.code
        context = dict(self._edition_contexts[ed])
        context["title"] = title
        context["issue"] = issue
        if doc_urls is not None:
            context["alternates"] = [(e.code, self.absolute(doc_urls[e.code])) for e in paper.editions]
            context["x_default"] = self.absolute(doc_urls[paper.default_edition])
            context["canonical"] = self.absolute(doc_urls[ed])
            context["switch"] = [(e, doc_urls[e.code]) for e in paper.editions]
        if issue is not None:
            prev, next_ = self._neighbour(issue, -1), self._neighbour(issue, 1)
            context.update(
                issue_date=chinese_date(issue.date),
                issue_url=issue.urls[ed],
                prev_issue=prev.urls[ed] if prev else None,
                next_issue=next_.urls[ed] if next_ else None,
                strip=[(p.code, p.name, p.urls[ed], p.key) for p in issue.pages],
            )
        return context

    def _edition_context(self, ed: str) -> Mapping[str, Any]:
        """What every page of an edition shows alike: made once, copied per page."""
        paper = self.paper
        urls = {name: u[ed] for name, u in self.site.urls.items()}
        return {
            "paper": paper,
            "edition": self.editions[ed],
            "editions": paper.editions,
            "lang": ed,
            "urls": urls,
            "static": urls["static"],
            "serving": self.serving,
            "feed_url": urls["feed"],
            "atom_url": urls["atom"],
            "alternates": [],
            "switch": [(e, self.site.urls["home"][e.code]) for e in paper.editions],
            "canonical": None,
        }

    def _issue_context(self, edition: Edition, key: str) -> dict[str, Any]:
        issue = self.issues[self.issue_index[key]]
        ed = edition.code
        title = f"{chinese_date(issue.date).split()[0]} · {self.paper.title}"
        context = self._common(edition, issue.urls, title, issue)
        context.update(
            kind="issue",
            current_page=None,
            pages=[
                {
                    "code": p.code,
                    "name": p.name,
                    "editor": p.editor,
                    "url": p.urls[ed],
                    "image": p.image,
                    "pdf": p.pdf,
                    "articles": [self._teaser(a, ed) for a in p.articles],
                }
                for p in issue.pages
            ],
        )
        return context

    def _ctx_issue(self, edition: Edition, key: str) -> tuple[str, dict[str, Any]]:
        return "issue.html", self._issue_context(edition, key)

    def _ctx_home(self, edition: Edition, key: str) -> tuple[str, dict[str, Any]]:
        # /{ed}/ shows the latest issue; the dated URL is the canonical one.
        return "issue.html", self._issue_context(edition, key)

    def _ctx_root(self, edition: Edition, key: str) -> tuple[str, dict[str, Any]]:
        return "issue.html", self._issue_context(edition, key)

    def _teaser(self, article: Article, ed: str) -> dict[str, Any]:
        src = article.src
        body = self.bodies.get(article.key)
        return {
            "title": src.title,
            "kicker": src.kicker,
            "subtitle": src.subtitle,
            "url": article.urls[ed],
            "byline": byline(article),
            "column": src.column,
            "draft": src.draft,
            "summary": summary_of(article, body) if body else src.summary,
        }

    def _ctx_page(self, edition: Edition, key: str) -> tuple[str, dict[str, Any]]:
        page = self.pages[key]
        issue = self.issue_of[key]
        ed = edition.code
        index = issue.pages.index(page)
        prev = issue.pages[index - 1] if index > 0 else None
        next_ = issue.pages[index + 1] if index + 1 < len(issue.pages) else None
        title = f"{page.label} · {chinese_date(page.date).split()[0]} · {self.paper.title}"
        context = self._common(edition, page.urls, title, issue)
        context.update(
            kind="page",
            current_page=page.key,
            page=page,
            articles=[self._teaser(a, ed) for a in page.articles],
            prev_page=(prev.label, prev.urls[ed]) if prev else None,
            next_page=(next_.label, next_.urls[ed]) if next_ else None,
        )
        return "page.html", context

    def _ctx_article(self, edition: Edition, key: str) -> tuple[str, dict[str, Any]]:
        article = self.articles[key]
        page = self.pages[f"{article.date.isoformat()}/{article.page_code}"]
        issue = self.issue_of[page.key]
        ed = edition.code
        src = article.src
        nav = self.site.nav[key]
        body = self.bodies[key]
        title = f"{src.title} · {page.label} · {self.paper.title}"
        context = self._common(edition, article.urls, title, issue)

        def link(target: Article | None) -> tuple[str, str] | None:
            return (target.src.title, target.urls[ed]) if target else None

        def jump(link_: Any) -> tuple[str, str | None] | None:
            if link_ is None:
                return None
            return (link_.text, link_.urls[ed] if link_.urls else None)

        context.update(
            kind="article",
            current_page=page.key,
            page=page,
            page_url=page.urls[ed],
            article=src,
            byline=byline(article),
            body=body.html,
            summary=summary_of(article, body),
            prev_article=link(nav.prev),
            next_article=link(nav.next),
            continued_to=jump(nav.continued_to),
            continued_from=jump(nav.continued_from),
            published=article.date.isoformat(),
            citation_date=article.date.strftime("%Y/%m/%d"),
        )
        return "article.html", context

    def _ctx_archive(self, edition: Edition, key: str) -> tuple[str, dict[str, Any]]:
        context = self._common(edition, self.site.urls["archive"], f"往期回顾 · {self.paper.title}", None)
        context.update(kind="archive", years=archive_calendar(self.issues, edition.code))
        return "archive.html", context

    def _ctx_search(self, edition: Edition, key: str) -> tuple[str, dict[str, Any]]:
        context = self._common(edition, self.site.urls["search"], f"搜索 · {self.paper.title}", None)
        context.update(
            kind="search",
            pages=self._search_filters(),
            first_date=self.issues[0].key,
            last_date=self.issues[-1].key,
        )
        return "search.html", context

    def _ctx_sections(self, edition: Edition, key: str) -> tuple[str, dict[str, Any]]:
        from .resolve import section_url

        context = self._common(edition, self.site.urls["sections"], f"版面订阅 · {self.paper.title}", None)
        context.update(
            kind="sections",
            sections=[
                (name, section_url(self.paper, edition, slug) + "feed.xml", section_url(self.paper, edition, slug) + "atom.xml")
                for name, slug in self.site.section_slugs.items()
            ],
        )
        return "sections.html", context

    def _ctx_404(self, edition: Edition, key: str) -> tuple[str, dict[str, Any]]:
        context = self._common(edition, None, f"找不到这个页面 · {self.paper.title}", None)
        context.update(kind="404", homes=[(e, self.site.urls["home"][e.code], self.site.urls["search"][e.code]) for e in self.paper.editions])
        return "404.html", context

    def redirect(self, edition: Edition, old_url: str, new_url: str, title: str) -> bytes:
        """A page left at a URL that moved: meta refresh, canonical and a visible link."""
        context = self._common(edition, None, title, None)
        context.update(kind="redirect", target=new_url, absolute_target=self.absolute(new_url), old_url=old_url)
        html = self.theme.env.get_template("redirect.html").render(context)
        return self.converters[edition.code].html(html).encode("utf-8")


def byline(article: Article) -> str:
    src = article.src
    names = "　".join(src.reporters)
    if not names:
        return ""
    return f"{src.role} {names}".strip() if src.role else f"记者 {names}"


def archive_calendar(issues: Sequence[Issue], ed: str) -> list[dict[str, Any]]:
    """Years (newest first) → months → weeks of days, each day linked if it has an issue."""
    import calendar

    by_day = {issue.date: issue for issue in issues}
    months = sorted({(d.year, d.month) for d in by_day}, reverse=True)
    years: dict[int, list[dict[str, Any]]] = {}
    cal = calendar.Calendar(firstweekday=0)
    for year, month in months:
        weeks = []
        for week in cal.monthdatescalendar(year, month):
            row = []
            for day in week:
                if day.month != month:
                    row.append(None)
                    continue
                issue = by_day.get(day)
                row.append({"day": day.day, "url": issue.urls[ed] if issue else None, "number": issue.number if issue else "", "date": day.isoformat()})
            weeks.append(row)
        count = sum(1 for d in by_day if (d.year, d.month) == (year, month))
        years.setdefault(year, []).append({"month": month, "weeks": weeks, "count": count, "id": f"{year}-{month:02d}"})
    return [{"year": y, "months": m} for y, m in years.items()]
