import datetime as dt
import subprocess
import sys
from pathlib import Path

from banmian.load import BODY_LEFT_OUT, _read, load_content, parse_article
from banmian.model import with_body


def parse(text: str, name: str = "content/2025-01-21/A01/x.md"):  # type: ignore[no-untyped-def]
    return parse_article(text.encode("utf-8"), name, "d")


def messages(text: str) -> list[str]:
    return [str(p) for p in parse(text)[1]]


def test_full_front_matter() -> None:
    article, problems = parse(
        "---\ntitle: 主标题\nkicker: 引题\nsubtitle: 副题\ndate: 2025-01-21\npage: a09\npage_name: 要闻\n"
        "reporter: [莫昌伟, 薛军]\nrole: 特约记者\ncolumn: 报告摘登\norder: 2\ncontinued_to: B05版\n"
        "continued_from: A01\nslug: my-slug\nsummary: 摘要\ndraft: false\n---\n正文第一段。\n"
    )
    assert problems == []
    assert article is not None
    assert article.title == "主标题" and article.kicker == "引题" and article.subtitle == "副题"
    assert article.date == dt.date(2025, 1, 21)
    assert article.page == "A09"  # page codes are upper-cased
    assert article.reporters == ("莫昌伟", "薛军")
    assert article.continued_to == "B05" and article.continued_from == "A01"
    assert article.order == 2 and article.slug == "my-slug" and not article.draft
    assert article.body == "正文第一段。\n" and article.body_line == 18
    assert article.line_of("reporter") == 8


def test_page_code_01_stays_text() -> None:
    article, problems = parse("---\ntitle: t\ndate: 2025-01-21\npage: 01\n---\n")
    assert not problems and article is not None and article.page == "01"


def test_reporter_names_split_on_chinese_comma() -> None:
    article, _ = parse("---\ntitle: t\ndate: 2025-01-21\npage: A01\nreporter: 张三、李四\n---\n")
    assert article is not None and article.reporters == ("张三", "李四")


def test_missing_required_fields_each_named() -> None:
    found = messages("---\nkicker: 引题\n---\n正文")
    assert any("title is required" in m for m in found)
    assert any("date is required" in m for m in found)
    assert any("page is required" in m for m in found)
    assert all(m.startswith("content/2025-01-21/A01/x.md:") for m in found)


def test_impossible_date_names_line() -> None:
    found = messages("---\ntitle: t\npage: A01\ndate: 2025-02-30\n---\n")
    assert found == ["content/2025-01-21/A01/x.md:4: impossible date '2025-02-30': day is out of range for month"]


def test_date_in_another_format() -> None:
    found = messages("---\ntitle: t\npage: A01\ndate: 2025年1月21日\n---\n")
    assert "x.md:4: date must be YYYY-MM-DD" in found[0]


def test_bad_page_code() -> None:
    found = messages("---\ntitle: t\ndate: 2025-01-21\npage: 第一版\n---\n")
    assert "x.md:4: page must be a page code" in found[0]


def test_broken_yaml_names_line() -> None:
    found = messages("---\ntitle: t\ndate: 2025-01-21\npage: [A01\nreporter: x\n---\n")
    assert len(found) == 1 and found[0].startswith("content/2025-01-21/A01/x.md:") and "not valid YAML" in found[0]
    line = int(found[0].split(":")[1])
    assert 4 <= line <= 6


def test_wrong_types() -> None:
    found = messages("---\ntitle: [a, b]\ndate: 2025-01-21\npage: A01\norder: first\ndraft: maybe\n---\n")
    assert any(":2: title must be a single value" in m for m in found)
    assert any(":5: order must be a whole number" in m for m in found)
    assert any(":6: draft must be true or false" in m for m in found)


def test_unknown_key_is_a_warning_with_suggestion() -> None:
    article, problems = parse("---\ntitle: t\ndate: 2025-01-21\npage: A01\nreportr: 张三\n---\n")
    assert article is not None
    assert [str(p) for p in problems] == [
        "content/2025-01-21/A01/x.md:5: warning: unknown front matter key 'reportr' (did you mean reporter?)"
    ]


def test_bad_explicit_slug() -> None:
    for slug in ("../etc", "a/b", "青海", "Big-Slug"):
        found = messages(f"---\ntitle: t\ndate: 2025-01-21\npage: A01\nslug: {slug}\n---\n")
        assert any(":5: slug" in m for m in found), slug


def test_no_front_matter() -> None:
    assert "x.md:1: no front matter" in messages("正文而已")[0]


def test_gbk_file_says_how_to_convert() -> None:
    raw = "---\ntitle: 标题\ndate: 2025-01-21\npage: A01\n---\n正文\n".encode("gb18030")
    article, problems = parse_article(raw, "content/x.md", "d")
    assert article is None
    assert "not UTF-8" in str(problems[0]) and "GB18030" in str(problems[0]) and "iconv" in str(problems[0])


