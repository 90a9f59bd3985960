"""The sitemap and robots.txt, read with lxml and checked against the built site."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sitekit import BuiltPaper, build_fixture, build_site, copy_fixture  # noqa: E402

from banmian import sitemap  # noqa: E402

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}


Built = BuiltPaper


def _build(tmp_path_factory: pytest.TempPathFactory, name: str) -> Built:
    return build_fixture(tmp_path_factory, f"feeds/{name}")


@pytest.fixture(scope="module")
def daily(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return _build(tmp_path_factory, "daily")


@pytest.fixture(scope="module")
def hongkong(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return _build(tmp_path_factory, "hongkong")


def entries(data: bytes) -> dict[str, etree._Element]:
    root = etree.fromstring(data)
    assert root.tag == f"{{{NS['s']}}}urlset"
    return {url.findtext("s:loc", namespaces=NS): url for url in root.findall("s:url", NS)}


def alternates(url: etree._Element) -> dict[str, str]:
    links = url.findall("x:link", NS)
    assert all(link.get("rel") == "alternate" for link in links)
    return {link.get("hreflang"): link.get("href") for link in links}


@pytest.mark.parametrize("paper", ["daily", "hongkong"])
def test_every_article_of_every_edition_is_listed_with_its_alternates(paper: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(paper)
    listed = entries((built.output / "sitemap.xml").read_bytes())
    editions = built.site.paper.editions
    default = built.site.paper.default_edition
    for article in built.site.articles:
        expected = {e.code: built.origin + article.urls[e.code] for e in editions}
        for edition in editions:
            url = listed[expected[edition.code]]
            assert alternates(url) == {**expected, "x-default": expected[default]}
            assert url.findtext("s:lastmod", namespaces=NS) == article.date.isoformat()


def test_x_default_is_the_default_edition(hongkong: Built) -> None:
    listed = entries((hongkong.output / "sitemap.xml").read_bytes())
    for url in listed.values():
        links = alternates(url)
        assert links["x-default"] == links["zh-HK"]
        assert "/zh-hk/" in links["x-default"]


@pytest.mark.parametrize("paper", ["daily", "hongkong"])
def test_the_sitemap_and_the_built_pages_agree(paper: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(paper)
    listed = entries((built.output / "sitemap.xml").read_bytes())
    for loc, url in listed.items():
        assert built.file_for(loc).is_file(), loc
        for href in alternates(url).values():
            assert built.file_for(href).is_file(), href
    pages = {
        path.relative_to(built.output).as_posix()
        for path in built.output.rglob("index.html")
    }
    # Front doors (/ and /{ed}/) show the latest issue under its canonical dated URL.
    doors = {"index.html"} | {f"{e.path}/index.html" for e in built.site.paper.editions}
    assert {built.file_for(loc).relative_to(built.output).as_posix() for loc in listed} == pages - doors


def test_lastmod_of_site_pages_is_the_latest_issue(daily: Built) -> None:
    listed = entries((daily.output / "sitemap.xml").read_bytes())
    for name in ("archive", "search", "section"):
        url = listed[f"{daily.base_url}zh-hant/{name}/"]
        assert url.findtext("s:lastmod", namespaces=NS) == "2025-03-04"
    issue = listed[f"{daily.base_url}zh-hans/2025-03-01/"]
    assert issue.findtext("s:lastmod", namespaces=NS) == "2025-03-01"
    page = listed[f"{daily.base_url}zh-hant/2025-03-03/A02/"]
    assert page.findtext("s:lastmod", namespaces=NS) == "2025-03-03"


def test_robots_txt_names_the_sitemap(daily: Built, hongkong: Built) -> None:
    for built in (daily, hongkong):
        lines = (built.output / "robots.txt").read_text(encoding="utf-8").splitlines()
        assert f"Sitemap: {built.base_url}sitemap.xml" in lines
        assert (built.output / "sitemap.xml").is_file()


def test_sitemap_bytes_depend_on_the_site_alone(daily: Built, tmp_path: Path) -> None:
    early = dict(sitemap.sitemap_files(daily.site, dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)))
    late = dict(sitemap.sitemap_files(daily.site, dt.datetime(2031, 7, 9, 13, 5, tzinfo=dt.timezone.utc)))
    assert early == late
    assert early["sitemap.xml"] == (daily.output / "sitemap.xml").read_bytes()
    # and a second build from scratch writes the same bytes
    source = copy_fixture("feeds/daily", tmp_path)
    build_site(source, tmp_path / "again")
    assert (tmp_path / "again/sitemap.xml").read_bytes() == (daily.output / "sitemap.xml").read_bytes()


def test_past_the_url_limit_an_index_of_child_sitemaps(daily: Built) -> None:
    whole = entries(dict(sitemap.sitemap_files(daily.site))["sitemap.xml"])
    files = dict(sitemap.sitemap_files(daily.site, max_urls=5))
    index = etree.fromstring(files.pop("sitemap.xml"))
    assert index.tag == f"{{{NS['s']}}}sitemapindex"
    children = index.findall("s:sitemap", NS)
    assert len(children) == -(-len(whole) // 5) == len(files)
    seen: dict[str, etree._Element] = {}
    for child in children:
        loc = child.findtext("s:loc", namespaces=NS)
        assert loc.startswith(daily.base_url)
        name = loc[len(daily.base_url) :]
        part = entries(files[name])
        assert 1 <= len(part) <= 5
        lastmods = [u.findtext("s:lastmod", namespaces=NS) for u in part.values()]
        assert child.findtext("s:lastmod", namespaces=NS) == max(lastmods)
        assert not seen.keys() & part.keys()
        seen.update(part)
    assert seen.keys() == whole.keys()
    assert all(alternates(seen[loc]) == alternates(whole[loc]) for loc in whole)


def test_past_the_byte_limit_too(daily: Built) -> None:
    limit = 4000
    files = dict(sitemap.sitemap_files(daily.site, max_bytes=limit))
    assert "sitemap-2.xml" in files
    for name, data in files.items():
        if name != "sitemap.xml":
            assert len(data) <= limit, name
            entries(data)


def test_under_the_limits_a_single_urlset(daily: Built) -> None:
    count = len(entries((daily.output / "sitemap.xml").read_bytes()))
    assert list(dict(sitemap.sitemap_files(daily.site, max_urls=count))) == ["sitemap.xml"]
    assert not list(daily.output.glob("sitemap-*.xml"))
