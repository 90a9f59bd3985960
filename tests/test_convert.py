import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import banmian.convert
from banmian.convert import Converter

HANT = Converter("s2tw", "zh-Hant")


def test_source_edition_is_identity() -> None:
    hans = Converter(None, "zh-Hans")
    assert hans.identity and hans.html("<p>头发</p>") == "<p>头发</p>"


def test_phrase_split_by_inline_markup_is_converted_whole() -> None:
    assert HANT.html("<p>他的头<strong>发</strong>很长</p>") == "<p>他的頭<strong>髮</strong>很長</p>"
    assert HANT.html("<p>头<em>发</em></p><p>发展</p>") == "<p>頭<em>髮</em></p><p>發展</p>"


def test_block_elements_end_a_run() -> None:
    # 头 | 发 in separate paragraphs are not a phrase: 发 alone is 發.
    assert HANT.html("<p>头</p><p>发</p>") == "<p>頭</p><p>發</p>"


def test_code_scripts_and_urls_untouched() -> None:
    html = '<p><a href="/zh-hant/发展/">发展</a><code>发</code></p><script>var s="发";</script><pre>头发</pre>'
    assert HANT.html(html) == '<p><a href="/zh-hant/发展/">發展</a><code>发</code></p><script>var s="发";</script><pre>头发</pre>'


def test_other_edition_lang_and_translate_no_untouched() -> None:
    html = '<html lang="zh-Hant"><p><a lang="zh-Hans" title="简体版">简体</a> 里面 <span translate="no">发</span></p>'
    assert HANT.html(html) == '<html lang="zh-Hant"><p><a lang="zh-Hans" title="简体版">简体</a> 裡面 <span translate="no">发</span></p>'


def test_visible_attributes_converted_others_not() -> None:
    html = '<img alt="头发" src="发.png" data-x="发"><input placeholder="搜索发展"><meta name="description" content="发展"><meta name="keywords" content="发展">'
    assert HANT.html(html) == '<img alt="頭髮" src="发.png" data-x="发"><input placeholder="搜索發展"><meta name="description" content="發展"><meta name="keywords" content="发展">'


def test_length_changing_config_falls_back_per_piece() -> None:
    twp = Converter("s2twp", "zh-Hant")
    out = twp.html("<p>插上<b>U盘</b>和鼠标</p>")
    assert out.startswith("<p>") and "<b>" in out and "</b>" in out
    assert "滑鼠" in out


def test_entities_and_comments_survive() -> None:
    assert HANT.html("<!-- 注释 --><p>&lt;发&gt; &amp; 里</p>") == "<!-- 注释 --><p>&lt;發&gt; &amp; 裡</p>"


def _whole_page(converter: Converter, html: str) -> str:
    """The page read at once and tag by tag, with none of the short ways for
    common lines: what the line-wise reader must equal."""
    from banmian.convert import NO_SKIP, SPLIT, _finish, _read_tags, _Reading

    parts = SPLIT.split(html)
    del parts[2::3]  # the element names
    reading = _Reading(html, parts)
    _read_tags(converter, reading, NO_SKIP, strict=False)
    _finish([reading], converter)
    return reading.result


PAGE = """<!DOCTYPE html>
<html lang="zh-Hant">
<head>
<meta name="description" content="头发很长">
<title>头发 · 报纸</title>
<script>
var s = "发";
</script>
</head>
<body>
<p>他的头<strong>发</strong>
很长，<em>里面</em>的发展</p>
<pre>头发
  发展
</pre>
<a lang="zh-Hans" href="/zh-hans/">简体
中文</a>
<p title="头发">后面</p>
    <h1>头发</h1>
  <p lang="zh-Hans">头发</p>
  <code>头发</code>
<p>头发</p>
<pre>
<p>头发</p>
</pre>
</body>
</html>
"""


def test_pages_read_line_by_line_equal_pages_read_whole() -> None:
    converter = Converter("s2tw", "zh-Hant")
    expected = _whole_page(converter, PAGE)
    assert converter.html(PAGE) == expected
    assert converter.html(PAGE) == expected  # again, from remembered lines
    assert "var s = \"发\";" in expected and "<pre>头发\n  发展\n</pre>" in expected
    assert "简体\n中文" in expected and "頭<strong>髮</strong>" in expected


