"""Properties that must hold for any input, not just the examples we thought of."""

from __future__ import annotations

import json
import re
import unicodedata

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from banmian.convert import Converter
from banmian.load import (
    FRONT_MATTER_KEYS,
    Entry,
    Items,
    Scalar,
    parse_article,
    simple_entries,
    split_front_matter,
    tag_of,
    yaml_entries,
)
from banmian.slugs import _HAN, SLUG_MAX, _ascii_fold, _segmenter, _split_compound, slugify, with_suffix

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text a desk might type, and text nobody would: Han (common and rare
# planes), kana, Latin with accents, digits, punctuation, emoji, controls.
CHINESE = "重庆银行行长谈长江经济带发展青海湖头发干部乐队绿色算力女足的了着"
desk_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(CHINESE),
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.characters(min_codepoint=0x20000, max_codepoint=0x2A6DF),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=80,
)


# -- slugs -----------------------------------------------------------------------------
@SETTINGS
@given(desk_text)
@example("")
@example("🎉🎉🎉")
@example("———")
@example("Ⅻ ½ ﬁ")
@example("重庆" * 80)
@example("a" * 200)
def test_slug_is_always_a_short_ascii_slug(title: str) -> None:
    slug = slugify(title)
    assert SLUG.match(slug), slug
    assert 0 < len(slug) <= SLUG_MAX


@SETTINGS
@given(desk_text, st.integers(min_value=2, max_value=10_000))
def test_suffixed_slug_stays_a_slug(title: str, n: int) -> None:
    suffixed = with_suffix(slugify(title), n)
    assert SLUG.match(suffixed) and len(suffixed) <= SLUG_MAX
    assert suffixed.endswith(f"-{n}")


@SETTINGS
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
@example("Café Ⅻ ﬁ ñ 重庆 e\u0301 \u302a")
def test_ascii_fold_drops_exactly_the_combining_marks(text: str) -> None:
    decomposed = unicodedata.normalize("NFKD", text)
    assert _ascii_fold(text) == "".join(c for c in decomposed if not unicodedata.combining(c))


def _split_by_recursion(word: str) -> list[str]:
    """_split_compound() by its definition: a depth-first search, two-character words first."""
    if len(word) < 4 or not all(_HAN.match(c) for c in word):
        return [word]
    jieba = _segmenter()

    def cover(start: int) -> tuple[str, ...] | None:
        if start == len(word):
            return ()
        for size in (2, 3):
            piece = word[start : start + size]
            if len(piece) == size and jieba.has_word(piece):
                rest = cover(start + size)
                if rest is not None:
                    return (piece, *rest)
        return None

    parts = cover(0)
    return list(parts) if parts else [word]


# Dictionary words and single characters, so that many compounds can be split.
compound_piece = st.sampled_from(
    ["银行", "行长", "中国", "联通", "重庆", "长江", "经济", "经济带", "发展", "青海湖", "头发", "干部", "乐队",
     "绿色", "算力", "女足", "人民", "代表", "大会", "长", "行", "的", "a"]
)


@SETTINGS
@given(st.lists(compound_piece, max_size=6).map("".join))
@example("银行行长")
@example("中国联通")
def test_compounds_split_as_by_their_definition(word: str) -> None:
    assert _split_compound(word) == _split_by_recursion(word)


# -- front matter --------------------------------------------------------------------------
@SETTINGS
@given(st.binary(max_size=400))
def test_any_bytes_give_an_article_or_problems_never_an_exception(raw: bytes) -> None:
    article, problems = parse_article(raw, "content/x.md", "digest")
    assert article is not None or any(p.severity == "error" for p in problems)
    assert all(p.path == "content/x.md" for p in problems)


yaml_ish = st.text(alphabet=st.sampled_from(list(":-[]{}#&*!|>'\"%@`,? \t\n") + list("标题ab1")), max_size=60)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from([*FRONT_MATTER_KEYS, "titel", "x"]), yaml_ish), max_size=8), desk_text)
def test_any_front_matter_text_gives_an_article_or_problems(pairs: list[tuple[str, str]], body: str) -> None:
    front = "".join(f"{key}: {value}\n" for key, value in pairs)
    raw = f"---\n{front}---\n{body}".encode("utf-8", "surrogatepass")
    article, problems = parse_article(raw, "content/x.md", "digest")
    assert article is not None or any(p.severity == "error" for p in problems)
    lines = raw.count(b"\n") + 1
    assert all(p.line is None or 1 <= p.line <= lines for p in problems)


