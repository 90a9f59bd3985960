"""The link checker finds what is broken, and finds nothing broken in a built site."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from banmian.links import check_site_links
from sitekit import build_site, copy_fixture, run_cli


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def page(body: str = "", head: str = "") -> str:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"


def alternates(hans: str, hant: str) -> str:
    return (
        f'<link rel="alternate" hreflang="zh-Hans" href="{hans}">'
        f'<link rel="alternate" hreflang="zh-Hant" href="{hant}">'
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("links")
    paper = copy_fixture("paper", root)
    out = root / "out"
    build_site(paper, out, drafts=True)
    return out


def test_built_fixture_paper_has_no_broken_link(built: Path) -> None:
    assert check_site_links(built, "/paper/") == []


def test_checker_reads_base_url_from_issues_json(built: Path, tmp_path: Path) -> None:
    # Canonical and hreflang URLs are absolute; without base_url they would
    # all be skipped as external and the hreflang check would see nothing.
    article = next(built.glob("zh-hant/2025-03-01/A01/*/index.html"))
    text = article.read_text(encoding="utf-8")
    assert 'hreflang="zh-Hans" href="https://news.example.com/paper/zh-hans/' in text
    copy = tmp_path / "site"
    shutil.copytree(built, copy)
    target = copy / article.relative_to(built)
    target.write_text(text.replace('hreflang="zh-Hans" href="https://news.example.com/paper/zh-hans/', 'hreflang="zh-Hans" href="https://news.example.com/paper/zh-hans/x'), encoding="utf-8")
    problems = check_site_links(copy, "/paper/")
    assert [p.path for p in problems] == [target.relative_to(copy).as_posix()]
    assert "leads to no file" in problems[0].message


def test_a_deleted_page_breaks_every_link_to_it(built: Path, tmp_path: Path) -> None:
    copy = tmp_path / "site"
    shutil.copytree(built, copy)
    (copy / "zh-hans/archive/index.html").unlink()
    problems = check_site_links(copy, "/paper/")
    # Every zh-hans page links to the archive from its masthead; the zh-Hant
    # archive's alternate points at it too.
    assert len(problems) > 10
    assert all("/paper/zh-hans/archive/" in p.message for p in problems)
    assert any(p.path == "zh-hant/archive/index.html" for p in problems)


def test_relative_absolute_and_directory_links(tmp_path: Path) -> None:
    site = write(
        tmp_path,
        {
            "index.html": page('<a href="a/">a</a> <a href="/a/b.css">css</a> <img src="img.png" alt="">'),
            "a/index.html": page('<a href="../">up</a> <a href="b.css">b</a> <a href="/a">dir without slash</a>'),
            "a/b.css": "",
            "img.png": "",
        },
    )
    assert check_site_links(site) == []


def test_broken_links_are_named_with_file_and_line(tmp_path: Path) -> None:
    site = write(
        tmp_path,
        {
            "index.html": page('\n<a href="missing/">m</a>\n<img src="/gone.png" alt="">\n<script src="x.js"></script>'),
            "x.js": "",
        },
    )
    problems = check_site_links(site)
    assert [(p.path, p.line) for p in problems] == [("index.html", 2), ("index.html", 3)]
    assert "'missing/'" in problems[0].message


def test_external_and_special_urls_are_skipped(tmp_path: Path) -> None:
    site = write(
        tmp_path,
        {
            "index.html": page(
                '<a href="https://elsewhere.example/x">x</a><a href="mailto:desk@example.org">m</a>'
                '<a href="tel:+86">t</a><img src="data:image/png;base64,AAAA" alt=""><a href="//cdn.example/x">c</a>'
            )
        },
    )
    assert check_site_links(site, base_url="https://paper.example/") == []


def test_links_under_base_url_are_checked(tmp_path: Path) -> None:
    site = write(tmp_path, {"index.html": page('<a href="https://paper.example/epaper/nope/">x</a>')})
    assert check_site_links(site, "/epaper/", "https://paper.example/epaper/") != []
    # And a site-absolute link outside the base path cannot be served by it.
    write(tmp_path, {"index.html": page('<a href="/elsewhere/">x</a>')})
    assert check_site_links(site, "/epaper/", "https://paper.example/epaper/") != []


def test_fragments_must_name_an_id(tmp_path: Path) -> None:
    site = write(
        tmp_path,
        {
            "index.html": page('<a href="#main">skip</a><main id="main"></main><a href="a/#top">a</a><a href="a/#nowhere">n</a>'),
            "a/index.html": page('<h1 id="top">t</h1>'),
        },
    )
    problems = check_site_links(site)
    assert len(problems) == 1 and "#nowhere" in problems[0].message


def test_meta_refresh_target_must_exist(tmp_path: Path) -> None:
    site = write(tmp_path, {"old/index.html": page(head='<meta http-equiv="refresh" content="0; url=/new/">')})
    problems = check_site_links(site)
    assert len(problems) == 1 and problems[0].message.startswith("broken link: refresh='/new/'")


def test_hreflang_must_be_listed_both_ways(tmp_path: Path) -> None:
    site = write(
        tmp_path,
        {
            "hans/index.html": page(head=alternates("/hans/", "/hant/")),
            "hant/index.html": page(head=alternates("/hans/other/", "/hant/")),  # does not name /hans/ back
            "hans/other/index.html": page(),
        },
    )
    problems = check_site_links(site)
    assert [(p.path, "does not list this page back" in p.message) for p in problems] == [
        ("hans/index.html", True),
        ("hant/index.html", True),
    ]


def test_a_copy_with_a_canonical_elsewhere_defers_to_it(tmp_path: Path) -> None:
    """/zh-hans/ shows the latest issue; its canonical is the dated URL, whose alternates count."""
    site = write(
        tmp_path,
        {
            "hans/index.html": page(head='<link rel="canonical" href="/hans/day/">' + alternates("/hans/day/", "/hant/day/")),
            "hans/day/index.html": page(head=alternates("/hans/day/", "/hant/day/")),
            "hant/day/index.html": page(head=alternates("/hans/day/", "/hant/day/")),
        },
    )
    assert check_site_links(site) == []


def test_urls_in_issues_json_and_xml_must_resolve(tmp_path: Path) -> None:
    site = write(
        tmp_path,
        {
            "index.html": page(),
            "issues.json": '{"base_url": "https://p.example/", "issues": [{"urls": {"zh-Hans": "/zh-hans/2025-01-01/"}}]}',
            "sitemap.xml": "<urlset><url><loc>https://p.example/</loc></url><url><loc>https://p.example/gone/</loc></url></urlset>",
        },
    )
    problems = check_site_links(site)
    assert sorted((p.path, p.line) for p in problems) == [("issues.json", None), ("sitemap.xml", 1)]


def test_check_links_command(tmp_path: Path) -> None:
    paper = copy_fixture("paper", tmp_path)
    done = run_cli("check", "--links", "--source", str(paper))
    assert done.returncode == 0, done.stderr
    assert "0 error(s)" in done.stderr
    # A theme override with a broken link is found, named as the built file.
    (paper / "templates").mkdir()
    (paper / "templates/404.html").write_text(
        '{% extends "base.html" %}{% block main %}<a href="{{ urls.home }}nowhere/">x</a>{% endblock %}', encoding="utf-8"
    )
    done = run_cli("check", "--links", "--source", str(paper))
    assert done.returncode == 1
    assert "site/404.html:" in done.stderr and "broken link" in done.stderr
    assert not (paper / "content/.published.json").exists()  # a throwaway build promises nothing