def test_lines_of_one_element_take_the_short_way_exactly() -> None:
    # Indented, in another edition's lang, code, inside <pre>: each as read whole.
    converted = Converter("s2tw", "zh-Hant").html(PAGE)
    assert "    <h1>頭髮</h1>\n  <p lang=\"zh-Hans\">头发</p>\n  <code>头发</code>\n<p>頭髮</p>\n<pre>\n<p>头发</p>" in converted
    # A config that changes lengths: the paragraph is converted on its own.
    twp = Converter("s2twp", "zh-Hant")
    page = "<p>插上U盘和鼠标</p>\n" * 9
    assert twp.html(page) == _whole_page(Converter("s2twp", "zh-Hant"), page)
    assert "滑鼠" in twp.html(page)


def test_a_tag_cut_by_a_line_break_falls_back_to_the_whole_page() -> None:
    converter = Converter("s2tw", "zh-Hant")
    page = PAGE.replace('<p title="头发">', '<p data-x="头发"\n   title="头发">')
    converted = converter.html(page)
    assert converted == _whole_page(converter, page)
    assert 'data-x="头发"' in converted and 'title="頭髮"' in converted


def test_a_batch_of_pages_equals_each_page_alone() -> None:
    cut = PAGE.replace('<p title="头发">', '<p data-x="头发"\n   title="头发">')
    pages = [PAGE, cut, PAGE.replace("后面", "前面"), "<p>发</p>", "ascii only"]
    alone = [_whole_page(Converter("s2tw", "zh-Hant"), page) for page in pages]
    assert Converter("s2tw", "zh-Hant").html_many(pages) == alone
    # A page that falls back to whole reading shares lines with the others.
    assert Converter("s2tw", "zh-Hant").html_many([cut, PAGE, cut]) == [alone[1], alone[0], alone[1]]


def test_attribute_values_are_converted_with_the_batch() -> None:
    page = '<p title="头发" data-x="发">发</p>\n' * 10 + '<img alt="\ue001发\ue001" src="x.png">\n'
    converter = Converter("s2tw", "zh-Hant")
    assert converter.html_many([page, page]) == [_whole_page(Converter("s2tw", "zh-Hant"), page)] * 2
    assert 'title="頭髮" data-x="发">發</p>' in converter.html(page)
    assert 'alt="\ue001發\ue001"' in converter.html(page)  # a mark-like character is kept as written



def _page(*lines: str) -> str:
    """A page of these lines in the chrome every page has (enough lines to be read line by line)."""
    return "\n".join(("<!DOCTYPE html>", '<html lang="zh-Hant">', "<head>", *lines, "</body>", "</html>", ""))


def _line_wise_is_whole_page(config: str, *pages: str) -> list[str]:
    """Each page read line by line (twice: then from remembered lines) as read whole."""
    expected = [_whole_page(Converter(config, "zh-Hant"), page) for page in pages]
    converter = Converter(config, "zh-Hant")
    assert converter.html_many(pages) == expected
    assert converter.html_many(pages) == expected
    assert [converter.html(page) for page in pages] == expected
    return expected


def test_meta_lines_take_the_short_way_exactly() -> None:
    page = _page(
        '<meta name="description" content="头发很长">',
        '<meta property="og:title" content="插上U盘和鼠标">',
        '  <meta name="citation_title" content="里面">',
        '<meta name="keywords" content="头发">',  # not shown to readers
        '<meta name="description" content="ascii only">',
        # The long way: another edition's lang, translate, quotes, marks.
        '<meta lang="zh-Hans" name="description" content="头发">',
        '<meta name="description" content="头发" translate="no">',
        "<meta name='description' content='头发'>",
        '<meta name="description" content="头发\ue000里面">',
        '<meta name="description" content="\ue0010\ue001头发">',
        '<meta name="description" content="头发"><p>头发</p>',
    )
    converted, = _line_wise_is_whole_page("s2tw", page)
    assert '<meta name="description" content="頭髮很長">' in converted
    assert '  <meta name="citation_title" content="裡面">' in converted
    assert '<meta name="keywords" content="头发">' in converted
    assert '<meta lang="zh-Hans" name="description" content="头发">' in converted
    assert '<meta name="description" content="头发" translate="no">' in converted
    assert "<meta name='description' content='頭髮'>" in converted
    assert '<meta name="description" content="頭髮\ue000裡面">' in converted
    assert '<meta name="description" content="\ue0010\ue001頭髮">' in converted
    twp, = _line_wise_is_whole_page("s2twp", page)
    assert '<meta property="og:title" content="插上隨身碟和滑鼠">' in twp