# YAML itself refuses U+FFFE and U+FFFF (load reports it as a YAML error, with its line).
single_line = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\ufffe\uffff"),
    min_size=1,
    max_size=60,
)


@SETTINGS
@given(single_line, single_line, st.sampled_from(["A01", "B12", "01"]), st.booleans())
def test_valid_front_matter_round_trips(title: str, kicker: str, page: str, draft: bool) -> None:
    assume(title.split())  # a blank title is an error, tested elsewhere
    # JSON strings are YAML double-quoted scalars: any title can be written so.
    raw = (
        f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\nkicker: {json.dumps(kicker, ensure_ascii=False)}\ndate: 2025-01-21\n"
        f"page: {json.dumps(page)}\ndraft: {str(draft).lower()}\n---\n正文\n"
    ).encode("utf-8")
    article, problems = parse_article(raw, "content/x.md", "digest")
    assert problems == [] and article is not None
    assert article.title == " ".join(title.split())
    assert article.kicker == " ".join(kicker.split())
    assert (article.page, article.draft, article.body, article.body_line) == (page, draft, "正文\n", 8)
    assert article.lines == {"title": 2, "kicker": 3, "date": 4, "page": 5, "draft": 6}


# The fast reader of simple front matter must give what PyYAML gives, or
# nothing (and leave the front matter to PyYAML). Values are drawn from what
# desks type and from what YAML treats specially: indicators, quotes, colons,
# hashes, spaces, tabs, other line breaks, invisible characters, words YAML
# reads as null or booleans.
YAML_SPECIAL = list(":-[]{}#&*!|>'\"%@`,?~ \t\r\x85\u2028\u3000\xa0\ufeff\u200b\x00") + list("标题ab1 ")
yaml_value = st.one_of(
    st.sampled_from(
        ["yes", "No", "off", "y", "~", "null", "NULL", "", "2025-01-21", "A01", "01", "3", "-1", "0x1F", "1e3",
         "[a, b]", "[莫昌伟, 薛军]", "[ a ,b ]", "[a,]", "[a,,b]", "[]", "[ ]", "[~, null]", "[a, [b]]", "[a b, c-d]",
         "'it''s'", "''", "'", "'a' b'", "' 空 '", "'a'''", "\"quoted\"", "&x a", "*x", "!!str yes", "|", "> a",
         "a: b", "a:b", "a:", "a #b", "a#b", "#c", "- a", "-a", "? a", "%a", "@a", "a\tb", "a\u2028b", "<<", "="]
    ),
    st.text(alphabet=st.sampled_from(YAML_SPECIAL), max_size=12),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
    desk_text,
)
yaml_key = st.one_of(
    st.sampled_from([*FRONT_MATTER_KEYS, "reporters", "x", "Title", "_k", "k1", "null", "yes"]),
    st.sampled_from(["1x", "a b", "a-b", "题", " title", "title ", "?", "-", "'t'", ""]),
)
yaml_line = st.tuples(
    yaml_key,
    st.sampled_from([": ", ":  ", ":", " : ", ":\t", ": \t"]),
    yaml_value,
    st.sampled_from(["", " ", "  ", "\t", " # note"]),
    st.sampled_from(["\n", "\n", "\n", "\r\n", "\r"]),
)


def _agreed(entries: list[Entry]) -> list[object]:
    """Entries with every tag resolved, as PyYAML resolves it."""

    def node(value: object) -> object:
        if isinstance(value, Scalar):
            return ("scalar", value.value, value.line, tag_of(value))
        if isinstance(value, Items):
            return ("list", value.line, [node(item) for item in value.items])
        return value

    return [(key, line, node(value)) for key, line, value in entries]


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(yaml_line, max_size=6), st.sampled_from(["", "\n", " \n", "# c\n", "  more\n"]))
@example([("title", ": ", "标题", "", "\n"), ("reporter", ": ", "[a, b]", "", "\r\n"), ("draft", ": ", "no", "  ", "\n")], "")
def test_simple_front_matter_reader_agrees_with_yaml(lines: list[tuple[str, str, str, str, str]], tail: str) -> None:
    front = "".join("".join(parts) for parts in lines) + tail
    fast = simple_entries(front, 2)
    if fast is None:
        return  # left to PyYAML
    slow = yaml_entries(front, 2)
    assert slow is not None and _agreed(fast) == _agreed(slow)


