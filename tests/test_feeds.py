"""Feeds, read back the way feed readers read them (feedparser) and checked against the built site.

Fixture papers (tests/fixtures/feeds/):
- daily: hosted in a folder (/epaper/), feed_issues = 2 of three issues, a weekly
  section (周末) outside the feed window, two reporters on one story, a 转版 pair,
  relative links and images in a body, a lead image, a title with & and <>.
- hongkong: Asia/Hong_Kong, zh-HK (s2hk) as the default edition, feed_full_text = false.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import opencc
import pytest
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sitekit import BuiltPaper, build_fixture, build_site, copy_fixture  # noqa: E402

from banmian import feeds  # noqa: E402
from banmian.cache import BuildCache  # noqa: E402
from banmian.convert import Converter  # noqa: E402

DAILY_BASE = "https://news.example.com/epaper/"
HK_BASE = "https://hk.example.net/"


class Built(BuiltPaper):
    def feed(self, edition_path: str, name: str = "feed.xml") -> feedparser.FeedParserDict:
        return feedparser.parse((self.output / edition_path / name).read_bytes())


def _build(tmp_path_factory: pytest.TempPathFactory, name: str) -> Built:
    return build_fixture(tmp_path_factory, f"feeds/{name}", Built)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def daily(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return _build(tmp_path_factory, "daily")


@pytest.fixture(scope="module")
def hongkong(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return _build(tmp_path_factory, "hongkong")


def all_feeds(built: Built) -> list[Path]:
    return sorted(built.output.rglob("feed.xml")) + sorted(built.output.rglob("atom.xml"))


def by_link(parsed: feedparser.FeedParserDict) -> dict[str, feedparser.FeedParserDict]:
    return {e.link: e for e in parsed.entries}


# -- every feed reads cleanly --------------------------------------------------------------
@pytest.mark.parametrize("paper", ["daily", "hongkong"])
def test_every_feed_parses_without_complaint(paper: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(paper)
    paths = all_feeds(built)
    # main RSS + Atom for each edition, and RSS + Atom per section per edition
    editions = len(built.site.paper.editions)
    assert len(paths) == editions * 2 * (1 + len(built.site.section_slugs))
    for path in paths:
        parsed = feedparser.parse(path.read_bytes())
        assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
        assert parsed.version == ("rss20" if path.name == "feed.xml" else "atom10"), path
        assert parsed.entries, path
        etree.fromstring(path.read_bytes())  # strict XML, not only feedparser's forgiving reading


def test_feed_files_sit_at_the_urls_the_site_advertises(daily: Built) -> None:
    for edition in daily.site.paper.editions:
        for kind in ("feed", "atom"):
            url = "https://news.example.com" + daily.site.urls[kind][edition.code]
            assert url == f"{DAILY_BASE}{edition.path}/{kind.replace('feed', 'feed.xml').replace('atom', 'atom.xml')}"
            assert daily.file_for(url).is_file()


# -- the main feed ------------------------------------------------------------------
def test_main_feed_holds_the_latest_feed_issues_newest_first(daily: Built) -> None:
    parsed = daily.feed("zh-hans")
    dates = [e.link.split("/")[5] for e in parsed.entries]
    assert dates == ["2025-03-04", "2025-03-03", "2025-03-03", "2025-03-03"]  # feed_issues = 2; 03-01 left out
    # within an issue, print order: A01's articles in page order, then A02
    assert [e.link.split("/")[6] for e in parsed.entries[1:]] == ["A01", "A01", "A02"]
    expected = [a for i in reversed(daily.site.issues[-2:]) for a in i.articles]
    assert [e.link for e in parsed.entries] == [DAILY_BASE.removesuffix("/epaper/") + a.urls["zh-Hans"] for a in expected]


def test_feed_issues_defaults_to_seven(hongkong: Built) -> None:
    assert hongkong.site.paper.feed_issues == 7
    parsed = hongkong.feed("zh-hk")
    assert len(parsed.entries) == len(hongkong.site.articles) == 3


@pytest.mark.parametrize("paper", ["daily", "hongkong"])
def test_every_entry_link_is_absolute_on_base_url_and_built(paper: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(paper)
    for path in all_feeds(built):
        edition_path = path.relative_to(built.output).parts[0]
        for entry in feedparser.parse(path.read_bytes()).entries:
            assert entry.link.startswith(built.base_url + edition_path + "/"), (path, entry.link)
            assert built.file_for(entry.link).is_file(), entry.link
            assert entry.id == entry.link  # the permalink is the guid / Atom id


def test_guid_is_a_permalink(daily: Built) -> None:
    tree = etree.fromstring((daily.output / "zh-hans/feed.xml").read_bytes())
    guids = tree.findall("channel/item/guid")
    assert guids and all(g.get("isPermaLink") == "true" for g in guids)
    assert len({g.text for g in guids}) == len(guids)


# -- dates ----------------------------------------------------------------------------
def test_dates_are_the_edition_date_at_midnight_in_the_paper_zone(daily: Built) -> None:
    rss = daily.feed("zh-hant")
    for entry in rss.entries:
        moment = email.utils.parsedate_to_datetime(entry.published)
        assert entry.published.endswith(" 00:00:00 +0800")
        assert moment.utcoffset() == dt.timedelta(hours=8)
        assert moment.date().isoformat() == entry.link.split("/")[5]
    atom = daily.feed("zh-hant", "atom.xml")
    for entry in atom.entries:
        day = entry.link.split("/")[5]
        assert entry.published == entry.updated == f"{day}T00:00:00+08:00"


def test_channel_dates_carry_the_paper_zone(hongkong: Built) -> None:
    rss = hongkong.feed("zh-hk")
    assert rss.feed.updated.endswith("+0800")  # lastBuildDate, the build time shown in Hong Kong time
    assert rss.feed.published == "Tue, 01 Jul 2025 00:00:00 +0800"  # the newest edition
    assert hongkong.feed("zh-hk", "atom.xml").feed.updated.endswith("+08:00")


def test_a_paper_elsewhere_dates_in_its_own_zone(tmp_path: Path) -> None:
    # Shanghai and Hong Kong are both +08:00; a zone that is not shows the
    # offset really comes from the configuration.
    source = copy_fixture("feeds/hongkong", tmp_path)
    config = source / "newspaper.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("Asia/Hong_Kong", "America/New_York"), encoding="utf-8")
    build_site(source, tmp_path / "site")
    rss = feedparser.parse((tmp_path / "site/zh-hans/feed.xml").read_bytes())
    atom = feedparser.parse((tmp_path / "site/zh-hans/atom.xml").read_bytes())
    assert rss.entries[0].published == "Tue, 01 Jul 2025 00:00:00 -0400"  # summer time
    assert atom.entries[0].published == "2025-07-01T00:00:00-04:00"


def test_rfc_formats() -> None:
    winter = feeds.edition_time(dt.date(2025, 1, 21), "America/New_York")
    assert feeds.rfc822(winter) == "Tue, 21 Jan 2025 00:00:00 -0500"
    assert feeds.rfc3339(winter) == "2025-01-21T00:00:00-05:00"
    taipei = feeds.edition_time(dt.date(2025, 1, 21), "Asia/Taipei")
    assert feeds.rfc3339(taipei) == "2025-01-21T00:00:00+08:00"


# -- what an entry says ---------------------------------------------------------------
def test_titles_are_converted_in_the_converted_edition(daily: Built) -> None:
    s2tw = opencc.OpenCC("s2tw.json")
    for kind in ("feed.xml", "atom.xml"):
        hans = daily.feed("zh-hans", kind)
        hant = daily.feed("zh-hant", kind)
        assert [e.title for e in hant.entries] == [s2tw.convert(e.title) for e in hans.entries]
        assert "水庫擴容工程開工 發展再添新動能" in [e.title for e in hant.entries]
        assert "R&D投入创新高 <观察>" in [e.title for e in hans.entries]  # escaped, not eaten
        assert hant.feed.title == "江河日報"


def test_zh_hk_uses_its_own_opencc_config(hongkong: Built) -> None:
    titles = [e.title for e in hongkong.feed("zh-hk", "atom.xml").entries]
    print_order = [a for issue in reversed(hongkong.site.issues) for a in issue.articles]
    assert titles == [opencc.OpenCC("s2hk.json").convert(a.title) for a in print_order]
    assert "天文台發出酷熱天氣警告" in titles


def test_reporters_are_the_authors(daily: Built) -> None:
    for kind in ("feed.xml", "atom.xml"):
        hans = {e.title: e for e in daily.feed("zh-hans", kind).entries}
        hant = {e.title: e for e in daily.feed("zh-hant", kind).entries}
        assert hans["R&D投入创新高 <观察>"].author == "陈静"
        assert hant["R&D投入創新高 <觀察>"].author == "陳靜"
        # several reporters: one byline as printed, so every reader shows them all
        assert hans["水库扩容工程开工 发展再添新动能"].author == "张伟、王丽"
        assert hant["水庫擴容工程開工 發展再添新動能"].author == "張偉、王麗"
    # an agency story with no reporter names nobody in RSS (not a made-up author)
    wire = daily.feed("zh-hans").entries[0]
    assert wire.title == "国务院常务会议研究部署经济工作" and "author" not in wire


def test_rss_names_reporters_with_dublin_core(daily: Built) -> None:
    # RSS's own <author> must be an e-mail address; reporters are names.
    tree = etree.fromstring((daily.output / "zh-hans/feed.xml").read_bytes())
    assert not tree.findall("channel/item/author")
    creators = tree.findall("channel/item/{http://purl.org/dc/elements/1.1/}creator")
    assert [c.text for c in creators] == ["张伟、王丽", "陈静", "张伟、王丽"]


def test_categories_are_page_name_and_column_converted(daily: Built) -> None:
    for kind in ("feed.xml", "atom.xml"):
        hans = by_link(daily.feed("zh-hans", kind))
        hant = by_link(daily.feed("zh-hant", kind))
        terms = {link.split("/")[6]: [t.term for t in e.tags] for link, e in hans.items() if "shuiku" in link}
        assert terms == {"A01": ["要闻", "项目观察"], "A02": ["经济"]}
        hant_terms = [[t.term for t in e.tags] for link, e in hant.items() if "A01/shuiku" in link]
        assert hant_terms == [["要聞", "項目觀察"]]


def test_summary_is_given_or_the_lead(daily: Built) -> None:
    hans = {e.title: e for e in daily.feed("zh-hans", "atom.xml").entries}
    assert hans["R&D投入创新高 <观察>"].summary == "研发投入再创新高，创新动能持续释放。"
    assert hans["国务院常务会议研究部署经济工作"].summary.startswith("新华社北京3月3日电")
    rss = {e.title: e for e in daily.feed("zh-hant").entries}
    assert rss["R&D投入創新高 <觀察>"].summary == "研發投入再創新高，創新動能持續釋放。"


URL_ATTRIBUTE = re.compile(r"""\s(?:href|src)="([^"]*)\"""")


def test_full_text_has_absolute_urls_and_converted_text(daily: Built) -> None:
    for kind in ("feed.xml", "atom.xml"):
        entry = next(e for e in daily.feed("zh-hant", kind).entries if "A01/shuiku" in e.link)
        html = entry.content[0].value
        assert "水庫擴容工程今日開工" in html
        urls = URL_ATTRIBUTE.findall(html)
        assert urls and all(urlsplit(u).scheme in ("http", "https") for u in urls), urls
        # a relative link resolves on the article's own page, as a browser would
        assert entry.link + "images/dam-plan.png" in urls
        assert entry.link + "details/" in urls
        # a root-relative link lands on the host, not doubled into the folder
        assert "https://news.example.com/epaper/zh-hans/2025-03-01/" in urls
        assert "https://example.org/a?x=1&amp;y=2" in html
        # 下转A02版 links the continuation in the same edition
        continuation = DAILY_BASE + "zh-hant/2025-03-03/A02/shuiku-kuorong-gongcheng-kaigong-fazhan-zaitian-xin-dongneng/"
        assert continuation in urls and "下轉A02版" in html
        assert daily.file_for(continuation).is_file()


def test_full_text_can_be_turned_off(hongkong: Built) -> None:
    for edition in ("zh-hans", "zh-hk"):
        for kind in ("feed.xml", "atom.xml"):
            for entry in hongkong.feed(edition, kind).entries:
                assert "content" not in entry
                assert entry.summary
    assert b"content:encoded" not in (hongkong.output / "zh-hk/feed.xml").read_bytes()


def test_lead_image_is_the_enclosure(daily: Built) -> None:
    for kind in ("feed.xml", "atom.xml"):
        entries = by_link(daily.feed("zh-hans", kind))
        dam = next(e for link, e in entries.items() if "A01/shuiku" in link)
        assert [dict(x) for x in dam.enclosures] == [
            {"href": DAILY_BASE + "images/dam.jpg", "type": "image/jpeg", "length": "0"}
        ]
        others = [e for link, e in entries.items() if "A01/shuiku" not in link]
        assert all(not e.get("enclosures") for e in others)
    weekly = daily.feed("zh-hans", "section/zhoumo/feed.xml").entries[0]
    assert weekly.enclosures[0]["href"] == "https://img.example.com/weekend/%E6%97%A9%E9%A4%90%E9%93%BA.jpg"


def test_channel_says_what_and_where(daily: Built) -> None:
    for edition, lang in (("zh-hans", "zh-Hans"), ("zh-hant", "zh-Hant")):
        rss = daily.feed(edition)
        assert rss.feed.link == DAILY_BASE + edition + "/"
        assert rss.feed.language == lang
        assert rss.feed.updated  # lastBuildDate
        selfs = [l.href for l in rss.feed.links if l.rel == "self"]
        assert selfs == [DAILY_BASE + edition + "/feed.xml"]
        atom = daily.feed(edition, "atom.xml")
        assert [l.href for l in atom.feed.links if l.rel == "self"] == [DAILY_BASE + edition + "/atom.xml"]
        assert atom.feed.link == DAILY_BASE + edition + "/"
        assert atom.feed.language == lang
        assert atom.feed.id == DAILY_BASE + edition + "/atom.xml"


def test_only_the_build_time_changes_between_builds(daily: Built) -> None:
    def files(year: int) -> list[tuple[str, bytes]]:
        built_at = dt.datetime(year, 1, 1, tzinfo=dt.timezone.utc)
        return list(feeds.feed_files(daily.site, _bodies(daily), _converters(daily), built_at))

    build_time = re.compile(rb"<lastBuildDate>[^<]*</lastBuildDate>|<updated>20(25|30)-01-01T[^<]*</updated>")
    first, later = files(2025), files(2030)
    assert [p for p, _ in first] == [p for p, _ in later]
    for (path, a), (_, b) in zip(first, later):
        assert a != b, path  # the build time is shown …
        assert build_time.sub(b"", a) == build_time.sub(b"", b), path  # … and nothing else changes


# -- section feeds ----------------------------------------------------------------------
def test_a_feed_for_every_section_listed_on_the_section_page(daily: Built) -> None:
    assert dict(daily.site.section_slugs) == {"周末": "zhoumo", "经济": "jingji", "要闻": "yaowen"}
    for edition in ("zh-hans", "zh-hant"):
        html = (daily.output / edition / "section/index.html").read_text(encoding="utf-8")
        listed = set(re.findall(r'href="(/epaper/' + edition + r'/section/[^"]+)"', html))
        assert listed == {
            f"/epaper/{edition}/section/{slug}/{kind}" for slug in ("zhoumo", "jingji", "yaowen") for kind in ("feed.xml", "atom.xml")
        }
        for href in listed:
            assert (daily.output / href.removeprefix("/epaper/")).is_file()


def test_section_feed_holds_only_that_section(daily: Built) -> None:
    yaowen = daily.feed("zh-hant", "section/yaowen/feed.xml")
    assert [e.link.split("/")[5:7] for e in yaowen.entries] == [
        ["2025-03-04", "A01"], ["2025-03-03", "A01"], ["2025-03-03", "A01"], ["2025-03-01", "A01"],
    ]
    assert all(e.tags[0].term == "要聞" for e in yaowen.entries)
    assert yaowen.feed.title == "江河日報 · 要聞"
    jingji = daily.feed("zh-hans", "section/jingji/atom.xml")
    assert [e.link.split("/")[6] for e in jingji.entries] == ["A02"]


def test_a_weekly_section_keeps_entries_outside_the_main_window(daily: Built) -> None:
    weekly = daily.feed("zh-hans", "section/zhoumo/feed.xml")
    assert [e.title for e in weekly.entries] == ["老街里的早餐铺"]
    assert "老街里的早餐铺" not in [e.title for e in daily.feed("zh-hans").entries]


def test_section_articles_keep_the_window_even_past_the_limit(daily: Built) -> None:
    in_window = feeds.section_articles(daily.site, "要闻", limit=1)
    assert [a.date.isoformat() for a in in_window] == ["2025-03-04", "2025-03-03", "2025-03-03"]
    assert [a.date.isoformat() for a in feeds.section_articles(daily.site, "要闻", limit=4)][-1] == "2025-03-01"
    assert [a.title for a in feeds.section_articles(daily.site, "周末", limit=50)] == ["老街里的早餐铺"]


# -- autodiscovery ----------------------------------------------------------------------
@pytest.mark.parametrize("paper", ["daily", "hongkong"])
def test_every_page_names_its_editions_feeds(paper: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(paper)
    paper_ = built.site.paper
    default = paper_.default.path
    pages = sorted(built.output.rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        parts = page.relative_to(built.output).parts
        edition = parts[0] if len(parts) > 1 else default  # /index.html and /404.html: the default edition
        html = page.read_text(encoding="utf-8")
        for kind, name in (("rss", "feed.xml"), ("atom", "atom.xml")):
            href = f"{paper_.base_path}{edition}/{name}"
            pattern = rf'<link rel="alternate" type="application/{kind}\+xml"[^>]*href="{re.escape(href)}"'
            assert re.search(pattern, html), (page, kind)


# -- pieces -------------------------------------------------------------------------
def test_absolute_html_resolves_like_a_browser() -> None:
    base = "https://x.org/p/zh-hans/2025-01-01/A01/a/"
    html = (
        '<p><a href="b/">b</a> <a href="../">up</a> <a href="/p/x/">root</a> <a href="#fn:1">fn</a> '
        '<a href="mailto:desk@x.org">m</a> <a href="//cdn.x.org/i.png">cdn</a> '
        '<img src="i.png?a=1&amp;b=2" srcset="i.png 1x, /p/i@2.png 2x" alt="图"></p>'
    )
    out = feeds.absolute_html(html, base)
    assert 'href="https://x.org/p/zh-hans/2025-01-01/A01/a/b/"' in out
    assert 'href="https://x.org/p/zh-hans/2025-01-01/A01/"' in out
    assert 'href="https://x.org/p/x/"' in out
    assert 'href="https://x.org/p/zh-hans/2025-01-01/A01/a/#fn:1"' in out
    assert 'href="mailto:desk@x.org"' in out
    assert 'href="https://cdn.x.org/i.png"' in out
    assert 'src="https://x.org/p/zh-hans/2025-01-01/A01/a/i.png?a=1&amp;b=2"' in out
    assert 'srcset="https://x.org/p/zh-hans/2025-01-01/A01/a/i.png 1x, https://x.org/p/i@2.png 2x"' in out
    assert ">b</a>" in out and 'alt="图"' in out  # text and other attributes untouched


@pytest.mark.parametrize(
    "image, expected",
    [
        ("images/a.jpg", "https://x.org/epaper/images/a.jpg"),
        ("./images/a.jpg", "https://x.org/epaper/images/a.jpg"),
        ("/media/a.png", "https://x.org/media/a.png"),
        ("https://cdn.example.com/a.webp", "https://cdn.example.com/a.webp"),
        ("//cdn.example.com/a.gif", "https://cdn.example.com/a.gif"),
        ("图片/头版.jpg", "https://x.org/epaper/%E5%9B%BE%E7%89%87/%E5%A4%B4%E7%89%88.jpg"),
    ],
)
def test_image_url(image: str, expected: str) -> None:
    assert feeds.image_url(image, "https://x.org/epaper/", "https://x.org") == expected


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://x.org/a.JPG", "image/jpeg"),
        ("https://x.org/a.webp?v=2", "image/webp"),
        ("https://x.org/a.avif", "image/avif"),
        ("https://x.org/a.png", "image/png"),
        ("https://x.org/photo", "application/octet-stream"),
        ("https://x.org/v1.2/photo", "application/octet-stream"),
    ],
)
def test_image_type(url: str, expected: str) -> None:
    assert feeds.image_type(url) == expected


def test_text_xml_cannot_carry_is_dropped_not_fatal() -> None:
    moment = feeds.edition_time(dt.date(2025, 1, 21), "Asia/Shanghai")
    entry = feeds.Entry(
        title="换页\x0c符 & <b>",
        link="https://x.org/a/",
        published=moment,
        authors=("记者\x00甲",),
        categories=("要闻",),
        summary="a < b",
        content="<p>正文\x1b</p>",
        enclosure=None,
    )
    channel = feeds.Channel("报", "报", "https://x.org/", "https://x.org/feed.xml", "https://x.org/atom.xml", "zh-Hans", moment, (entry,))
    for data in (feeds.rss(channel), feeds.atom(channel, "报")):
        etree.fromstring(data)
        parsed = feedparser.parse(data)
        assert parsed.bozo == 0
        assert parsed.entries[0].title == "换页符 & <b>"
        assert parsed.entries[0].author == "记者甲"
    # RSS description is HTML: a plain-text "<" must come back as "<", not start a tag
    assert feedparser.parse(feeds.rss(channel)).entries[0].summary == "a &lt; b"


# -- helpers ------------------------------------------------------------------------
def _bodies(built: Built):  # type: ignore[no-untyped-def]
    from banmian.pipeline import render_bodies

    return render_bodies(built.site.articles, BuildCache(), 1)


def _converters(built: Built) -> dict[str, Converter]:
    return {e.code: Converter(e.opencc, e.code) for e in built.site.paper.editions}


def test_the_characters_left_out_of_feeds_are_exactly_those_xml_cannot_carry() -> None:
    from banmian.feeds import _NOT_XML

    def xml_char(cp: int) -> bool:  # XML 1.0, production [2]
        return cp in (0x9, 0xA, 0xD) or 0x20 <= cp <= 0xD7FF or 0xE000 <= cp <= 0xFFFD or 0x10000 <= cp <= 0x10FFFF

    for cp in [*range(0x3000), *range(0xD700, 0x10100), *range(0x10FF00, 0x110000), *range(0x1F000, 0x1F700)]:
        assert (_NOT_XML.match(chr(cp)) is None) == xml_char(cp), hex(cp)
