"""Every bad input gets an answer: exit status, the file (and line), what to do.

Each case starts from a published fixture paper, breaks one thing, and runs
the command line as a desk would. A refused build must leave the published
site byte for byte as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sitekit import ROOT, build_site, copy_fixture, run_cli, tree_bytes


@pytest.fixture()
def paper(tmp_path: Path) -> Path:
    source = copy_fixture("paper", tmp_path)
    build_site(source, source / "site")  # the edition already online
    return source


def build(source: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("build", "--source", str(source), "--no-cache")


def article(source: Path, name: str, front: str, body: str = "正文。\n") -> Path:
    path = source / "content/2025-03-01/A01" / name
    path.write_text(f"---\n{front.strip()}\n---\n{body}", encoding="utf-8")
    return path


def assert_refused(source: Path, before: dict[str, bytes]) -> subprocess.CompletedProcess[str]:
    done = build(source)
    assert done.returncode == 1, done.stderr
    assert "the previous site was left as it was" in done.stderr
    assert tree_bytes(source / "site") == before
    return done


def test_gbk_file_is_refused_with_how_to_convert_it(paper: Path) -> None:
    before = tree_bytes(paper / "site")
    text = "---\ntitle: 青海湖畔\ndate: 2025-03-01\npage: A01\n---\n正文内容。\n"
    (paper / "content/2025-03-01/A01/gbk.md").write_bytes(text.encode("gbk"))
    done = assert_refused(paper, before)
    # Line 2 holds the first byte that is not UTF-8 (the title).
    assert "content/2025-03-01/A01/gbk.md:2: not UTF-8 text: it looks like GBK/GB18030" in done.stderr
    assert "iconv -f GB18030 -t UTF-8 content/2025-03-01/A01/gbk.md" in done.stderr


def test_gb18030_body_is_refused_at_its_line(paper: Path) -> None:
    before = tree_bytes(paper / "site")
    text = "---\ntitle: ok\ndate: 2025-03-01\npage: A01\n---\n\n𠀀生僻字正文\n"  # 4-byte GB18030
    (paper / "content/2025-03-01/A01/gb.md").write_bytes(text.encode("gb18030"))
    done = assert_refused(paper, before)
    assert "content/2025-03-01/A01/gb.md:7: not UTF-8 text" in done.stderr


def test_duplicate_explicit_slugs_name_both_files_and_the_slug(paper: Path) -> None:
    before = tree_bytes(paper / "site")
    article(paper, "a.md", "title: 甲\ndate: 2025-03-01\npage: A01\nslug: same-slug")
    article(paper, "b.md", "title: 乙\ndate: 2025-03-01\npage: A01\nslug: same-slug")
    done = assert_refused(paper, before)
    line = next(l for l in done.stderr.splitlines() if "same-slug" in l)
    assert "content/2025-03-01/A01/a.md" in line and "content/2025-03-01/A01/b.md" in line
    assert re.search(r"\.md:5: ", line), "the slug's line is named"


def test_explicit_slug_clashing_with_a_generated_one_is_not_an_error(paper: Path) -> None:
    from banmian.slugs import slugify

    article(paper, "a.md", f"title: 甲\ndate: 2025-03-01\npage: A01\nslug: {slugify('重庆银行行长谈长江经济带发展')}")
    done = build(paper)
    assert done.returncode == 0, done.stderr  # the explicit one wins, the other gets -2


@pytest.mark.parametrize("layout", ["empty", "missing", "only-drafts", "no-markdown"])
def test_no_articles_at_all_says_where_it_looked(paper: Path, layout: str) -> None:
    before = tree_bytes(paper / "site")
    content = paper / "content"
    for path in sorted(content.rglob("*.md")):
        if layout == "only-drafts":
            text = re.sub(r"^draft: .*\n", "", path.read_text(encoding="utf-8"), flags=re.M)
            path.write_text(text.replace("---\n", "---\ndraft: true\n", 1), encoding="utf-8")
        else:
            path.unlink()
    if layout == "missing":
        shutil.rmtree(content)
    if layout == "no-markdown":
        (content / "2025-03-01/A01/notes.txt").write_text("not an article", encoding="utf-8")
    done = assert_refused(paper, before)
    assert str(content) in done.stderr
    expected = {
        "empty": "found no Markdown files",
        "missing": "no content folder",
        "only-drafts": "all drafts",
        "no-markdown": "found no Markdown files",
    }[layout]
    assert expected in done.stderr


def test_continuation_to_a_missing_page_is_a_warning_naming_it(paper: Path) -> None:
    article(paper, "jump.md", "title: 转版文章\ndate: 2025-03-01\npage: A01\ncontinued_to: C09")
    done = build(paper)
    assert done.returncode == 0, done.stderr
    assert "content/2025-03-01/A01/jump.md:5: warning: continued_to: page C09 is not in the 2025-03-01 issue" in done.stderr
    page = next((paper / "site/zh-hans/2025-03-01/A01").glob("*/index.html"))
    assert page.is_file()


def test_unknown_key_is_a_warning_with_did_you_mean(paper: Path) -> None:
    article(paper, "typo.md", "title: 错字\ndate: 2025-03-01\npage: A01\nsubtitel: 副题")
    done = build(paper)
    assert done.returncode == 0, done.stderr
    assert "content/2025-03-01/A01/typo.md:5: warning: unknown front matter key 'subtitel' (did you mean subtitle?)" in done.stderr


@pytest.mark.parametrize("slug", ["a/b", "../escape", "..", "中文", "Upper-Case", "trailing-", "a" * 61])
def test_unsafe_or_malformed_slug_is_refused(paper: Path, slug: str) -> None:
    before = tree_bytes(paper / "site")
    article(paper, "slug.md", f"title: 标题\ndate: 2025-03-01\npage: A01\nslug: '{slug}'")
    done = assert_refused(paper, before)
    assert f"content/2025-03-01/A01/slug.md:5: slug {slug!r} must be lowercase ASCII" in done.stderr
    assert not (paper / "site" / "escape").exists()


def test_title_with_markup_is_escaped_and_shown_as_text(paper: Path) -> None:
    # The fixture's markup.md has <script> and <b> in its title.
    done = build(paper)
    assert done.returncode == 0, done.stderr
    for edition in ("zh-hans", "zh-hant"):
        html = (paper / "site" / edition / "2025-03-01/A01/markup-title/index.html").read_text(encoding="utf-8")
        assert "<script>alert" not in html and "<b>标" not in html and "<b>標" not in html
        assert "&lt;script&gt;alert(" in html
        listing = (paper / "site" / edition / "2025-03-01/A01/index.html").read_text(encoding="utf-8")
        assert "<script>alert" not in listing and "&lt;script&gt;alert(" in listing


def test_ten_megabyte_article_builds(paper: Path) -> None:
    paragraph = "青海湖是中国最大的内陆咸水湖，" * 40 + "\n\n"
    body = paragraph * (10 * 1024 * 1024 // len(paragraph.encode("utf-8")) + 1)
    path = article(paper, "huge.md", "title: 一篇很长很长的文章\ndate: 2025-03-01\npage: A01", body)
    assert path.stat().st_size > 10 * 1024 * 1024
    done = build(paper)
    assert done.returncode == 0, done.stderr
    from banmian.slugs import slugify

    built = paper / "site/zh-hant/2025-03-01/A01" / slugify("一篇很长很长的文章") / "index.html"
    assert built.stat().st_size > 10 * 1024 * 1024
    assert "青海湖是中國最大的內陸鹹水湖" in built.read_text(encoding="utf-8")[-20000:]


def test_symlink_loop_under_content_does_not_hang(paper: Path) -> None:
    content = paper / "content"
    os.symlink("..", content / "2025-03-01/loop")  # content/2025-03-01/loop → content/
    os.symlink("../A01", content / "2025-03-01/A01/self")
    os.symlink("nowhere", content / "2025-03-01/A01/dangling.md")
    done = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "build", "--source", str(paper), "--no-cache"],
        capture_output=True,
        text=True,
        timeout=60,  # a hang fails here instead of stalling the suite
    )
    assert done.returncode in (0, 1), done.stderr
    # The dangling link is reported by name; the looping folders are walked once.
    assert "content/2025-03-01/A01/dangling.md" in done.stderr
    assert done.stderr.count("chongqing.md") <= 1


def test_yaml_syntax_error_names_its_line(paper: Path) -> None:
    before = tree_bytes(paper / "site")
    article(paper, "broken.md", "title: 标题\ndate: 2025-03-01\npage: A01\nkicker: [unclosed")
    done = assert_refused(paper, before)
    assert re.search(r"content/2025-03-01/A01/broken\.md:\d+: front matter is not valid YAML", done.stderr)


def test_check_refuses_what_build_refuses_and_writes_nothing(paper: Path) -> None:
    before = tree_bytes(paper / "site")
    (paper / "content/2025-03-01/A01/gbk.md").write_bytes("---\ntitle: 标题\n---\n".encode("gbk"))
    done = run_cli("check", "--source", str(paper))
    assert done.returncode == 1
    assert "content/2025-03-01/A01/gbk.md:2: not UTF-8 text" in done.stderr
    assert tree_bytes(paper / "site") == before
