import datetime as dt
import dataclasses

from banmian.model import ArticleSource, Edition, IssueMeta, Newspaper, PageMeta, frozen_map, page_sort_key
from banmian.resolve import Reuse, resolve, slug_inputs

PAPER = Newspaper(
    title="报",
    base_url="https://x.org/e/",
    timezone="Asia/Shanghai",
    default_edition="zh-Hans",
    editions=(Edition("zh-Hans", "zh-hans", "简体", None), Edition("zh-Hant", "zh-hant", "繁體", "s2tw")),
    page_names=frozen_map({"A01": "要闻", "B05": "副刊"}),
)
DAY = dt.date(2025, 3, 1)


def art(file: str, title: str, page: str = "A01", **kw) -> ArticleSource:  # type: ignore[no-untyped-def]
    lines = frozen_map({"slug": 5, "continued_to": 6, "continued_from": 6})
    return ArticleSource(file=file, digest=file, title=title, date=kw.pop("date", DAY), page=page, body="", body_line=1, lines=lines, **kw)


def test_page_codes_sort_by_prefix_then_number() -> None:
    codes = ["B01", "A10", "A09", "A01", "01", "02", "A2"]
    assert sorted(codes, key=page_sort_key) == ["01", "02", "A01", "A2", "A09", "A10", "B01"]


def test_structure_order_and_urls() -> None:
    sources = [
        art("c/b.md", "乙"),
        art("c/a.md", "甲"),
        art("c/z.md", "首条", order=1),
        art("c/f.md", "副刊文章", page="B05"),
        art("c/old.md", "昨天", date=DAY - dt.timedelta(days=1)),
    ]
    site, problems = resolve(PAPER, sources, {DAY: IssueMeta(file="i", date=DAY, number="7", pages=frozen_map({"A01": PageMeta(name="头版要闻", editor="王")}))})
    assert problems == []
    assert [i.key for i in site.issues] == ["2025-02-28", "2025-03-01"]
    latest = site.latest
    assert latest.number == "7"
    assert [p.code for p in latest.pages] == ["A01", "B05"]
    a01 = latest.pages[0]
    assert a01.name == "头版要闻" and a01.editor == "王"  # issue.toml beats [page_names]
    assert latest.pages[1].name == "副刊"
    assert [a.title for a in a01.articles] == ["首条", "甲", "乙"]  # order, then file name
    first = a01.articles[0]
    assert first.urls == {"zh-Hans": "/e/zh-hans/2025-03-01/A01/shoutiao/", "zh-Hant": "/e/zh-hant/2025-03-01/A01/shoutiao/"}
    assert latest.urls["zh-Hant"] == "/e/zh-hant/2025-03-01/"
    assert site.urls["feed"]["zh-Hans"] == "/e/zh-hans/feed.xml"
    assert site.section_slugs == {"副刊": "fukan", "头版要闻": "touban-yaowen", "要闻": "yaowen"}
    nav = site.nav[first.key]
    assert nav.prev is None and nav.next is not None and nav.next.title == "甲"


def test_colliding_slugs_numbered_and_explicit_wins() -> None:
    sources = [
        art("c/1.md", "同名标题", order=1),
        art("c/2.md", "同名标题", order=2),
        art("c/3.md", "别的标题", slug="tongming-biaoti", order=3),
    ]
    site, problems = resolve(PAPER, sources, {})
    assert not problems
    slugs = [a.slug for a in site.latest.pages[0].articles]
    assert slugs == ["tongming-biaoti-2", "tongming-biaoti-3", "tongming-biaoti"]


def test_same_slug_on_different_pages_is_fine() -> None:
    site, problems = resolve(PAPER, [art("c/1.md", "同名"), art("c/2.md", "同名", page="B05")], {})
    assert not problems
    assert [a.slug for a in site.articles] == ["tongming", "tongming"]


def test_duplicate_explicit_slugs_are_an_error_naming_both() -> None:
    _, problems = resolve(PAPER, [art("c/1.md", "甲", slug="same"), art("c/2.md", "乙", slug="same")], {})
    assert len(problems) == 1
    message = str(problems[0])
    assert message.startswith("c/2.md:5: ") and "c/1.md" in message and "'same'" in message


def test_drafts_left_out_unless_asked() -> None:
    sources = [art("c/1.md", "发布"), art("c/2.md", "草稿", draft=True)]
    site, _ = resolve(PAPER, sources, {})
    assert [a.title for a in site.articles] == ["发布"]
    site, _ = resolve(PAPER, sources, {}, include_drafts=True)
    assert [a.title for a in site.articles] == ["发布", "草稿"]


def test_continuation_pairs_both_ways() -> None:
    sources = [
        art("c/1.md", "长文", continued_to="B05"),
        art("c/2.md", "另一篇", page="B05"),
        art("c/3.md", "长文", page="B05", continued_from="A01"),
    ]
    site, problems = resolve(PAPER, sources, {})
    assert not problems
    start = next(a for a in site.articles if a.src.file == "c/1.md")
    rest = next(a for a in site.articles if a.src.file == "c/3.md")
    jump = site.nav[start.key].continued_to
    assert jump is not None and jump.text == "下转B05版" and jump.urls == rest.urls
    back = site.nav[rest.key].continued_from
    assert back is not None and back.text == "上接A01版" and back.urls == start.urls