def test_utf8_bom_is_fine() -> None:
    raw = "\ufeff---\ntitle: 标题\ndate: 2025-01-21\npage: A01\n---\n正文\n".encode("utf-8")
    article, problems = parse_article(raw, "content/x.md", "d")
    assert article is not None and not problems


def test_load_content_and_issue_toml(tmp_path: Path) -> None:
    folder = tmp_path / "content" / "2025-01-21" / "A01"
    folder.mkdir(parents=True)
    (folder / "a.md").write_text("---\ntitle: 甲\ndate: 2025-01-21\npage: A01\n---\n正文", encoding="utf-8")
    (folder / "b.md").write_text("---\ntitle: 乙\n---\n", encoding="utf-8")
    (tmp_path / "content" / "2025-01-21" / "issue.toml").write_text(
        'number = 100\n[pages.A01]\nname = "要闻"\neditor = "王"\nbogus = 1\n', encoding="utf-8"
    )
    content = load_content(tmp_path)
    assert [a.title for a in content.articles] == ["甲"]
    assert content.files_read == 2
    meta = content.issues[dt.date(2025, 1, 21)]
    assert meta.number == "100" and meta.pages["A01"].name == "要闻" and meta.pages["A01"].editor == "王"
    found = [str(p) for p in content.problems]
    assert any(m.startswith("content/2025-01-21/A01/b.md:") and "date is required" in m for m in found)
    assert any("issue.toml:5: warning: unknown page setting 'bogus'" in m for m in found)


def test_cache_reuses_parsed_records(tmp_path: Path) -> None:
    folder = tmp_path / "content" / "2025-01-21" / "A01"
    folder.mkdir(parents=True)
    (folder / "a.md").write_text("---\ntitle: 甲\ndate: 2025-01-21\npage: A01\n---\n正文", encoding="utf-8")
    stats: dict[str, tuple[int, int, int, str]] = {}
    first = load_content(tmp_path, {}, stats)
    assert list(stats) == ["content/2025-01-21/A01/a.md"]
    again = load_content(tmp_path, first.parsed, stats)
    assert again.articles[0] is first.articles[0]
    (folder / "a.md").write_text("---\ntitle: 乙\ndate: 2025-01-21\npage: A01\n---\n正文", encoding="utf-8")
    changed = load_content(tmp_path, first.parsed, stats)
    assert changed.articles[0].title == "乙"


def write_articles(root: Path, **files: str) -> None:
    """content/2025-01-21/A01/<name>.md for each name=text."""
    folder = root / "content" / "2025-01-21" / "A01"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / f"{name}.md").write_text(text, encoding="utf-8")


def load_twice(root: Path):  # type: ignore[no-untyped-def]
    """The content loaded cold, then again from what the first load cached."""
    stats: dict[str, tuple[int, int, int, str]] = {}
    first = load_content(root, {}, stats)
    return first, load_content(root, first.parsed, stats)


def test_cached_files_keep_their_warnings(tmp_path: Path) -> None:
    write_articles(tmp_path, a="---\ntitle: 甲\ndate: 2025-01-21\npage: A01\nreportr: 张\n---\n")
    first, again = load_twice(tmp_path)
    assert [str(p) for p in again.problems] == [str(p) for p in first.problems] != []


