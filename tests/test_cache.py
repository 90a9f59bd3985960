"""The on-disk cache: each kind of change invalidates exactly what it should."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest

import banmian.cache
import banmian.elsewhere
import banmian.load
import banmian.opencc_loaded
import banmian.pipeline
import banmian.render
import banmian.write
from banmian.pipeline import BuildOptions, build
from banmian.walk import content_entries
from sitekit import copy_fixture, tree_bytes

ARTICLE = "content/2025-03-02/A01/next-day.md"
ARTICLE_PAGE = "zh-hant/2025-03-02/A01/diertian-de-toutiao-xinwen/index.html"
OTHER_ISSUE_ARTICLE = "zh-hant/2025-02-28/01/eryue-zuihou-yitian/index.html"


def run(source: Path, output: Path, jobs: int = 1):  # type: ignore[no-untyped-def]
    return build(BuildOptions(source=source, output=output, jobs=jobs))


def mtimes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def changed(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {path for path, stamp in after.items() if before.get(path) != stamp}


@pytest.fixture()
def paper(tmp_path: Path) -> tuple[Path, Path]:
    source = copy_fixture("paper", tmp_path)
    output = tmp_path / "site"
    run(source, output)
    return source, output


def same_as_cold(source: Path, output: Path, tmp_path: Path) -> None:
    cold_source = tmp_path / "cold"
    shutil.copytree(source, cold_source, ignore=shutil.ignore_patterns(".banmian-cache"))
    build(BuildOptions(source=cold_source, output=tmp_path / "cold-site", jobs=1, use_cache=False))
    assert tree_bytes(output) == tree_bytes(tmp_path / "cold-site")


def test_no_change_rewrites_nothing(paper: tuple[Path, Path]) -> None:
    source, output = paper
    before = mtimes(output)
    result = run(source, output)
    assert result.written == 0
    assert changed(before, mtimes(output)) == set()


def test_body_edit_rewrites_only_what_shows_it(paper: tuple[Path, Path], tmp_path: Path) -> None:
    source, output = paper
    before = mtimes(output)
    path = source / ARTICLE
    path.write_text(path.read_text(encoding="utf-8").replace("第二天的正文", "第二天改写的正文"), encoding="utf-8")
    run(source, output)
    rewritten = changed(before, mtimes(output))
    assert ARTICLE_PAGE in rewritten and ARTICLE_PAGE.replace("zh-hant", "zh-hans") in rewritten
    assert OTHER_ISSUE_ARTICLE not in rewritten
    assert "zh-hans/2025-03-01/index.html" not in rewritten
    assert len([p for p in rewritten if p.endswith(".html")]) <= 12
    # The calendar and the sitemap show no body text; the feeds carry it.
    assert "issues.json" not in rewritten and "sitemap.xml" not in rewritten
    assert "zh-hant/feed.xml" in rewritten
    assert "第二天改寫的正文" in (output / ARTICLE_PAGE).read_text(encoding="utf-8")
    same_as_cold(source, output, tmp_path)


def listed_issues(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The issues whose pages a build lists one by one (not kept as a whole group)."""
    listed: list[str] = []
    documents = banmian.render.Renderer.issue_documents

    def recording(self, issue):  # type: ignore[no-untyped-def]
        listed.append(issue.key)
        return documents(self, issue)

    monkeypatch.setattr(banmian.render.Renderer, "issue_documents", recording)
    return listed