def test_simple_front_matter_reader_takes_what_banmian_writes() -> None:
    """The agreement above is not vacuous: common front matter is read fast."""
    front = (
        "title: 以懂青海爱青海兴青海的担当情怀 为现代化新青海建设建言献策\ndate: 2025-01-21\npage: A01\n"
        "reporter: [莫昌伟, 薛军]\nrole: 特约记者\norder: 1\ndraft: false\nslug: 'x-y'\n"
    )
    for text in (front, front.replace("\n", "\r\n")):
        fast, slow = simple_entries(text, 2), yaml_entries(text, 2)
        assert fast is not None and slow is not None and _agreed(fast) == _agreed(slow)


def _split_by_lines(text: str) -> tuple[str, int, str, int] | None:
    """split_front_matter() by its definition: every line of the text."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            return "".join(lines[1:index]), 2, "".join(lines[index + 1 :]), index + 2
    return None


line_piece = st.sampled_from(
    ["---", "...", "\n", "\r", "\r\n", " ", "a", "标", "\x0b", "\x1c", "\u2028", "\x85", "---\n", "k: v\n"]
)


@SETTINGS
@given(st.lists(st.one_of(line_piece, st.integers(1, 5000).map(lambda n: " " * n)), max_size=40), st.booleans())
def test_front_matter_is_split_as_by_every_line(pieces: list[str], fenced: bool) -> None:
    # Long runs put the first lines' ends on either side of where the head is cut.
    text = ("---\n" if fenced else "") + "".join(pieces)
    assert split_front_matter(text) == _split_by_lines(text)


# -- conversion ---------------------------------------------------------------------------
HANT = Converter("s2tw", "zh-Hant")
HANT_PHRASES = Converter("s2twp", "zh-Hant")  # changes lengths: 软件 → 軟體, U盘 → 隨身碟
TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\"[^\"]*\"|'[^']*'|[^'\">])*)>")
ATTR = re.compile(r'\s([a-z-]+)="([^"]*)"')
VISIBLE = {"title", "alt", "placeholder", "aria-label"}

text_run = st.text(alphabet=st.sampled_from(CHINESE + "软件U盘发头 &;<>\"'abc\n"), max_size=12).map(
    lambda t: t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
)
attribute = st.tuples(st.sampled_from(["href", "title", "class", "alt", "lang", "data-x"]), text_run).map(
    lambda kv: f' {kv[0]}="{kv[1].replace(chr(34), "&quot;")}"'
)


@st.composite
def html_fragments(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        choice = draw(st.integers(0, 3 if depth < 3 else 1))
        if choice <= 1:
            parts.append(draw(text_run))
        elif choice == 2:
            name = draw(st.sampled_from(["p", "a", "strong", "em", "code", "script", "span", "div", "pre", "h1"]))
            attrs = "".join(draw(st.lists(attribute, max_size=2)))
            parts.append(f"<{name}{attrs}>{draw(html_fragments(depth + 1))}</{name}>")
        else:
            parts.append(draw(st.sampled_from(["<br>", '<img src="/发.png" alt="头发">', "<!-- 发 -->", "<hr/>"])))
    return "".join(parts)


def structure(html: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Tags in order, with every attribute value a reader does not see."""
    return [
        (closing, name, [(k, v if k not in VISIBLE else "") for k, v in ATTR.findall(attrs)])
        for closing, name, attrs in TAG.findall(html)
    ]


@SETTINGS
@given(st.text(max_size=300))
def test_converting_any_text_never_raises(text: str) -> None:
    for converter in (HANT, HANT_PHRASES):
        assert isinstance(converter.html(text), str)


@SETTINGS
@given(html_fragments())
def test_conversion_preserves_markup_structure(html: str) -> None:
    for converter in (HANT, HANT_PHRASES):
        converted = converter.html(html)
        assert structure(converted) == structure(html)
        # Text outside markup changes only where OpenCC changes it: same run count.
        assert len(TAG.split(converted)) == len(TAG.split(html))


@SETTINGS
@given(html_fragments())
def test_code_and_scripts_are_never_converted(html: str) -> None:
    wrapped = f"<p>发</p><code>{html.replace('<', '&lt;')}</code><script>var s = '头发';</script>"
    converted = HANT.html(wrapped)
    assert converted.endswith(f"<code>{html.replace('<', '&lt;')}</code><script>var s = '头发';</script>")
