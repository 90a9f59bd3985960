"""Markdown bodies: the plain-copy path gives Python-Markdown's bytes, or steps aside."""

from __future__ import annotations

from pathlib import Path

import markdown
import markupsafe
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from banmian import code_digest
from banmian.render import MarkdownRenderer, Renderer, Theme, escape_text, plain_copy

REFERENCE = markdown.Markdown(extensions=["extra", "sane_lists"], output_format="html")


def reference(source: str) -> str:
    REFERENCE.reset()
    return REFERENCE.convert(source)


# Han, full-width punctuation, ASCII letters and digits, and every character
# Markdown gives a meaning to, with line breaks and the spaces that matter.
ALPHABET = st.sampled_from(
    list("本报讯记者发展头长江重庆，。、：；！？“”（）《》【】")
    + list("abcXYZ0123456789")
    + list("*#-+=.:>!()[]<>&_`\\|{}~^\"' \t\u3000\u00a0")
    + ["\n", "\n", "\n\n", "**", "## ", "1. ", "* "]
)


@settings(max_examples=600, deadline=None)
@given(st.lists(ALPHABET, max_size=60).map("".join))
def test_plain_copy_is_python_markdown_or_none(source: str) -> None:
    html = plain_copy(source)
    if html is not None:
        assert html == reference(source)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet="本报讯记者发展头长江重庆，。", min_size=1, max_size=12),
            st.text(alphabet="本报讯记者发展", min_size=1, max_size=6).map(lambda t: f"**{t}**"),
        ),
        min_size=1,
        max_size=6,
    ).map("".join),
    st.lists(st.sampled_from(["\n", "\n\n", "\n\n## 小标题\n\n"]), min_size=1, max_size=4),
)
def test_news_copy_takes_the_plain_path(text: str, breaks: list[str]) -> None:
    source = text + "".join(b + text for b in breaks)
    html = plain_copy(source)
    assert html is not None and html == reference(source)


@pytest.mark.parametrize(
    "source",
    [
        "- 一\n- 二",
        "1. 一\n2. 二",
        "> 引用",
        "    代码",
        "| 表 | 格 |\n|---|---|\n| a | b |",
        "[链接](/x/)",
        "甲\n---",
        "甲\n===",
        "***",
        "*斜体*",
        "## 标题\n紧接正文",
        "正文\n## 标题",
        "a & b",
        "<b>粗</b>",
        "　　首行缩进",
        "行末两空格  \n下一行",
        "术语\n: 定义",
        "脚注[^1]\n\n[^1]: 注",
        "**本 **",  # found by hypothesis: no bold around a trailing space
        "## #",  # found by hypothesis: a heading of only a closing hash
    ],
)
def test_anything_else_goes_to_python_markdown(source: str) -> None:
    assert plain_copy(source) is None
    assert MarkdownRenderer()(source).html == reference(source)


def test_the_benchmark_corpus_is_plain_copy_and_identical() -> None:
    corpus = pytest.importorskip("bench.corpus")
    for index in range(300):
        body = corpus.make_article(1, index).body
        html = plain_copy(body)
        assert html is not None, body[:80]
        assert html == reference(body)


class _Text(str):
    """A str subclass with no __html__: escaped like any text."""


@pytest.mark.parametrize(
    "value",
    ["a&b", "<script>", '"q"', "it's", "纯文本 · 头发", "", "/zh-hant/2025-01-21/A01/", 12, 3.5, None,
     markupsafe.Markup("<b>x</b>"), _Text("<&>")],
)
def test_escape_text_is_markupsafe_escape(value: object) -> None:
    assert escape_text(value) == markupsafe.escape(value)
    assert type(escape_text(value)) in (str, markupsafe.Markup)


def test_templates_print_through_escape_text(tmp_path: Path) -> None:
    (tmp_path / "t.html").write_text("{{ v }}|{{ v | upper }}|{{ m }}|{% autoescape false %}{{ v }}{% endautoescape %}", encoding="utf-8")
    theme = Theme([tmp_path])
    assert "environment.escape_text(" in theme.env.compile("{{ v }}", raw=True)
    out = theme.env.get_template("t.html").render(v="<a href='x'>&\"</a>", m=markupsafe.Markup("<i>ok</i>"))
    assert out == (
        "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;|&lt;A HREF=&#39;X&#39;&gt;&amp;&#34;&lt;/A&gt;|<i>ok</i>|"
        "<a href='x'>&\"</a>"
    )


def test_compiled_templates_of_another_banmian_are_not_used(tmp_path: Path) -> None:
    templates, compiled = tmp_path / "templates", tmp_path / "compiled"
    templates.mkdir()
    (templates / "t.html").write_text("{{ v }}", encoding="utf-8")
    assert Theme([templates], compiled).env.get_template("t.html").render(v="<") == "&lt;"
    mine = sorted(p.name for p in compiled.iterdir())
    assert mine and all(name.startswith(code_digest()[:16]) for name in mine)
    # Another version's file, under its own name: removed, never read.
    (compiled / "0123456789abcdef-other.cache").write_bytes(b"not a template")
    assert Theme([templates], compiled).env.get_template("t.html").render(v="<") == "&lt;"
    assert sorted(p.name for p in compiled.iterdir()) == mine


class _Mapping(dict):  # type: ignore[type-arg]
    """A dict subclass: Jinja's own path, attributes first."""

    label = "attribute"


@pytest.mark.parametrize(
    "source",
    [
        "{{ d.title }}|{{ d.missing is defined }}|{{ d.missing }}",
        "{{ d.items() | list | length }}|{{ d.get('title') }}|{{ d.keys | string | truncate(17, end='') }}",
        "{{ d['items'] }}|{{ d.items is callable }}",
        "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
        "{{ s.label }}|{{ s.title }}|{{ s.missing is defined }}",
        "{{ o.title }}|{{ o.upper() }}|{{ n.real }}|{{ n.missing is defined }}",
    ],
)
def test_attributes_and_keys_are_found_as_jinja_finds_them(source: str) -> None:
    import jinja2

    theme = Theme([Path(__file__).resolve().parent.parent / "templates"])
    values = {"d": {"title": "标题", "items": "键"}, "s": _Mapping(title="子", label="键"), "o": "abc", "n": 3}

    def outcome(env: jinja2.Environment) -> tuple[str, str]:
        try:
            return "page", env.from_string(source).render(values)
        except jinja2.UndefinedError as error:  # a missing key printed: the same error, the same words
            return "error", str(error)

    assert outcome(theme.env) == outcome(jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined))


def test_an_issues_paths_are_those_of_its_own_pages_jobs(tmp_path: Path) -> None:
    """A rebuild keeps an unchanged issue's files by Renderer.issue_paths,
    without listing its jobs: the two must name the same files."""
    from banmian.cache import BuildCache
    from banmian.pipeline import BuildOptions, load_site
    from sitekit import copy_fixture

    source = copy_fixture("paper", tmp_path)
    site = load_site(BuildOptions(source=source, output=tmp_path / "unused"), BuildCache()).site
    renderer = Renderer(site, Theme([source / "templates"]), {}, "build")
    for issue in site.issues:
        own = [job.path for job in renderer.jobs([issue]) if job.kind in ("issue", "page", "article")]
        assert sorted(renderer.issue_paths(issue)) == sorted(own) and len(own) == len(set(own))
    # Every job of the whole site is the site's own or one issue's.
    every = [job.path for job in renderer.jobs()]
    by_issue = [path for issue in site.issues for path in renderer.issue_paths(issue)]
    assert set(by_issue) <= set(every) and len(every) - len(by_issue) == 2 * 4 + 2