def test_read_takes_the_whole_file_even_if_it_grew_since_its_stat(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_bytes(b"x" * 100_000)
    assert _read(str(path), 10) == b"x" * 100_000
    assert _read(str(path), 100_000) == b"x" * 100_000
    assert _read(str(path), 200_000) == b"x" * 100_000


def test_bodies_left_out_only_where_rendered(tmp_path: Path) -> None:
    folder = tmp_path / "content" / "2025-01-21" / "A01"
    folder.mkdir(parents=True)
    (folder / "a.md").write_text("---\ntitle: 甲\ndate: 2025-01-21\npage: A01\n---\n正文甲", encoding="utf-8")
    (folder / "b.md").write_text("---\ntitle: 乙\ndate: 2025-01-21\npage: A01\ndraft: true\n---\n正文乙", encoding="utf-8")
    content = load_content(tmp_path)
    first, draft = content.articles
    lighter = content.bodies_left_out({first.digest})
    assert [a.body for a in lighter.articles] == [BODY_LEFT_OUT, "正文乙"]  # the draft was not rendered: kept
    assert lighter.articles[1] is draft
    # The same records in both views of the content, otherwise unchanged.
    assert [a for a, _ in lighter.parsed.values()] == list(lighter.articles)
    assert with_body(lighter.articles[0], first.body) == first
    assert lighter.bodies_left_out({first.digest, draft.digest}).articles[0] is lighter.articles[0]
    assert content.bodies_left_out(set()) is content
    # Records from the cache are not looked at again: only what this load parsed.
    stats: dict[str, tuple[int, int, int, str]] = {}
    load_content(tmp_path, {}, stats)
    rendered = {first.digest, draft.digest}
    again = load_content(tmp_path, lighter.bodies_left_out(rendered).parsed, stats, rendered)
    assert again.parsed_now == () and again.bodies_left_out(rendered) is again
    assert [a.body for a in again.articles] == [BODY_LEFT_OUT, BODY_LEFT_OUT]


def test_plain_tags_need_pyyaml_only_where_a_resolver_looks() -> None:
    import yaml

    from banmian.load import _RESOLVED_FIRST, _plain_tag

    # Every first character PyYAML's implicit resolvers key on (and no wildcard).
    firsts = set(yaml.resolver.Resolver.yaml_implicit_resolvers)
    assert None not in firsts and firsts - {""} <= _RESOLVED_FIRST
    resolver = yaml.resolver.Resolver()
    for value in ["青海日报", "本报记者 张三", "A01版", "~", "null", "Null", "yes", "off", "2024-01-01", "3.5", "-1", ".inf", "<<", "=", "", "y"]:
        assert _plain_tag(value) == resolver.resolve(yaml.ScalarNode, value, (True, False)), value


def test_simple_front_matter_is_read_without_importing_pyyaml() -> None:
    # Importing PyYAML took ~30 ms of a one-article rebuild, which reads one
    # article of plain lines: a fresh interpreter, where nothing imported it.
    code = (
        "import sys, banmian.load as load\n"
        "raw = '---\\ntitle: 标题\\nkicker: 引题\\ndate: 2025-01-21\\npage: A01\\nreporter: [张三, 李四]\\norder: 2\\n---\\n正文\\n'\n"
        "article, problems = load.parse_article(raw.encode(), 'content/a.md', 'd')\n"
        "assert article is not None and article.reporters == ('张三', '李四') and not problems, problems\n"
        "assert 'yaml' not in sys.modules\n"
        "article, problems = load.parse_article('---\\ntitle: 标题\\ndate: 2025-01-21\\npage: A01\\ndraft: yes\\n---\\n'.encode(), 'b.md', 'e')\n"
        "assert article is not None and article.draft and 'yaml' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_record_with_a_rendered_body_leaves_it_out_for_the_cache(tmp_path: Path) -> None:
    # A draft's record keeps its Markdown in the cache until a build renders it (--drafts).
    write_articles(tmp_path, b="---\ntitle: 乙\ndate: 2025-01-21\npage: A01\ndraft: true\n---\n正文乙")
    _, again = load_twice(tmp_path)
    assert again.parsed_now == () and again.articles[0].body == "正文乙"
    rendered = {again.articles[0].digest}
    assert again.bodies_left_out(rendered) is again
    assert again.bodies_left_out(rendered, every=True).articles[0].body == BODY_LEFT_OUT


def test_issue_files_are_read_again_only_when_changed(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os

    import banmian.load

    content = tmp_path / "content"
    for day, number in (("2025-01-20", 1), ("2025-01-21", 2), ("2025-01-22", 3)):
        (content / day).mkdir(parents=True)
        (content / day / "issue.toml").write_text(f"number = {number}\nbogus = 1\n", encoding="utf-8")
    (content / "2025-01-23").mkdir()  # a folder without one
    parsed: list[str] = []
    parse = banmian.load._parse_issue
    monkeypatch.setattr(banmian.load, "_parse_issue", lambda path, shown, problems: parsed.append(shown) or parse(path, shown, problems))
    known: dict = {}
    first = load_content(tmp_path, issue_cache=known)
    assert len(parsed) == 3 and set(known) == {f"content/2025-01-2{n}/issue.toml" for n in (0, 1, 2)}
    parsed.clear()
    again = load_content(tmp_path, issue_cache=known)
    assert parsed == [] and again.issues == first.issues
    # Its warnings are still reported, from the cache.
    assert [str(p) for p in again.problems] == [str(p) for p in first.problems] and len(again.problems) == 3
    edited = content / "2025-01-21" / "issue.toml"
    edited.write_text("number = 22\n", encoding="utf-8")
    os.utime(edited, ns=(1, 1))  # a new stat even within the clock's resolution
    (content / "2025-01-22" / "issue.toml").unlink()
    third = load_content(tmp_path, issue_cache=known)
    assert parsed == ["content/2025-01-21/issue.toml"]
    assert {day.isoformat(): meta.number for day, meta in third.issues.items()} == {"2025-01-20": "1", "2025-01-21": "22"}
    assert set(known) == {"content/2025-01-20/issue.toml", "content/2025-01-21/issue.toml"} and len(third.problems) == 1


def test_issue_files_are_listed_as_glob_lists_them(tmp_path: Path) -> None:
    from banmian.walk import issue_files

    for name in ("2025-01-21", "2025-01-03", ".hidden", "2024-12-31", "plain"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "issue.toml").write_text("", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    listed = issue_files(tmp_path)
    assert [path for path, _ in listed] == [str(path) for path in sorted(tmp_path.glob("*/issue.toml"))]
    assert all(not isinstance(stat, OSError) and stat.st_size == 0 for _, stat in listed)
