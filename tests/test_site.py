"""The fixture paper built into a temp dir and checked file by file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from banmian.convert import Converter
from banmian.errors import ContentError
from sitekit import build_site, copy_fixture, tree_bytes, visible_text

HANT = Converter("s2tw", "zh-Hant")
CHONGQING = "chongqing-yinhang-hangzhang-tan-changjiang-jingjidai-fazhan"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("paper")
    source = copy_fixture("paper", tmp)
    build_site(source, tmp / "site")
    return tmp / "site"


def read(site: Path, path: str) -> str:
    return (site / path).read_text(encoding="utf-8")


def html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_issues_json_lists_every_article_in_both_editions(built: Path) -> None:
    data = json.loads(read(built, "issues.json"))
    assert data["title"] == "山城晚报" and data["base_url"] == "https://news.example.com/paper/"
    assert [e["code"] for e in data["editions"]] == ["zh-Hans", "zh-Hant"]
    assert [i["date"] for i in data["issues"]] == ["2025-03-02", "2025-03-01", "2025-02-28"]
    issue = data["issues"][1]
    assert issue["number"] == "12345"
    assert [p["code"] for p in issue["pages"]] == ["A01", "A02", "B05"]
    first = issue["pages"][0]["articles"][0]
    assert first == {
        "title": "重庆银行行长谈长江经济带发展",
        "kicker": "聚焦两会",
        "subtitle": "金融服务实体经济里面有文章",
        "slug": CHONGQING,
        "reporter": ["张三", "李四"],
        "column": "经济观察",
        "urls": {
            "zh-Hans": f"/paper/zh-hans/2025-03-01/A01/{CHONGQING}/",
            "zh-Hant": f"/paper/zh-hant/2025-03-01/A01/{CHONGQING}/",
        },
    }
    count = 0
    for issue in data["issues"]:
        for page in issue["pages"]:
            for article in page["articles"]:
                for code, url in article["urls"].items():
                    path = url.removeprefix("/paper/") + "index.html"
                    html = read(built, path)
                    assert f'<html lang="{code}">' in html
                    count += 1
    assert count == 2 * 8  # eight published articles, the draft left out


def test_slugs_read_right_and_collisions_numbered(built: Path) -> None:
    names = sorted(p.name for p in (built / "zh-hans/2025-03-01/A01").iterdir() if p.is_dir())
    assert names == [CHONGQING, "markup-title", "tongming-biaoti", "tongming-biaoti-2"]
    assert (built / "zh-hans/2025-03-01/A02/nvzu-guniang/index.html").is_file()
    assert (built / "zh-hans/2025-02-28/01/eryue-zuihou-yitian/index.html").is_file()


def test_draft_absent_everywhere(built: Path) -> None:
    for path in built.rglob("*"):
        if path.is_file():
            assert "秘密" not in path.read_text(encoding="utf-8", errors="ignore"), path


def test_markup_in_title_is_escaped_text(built: Path) -> None:
    html = read(built, "zh-hans/2025-03-01/A01/markup-title/index.html")
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; 标题里的&lt;b&gt;标记&lt;/b&gt;" in html


def test_every_visible_traditional_string_is_converted(built: Path) -> None:
    checked = 0
    for path in (built / "zh-hant").rglob("*.html"):
        parsed = visible_text(read(built, str(path.relative_to(built))))
        for lang, text in parsed.runs + parsed.attrs:
            if lang.startswith("zh-Hans"):
                continue  # the switcher's 简体 label carries its own lang
            assert HANT.text(text) == text, f"{path}: {text!r}"
            checked += 1
    assert checked > 100


def test_phrase_across_markup_and_code_untouched(built: Path) -> None:
    html = read(built, f"zh-hant/2025-03-01/A01/{CHONGQING}/index.html")
    assert "他的頭<strong>髮</strong>很長" in html
    assert "<code>code 发</code>" in html
    assert 'href="https://example.org/发展"' in html


def test_head_alternates_canonical_citation(built: Path) -> None:
    html = read(built, f"zh-hant/2025-03-01/A01/{CHONGQING}/index.html")
    base = "https://news.example.com/paper"
    assert f'<link rel="canonical" href="{base}/zh-hant/2025-03-01/A01/{CHONGQING}/">' in html
    assert f'<link rel="alternate" hreflang="zh-Hans" href="{base}/zh-hans/2025-03-01/A01/{CHONGQING}/">' in html
    assert f'<link rel="alternate" hreflang="zh-Hant" href="{base}/zh-hant/2025-03-01/A01/{CHONGQING}/">' in html
    assert f'<link rel="alternate" hreflang="x-default" href="{base}/zh-hans/2025-03-01/A01/{CHONGQING}/">' in html
    assert '<meta name="citation_title" content="重慶銀行行長談長江經濟帶發展">' in html
    assert '<meta name="citation_publication_date" content="2025/03/01">' in html
    assert '<meta name="citation_firstpage" content="A01">' in html
    assert '<meta property="og:title" content="重慶銀行行長談長江經濟帶發展">' in html
    assert 'type="application/rss+xml"' in html and 'href="/paper/zh-hant/feed.xml"' in html


def test_hreflang_pairs_exist_both_ways(built: Path) -> None:
    for path in html_files(built):
        html = path.read_text(encoding="utf-8")
        for code, href in re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">', html):
            target = built / href.removeprefix("https://news.example.com/paper/")
            other = (target / "index.html").read_text(encoding="utf-8")
            own = re.search(r'<link rel="canonical" href="([^"]+)">', html)
            assert own is not None and f'href="{own.group(1)}"' in other, (path, code)


def test_every_internal_link_resolves(built: Path) -> None:
    for path in html_files(built):
        html = path.read_text(encoding="utf-8")
        for url in re.findall(r'(?:href|src)="(/paper/[^"#?]*)', html):
            target = built / url.removeprefix("/paper/")
            assert target.is_file() or (target / "index.html").is_file(), (path, url)


def test_continuation_links_pair(built: Path) -> None:
    start = read(built, f"zh-hans/2025-03-01/A01/{CHONGQING}/index.html")
    assert f'<a href="/paper/zh-hans/2025-03-01/B05/{CHONGQING}/">（下转B05版）</a>' in start
    rest = read(built, f"zh-hans/2025-03-01/B05/{CHONGQING}/index.html")
    assert f'<a href="/paper/zh-hans/2025-03-01/A01/{CHONGQING}/">（上接A01版）</a>' in rest


def test_issue_front_has_page_and_title_navigation(built: Path) -> None:
    html = read(built, "zh-hans/2025-03-01/index.html")
    assert "版面导航" in html and "标题导航" in html
    assert "2025年3月1日 星期六" in html and "第12345期" in html
    assert html.index("A01") < html.index("A02") < html.index("B05")
    assert "文化副刊" in html and "责编：李明" in html
    assert f'href="/paper/zh-hans/2025-03-01/A01/{CHONGQING}/"' in html


def test_page_view_order_and_neighbours(built: Path) -> None:
    html = read(built, "zh-hans/2025-03-01/A02/index.html")
    assert 'href="/paper/zh-hans/2025-03-01/A01/" rel="prev"' in html
    assert 'href="/paper/zh-hans/2025-03-01/B05/" rel="next"' in html
    a01 = read(built, "zh-hans/2025-03-01/A01/index.html")
    titles = re.findall(r'<h2><a href="[^"]+">([^<]+)</a>', a01)
    assert titles[:3] == ["重庆银行行长谈长江经济带发展", "同名标题", "同名标题"]


def test_home_and_root_show_latest_issue(built: Path) -> None:
    home = read(built, "zh-hans/index.html")
    assert "2025年3月2日" in home
    assert '<link rel="canonical" href="https://news.example.com/paper/zh-hans/2025-03-02/">' in home
    root = read(built, "index.html")
    assert "第二天的头条新闻" in root and '<html lang="zh-Hans">' in root
    assert "404.html" in {p.name for p in built.iterdir()}


def test_archive_calendar_links_each_issue(built: Path) -> None:
    html = read(built, "zh-hant/archive/index.html")
    assert "往期回顧" in html and "2025年" in html and "3月" in html and "2月" in html
    for day in ("2025-02-28", "2025-03-01", "2025-03-02"):
        assert f'href="/paper/zh-hant/{day}/"' in html


def test_failed_build_leaves_previous_site_byte_identical(tmp_path: Path) -> None:
    source = copy_fixture("paper", tmp_path)
    output = tmp_path / "site"
    build_site(source, output)
    before = tree_bytes(output)
    (source / "content/2025-03-02/A01/next-day.md").write_text("---\ntitle: 坏\ndate: 2025-13-01\n---\n", encoding="utf-8")
    (source / "content/2025-03-02/A01/broken.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        build_site(source, output)
    messages = [str(p) for p in caught.value.problems]
    assert any(m.startswith("content/2025-03-02/A01/next-day.md:3: impossible date") for m in messages)
    assert any(m.startswith("content/2025-03-02/A01/next-day.md:2: page is required") for m in messages)
    assert any(m.startswith("content/2025-03-02/A01/broken.md:") for m in messages)
    assert tree_bytes(output) == before


def test_rebuild_keeps_unchanged_files_and_rewrites_changed(tmp_path: Path) -> None:
    source = copy_fixture("paper", tmp_path)
    output = tmp_path / "site"
    build_site(source, output)
    article = output / "zh-hant/2025-03-02/A01/diertian-de-toutiao-xinwen/index.html"
    untouched = output / "zh-hant/2025-02-28/index.html"
    stamps = {p: p.stat().st_mtime_ns for p in (article, untouched)}
    path = source / "content/2025-03-02/A01/next-day.md"
    path.write_text(path.read_text(encoding="utf-8").replace("第二天的正文", "改过的正文"), encoding="utf-8")
    result = build_site(source, output)
    assert "改過的正文" in article.read_text(encoding="utf-8")
    assert untouched.stat().st_mtime_ns == stamps[untouched]
    assert article.stat().st_mtime_ns != stamps[article]
    assert result.unchanged > result.written


def test_unwritable_url_record_is_a_warning_not_a_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    import banmian.published

    def refuse(source: Path, record: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(banmian.published, "save_record", refuse)
    source = copy_fixture("paper", tmp_path)
    result = build_site(source, tmp_path / "site")
    assert (tmp_path / "site/index.html").is_file()
    assert any("cannot write the record of published URLs (Permission denied)" in str(w) for w in result.warnings)
