"""One build, start to finish: load → resolve → render (with convert) → write.

Nothing is written into the published site until everything is known and
rendered; a failure at any point leaves it as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import gc
import hashlib
import os
import select
import sys
import time
import zoneinfo
from dataclasses import dataclass, field
from functools import partial
from itertools import accumulate, chain
from operator import itemgetter
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, NoReturn, Sequence, TypeVar

import jinja2

from . import code_digest
from . import published as published_urls
from .cache import CACHE_DIR, BuildCache, cache_path, load_cache, save_cache
from .config import CONFIG_NAME, load_config
from .convert import Converter
from .elsewhere import Elsewhere, Work
from .errors import ContentError, Problem, errors_in
from .feeds import feed_files, feeds_fingerprint
from .issues_json import issues_json
from .load import CONTENT_DIR, Content, ContentEntry, load_content
from .model import Article, ArticleSource, Body, Newspaper, Site
from .opencc_loaded import loading_elsewhere
from .opencc_steps import dictionaries
from .render import Job, MarkdownRenderer, Renderer, Theme, fingerprint, plain_copy
from .resolve import Reuse, resolve, slug_inputs
from .search import adopt_tables, search_files, tables_elsewhere as search_tables_elsewhere
from .sitemap import sitemap_files
from .slugs import load_tables, slugify_all
from .walk import THEME_ROOT
from .write import FolderId, OutputLocked, OutputTree, Written, wait_for_finisher

# Below this many pages a worker pool costs more than it saves.
PARALLEL_THRESHOLD = 400
# Below this many articles loading the pinyin tables elsewhere saves too little.
SLUGS_ELSEWHERE_FROM = 500
# Pages rendered, then converted together: fewer OpenCC calls, bounded memory.
RENDER_BATCH = 64

Progress = Callable[[str, int, int], None]
T = TypeVar("T")
_FIRST = itemgetter(0)


@dataclass(frozen=True)
class BuildOptions:
    source: Path
    output: Path
    drafts: bool = False
    base_url: str | None = None
    jobs: int = 0  # 0: every core
    serving: bool = False
    use_cache: bool = True
    # Update content/.published.json after publishing. Off for throwaway
    # builds (check --links): only the real site's URLs are a promise.
    record_urls: bool = True
    # Once the site is published, leave saving the cache and linking a first
    # spare to a forked finisher, and return: for a process about to exit
    # (the build command), whose caller waits for the site, not for them.
    detach: bool = False


@dataclass(frozen=True)
class BuildResult:
    articles: int
    written: int
    unchanged: int
    seconds: float
    warnings: tuple[Problem, ...]
    output: Path
    stages: tuple[tuple[str, float], ...] = ()  # where the time went, for --timings
    published: FolderId | None = None  # the output folder as this build left it
    base_path: str = "/"  # where the site's links expect it: "/" or "/epaper/" (serve mounts it there)


class Stopwatch:
    """Seconds per build stage, so a slow build says which stage is slow."""

    def __init__(self) -> None:
        self.laps: list[tuple[str, float]] = []
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps.append((stage, now - self._last))
        self._last = now


@dataclass
class Loaded:
    """What load and resolve made of the source folder."""

    paper: Newspaper
    content: Content
    site: Site
    problems: list[Problem] = field(default_factory=list)
    # The helper still making the search index's tables (a cold build's): build() collects them.
    elsewhere: Elsewhere | None = None


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def load_site(
    options: BuildOptions,
    cache: BuildCache,
    articles: Sequence[ContentEntry] | None = None,
    meanwhile: Callable[[Sequence[ArticleSource]], None] | None = None,
) -> Loaded:
    """Load and resolve; raise ContentError with every problem if it cannot build.

    articles: walk.content_entries() of the source's content, when the
    caller has just walked it (the up-to-date check). meanwhile(the
    articles to publish) runs between reading and resolving, while slugs
    may be made elsewhere.
    """
    paper, problems = load_config(options.source)
    if paper is None:
        raise ContentError(problems)
    if options.base_url:
        url = options.base_url if options.base_url.endswith("/") else options.base_url + "/"
        paper = dataclasses.replace(paper, base_url=url)
    # A cold build of a large archive slugs every title and derives the
    # search index's character tables: the tables for both are loaded by a
    # helper process while this one reads. Not when the cache knows the
    # slugs, nor for a few articles, nor on one core.
    elsewhere = tables = None
    if not cache.slugs and articles is not None and len(articles) >= SLUGS_ELSEWHERE_FROM and (options.jobs or default_jobs()) > 1:
        tables = search_tables_elsewhere(paper, cache.extra.get("search", {}))
        elsewhere = Elsewhere.start(_helper_work(tables))
    try:
        # Articles are parsed here, not in a worker pool: parsing is cheap now
        # (0.3 s CPU at 5,000 articles), and starting workers and pickling every
        # record back cost more CPU than they saved time.
        content = load_content(options.source, cache.sources, cache.stats, cache.bodies.known(), articles, cache.issues)
        if elsewhere is not None:
            asked = slug_inputs(paper, content.articles, content.issues) - cache.slugs.keys()
            elsewhere.ask((asked, [src.title for src in content.articles]))
        problems.extend(content.problems)
        published = [a for a in content.articles if options.drafts or not a.draft]
        if not published and not errors_in(problems):
            where = options.source / CONTENT_DIR
            found = f"{content.files_read} Markdown file(s), all drafts" if content.files_read else "no Markdown files"
            problems.append(Problem(str(where), None, f"no articles to publish: found {found} under {where}"))
        if errors_in(problems):
            raise ContentError(problems)
        if meanwhile is not None:
            meanwhile(published)
            content = content.bodies_left_out(cache.bodies)
        if elsewhere is not None:
            # While the helper slugs (the build waits for it next): OpenCC's
            # dictionaries, which this build's page workers find loaded when
            # they fork (a cold build with a helper always has workers).
            for edition in paper.editions:
                Converter(edition.opencc, edition.code).load()
            slugs = elsewhere.answer()
            if isinstance(slugs, dict):  # else (the helper failed) resolve slugs them here
                cache.slugs.update(slugs)
            if tables is None:
                elsewhere.close()
        site, resolve_problems = resolve(
            paper,
            content.articles,
            content.issues,
            include_drafts=options.drafts,
            slug_cache=cache.slugs,
            reuse=cache.live.setdefault("resolve", Reuse()),  # kept in memory only: serve's rebuilds
        )
        problems.extend(resolve_problems)
        if errors_in(problems):
            raise ContentError(problems)
    except BaseException:
        if elsewhere is not None:
            elsewhere.close()
        raise
    return Loaded(paper, content, site, problems, elsewhere if tables is not None else None)


def _helper_work(tables: tuple[Sequence[Callable[[], object]], Callable[[Iterable[str]], object]] | None) -> Work:
    """The helper's question is (texts to slug, every title): it answers
    with their slugs, and then, if the search state lacks its tables, with them."""
    steps, later = tables if tables is not None else ((), None)
    return Work(
        prepare=(load_tables,),
        answer=lambda question: slugify_all(question[0]),
        steps=steps,
        later=None if later is None else (lambda question: later(question[1])),
    )


def check(options: BuildOptions) -> list[Problem]:
    """Validate everything a build would, write nothing."""
    try:
        loaded = load_site(options, BuildCache())
    except ContentError as error:
        return list(error.problems)
    theme = _theme(options.source)
    problems = list(loaded.problems)
    problems.extend(_template_problems(theme))
    record, record_problems = published_urls.load_record(options.source)
    problems.extend(record_problems)
    if not record_problems:
        problems.extend(published_urls.plan(record, loaded.site).problems)
    return problems


def _theme(source: Path, compiled: Path | None = None) -> Theme:
    return Theme([source / "templates", THEME_ROOT / "templates"], compiled)


def _template_problems(theme: Theme) -> list[Problem]:
    problems = []
    for name in theme.env.list_templates(extensions=["html", "xml"]):
        try:
            theme.env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(Problem(exc.filename or name, exc.lineno, f"template error: {exc.message}"))
    return problems


# -- bodies -------------------------------------------------------------------
_MARKDOWN: MarkdownRenderer | None = None


def _render_bodies(sources: Sequence[tuple[str, str]]) -> list[tuple[str, Body]]:
    global _MARKDOWN
    if not sources:
        return []  # an incremental build need not even import Markdown
    if _MARKDOWN is None:
        _MARKDOWN = MarkdownRenderer()
    return [(digest, _MARKDOWN(text)) for digest, text in sources]


def _chunks(items: Sequence, count: int) -> list[Sequence]:  # type: ignore[type-arg]
    size = max(1, -(-len(items) // count))
    return [items[i : i + size] for i in range(0, len(items), size)]


def render_bodies(articles: Iterable[Article], cache: BuildCache, jobs: int) -> Mapping[str, Body]:
    """Markdown → HTML once per distinct article body (cached by digest)."""
    articles = list(articles)
    render_sources([a.src for a in articles], cache, jobs)
    return ArticleBodies({a.key: a.src.digest for a in articles}, cache.bodies)


def render_sources(sources: Iterable[ArticleSource], cache: BuildCache, jobs: int) -> None:
    """Put the HTML of every body not yet in the cache's store there."""
    missing: dict[str, str] = {}
    for src in sources:
        if src.digest not in cache.bodies:
            missing[src.digest] = src.body
    # Plain copy takes microseconds here; only the rest is worth a pool.
    work = []
    for digest, text in missing.items():
        html = plain_copy(text)
        if html is None:
            work.append((digest, text))
        else:
            cache.bodies[digest] = Body(html=html)
    if jobs > 1 and len(work) > PARALLEL_THRESHOLD:
        with _pool(jobs) as pool:
            for done in pool.imap_unordered(_render_bodies, _chunks(work, jobs * 4)):
                cache.bodies.update(done)
    else:
        cache.bodies.update(_render_bodies(work))


