"""Permanent URLs: a retitle or a page move leaves a redirect, a deletion is warned of."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from banmian.errors import ContentError
from banmian.links import check_site_links
from banmian.pipeline import BuildOptions, check
from banmian.published import RECORD_NAME, load_record, record_json
from banmian.slugs import slugify
from sitekit import build_site, copy_fixture, run_cli



def at(page: str, title: str) -> str:
    """An article's edition-relative path (slugs are the slug module's business)."""
    return f"2025-03-01/{page}/{slugify(title)}/"


LEAD = at("A01", "重庆银行行长谈长江经济带发展")


@pytest.fixture()
def paper(tmp_path: Path) -> Path:
    return copy_fixture("paper", tmp_path)


def record_of(source: Path) -> dict:
    return json.loads((source / "content" / RECORD_NAME).read_text(encoding="utf-8"))["articles"]


def set_front(file: Path, key: str, value: str) -> None:
    text = file.read_text(encoding="utf-8")
    text, count = re.subn(rf"^{key}: .*$", f"{key}: {value}", text, count=1, flags=re.M)
    assert count == 1, f"{file} has no {key}"
    file.write_text(text, encoding="utf-8")


def refresh_target(page: Path) -> str:
    match = re.search(r'http-equiv="refresh" content="0; url=([^"]+)"', page.read_text(encoding="utf-8"))
    assert match, f"{page} is not a redirect page"
    return match.group(1)


def test_first_build_records_every_published_article(paper: Path, tmp_path: Path) -> None:
    build_site(paper, tmp_path / "out")
    record = record_of(paper)
    assert record["2025-03-01/A01/chongqing.md"] == {"path": LEAD, "title": "重庆银行行长谈长江经济带发展"}
    # Drafts were never published, so they are no promise.
    assert "2025-03-01/A01/draft.md" not in record
    assert len(record) == 8


def test_record_is_deterministic_json(paper: Path, tmp_path: Path) -> None:
    build_site(paper, tmp_path / "out")
    path = paper / "content" / RECORD_NAME
    first = path.read_bytes()
    record, problems = load_record(paper)
    assert problems == []
    assert record_json(record) == first
    assert "重庆" in first.decode("utf-8")  # ensure_ascii=False: a desk can read it in a diff
    build_site(paper, tmp_path / "out")
    assert path.read_bytes() == first


def test_retitle_redirects_old_url_in_every_edition(paper: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build_site(paper, out)
    set_front(paper / "content/2025-03-01/A01/chongqing.md", "title", "长江经济带金融论坛召开")
    result = build_site(paper, out)
    new = at("A01", "长江经济带金融论坛召开")
    for edition in ("zh-hans", "zh-hant"):
        old_page = out / edition / LEAD / "index.html"
        assert refresh_target(old_page) == f"/paper/{edition}/{new}"
        html = old_page.read_text(encoding="utf-8")
        assert f'<link rel="canonical" href="https://news.example.com/paper/{edition}/{new}">' in html
        assert f'<a href="/paper/{edition}/{new}">' in html  # a visible link for readers without refresh
        assert (out / edition / new / "index.html").is_file()
    assert "長江經濟帶金融論壇召開" in (out / "zh-hant" / LEAD / "index.html").read_text(encoding="utf-8")
    moved = json.loads((out / "issues.json").read_text(encoding="utf-8"))["moved"]
    assert moved == [
        {
            "title": "长江经济带金融论坛召开",
            "from": {"zh-Hans": f"/paper/zh-hans/{LEAD}", "zh-Hant": f"/paper/zh-hant/{LEAD}"},
            "to": {"zh-Hans": f"/paper/zh-hans/{new}", "zh-Hant": f"/paper/zh-hant/{new}"},
        }
    ]
    assert record_of(paper)["2025-03-01/A01/chongqing.md"]["previous"] == [LEAD]
    assert not any("disappear" in w.message for w in result.warnings)
    assert check_site_links(out, "/paper/") == []


def test_chain_of_moves_redirects_every_old_url_straight_to_the_newest(paper: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    article = paper / "content/2025-03-01/A01/chongqing.md"
    build_site(paper, out)
    set_front(article, "title", "第二个标题")
    build_site(paper, out)
    set_front(article, "title", "第三个标题")
    set_front(article, "page", "A02")  # and a move to another page
    build_site(paper, out)
    second, newest = at("A01", "第二个标题"), "/paper/zh-hans/" + at("A02", "第三个标题")
    assert refresh_target(out / "zh-hans" / LEAD / "index.html") == newest
    assert refresh_target(out / "zh-hans" / second / "index.html") == newest
    assert record_of(paper)["2025-03-01/A01/chongqing.md"]["previous"] == [LEAD, second]
    assert check_site_links(out, "/paper/") == []


def test_retitle_back_to_the_old_title_serves_the_article_again(paper: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    article = paper / "content/2025-03-01/A01/chongqing.md"
    build_site(paper, out)
    set_front(article, "title", "临时标题")
    build_site(paper, out)
    set_front(article, "title", "重庆银行行长谈长江经济带发展")
    build_site(paper, out)
    assert "http-equiv" not in (out / "zh-hans" / LEAD / "index.html").read_text(encoding="utf-8")
    temporary = at("A01", "临时标题")
    assert refresh_target(out / "zh-hans" / temporary / "index.html") == f"/paper/zh-hans/{LEAD}"
    entry = record_of(paper)["2025-03-01/A01/chongqing.md"]
    assert entry == {"path": LEAD, "title": "重庆银行行长谈长江经济带发展", "previous": [temporary]}


def test_renamed_file_keeps_its_history(paper: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build_site(paper, out)
    old = paper / "content/2025-03-01/A01/chongqing.md"
    new = paper / "content/2025-03-01/A01/yinhang.md"
    old.rename(new)
    result = build_site(paper, out)
    assert not any("disappear" in w.message for w in result.warnings)
    record = record_of(paper)
    assert "2025-03-01/A01/chongqing.md" not in record
    assert record["2025-03-01/A01/yinhang.md"]["path"] == LEAD


def test_deleted_article_is_warned_of_by_check_and_build(paper: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build_site(paper, out)
    (paper / "content/2025-03-02/A01/next-day.md").unlink()
    (paper / "content/2025-03-01/A01/markup.md").unlink()  # another article stays on 2025-03-01
    problems = check(BuildOptions(source=paper, output=out))
    lost = [p for p in problems if "would disappear" in p.message]
    assert {p.path for p in lost} == {"content/2025-03-02/A01/next-day.md", "content/2025-03-01/A01/markup.md"}
    assert all(p.severity == "warning" for p in lost)
    assert any("2025-03-01/A01/markup-title/" in p.message for p in lost)
    result = build_site(paper, out)
    assert {w.path for w in result.warnings if "would disappear" in w.message} == {p.path for p in lost}
    # Warned once: the record now says what is published.
    assert "2025-03-02/A01/next-day.md" not in record_of(paper)


def test_check_command_reports_disappearing_urls(paper: Path, tmp_path: Path) -> None:
    build_site(paper, tmp_path / "out")
    (paper / "content/2025-03-02/A01/next-day.md").unlink()
    done = run_cli("check", "--source", str(paper))
    assert done.returncode == 0, done.stderr
    url = f"2025-03-02/A01/{slugify('第二天的头条新闻')}/"
    assert f"content/2025-03-02/A01/next-day.md: warning: published URL {url}" in done.stderr


def test_url_taken_over_by_another_article_is_not_redirected(paper: Path, tmp_path: Path) -> None:
    """同名标题 twice: the second is at -2; when the first goes, the second takes the plain slug."""
    out = tmp_path / "out"
    build_site(paper, out)
    (paper / "content/2025-03-01/A01/same-1.md").unlink()
    result = build_site(paper, out)
    plain = at("A01", "同名标题")
    second = plain[:-1] + "-2/"
    assert record_of(paper)["2025-03-01/A01/same-2.md"] == {"path": plain, "title": "同名标题", "previous": [second]}
    assert "http-equiv" not in (out / "zh-hans" / plain / "index.html").read_text(encoding="utf-8")
    assert refresh_target(out / "zh-hans" / second / "index.html") == f"/paper/zh-hans/{plain}"
    assert any("would show another article, content/2025-03-01/A01/same-2.md" in w.message for w in result.warnings)


def test_drafts_and_link_check_builds_leave_the_record_alone(paper: Path, tmp_path: Path) -> None:
    build_site(paper, tmp_path / "out")
    path = paper / "content" / RECORD_NAME
    before = path.read_bytes()
    set_front(paper / "content/2025-03-01/A01/chongqing.md", "title", "预览中的新标题")
    build_site(paper, tmp_path / "preview", drafts=True)
    build_site(paper, tmp_path / "check", record_urls=False)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"version": 1, "articles": {\n<<<<<<< HEAD\n}}', "a merge conflict"),
        ('{"version": 1, "articles": {"a.md": {"path": "../../etc/", "title": "x"}}}', "is not an article path"),
        ('["not", "a", "record"]', "must be"),
    ],
)
def test_broken_record_stops_the_build(paper: Path, tmp_path: Path, text: str, message: str) -> None:
    (paper / "content" / RECORD_NAME).write_text(text, encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        build_site(paper, tmp_path / "out")
    assert any(p.path == f"content/{RECORD_NAME}" and message in p.message for p in caught.value.problems)
    assert not (tmp_path / "out").exists()


def test_unchanged_urls_reuse_the_plan_and_a_hand_edited_record_is_read_again(
    paper: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import banmian.published

    out = tmp_path / "out"
    build_site(paper, out)
    set_front(paper / "content/2025-03-01/A01/chongqing.md", "title", "长江经济带金融论坛召开")
    build_site(paper, out)  # a move: the record is rewritten
    build_site(paper, out)  # read once more, found equal, remembered
    reads: list[Path] = []
    real_load = banmian.published.load_record
    monkeypatch.setattr(banmian.published, "load_record", lambda source: reads.append(source) or real_load(source))
    build_site(paper, out)
    assert reads == []  # nothing changed: the remembered plan, same redirects
    new = at("A01", "长江经济带金融论坛召开")
    assert refresh_target(out / "zh-hans" / LEAD / "index.html") == f"/paper/zh-hans/{new}"
    # A hand edit of the record (a merge, say) is read again.
    record = paper / "content" / RECORD_NAME
    data = json.loads(record.read_text(encoding="utf-8"))
    data["articles"]["2025-03-01/A01/gone.md"] = {"path": "2025-03-01/A01/yijing-shanchu/", "title": "已删除"}
    record.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = build_site(paper, out)
    assert len(reads) == 1
    assert any("yijing-shanchu" in w.message for w in result.warnings)


def test_the_remembered_plan_is_the_plan_whether_or_not_the_record_is_saved(paper: Path, tmp_path: Path) -> None:
    from banmian.cache import BuildCache
    from banmian.pipeline import load_site
    from banmian.published import plan, plan_remembered

    options = BuildOptions(source=paper, output=tmp_path / "out", drafts=True)
    site = load_site(options, BuildCache()).site
    memo: dict = {}
    first, _ = plan_remembered(paper, site, memo)
    assert first is not None and first.record is not None  # no record on disk yet: one to save
    again, _ = plan_remembered(paper, site, memo)  # serve and drafts builds save none: same inputs, same plan
    assert again == first
    build_site(paper, tmp_path / "site")  # saves the record: a new stat, so planned afresh
    record, _ = load_record(paper)
    fresh, _ = plan_remembered(paper, site, memo)
    assert fresh is not None and fresh.redirects == plan(record, site).redirects
    assert fresh.record == (None if plan(record, site).record == record else plan(record, site).record)
