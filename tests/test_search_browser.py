"""The search page in headless Chromium, against a built fixture served over HTTP.

Queries are typed as a reader would (simplified, traditional, a body-only
phrase, pinyin, Latin) and the rendered results are checked, in both editions.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import pytest

from banmian.pipeline import BuildOptions, build

FIXTURE = Path(__file__).parent / "fixtures" / "search"
CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"needs Debian's chromium at {CHROMIUM}")


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("search-site")
    source = work / "paper"
    shutil.copytree(FIXTURE, source, ignore=shutil.ignore_patterns(".banmian-cache"))
    build(BuildOptions(source=source, output=work / "site", use_cache=False))
    handler = functools.partial(QuietHandler, directory=str(work / "site"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"],
        )
        yield browser
        browser.close()


@pytest.fixture()
def page(browser: object) -> Iterator[object]:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


def search(page: object, site: str, edition: str, query: str) -> dict:
    """Open /{edition}/search/?q=… and return what the page shows once it settles."""
    page.goto(f"{site}/{edition}/search/?q={quote(query)}")  # type: ignore[attr-defined]
    return results(page)


def results(page: object) -> dict:
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => { const s = document.getElementById('search-status').textContent;"
        " return s && !s.includes('正在') }"
    )
    return page.evaluate(  # type: ignore[attr-defined]
        """() => ({
            status: document.getElementById('search-status').textContent,
            box: document.getElementById('q').value,
            titles: [...document.querySelectorAll('.search-result h2')].map(h => h.textContent),
            links: [...document.querySelectorAll('.search-result h2 a')].map(a => a.getAttribute('href')),
            marks: [...document.querySelectorAll('.search-result h2 mark')].map(m => m.textContent),
            snippets: [...document.querySelectorAll('.search-snippet')].map(p => p.textContent),
            snippetMarks: [...document.querySelectorAll('.search-snippet mark')].map(m => m.textContent),
            dates: [...document.querySelectorAll('.search-meta time')].map(t => t.getAttribute('datetime')),
            pages: [...document.querySelectorAll('.search-page-label')].map(t => t.textContent),
        })"""
    )


def test_traditional_query_on_the_simplified_edition(page: object, site: str) -> None:
    shown = search(page, site, "zh-hans", "綠色算力")
    assert shown["titles"] == ["中国联通·阿里云万卡绿色算力项目落地西宁"]
    assert shown["marks"] == ["绿色算力"]
    assert shown["links"][0].startswith("/zh-hans/2025-01-21/A01/")
    assert shown["box"] == "綠色算力"
    assert "1" in shown["status"]


def test_simplified_query_on_the_traditional_edition(page: object, site: str) -> None:
    shown = search(page, site, "zh-hant", "绿色算力")
    assert shown["titles"] == ["中國聯通·阿里雲萬卡綠色算力項目落地西寧"]
    assert shown["marks"] == ["綠色算力"]
    assert shown["links"][0].startswith("/zh-hant/")
    assert shown["pages"] == ["A01版 要聞"]


def test_body_only_phrase_with_snippet_in_the_editions_script(page: object, site: str) -> None:
    shown = search(page, site, "zh-hant", "人才荟萃")
    assert shown["titles"] == ["高原科技城建設提速"]
    assert shown["snippetMarks"] == ["人才薈萃"]
    assert "科研院所林立" in shown["snippets"][0]
    # Converted in context, not character by character: 頭髮, not 頭發.
    hair = search(page, site, "zh-hant", "头发")
    assert "頭髮" in hair["snippets"][0] and "頭發" not in hair["snippets"][0]
    # 阿里 stays 阿里 in context, though 里 alone is 裡.
    cloud = search(page, site, "zh-hant", "阿里云")
    assert "阿里雲" in cloud["snippets"][0] and "阿裡" not in cloud["snippets"][0]


def test_shared_title_lists_both_articles_newest_first(page: object, site: str) -> None:
    shown = search(page, site, "zh-hans", "青海湖裸鲤洄游季开启")
    assert shown["titles"] == ["青海湖裸鲤洄游季开启", "青海湖裸鲤洄游季开启"]
    assert shown["dates"] == ["2025-01-21", "2025-01-20"]


def test_title_hits_rank_above_body_hits(page: object, site: str) -> None:
    # 西宁 is in the title of two articles and only in the body of another.
    shown = search(page, site, "zh-hans", "西宁")
    assert shown["titles"][:2] == ["中国联通·阿里云万卡绿色算力项目落地西宁", "西宁冬季供暖保障有力"]
    assert shown["titles"][2:] == ["高原科技城建设提速"]


def test_pinyin_with_and_without_spaces(page: object, site: str) -> None:
    for query in ("lvse suanli", "lvsesuanli", "lvse-suanli"):
        assert search(page, site, "zh-hans", query)["titles"] == ["中国联通·阿里云万卡绿色算力项目落地西宁"], query
    assert len(search(page, site, "zh-hans", "qinghai")["titles"]) == 2  # 青海湖…: inside a word
    # Longer than the indexed runs of four: split into syllables by the browser.
    assert len(search(page, site, "zh-hans", "qinghaihuluolihuiyou")["titles"]) == 2
    assert search(page, site, "zh-hans", "qinghaihuluolihuiyoux")["titles"] == []


def test_latin_words_and_numbers_case_insensitive(page: object, site: str) -> None:
    assert search(page, site, "zh-hans", "cop29")["titles"] == ["高原科技城建设提速"]
    assert search(page, site, "zh-hans", "5g")["titles"] == ["中国联通·阿里云万卡绿色算力项目落地西宁"]
    assert search(page, site, "zh-hans", "gpu")["snippetMarks"] == ["GPU"]


def test_spaces_mean_and(page: object, site: str) -> None:
    assert search(page, site, "zh-hans", "西宁 人才")["titles"] == ["高原科技城建设提速"]
    assert search(page, site, "zh-hans", "西宁 裸鲤")["titles"] == []


def test_phrase_that_must_not_match_and_drafts(page: object, site: str) -> None:
    # Every bigram of 合作项目落地 is in one article (合作项目 in its body,
    # 项目落地 in its title) but the phrase is not: confirmation must drop it.
    for query in ("合作项目落地", "紫罗兰行动", "尚未发布的独家稿件"):
        shown = search(page, site, "zh-hans", query)
        assert shown["titles"] == [], query
        assert query in shown["status"]


def test_single_character(page: object, site: str) -> None:
    assert search(page, site, "zh-hans", "鲤")["titles"] == ["青海湖裸鲤洄游季开启", "青海湖裸鲤洄游季开启"]


def test_enter_updates_the_url_and_back_restores(page: object, site: str) -> None:
    search(page, site, "zh-hans", "西宁")
    page.fill("#q", "裸鲤")  # type: ignore[attr-defined]
    page.press("#q", "Enter")  # type: ignore[attr-defined]
    page.wait_for_function("() => location.search.includes(encodeURIComponent('裸鲤'))")  # type: ignore[attr-defined]
    assert len(results(page)["titles"]) == 2
    page.go_back()  # type: ignore[attr-defined]
    page.wait_for_function("() => document.getElementById('q').value === '西宁'")  # type: ignore[attr-defined]
    assert len(results(page)["titles"]) == 3


def test_date_and_page_filters(page: object, site: str) -> None:
    page.goto(f"{site}/zh-hans/search/?q={quote('青海')}&from=2025-01-21&to=2025-01-21")  # type: ignore[attr-defined]
    assert set(results(page)["dates"]) == {"2025-01-21"}
    page.goto(f"{site}/zh-hans/search/?q={quote('绿色')}&page=A05")  # type: ignore[attr-defined]
    assert results(page)["titles"] == ["全省清洁能源装机突破六千万千瓦"]


def test_traditional_page_shows_traditional_labels(page: object, site: str) -> None:
    search(page, site, "zh-hant", "西寧")
    text = page.inner_text("#search")  # type: ignore[attr-defined]
    assert "搜尋" in text or "搜索" in text
    assert "全部版面" in page.inner_text("#search-page")  # type: ignore[attr-defined]
    status = page.inner_text("#search-status")  # type: ignore[attr-defined]
    assert "篇文章" in status and "共找到" in status


def test_every_json_file_parses(site: str, tmp_path: Path) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{site}/search/manifest.json") as response:
        manifest = json.load(response)
    for number in range(manifest["shards"]):
        with urllib.request.urlopen(f"{site}/search/terms/{number}.json") as response:
            json.load(response)
    for doc in range(manifest["docs"]):
        with urllib.request.urlopen(f"{site}/search/doc/{doc}.json") as response:
            assert "尚未发布" not in json.load(response)["e"]["zh-Hans"]["t"]


# -- measurement on a generated archive (opt-in: BANMIAN_SEARCH_BENCH=6000) ---------------
BENCH_ARTICLES = int(os.environ.get("BANMIAN_SEARCH_BENCH", "0"))
BUDGET_BYTES = 300 * 1024
BENCH_QUERIES = ("青海", "发展", "人才荟萃", "西宁", "高质量发展", "清洁能源产业高地", "綠色算力", "5G", "2025",
                 "qinghai", "以清洁能源产业高地为抓手", "的", "生态 保护", "不存在的词语组合")


@pytest.mark.skipif(not BENCH_ARTICLES, reason="set BANMIAN_SEARCH_BENCH=6000 to measure bytes per query")
def test_bytes_fetched_per_query_on_a_generated_archive(browser: object, tmp_path: Path) -> None:
    """Index a bench/corpus.py archive, serve it, and count the index bytes each query fetches."""
    import time

    from bench import corpus as bench_corpus
    from banmian import search as search_stage
    from banmian.cache import BuildCache
    from banmian.pipeline import load_site, render_bodies

    root = Path(__file__).resolve().parent.parent / "bench" / "work" / f"corpus-{BENCH_ARTICLES}-s1"
    paper = bench_corpus.ensure(root, BENCH_ARTICLES).banmian
    loaded = load_site(BuildOptions(source=paper, output=tmp_path / "unused"), BuildCache())
    bodies = render_bodies(loaded.site.articles, BuildCache(), 2)
    # The search page comes from the fixture build; the index is the archive's.
    site_dir = tmp_path / "site"
    fixture = tmp_path / "fixture"
    shutil.copytree(FIXTURE, fixture, ignore=shutil.ignore_patterns(".banmian-cache"))
    build(BuildOptions(source=fixture, output=site_dir, use_cache=False))
    shutil.rmtree(site_dir / "search")
    from banmian.convert import Converter

    converters = {e.code: Converter(e.opencc, e.code) for e in loaded.site.paper.editions}
    started, cpu = time.perf_counter(), time.process_time()
    files = list(search_stage.search_files(loaded.site, bodies, converters, {}))
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    for name, data in files:
        target = site_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    total = sum(len(d) for _, d in files)
    print(f"\n{len(bodies)} articles: search_files {seconds:.2f} s wall, {cpu_seconds:.2f} s CPU (main process); "
          f"{len(files)} files, {total / 2**20:.1f} MiB")

    handler = functools.partial(QuietHandler, directory=str(site_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    worst = 0
    try:
        for edition in ("zh-hans", "zh-hant"):
            for query in BENCH_QUERIES:
                context = browser.new_context()  # type: ignore[attr-defined]
                page = context.new_page()
                fetched: list[int] = []
                page.on("response", lambda r: fetched.append(len(r.body())) if r.url.endswith(".json") else None)
                page.goto(f"{base}/{edition}/search/?q={quote(query)}")
                shown = results(page)
                page.wait_for_load_state("networkidle")
                context.close()
                worst = max(worst, sum(fetched))
                print(f"{edition} {query!r}: {len(fetched)} files, {sum(fetched) / 1024:.1f} KB — {shown['status']}")
                assert sum(fetched) <= BUDGET_BYTES, query
    finally:
        server.shutdown()
        server.server_close()
    print(f"worst query: {worst / 1024:.1f} KB")