def test_a_rebuild_lists_the_pages_of_changed_issues_only(paper: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, output = paper
    listed = listed_issues(monkeypatch)
    run(source, output)
    assert listed == []  # nothing changed: every issue kept whole
    path = source / ARTICLE
    path.write_text(path.read_text(encoding="utf-8").replace("第二天的正文", "第二天改写的正文"), encoding="utf-8")
    run(source, output)
    assert sorted(set(listed)) == ["2025-03-02"]
    # A new issue is the last one's neighbour: its pages link to it.
    listed.clear()
    later = source / "content/2025-03-03/A01/third-day.md"
    later.parent.mkdir(parents=True)
    later.write_text(path.read_text(encoding="utf-8").replace("2025-03-02", "2025-03-03"), encoding="utf-8")
    run(source, output)
    assert sorted(set(listed)) == ["2025-03-02", "2025-03-03"]
    assert "2025-03-03" in (output / ARTICLE_PAGE).read_text(encoding="utf-8")
    same_as_cold(source, output, tmp_path)


def test_issue_toml_edit_shows_and_the_others_are_not_read_again(paper: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, output = paper
    parsed: list[str] = []
    parse = banmian.load._parse_issue
    monkeypatch.setattr(banmian.load, "_parse_issue", lambda path, shown, problems: parsed.append(shown) or parse(path, shown, problems))
    run(source, output)
    assert parsed == []  # unchanged since the last build: taken from the cache
    issue = source / "content/2025-03-01/issue.toml"
    issue.write_text(issue.read_text(encoding="utf-8").replace("王小丽", "赵大勇"), encoding="utf-8")
    os.utime(issue, ns=(1, 1))  # a new stat even within the clock's resolution
    run(source, output)
    assert parsed == ["content/2025-03-01/issue.toml"]
    assert "责编：赵大勇" in (output / "zh-hans/2025-03-01/A01/index.html").read_text(encoding="utf-8")
    same_as_cold(source, output, tmp_path)


def test_title_edit_rewrites_the_calendar_and_sitemap(paper: tuple[Path, Path], tmp_path: Path) -> None:
    source, output = paper
    before = mtimes(output)
    path = source / ARTICLE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("title:", "kicker: 新加的引题\ntitle:", 1), encoding="utf-8")
    run(source, output)
    rewritten = changed(before, mtimes(output))
    assert "issues.json" in rewritten
    assert "新加的引题" in (output / "issues.json").read_text(encoding="utf-8")
    same_as_cold(source, output, tmp_path)


def test_template_override_rerenders_its_pages(paper: tuple[Path, Path], tmp_path: Path) -> None:
    source, output = paper
    theme = Path(banmian.pipeline.THEME_ROOT) / "templates" / "article.html"
    (source / "templates").mkdir()
    text = theme.read_text(encoding="utf-8").replace('<article class="story">', '<article class="story house-style">')
    (source / "templates" / "article.html").write_text(text, encoding="utf-8")
    run(source, output)
    assert "house-style" in (output / OTHER_ISSUE_ARTICLE).read_text(encoding="utf-8")
    same_as_cold(source, output, tmp_path)


def test_config_change_rerenders_everything_it_touches(paper: tuple[Path, Path], tmp_path: Path) -> None:
    source, output = paper
    config = source / "newspaper.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('title = "山城晚报"', 'title = "山城日报"'), encoding="utf-8")
    run(source, output)
    assert "山城日報" in (output / OTHER_ISSUE_ARTICLE).read_text(encoding="utf-8")
    same_as_cold(source, output, tmp_path)


def test_new_version_starts_clean(paper: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    source, output = paper
    assert banmian.cache.load_cache(source).sources  # the cache is there
    monkeypatch.setattr(banmian.cache, "STAMP", ("another version", (0, 0)))
    assert not banmian.cache.load_cache(source).sources  # and is not trusted by another version


def test_corrupt_cache_is_ignored(paper: tuple[Path, Path], tmp_path: Path) -> None:
    source, output = paper
    banmian.cache.cache_path(source).write_bytes(b"not a pickle")
    result = run(source, output)
    assert result.articles == 8
    same_as_cold(source, output, tmp_path)


@pytest.mark.parametrize("jobs", [2, 3])
def test_parallel_output_is_byte_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    # A low threshold makes even the small fixture use the worker pool:
    # jobs - 1 workers and the building process take the chunks in turn.
    monkeypatch.setattr(banmian.pipeline, "PARALLEL_THRESHOLD", 1)
    source = copy_fixture("paper", tmp_path)
    build(BuildOptions(source=source, output=tmp_path / "one", jobs=1, use_cache=False))
    result = build(BuildOptions(source=source, output=tmp_path / "many", jobs=jobs, use_cache=False))
    assert tree_bytes(tmp_path / "one") == tree_bytes(tmp_path / "many")
    assert result.written == len(tree_bytes(tmp_path / "many"))


def test_slugs_and_search_tables_made_elsewhere_give_the_same_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A low threshold makes the small fixture's cold build use a helper process.
    monkeypatch.setattr(banmian.pipeline, "SLUGS_ELSEWHERE_FROM", 1)
    started, answers, later = [], [], []
    start = banmian.elsewhere.Elsewhere.start.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(banmian.elsewhere.Elsewhere, "start", classmethod(lambda cls, work: started.append(work) or start(cls, work)))
    answer, made = banmian.elsewhere.Elsewhere.answer, banmian.elsewhere.Elsewhere.later
    monkeypatch.setattr(banmian.elsewhere.Elsewhere, "answer", lambda self: answers.append(answer(self)) or answers[-1])
    monkeypatch.setattr(banmian.elsewhere.Elsewhere, "later", lambda self: later.append(made(self)) or later[-1])
    # The helper's last answer is taken before the pages are rendered (it
    # then exits: its memory is not the tree's while page workers render).
    render_pages, order = banmian.pipeline.render_pages, []
    monkeypatch.setattr(banmian.pipeline, "render_pages", lambda *a, **k: order.append(len(later)) or render_pages(*a, **k))
    source = copy_fixture("paper", tmp_path)
    entries = tuple(content_entries(source / "content"))
    build(BuildOptions(source=source, output=tmp_path / "one", jobs=2), articles=entries)
    cache = banmian.cache.load_cache(source)
    # The helper answered with the slugs, then with the search index's tables, which the build kept.
    assert started and answers[0] and answers[0].items() <= cache.slugs.items()
    assert later[0]["fold_base"] == cache.extra["search"]["fold_base"]
    assert later[0]["tables"][:2] == cache.extra["search"]["tables"][:2]
    assert order == [1]
    build(BuildOptions(source=source, output=tmp_path / "two", jobs=1, use_cache=False))
    assert tree_bytes(tmp_path / "one") == tree_bytes(tmp_path / "two")
    # Once the cache knows the slugs, no helper.
    build(BuildOptions(source=source, output=tmp_path / "one", jobs=2), articles=entries)
    assert len(started) == 1


def test_a_failed_helper_leaves_the_work_to_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(banmian.pipeline, "SLUGS_ELSEWHERE_FROM", 1)
    monkeypatch.setattr(banmian.pipeline, "load_tables", lambda: os._exit(3))  # the helper dies at once
    source = copy_fixture("paper", tmp_path)
    entries = tuple(content_entries(source / "content"))
    build(BuildOptions(source=source, output=tmp_path / "one", jobs=2), articles=entries)
    build(BuildOptions(source=source, output=tmp_path / "two", jobs=1, use_cache=False))
    assert tree_bytes(tmp_path / "one") == tree_bytes(tmp_path / "two")


def test_a_rebuild_converts_its_pages_with_the_dictionaries_a_helper_loaded(
    paper: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, output = paper
    here: set[str] = set()  # this process has loaded no OpenCC yet (as a new build command)
    monkeypatch.setattr(banmian.opencc_loaded, "_loaded_here", here)
    banmian.opencc_loaded.opencc_for.cache_clear()
    helpers = []
    start = banmian.opencc_loaded._Helper.start
    monkeypatch.setattr(banmian.opencc_loaded._Helper, "start", lambda preload: helpers.append(start(preload)) or helpers[-1])
    path = source / ARTICLE
    path.write_text(path.read_text(encoding="utf-8").replace("第二天的正文", "第二天改写的正文"), encoding="utf-8")
    run(source, output, jobs=2)
    assert "第二天改寫的正文" in (output / ARTICLE_PAGE).read_text(encoding="utf-8")
    assert len(helpers) == 1 and here == set()  # converted by the helper, not loaded here
    with pytest.raises(ProcessLookupError):
        os.kill(helpers[0].pid, 0)  # and it is gone
    banmian.opencc_loaded.opencc_for.cache_clear()
    same_as_cold(source, output, tmp_path)


def test_cached_record_without_its_rendered_body_is_parsed_again(paper: tuple[Path, Path]) -> None:
    source, output = paper
    cache = banmian.cache.load_cache(source)
    records = [a for a, _ in cache.sources.values() if a is not None]
    # Published articles keep only their rendered body; the draft was never rendered.
    assert all((a.body == banmian.load.BODY_LEFT_OUT) != a.draft for a in records)
    cache.bodies.clear()  # as if a build had stopped between parsing and rendering
    banmian.cache.save_cache(source, cache)
    (output / ARTICLE_PAGE).unlink()  # make the next build render it again,
    shutil.rmtree(output.with_name(f".{output.name}.spare"))  # from a fresh staging folder: a spare trusts its files
    run(source, output)
    assert "第二天的正文" in (output / ARTICLE_PAGE.replace("zh-hant", "zh-hans")).read_text(encoding="utf-8")
    assert "第二天的正文" in (output / ARTICLE_PAGE).read_text(encoding="utf-8")


def test_body_store_appends_reads_back_and_repacks(tmp_path: Path) -> None:
    from banmian.cache import BodyStore
    from banmian.model import Body

    store = BodyStore()
    store["a"] = Body("<p>甲</p>")
    store["b"] = Body("<p>乙</p>")
    store.save(tmp_path)
    first_pack = store.name
    store["c"] = Body("<p>丙</p>")
    store.save(tmp_path)  # appended to the same pack
    assert store.name == first_pack and not store.fresh
    again = pickle.loads(pickle.dumps(store))
    again.attach(tmp_path)
    assert again["c"].html == "<p>丙</p>" and again["a"].html == "<p>甲</p>" and "b" in again
    # Mostly dead: copied to a new pack; the old one stays until a state names the new one.
    again.retain({"c"})
    big = BodyStore()
    big.index, big.name = dict(again.index), again.name
    big.attach(tmp_path)
    import banmian.cache as cache_module

    old_slack = cache_module.PACK_SLACK
    cache_module.PACK_SLACK = 0
    try:
        big.save(tmp_path)
    finally:
        cache_module.PACK_SLACK = old_slack
    assert big.name != first_pack and big["c"].html == "<p>丙</p>" and "a" not in big
    assert (tmp_path / first_pack).exists()  # a state saved earlier may still name it
    big.drop_old_packs(tmp_path)
    assert sorted(p.name for p in tmp_path.glob("bodies-*.pack")) == [big.name]


def test_lost_body_pack_means_articles_are_read_again(paper: tuple[Path, Path], tmp_path: Path) -> None:
    source, output = paper
    for pack in (source / ".banmian-cache").glob("bodies-*.pack"):
        pack.unlink()
    (output / ARTICLE_PAGE).unlink()  # make the next build render it again,
    shutil.rmtree(output.with_name(f".{output.name}.spare"))  # from a fresh staging folder: a spare trusts its files
    run(source, output)
    assert "第二天的正文" in (output / ARTICLE_PAGE.replace("zh-hant", "zh-hans")).read_text(encoding="utf-8")
    same_as_cold(source, output, tmp_path)


def test_replaced_cache_files_are_freed_by_the_next_build_not_this_one(tmp_path: Path) -> None:
    import time

    source = copy_fixture("paper", tmp_path)
    build(BuildOptions(source=source, output=tmp_path / "out", jobs=1))
    folder = source / banmian.cache.CACHE_DIR
    state = folder / banmian.cache.STATE_FILE
    cache = banmian.cache.load_cache(source)
    before = state.stat().st_ino
    banmian.cache.save_cache(source, cache)
    aside = list(folder.glob(f"{banmian.cache.SET_ASIDE}*"))
    # The replaced state keeps a second name: its blocks are not freed during this save.
    assert [p.stat().st_ino for p in aside] == [before] and state.stat().st_ino != before
    banmian.cache.save_cache(source, banmian.cache.load_cache(source))
    deadline = time.monotonic() + 10
    while any(p.exists() for p in aside) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(p.exists() for p in aside)  # deleted on a thread by the loads and saves after
    assert len(list(folder.glob(f"{banmian.cache.SET_ASIDE}*"))) <= 1
    assert banmian.cache.load_cache(source).sources


def test_a_build_that_fails_before_publishing_leaves_the_record_of_what_was_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve keeps its cache in memory across a failed build: what it records
    of the published files (page groups, stage files) must still describe
    the site as last published, or a later build would keep stale files."""
    source = copy_fixture("paper", tmp_path)
    cache = banmian.cache.BuildCache()
    output = tmp_path / "out"
    options = BuildOptions(source=source, output=output, jobs=1, serving=True, use_cache=False)
    build(options, cache=cache)
    path = source / ARTICLE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("title: 第二天的头条新闻", "title: 第二天改过的头条"), encoding="utf-8")

    def fail(self):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr(banmian.write.OutputTree, "publish", fail)
        with pytest.raises(OSError):
            build(options, cache=cache)
    assert "第二天改过的头条" not in (output / "issues.json").read_text(encoding="utf-8")
    build(options, cache=cache)  # the same inputs as the failed build's
    for name in ("issues.json", "zh-hans/index.html", "zh-hans/2025-03-02/A01/index.html"):
        assert "第二天改过的头条" in (output / name).read_text(encoding="utf-8"), name
    assert "/2025-03-02/A01/diertian-gaiguo-de-toutiao/" in (output / "sitemap.xml").read_text(encoding="utf-8")
    same_as_cold(source, output, tmp_path)


def test_a_cache_kept_in_memory_keeps_the_compiled_theme_until_a_template_changes(tmp_path: Path) -> None:
    source = copy_fixture("paper", tmp_path)
    cache = banmian.cache.BuildCache()
    options = BuildOptions(source=source, output=tmp_path / "out", jobs=1, serving=True, use_cache=False)
    build(options, cache=cache)
    first = cache.live["theme"]
    build(options, cache=cache)
    assert cache.live["theme"] is first  # serve: templates compiled once
    (source / "templates").mkdir()
    (source / "templates" / "404.html").write_text(
        '{% extends "base.html" %}{% block main %}<p>此页不在</p>{% endblock %}\n', encoding="utf-8"
    )
    build(options, cache=cache)
    assert cache.live["theme"] is not first
    assert "此页不在" in (tmp_path / "out" / "404.html").read_text(encoding="utf-8")
    second = cache.live["theme"]
    (source / "templates" / "404.html").write_text(  # edited in place: same folders, new digest
        '{% extends "base.html" %}{% block main %}<p>找不到这一页</p>{% endblock %}\n', encoding="utf-8"
    )
    build(options, cache=cache)
    assert cache.live["theme"] is not second
    assert "找不到这一页" in (tmp_path / "out" / "404.html").read_text(encoding="utf-8")
    assert "live" not in pickle.loads(pickle.dumps(cache)).__dict__ or not pickle.loads(pickle.dumps(cache)).live


def _edit_body(source: Path, words: str) -> None:
    article = sorted((source / "content").rglob("*.md"))[0]
    article.write_text(article.read_text(encoding="utf-8") + f"\n{words}\n", encoding="utf-8")


def test_search_files_it_left_as_they_were_are_kept_not_compared(tmp_path: Path) -> None:
    source = copy_fixture("paper", tmp_path)
    output = tmp_path / "out"
    build(BuildOptions(source=source, output=output, jobs=1))
    docs = sorted((output / "search" / "doc").glob("*.json"))
    before = {p.name: p.stat().st_ino for p in docs}
    _edit_body(source, "据了解，青稞酒坊新添了蒸馏设备。")
    build(BuildOptions(source=source, output=output, jobs=1))
    after = {p.name: p.stat().st_ino for p in sorted((output / "search" / "doc").glob("*.json"))}
    assert after.keys() == before.keys()
    assert 0 < sum(after[n] != before[n] for n in after) < len(after)  # the edited one only
    cold = tmp_path / "cold"
    shutil.copytree(source, cold, ignore=shutil.ignore_patterns(".banmian-cache"))
    build(BuildOptions(source=cold, output=tmp_path / "cold-out", jobs=1, use_cache=False))
    assert tree_bytes(output / "search") == tree_bytes(tmp_path / "cold-out" / "search")


def test_a_search_state_that_outran_its_site_is_not_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # serve keeps the cache in memory: a build that fails after the search
    # stage has moved its state past what is published.
    source = copy_fixture("paper", tmp_path)
    output = tmp_path / "out"
    cache = banmian.cache.BuildCache()
    options = BuildOptions(source=source, output=output, jobs=1, use_cache=False)
    build(options, cache=cache)
    _edit_body(source, "据了解，牦牛奶粉厂扩建了新车间。")

    def refuse(self: object) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(banmian.write.OutputTree, "publish", refuse)
        with pytest.raises(OSError):
            build(options, cache=cache)
    build(options, cache=cache)
    cold = tmp_path / "cold"
    shutil.copytree(source, cold, ignore=shutil.ignore_patterns(".banmian-cache"))
    build(BuildOptions(source=cold, output=tmp_path / "cold-out", jobs=1, use_cache=False))
    assert tree_bytes(output / "search") == tree_bytes(tmp_path / "cold-out" / "search")


def test_an_upgraded_library_counts_as_a_new_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import banmian

    before = banmian.code_digest()
    (tmp_path / "opencc-99.0.0.dist-info").mkdir()
    (tmp_path / "unrelated-1.0.dist-info").mkdir()
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    banmian.code_digest.cache_clear()
    try:
        assert "opencc-99.0.0.dist-info" in banmian.installed_versions()
        assert "unrelated-1.0.dist-info" not in banmian.installed_versions()
        assert banmian.code_digest() != before
    finally:
        banmian.code_digest.cache_clear()


def test_a_stage_state_is_unpickled_only_when_asked_for(tmp_path: Path) -> None:
    # The feeds' state (8 MB at 10,000 articles) is read only by a build whose
    # feeds changed; one that never asks saves back the very bytes it read.
    cache = banmian.cache.BuildCache()
    cache.extra["feeds"] = {"item": "甲"}
    cache.extra["search"] = {"shard": 1}
    banmian.cache.save_cache(tmp_path, cache)
    loaded = banmian.cache.load_cache(tmp_path)
    assert isinstance(loaded.extra["feeds"], banmian.cache.Later) and loaded.extra["search"] == {"shard": 1}
    data = loaded.extra["feeds"].data
    banmian.cache.save_cache(tmp_path, loaded)
    again = banmian.cache.load_cache(tmp_path)
    assert again.extra["feeds"].data == data
    assert again.state("feeds") == {"item": "甲"}
    again.state("feeds")["more"] = "乙"  # the state a build changes is the one saved
    banmian.cache.save_cache(tmp_path, again)
    assert banmian.cache.load_cache(tmp_path).state("feeds") == {"item": "甲", "more": "乙"}
    assert banmian.cache.BuildCache().state("feeds") == {}