class ArticleBodies(Mapping[str, Body]):
    """Article key → its rendered body, read from the body store when asked:
    a small rebuild shows few bodies again."""

    def __init__(self, digests: Mapping[str, str], store: Mapping[str, Body]) -> None:
        self.digests = digests
        self.store = store

    def __getitem__(self, key: str) -> Body:
        return self.store[self.digests[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(self.digests)

    def __len__(self) -> int:
        return len(self.digests)


def _start_method() -> str | None:
    import multiprocessing

    return "fork" if "fork" in multiprocessing.get_all_start_methods() else None


@contextlib.contextmanager
def _pool(jobs: int) -> Iterator[Any]:
    # fork: workers inherit the resolved site and renderer instead of
    # receiving them pickled; spawn (macOS, Windows) would pay that cost.
    import multiprocessing  # only a build with many pages to make needs it

    method = _start_method()
    # Everything the workers inherit is moved out of the collector's reach:
    # its passes would touch (and so copy) every inherited page in each
    # worker. Unfrozen after, so that a long-running serve still collects it.
    gc.freeze()
    try:
        with multiprocessing.get_context(method).Pool(jobs) as pool:
            yield pool
    finally:
        gc.unfreeze()


# -- pages --------------------------------------------------------------------
_WORK: tuple[Renderer, OutputTree, Sequence[Job]] | None = None


_CHUNKS: tuple[Sequence[Sequence[int]], Any] | None = None


def _take_chunks(shown: Callable[[int], None] | None = None, worker: bool = False) -> list[tuple[int, tuple[dict[str, Written], int, int]]]:
    """Render the next chunk no process has taken, until none is left: in a
    worker, or here. shown(chunks taken so far) after each (the progress bar)."""
    assert _CHUNKS is not None
    chunks, taken = _CHUNKS
    results = []
    while True:
        with taken.get_lock():
            number = taken.value
            taken.value = number + 1
        if number >= len(chunks):
            return results
        results.append((number, _render_jobs(chunks[number])))
        if worker:
            _trim_heap()
        if shown is not None:
            shown(taken.value)


@functools.lru_cache(maxsize=None)
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        import ctypes

        return ctypes.CDLL(None).malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc
        return None


def _trim_heap() -> None:
    """Give the heap's freed pages back to the system (glibc's malloc_trim):
    glibc keeps them, and they count in the process tree's memory as if
    used. Called by a page worker after each chunk (mostly garbage by then)
    and by the build's own process once its stages are made beside the
    workers. At 10,000 articles the tree's peak went from 394–397 MiB to
    370 MiB with the helper's early exit (see _build)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _render_jobs(indices: Sequence[int]) -> tuple[dict[str, Written], int, int]:
    """Render (or link) some pages; runs in a worker or in this process."""
    assert _WORK is not None
    renderer, tree, jobs = _WORK
    tree.manifest, tree.written, tree.unchanged = {}, 0, 0
    todo = [jobs[index] for index in indices if not tree.reuse(jobs[index].path, jobs[index].fingerprint)]
    for start in range(0, len(todo), RENDER_BATCH):
        batch = todo[start : start + RENDER_BATCH]
        for job, data in zip(batch, renderer.render_many(batch)):
            tree.put(job.path, data, job.fingerprint)
    return tree.manifest, tree.written, tree.unchanged


def _even_chunks(page_jobs: Sequence[Job], indices: Sequence[int], jobs: int) -> list[list[int]]:
    """Chunks for `jobs` workers, each holding a run of every edition's pages,
    largest first. A converted edition's page costs twice a source page, so
    chunks cut from the job list in order would leave the costly ones to the
    end. Runs stay contiguous: consecutive pages share the lines the
    converter remembers. Sizes shrink as the work left does (each a share of
    what is left), so the last chunks are small: with equal chunks one worker
    went on alone with the last for up to half a second."""
    by_edition: dict[str, list[int]] = {}
    for index in indices:
        by_edition.setdefault(page_jobs[index].edition, []).append(index)
    # Where each chunk ends, as a fraction of every edition's list.
    ends = []
    left = 1.0
    while left > 0:
        left = max(0.0, left - max(CHUNK_LEAST, left / (CHUNK_SHARE * jobs)))
        ends.append(1.0 - left)
    chunks: list[list[int]] = [[] for _ in ends]
    for mine in by_edition.values():
        start = 0
        for chunk, end in zip(chunks, ends):
            stop = round(end * len(mine))
            chunk.extend(mine[start:stop])
            start = stop
    return [chunk for chunk in chunks if chunk]


# A chunk is a 1/(CHUNK_SHARE × workers) share of the pages left, and at
# least CHUNK_LEAST of all of them.
CHUNK_SHARE = 3
CHUNK_LEAST = 0.01


# What a build records of the files it published, by output folder, kept in
# the cache beside the output's manifest (and saved only with it): each
# issue's group of pages (PageGroup, by issue key), and each later stage's
# (fingerprint, the files it made), by stage name.
PUBLISHED_RECORDS = ("page_groups", "stage_files")
# An issue's group of pages, by its fingerprint (Renderer.issue_group).
PageGroup = str


def render_pages(
    renderer: Renderer,
    tree: OutputTree,
    jobs: int,
    progress: Progress | None,
    meanwhile: Callable[[], None] | None = None,
    pages_done: Callable[[], None] | None = None,
    groups: tuple[Mapping[str, PageGroup], dict[str, PageGroup]] | None = None,
) -> None:
    """Render every page not reusable; meanwhile() runs here while workers
    render, and then this process renders what is left beside them.

    groups: (each issue's group of pages as the last build published them
    to this output, and a dict to fill with this build's), see _page_jobs.

    The parent would otherwise wait idle for the pool, and the pool for the
    parent's own stages (feeds, sitemap, search) afterwards.
    """
    global _WORK, _CHUNKS
    page_jobs = _page_jobs(renderer, tree, groups if groups is not None else ({}, {}))
    # Pages made from unchanged inputs are linked here first: cheap, and an
    # incremental build then starts no worker pool for the few pages left.
    indices = tree.reuse_many((job.path, job.fingerprint) for job in page_jobs)
    parallel = jobs > 1 and len(indices) > PARALLEL_THRESHOLD
    chunks = _even_chunks(page_jobs, indices, jobs) if parallel else _chunks(indices, max(1, len(indices) // 200))
    reused = len(page_jobs) - len(indices)
    ends = list(accumulate(map(len, chunks), initial=reused))  # pages done once chunk n is
    shown = (lambda taken: progress("pages", ends[min(taken, len(chunks))], len(page_jobs))) if progress else None
    _WORK = (renderer, tree, page_jobs)
    try:
        if parallel:
            for converter in renderer.converters.values():
                converter.load()  # the parent converts feeds too: loaded once, for all
            # jobs - 1 workers take the chunks in turn, and so does this
            # process once its own stages are made: never more busy
            # processes than cores. (Processes taking turns on a core lose
            # their caches to each other: pinned to one CPU, the search
            # stage took ~30 % more CPU beside two workers than alone.)
            _CHUNKS = (chunks, _counter())
            with _pool(jobs - 1) as pool:
                theirs = [pool.apply_async(_take_chunks, (None, True)) for _ in range(jobs - 1)]
                if meanwhile is not None:
                    meanwhile()
                    _trim_heap()  # what the stages made and dropped (the search index's postings)
                results = _in_this_process(tree, partial(_take_chunks, shown))
                results += chain.from_iterable(task.get() for task in theirs)
        else:
            _CHUNKS = (chunks, _counter(local=True))
            results = _in_this_process(tree, partial(_take_chunks, shown))
            if meanwhile is not None:
                meanwhile()
        if pages_done is not None:
            pages_done()
    finally:
        _WORK = _CHUNKS = None
    for _, (manifest, written, unchanged) in sorted(results, key=_FIRST):
        tree.adopt(manifest, written, unchanged)


def _page_jobs(renderer: Renderer, tree: OutputTree, groups: tuple[Mapping[str, PageGroup], dict[str, PageGroup]]) -> list[Job]:
    """The pages to reuse or make one by one: the site's own, and those of
    every issue whose pages the tree cannot keep as a whole group.

    An issue whose group fingerprint is the one its published pages were
    made from keeps them all at once (OutputTree.keep_group), without its
    pages' own fingerprints being made. (Their files are the ones the last
    build listed: their names come from what the group is made of.) Fills
    groups[1] with every issue's group as this build leaves it.
    """
    before, now = groups
    listed = []
    for issue in renderer.issues:
        group = now[issue.key] = renderer.issue_group(issue)
        if before.get(issue.key) != group or not tree.keep_group(renderer.issue_paths(issue)):
            listed.append(issue)
    return list(renderer.jobs(listed))


def _in_this_process(tree: OutputTree, render: Callable[[], T]) -> T:
    """render() here: _render_jobs uses the tree's own counters, restored after."""
    own = tree.manifest, tree.written, tree.unchanged
    try:
        return render()
    finally:
        tree.manifest, tree.written, tree.unchanged = own


class _LocalCounter:
    """The one process's stand-in for a shared counter."""

    def __init__(self) -> None:
        self.value = 0

    def get_lock(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


def _counter(local: bool = False) -> Any:
    """The number of chunks taken, shared by the workers forked after it (or by this process alone)."""
    if local:
        return _LocalCounter()
    import multiprocessing

    return multiprocessing.get_context(_start_method()).Value("i", 0)


# -- the build ------------------------------------------------------------------
def static_files(source: Path) -> Iterator[tuple[str, Path]]:
    """Theme static files, then the site's own, which override by name."""
    seen: dict[str, Path] = {}
    for folder in (THEME_ROOT / "static", source / "static"):
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not path.name.startswith("."):
                    seen[path.relative_to(folder).as_posix()] = path
    for name, path in sorted(seen.items()):
        yield f"static/{name}", path


def robots_txt(paper: Newspaper) -> bytes:
    return f"User-agent: *\nAllow: /\n\nSitemap: {paper.base_url}sitemap.xml\n".encode()


def build_fingerprint(options: BuildOptions, paper: Newspaper, theme: Theme) -> str:
    config = (options.source / CONFIG_NAME).read_bytes()
    return fingerprint(code_digest(), theme.fingerprint, hashlib.blake2b(config).hexdigest(), paper, options.drafts, options.serving)


def build(
    options: BuildOptions,
    progress: Progress | None = None,
    cache: BuildCache | None = None,
    articles: Sequence[ContentEntry] | None = None,
) -> BuildResult:
    """Build the site into options.output; raise ContentError (site untouched) on bad input.

    cache: a BuildCache kept in memory by a long-running caller (serve); by
    default it is read from and saved to <source>/.banmian-cache.
    """
    # A rebuild converts its few pages only once it has read its cache and
    # resolved the archive on one core: meanwhile, a helper loads OpenCC's
    # dictionaries on another (0.07 s). Not for a cold build (its workers
    # need them loaded before they fork), nor for serve (loaded once).
    options = dataclasses.replace(options, source=options.source.resolve(), output=options.output.resolve())
    rebuild = cache is None and options.use_cache and not options.serving and cache_path(options.source).exists()
    elsewhere = rebuild and (options.jobs or default_jobs()) > 1
    with loading_elsewhere(partial(_dictionaries, options.source)) if elsewhere else contextlib.nullcontext():
        return _build(options, progress, cache, articles)


def _dictionaries(source: Path) -> list[str]:
    """The OpenCC configs the paper's editions convert with (in the helper: it reads the config itself)."""
    paper, _ = load_config(source)
    return [] if paper is None else [name for edition in paper.editions if edition.opencc for name in dictionaries(edition.opencc)]


def _build(
    options: BuildOptions,
    progress: Progress | None,
    cache: BuildCache | None,
    articles: Sequence[ContentEntry] | None,
) -> BuildResult:
    """build() with options whose folders are resolved."""
    started = time.perf_counter()
    watch = Stopwatch()
    source = options.source
    jobs = options.jobs or default_jobs()
    # A spare tree is worth making only for a cache that will remember it.
    remembered = cache is not None or options.use_cache
    # The cache a finisher of the last build is still saving (and the spare it
    # is linking) are read only once it is done.
    wait_for_finisher(options.output)
    if cache is None:
        cache = load_cache(source) if options.use_cache else BuildCache()
    theme = _theme(source, source / CACHE_DIR / "templates" if options.use_cache else None)
    kept = cache.live.get("theme")
    if kept is not None and kept.folders == theme.folders and kept.fingerprint == theme.fingerprint:
        theme = kept  # serve: its templates are compiled already
    cache.live["theme"] = theme
    # Compiling every template to check it costs more than a small rebuild:
    # only when the theme's files changed since the last good build.
    checked = cache.extra.get("theme_checked") == theme.fingerprint
    template_problems = [] if checked else _template_problems(theme)
    # Bodies are rendered before resolving: meanwhile, a cold build's slugs are made elsewhere.
    loaded = load_site(options, cache, articles, lambda published: render_sources(published, cache, jobs))
    try:
        site = loaded.site
        # Earlier URLs of moved articles become redirects; lost ones are warned of.
        urls_plan, record_problems = published_urls.plan_remembered(source, site, cache.extra.setdefault("urls", {}))
        if template_problems or urls_plan is None:
            raise ContentError(loaded.problems + template_problems + record_problems)
        loaded.problems.extend(urls_plan.problems)
        watch.lap("load")

        # Cache what was parsed, keyed by content, for the next build.
        known_sources = set(cache.sources)
        # Rendered by load_site already (while the slugs were made elsewhere).
        bodies = ArticleBodies({a.key: a.src.digest for a in site.articles}, cache.bodies)
        if progress:
            progress("articles", len(bodies), len(bodies))

        output_key = str(options.output)
        tree_states = cache.extra.setdefault("output_trees", {})  # the spare beside each output folder
        tree = OutputTree(
            options.output, cache.manifests.get(output_key, {}), tree_states.get(output_key), first_spare=remembered, copies=jobs
        )
        try:
            tree.lock()
        except OutputLocked as exc:
            raise ContentError([Problem(str(options.output), None, str(exc))]) from None
        except OSError as exc:
            raise ContentError([Problem(str(options.output), None, f"cannot write the output folder: {exc.strerror}")]) from None
        try:
            try:
                tree.begin()
            except OSError as exc:
                raise ContentError([Problem(str(options.output), None, f"cannot write beside the output folder: {exc.strerror}")]) from None
            renderer = Renderer(
                site, theme, bodies, build_fingerprint(options, site.paper, theme), serving=options.serving, memo=cache.live.setdefault("renderer", {})
            )
            # What this output's last published build made (see PUBLISHED_RECORDS),
            # and what this one makes: remembered with its manifest once published.
            records_before = {name: cache.extra.get(name, {}).get(output_key, {}) for name in PUBLISHED_RECORDS}
            records: dict[str, dict[str, Any]] = {name: {} for name in PUBLISHED_RECORDS}
            moved = published_urls.moved_list(urls_plan, site)
            # Stage → the output its state was published to; forgotten until this
            # build publishes (a failed build may have moved a state past its site).
            published_by: dict[str, str] = cache.extra.pop("stages_published", {})
            # The helper's last answer (a cold build's search tables) is taken
            # before the page workers fork: the helper then exits, and its
            # memory (~120 MiB at 10,000 articles) is not the tree's while
            # they render. It has long been working beside the load.
            helper_tables = loaded.elsewhere.later() if loaded.elsewhere is not None else None

            def other_files() -> None:
                for name, path in static_files(source):
                    tree.put(name, path.read_bytes())
                for name, data in published_urls.redirect_pages(urls_plan, site, renderer.redirect):
                    tree.put(name, data)
                watch.lap("static+redirects")
                search_tables = (lambda: helper_tables) if loaded.elsewhere is not None else None
                for stage, stage_fp, make, unchanged in extra_stages(site, bodies, renderer, cache, moved, options.output, search_tables, max(1, jobs - 1)):
                    before = records_before["stage_files"].get(stage)
                    # Its published files are kept as they are (recorded under
                    # the fingerprint each was made with) when the stage's inputs are
                    # those they were made from; a file the staging folder lacks
                    # is linked, or the stage made again.
                    if bool(stage_fp) and before is not None and before[0] == stage_fp and not tree.keep_many(before[1]):
                        records["stage_files"][stage] = before
                    else:
                        # A stage's word that a file is unchanged holds only for the
                        # output its state was last published to.
                        # (The same set object: make() fills it as it goes.)
                        trusted = unchanged if unchanged is not None and published_by.get(stage) == output_key else set()
                        made = list(make())  # fills trusted as it goes
                        keep = [name for name, _ in made if name in trusted]
                        lost = {keep[index] for index in tree.keep_many(keep)}
                        for name, data in made:
                            if name not in trusted or name in lost:
                                tree.put(name, data if isinstance(data, bytes) else data(), stage_fp)
                        records["stage_files"][stage] = (stage_fp, [name for name, _ in made])
                    watch.lap(stage)

            try:
                # With workers, the other stages' laps come first, and "pages" is
                # the time left waiting for the workers once they are done.
                render_pages(renderer, tree, jobs, progress, other_files, lambda: watch.lap("pages"), (records_before["page_groups"], records["page_groups"]))
            except jinja2.TemplateError as exc:
                raise ContentError(loaded.problems + [_template_problem(exc)]) from None
            tree.publish()
            cache.extra["stages_published"] = {stage: output_key for stage in STATEFUL_STAGES}
            watch.lap("publish")
        except BaseException:
            tree.abandon()
            tree.unlock()
            raise
        try:
            _record_urls(options, loaded, urls_plan)
        except BaseException:
            tree.unlock()
            raise
        finish = partial(_finish, tree, partial(_remember, options, cache, loaded, tree, theme.fingerprint, known_sources, checked, records))
        if not (options.detach and _finish_elsewhere(finish, tree)):
            finish()
        if options.detach:
            _LEFT_TO_EXIT.append((cache, loaded, renderer, tree))
        watch.lap("cache")
        return BuildResult(
            articles=len(site.articles),
            written=tree.written,
            unchanged=tree.unchanged,
            seconds=time.perf_counter() - started,
            warnings=tuple(p for p in loaded.problems if p.severity == "warning"),
            output=options.output,
            stages=tuple(watch.laps),
            published=tree.state.published if tree.state is not None else None,
            base_path=site.paper.base_path,
        )
    finally:
        if loaded.elsewhere is not None:
            loaded.elsewhere.close()  # done with, or (the build failed) stopped


def _record_urls(options: BuildOptions, loaded: Loaded, urls_plan: published_urls.Plan) -> None:
    """After publishing: the record of published URLs (a warning if it cannot be written)."""
    if options.record_urls and not options.drafts and not options.serving and urls_plan.record is not None:
        try:
            published_urls.save_record(options.source, urls_plan.record)
        except OSError as exc:
            # The site is published; only the memory of its URLs is not.
            loaded.problems.append(
                Problem(
                    f"{CONTENT_DIR}/{published_urls.RECORD_NAME}",
                    None,
                    f"cannot write the record of published URLs ({exc.strerror}); "
                    "the site is built, but a later retitle will not leave a redirect",
                    "warning",
                )
            )


def _finish(tree: OutputTree, remember: Callable[[], None]) -> None:
    """After publishing: remember() (the build cache) while a first build's spare is linked; then the lock is let go."""
    try:
        tree.start_spare()
        remember()
    finally:
        tree.unlock()


def _finish_elsewhere(finish: Callable[[], None], tree: OutputTree) -> bool:
    """Run finish in a forked process that outlives this one, holding the
    output's lock until it is done (a next build waits for it); False, having
    done nothing, where it cannot fork.

    Like `git gc --auto`: the site is published and whole, and what is left
    only speeds up the next build — the cache saved (~0.2 s at 5,000
    articles) and a first build's spare linked (12,300 folders, 17,800 links;
    ~0.3-0.5 s on ext4). Should the finisher fail or be killed, the next
    build finds an older cache or no trusted spare, and builds more.
    """
    if not hasattr(os, "fork"):
        return False
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        parent_gone, parent_alive = os.pipe()
    except OSError:
        return False
    try:
        pid = os.fork()
    except OSError:
        os.close(parent_gone)
        os.close(parent_alive)
        return False
    if pid == 0:  # pragma: no cover - the finisher's coverage is not collected
        os.close(parent_alive)
        _finisher(finish, parent_gone)
    os.close(parent_gone)
    # parent_alive stays open: the finisher reads end-of-file once this process has exited.
    tree.hand_over(pid)
    return True


# What a build in a process about to exit (BuildOptions.detach) leaves for
# the exit to drop: freeing a 10,000-article build's objects one by one as
# build() returns took 0.12 s of a 1.2 s one-article rebuild.
_LEFT_TO_EXIT: list[object] = []


# How long a finisher waits for the build that forked it to exit (it is about to).
PARENT_EXIT_WAIT_SECONDS = 10.0


def _finisher(finish: Callable[[], None], parent_gone: int) -> NoReturn:  # pragma: no cover
    """The finisher's whole life: its own session (a ^C meant for a later
    command is not for it) and no terminal or pipe of its parent's (a caller
    reading the build's output to its end must not wait for it).

    It starts once its parent has exited: the kernel closes the parent's
    descriptors after releasing its memory, so the pages they shared are the
    finisher's alone by then, and pickling the cache (which touches every
    object's reference count) writes to them in place instead of copying
    them while the parent still holds the originals: +200 MiB of the tree's
    peak at 10,000 articles.
    """
    status = 1
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        select.select([parent_gone], [], [], PARENT_EXIT_WAIT_SECONDS)
        os.close(parent_gone)
        finish()
        status = 0
    finally:
        os._exit(status)


def _remember(
    options: BuildOptions,
    cache: BuildCache,
    loaded: Loaded,
    tree: OutputTree,
    theme_fingerprint: str,
    known_sources: set[str],
    theme_checked: bool,
    records: Mapping[str, Any],
) -> None:
    """After publishing: the build cache."""
    output_key = str(options.output)
    changed = tree.written > 0 or tree.swapped or set(loaded.content.parsed) != known_sources or not theme_checked
    cache.manifests[output_key] = tree.manifest
    for name, record in records.items():
        cache.extra.setdefault(name, {})[output_key] = record
    cache.extra["output_trees"][output_key] = tree.state
    cache.extra["theme_checked"] = theme_fingerprint
    # The cache keeps each article's rendered body, not its Markdown twice.
    cache.sources = dict(loaded.content.bodies_left_out(cache.bodies, every=True).parsed)
    # Bodies no article uses any more are dropped, so the cache does not grow forever.
    live = {a.digest for a in loaded.content.articles}
    cache.bodies.retain(live)
    if options.use_cache and changed:  # a build that changed nothing has nothing new to remember
        save_cache(options.source, cache)


# A stage's files: bytes, or, for a file its state says is unchanged, how to
# get its bytes should the published copy not be kept after all.
StageFiles = Callable[[], Iterable[tuple[str, "bytes | Callable[[], bytes]"]]]
# Stages that keep state between builds and can say which files it left as they were.
STATEFUL_STAGES = ("search",)


def extra_stages(
    site: Site, bodies: Mapping[str, Body], renderer: Renderer, cache: BuildCache, moved: Sequence[Mapping[str, object]] = (),
    output: Path | None = None, search_tables: Callable[[], object] | None = None, jobs: int | None = None,
) -> Iterator[tuple[str, str, StageFiles, set[str] | None]]:
    """Files other than pages, by stage: (name, fingerprint, how to make them,
    the paths the making found unchanged since its last run, or None).

    A stage whose fingerprint is unchanged keeps its published files without
    being run (search, when run, is incremental inside).
    """
    # "Built at" is when the content last changed: the latest edition's date,
    # not the clock. The same content then gives the same bytes, so an
    # unchanged feed keeps its mtime and a cold build equals an incremental one.
    zone = zoneinfo.ZoneInfo(site.paper.timezone)
    built_at = dt.datetime.combine(site.latest.date, dt.time(0, 0), zone)
    # What the calendar and the sitemap are made of: the structure of the
    # archive and each article's front matter, not its body, so that a
    # correction to a story's text does not rewrite them. That is each
    # issue's fingerprint (render.issue_fingerprint). The index reads every
    # article's file (title, body, front matter), its URL and its page's
    # name: all in its issue's group of pages (render.Renderer.issue_group).
    # Both are the renderer's, made once for the pages (issue fingerprints
    # are kept by serve for an issue that is the very object it was in its
    # last build, resolve.Reuse).
    listing_fp = fingerprint(renderer.build_fp, moved, renderer.issue_fingerprints())
    search_fp = fingerprint(renderer.build_fp, [renderer.issue_group(issue) for issue in site.issues])
    yield "issues.json", listing_fp, lambda: [
        ("issues.json", issues_json(site, moved)),
        ("robots.txt", robots_txt(site.paper)),
    ], None
    yield "feeds", feeds_fingerprint(site, renderer.build_fp, built_at), lambda: feed_files(
        site, bodies, renderer.converters, built_at, cache.state("feeds")
    ), None
    yield "sitemap", listing_fp, lambda: sitemap_files(site, built_at), None
    # Unchanged, the index is not even entered.
    unchanged: set[str] = set()

    def search() -> Iterable[tuple[str, bytes | Callable[[], bytes]]]:
        state = cache.extra.setdefault("search", {})
        if search_tables is not None:  # a cold build's, made by its helper while the build loaded
            adopt_tables(state, search_tables())
        return search_files(site, bodies, renderer.converters, state, jobs=jobs, unchanged=unchanged, published=output)

    yield "search", search_fp, search, unchanged


def _template_problem(exc: jinja2.TemplateError) -> Problem:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return Problem(exc.filename or exc.name or "templates", exc.lineno, f"template error: {exc.message}")
    # Runtime errors (an undefined variable …): the innermost template frame says where.
    tb = exc.__traceback__
    where, line = "templates", None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".xml")):
            where, line = filename, tb.tb_lineno
        tb = tb.tb_next
    return Problem(where, line, f"template error: {exc}")