def test_lines_of_ordinary_elements_take_the_short_way_exactly() -> None:
    page = _page(
        '<p class="kicker">头</p>    <h1>发</h1>',  # a block between: 头 | 发, not 头发
        '<li><a href="/发/"><b>A01</b> 他的头<strong>发</strong></a></li>',
        '<p class="byline"><span>记者 头</span><span><time datetime="2025">发</time> · <a href="/发/">里面</a></span></p>',
        '<p title="头发">里面</p><img alt="头发" src="发.png"><br>发展',
        "<p>插上<b>U盘</b>和鼠标</p><p>U盘</p>",
        "<p>头\ue000发</p><b>\ue001发</b><b>\ue0010\ue001</b>",
        # The long way: a comment, skipped elements, lang, translate, names
        # as written in capitals or unknown, "lang" in the text, a > in it.
        "<p>头<!-- 注释 -->发</p><p>发</p>",
        "<p>头<code>发</code>发</p><p>发</p>",
        '<p lang="zh-Hans">头发</p><p>头发</p>',
        '<p>头</p><span translate="no">发</span>发',
        "<P>头发</P><p>发</p>",
        "<my-el>头<b>发</b></my-el><p>发</p>",
        "<p>language 头</p><b>发</b>",
        '<p title="a>b">头发</p><b>发</b>',
    )
    converted, = _line_wise_is_whole_page("s2tw", page)
    assert '<p class="kicker">頭</p>    <h1>發</h1>' in converted
    assert '<li><a href="/发/"><b>A01</b> 他的頭<strong>髮</strong></a></li>' in converted
    assert '<p title="頭髮">裡面</p><img alt="頭髮" src="发.png"><br>發展' in converted
    assert "<p>頭<code>发</code>發</p>" in converted
    assert '<p lang="zh-Hans">头发</p><p>頭髮</p>' in converted
    assert '<span translate="no">发</span>' in converted
    twp, = _line_wise_is_whole_page("s2twp", page)
    assert "<p>隨身碟</p>" in twp and "滑鼠" in twp


def test_the_short_way_knows_elements_as_the_long_way_does() -> None:
    from banmian.convert import BOUNDARIES, INLINE_ELEMENTS, SKIP_ELEMENTS

    assert all(name == name.lower() and name not in SKIP_ELEMENTS for name in BOUNDARIES)
    assert all(ends == (name not in INLINE_ELEMENTS) for name, ends in BOUNDARIES.items())
    assert INLINE_ELEMENTS <= BOUNDARIES.keys()


def test_a_skipped_element_over_lines_ignores_remembered_lines() -> None:
    converter = Converter("s2tw", "zh-Hant")
    known = _page("<p>头发</p>", "<li><a>头</a><b>发</b></li>", '<meta name="description" content="头发">')
    converter.html(known)  # every line of it now remembered
    page = _page(
        "<pre>",
        "<p>头发</p>",
        "</pre><p>头发</p>",
        '<div lang="zh-Hans"><li><a>头</a><b>发</b></li>',
        '<meta name="description" content="头发">',
        "</div>",
        "<script>",
        "<li><a>头</a><b>发</b></li>",
        "</script><li><a>头</a><b>发</b></li>",
    )
    converted = converter.html(page)
    assert converted == _whole_page(Converter("s2tw", "zh-Hant"), page)
    assert "<pre>\n<p>头发</p>\n</pre><p>頭髮</p>" in converted
    assert '<div lang="zh-Hans"><li><a>头</a><b>发</b></li>\n<meta name="description" content="头发">' in converted
    assert "<script>\n<li><a>头</a><b>发</b></li>\n</script><li><a>頭</a><b>髮</b></li>" in converted


def test_a_tag_cut_in_a_line_of_elements_falls_back_to_the_whole_page() -> None:
    page = _page('<p>头</p><a title="头发"', 'href="/">发</a>', "<p>里面</p>")
    converted, = _line_wise_is_whole_page("s2tw", page)
    assert '<a title="頭髮"\nhref="/">發</a>' in converted


