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
    """The page read at once, as the line-wise reader must equal."""
    from banmian.convert import NO_SKIP, _finish, _read

    reading = _read(converter, html, NO_SKIP, strict=False)
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