def test_continuation_to_existing_page_without_partner_links_the_page() -> None:
    site, problems = resolve(PAPER, [art("c/1.md", "长文", continued_to="B05"), art("c/2.md", "别的", page="B05")], {})
    assert not problems
    jump = site.nav[site.articles[0].key].continued_to
    assert jump is not None and jump.urls == site.latest.pages[1].urls


def test_dangling_continuation_is_a_warning_and_plain_text() -> None:
    site, problems = resolve(PAPER, [art("c/1.md", "长文", continued_to="A09")], {})
    assert [p.severity for p in problems] == ["warning"]
    assert str(problems[0]).startswith("c/1.md:6: warning: continued_to: page A09")
    jump = site.nav[site.articles[0].key].continued_to
    assert jump is not None and jump.urls is None and jump.text == "下转A09版"


def test_slug_cache_is_used_and_filled() -> None:
    cache = {"甲": "cached-slug"}
    site, _ = resolve(PAPER, [art("c/1.md", "甲"), art("c/2.md", "乙")], {}, slug_cache=cache)
    assert [a.slug for a in site.articles] == ["cached-slug", "yi"]
    assert cache["乙"] == "yi"


def test_slug_inputs_are_every_text_resolve_slugs() -> None:
    sources = [
        art("c/1.md", "首条"),
        art("c/2.md", "自带", slug="own-slug"),
        art("c/3.md", "另起版名", page="A02", page_name="经济"),
        art("c/4.md", "草稿", draft=True),
        art("c/5.md", "副刊文章", page="B05"),
    ]
    meta = {DAY: IssueMeta(file="i", date=DAY, pages=frozen_map({"A01": PageMeta(name="头版要闻")}))}
    asked = slug_inputs(PAPER, sources, meta)
    for drafts in (False, True):
        slugged: dict[str, str] = {}
        resolve(PAPER, sources, meta, include_drafts=drafts, slug_cache=slugged)
        assert slugged.keys() <= asked  # nothing left to slug in this process
    assert "自带" not in asked and {"首条", "草稿", "经济", "头版要闻", "要闻", "副刊"} <= asked


def _archive() -> list[ArticleSource]:
    return [
        art("c/1.md", "长文", continued_to="A09"),  # a warning, raised by the navigation
        art("c/2.md", "同名", slug="same", order=1),
        art("c/3.md", "同名", slug="same", order=2),  # an error, raised by the page
        art("c/4.md", "副刊", page="B05"),
        art("c/5.md", "昨天", date=DAY - dt.timedelta(days=1)),
        art("c/6.md", "昨天二版", page="A02", date=DAY - dt.timedelta(days=1)),
    ]


def test_reuse_takes_unchanged_pages_and_issues_by_identity_with_their_problems() -> None:
    sources = _archive()
    memo = Reuse()
    first, first_problems = resolve(PAPER, sources, {}, reuse=memo)
    again, again_problems = resolve(PAPER, sources, {}, reuse=memo)
    assert again == first and again_problems == first_problems and len(first_problems) == 2
    assert all(a is b for a, b in zip(again.issues, first.issues))
    assert all(again.nav[k] is first.nav[k] for k in first.nav)

    # One article edited (a new record, as the loader makes for a changed file).
    sources[4] = dataclasses.replace(sources[4], digest="edited", title="昨天改了")
    edited, edited_problems = resolve(PAPER, sources, {}, reuse=memo)
    fresh, fresh_problems = resolve(PAPER, sources, {})
    assert edited == fresh and edited_problems == fresh_problems  # the same as resolving from nothing
    yesterday, today = edited.issues
    assert today is first.issues[1]  # untouched: taken as it was
    assert yesterday is not first.issues[0] and yesterday.pages[1] is first.issues[0].pages[1]  # A02 unchanged
    assert yesterday.pages[0].articles[0].title == "昨天改了"


def test_reuse_holds_only_for_the_same_paper_issue_toml_and_drafts() -> None:
    sources = _archive()
    memo = Reuse()
    first, _ = resolve(PAPER, sources, {}, reuse=memo)
    other_paper = dataclasses.replace(PAPER, base_url="https://y.org/")
    moved, _ = resolve(other_paper, sources, {}, reuse=memo)
    assert moved == resolve(other_paper, sources, {})[0] and moved.issues[0] is not first.issues[0]
    assert moved.latest.pages[0].articles[0].urls["zh-Hans"].startswith("/zh-hans/")
    named = {DAY: IssueMeta(file="i", date=DAY, number="8", pages=frozen_map({"B05": PageMeta(name="文艺")}))}
    renamed, _ = resolve(other_paper, sources, named, reuse=memo)
    assert renamed.latest.number == "8" and renamed.latest.pages[1].name == "文艺"
    assert renamed.latest.pages[0] is moved.latest.pages[0]  # A01's entry did not change
    sources.append(art("c/7.md", "草稿", draft=True))
    drafted, _ = resolve(other_paper, sources, named, include_drafts=True, reuse=memo)
    assert "草稿" in [a.title for a in drafted.articles]