# Pieces of pages, as templates write them and as they should never be:
# phrases across inline markup, blocks, skipped elements and lang or
# translate opened on one line and closed on another, comments, visible
# attributes and <meta>, names in capitals, tags cut by a line break,
# private-use characters (the batch separator and the value mark), and
# text that converts to another length under s2twp (U盘 → 隨身碟).
_TEXTS = ["头", "发", "头发", "发展", "里面", "U盘", "鼠标", " ", "lang", "\ue000", "\ue001", "\ue0010\ue001", "&lt;", "a > b"]
_TAGS = [
    "<p>", "</p>", '<p class="kicker">', "<h1>", "</h1>", "<li>", "</li>", "<br>", "<div>", "</div>",
    "<b>", "</b>", "<strong>", "</strong>", '<a href="/发/">', "</a>", '<time datetime="2025">', "</time>",
    "<span>", "</span>", '<span lang="zh-Hans">', '<span translate="no">', '<div lang="zh-Hant">',
    "<code>", "</code>", "<pre>", "</pre>", "<script>", "</script>", "<P>", "</P>", "<my-el>", "</my-el>",
    "<!-- 头发 -->", '<img alt="头发" src="发.png">', '<p title="头发">', '<abbr title="U盘">',
    '<meta name="description" content="头发">', '<meta property="og:title" content="U盘里面">',
    '<meta name="keywords" content="头发">', '<a data-x="头发"\n title="头发">', "<p\n>",
]
_line = st.lists(st.sampled_from(_TEXTS + _TAGS), max_size=6).map("".join)
_chrome = st.sampled_from(["<p>头发</p>", "<li><b>A01</b> 里面</li>", '<meta name="description" content="头发">', "</div>", ""])
# Whole pages, read line by line, and fragments of a line or two, read whole.
_pages = st.lists(
    st.lists(_line | _chrome, min_size=6, max_size=14).map(lambda lines: _page(*lines))
    | st.lists(_line, min_size=1, max_size=2).map("\n".join),
    min_size=1,
    max_size=3,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_pages, st.sampled_from(["s2tw", "s2twp"]))
def test_any_page_read_line_by_line_equals_it_read_tag_by_tag(pages: list[str], config: str) -> None:
    _line_wise_is_whole_page(config, *pages)


def test_load_reads_the_dictionaries_once_before_use() -> None:
    from banmian.convert import TWO_STEPS_FROM
    from banmian.opencc_steps import opencc_for

    Converter(None, "zh-Hans").load()  # the source edition has none to load
    opencc_for.cache_clear()
    converter = Converter("s2tw", "zh-Hant")
    converter.load()
    loaded = opencc_for.cache_info().misses
    assert loaded >= 1
    assert converter.text("头发") == "頭髮"
    assert converter.text("头发\n" * TWO_STEPS_FROM) == "頭髮\n" * TWO_STEPS_FROM  # the long way, in two steps
    assert opencc_for.cache_info().misses == loaded


@given(st.lists(st.text(alphabet="头发里面后台干净著名了解乾隆髮型 ab\n\ue000", max_size=12), max_size=20))
@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
def test_many_texts_at_once_equal_each_alone(texts: list[str]) -> None:
    converter = Converter("s2tw", "zh-Hant")
    found = converter.many(texts)
    assert found == {text: Converter("s2tw", "zh-Hant").text(text) for text in texts}
    # The short ones are remembered: asked again, they are not converted again.
    assert all(converter.memo[text] == found[text] for text in texts if text and len(text) <= 160)


def test_memo_is_cleared_when_full_and_remembers_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # Most short runs never recur: a memo that kept its first MEMO_SIZE held
    # 22 MB at 10,000 articles, a tenth of it ever asked again.
    monkeypatch.setattr(banmian.convert, "MEMO_SIZE", 4)
    converter = Converter("s2tw", "zh-Hant")
    batches = [["头发", "发展", "后台"], ["干净", "著名", "了解"], ["里面", "头发"]]
    for batch in batches:
        found = converter.many(batch)
        assert found == {text: Converter("s2tw", "zh-Hant").text(text) for text in batch}
        assert len(converter.memo) <= 4 + len(batch)
        assert all(text in converter.memo for text in batch)  # what was just asked is remembered
    assert "发展" not in converter.memo  # cleared with the first batches
    for text in ["早", "晚", "头发", "面"]:
        assert converter.remembered(text) == Converter("s2tw", "zh-Hant").text(text)
        assert len(converter.memo) <= 5 and converter.memo[text] == converter.remembered(text)
