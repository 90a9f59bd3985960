"""The search index builder and the query normaliser (banmian/search.py)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from array import array
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from banmian import search
from banmian.pipeline import BuildOptions, build

FIXTURE = Path(__file__).parent / "fixtures" / "search"


# -- postings ---------------------------------------------------------------------
@given(st.lists(st.integers(min_value=0, max_value=200_000), unique=True).map(sorted))
@settings(max_examples=200)
def test_postings_round_trip(ids: list[int]) -> None:
    assert search.decode_postings(search.encode_postings(ids)) == ids


def test_dense_postings_become_a_bitmap_and_stay_small() -> None:
    every_other = list(range(0, 10_000, 2))
    encoded = search.encode_postings(every_other)
    assert encoded.startswith("=")
    assert len(encoded) <= 10_000 // 6 + 2  # ~1 bit per document
    assert search.decode_postings(encoded) == every_other


def test_sparse_postings_are_gaps() -> None:
    # gaps 6, 95, 4900 are stored minus one, in base 32; a letter below 32 ends a number
    assert search.encode_postings([5, 100, 5000]) == search._varint(5) + search._varint(94) + search._varint(4899)
    assert search._varint(5) == "F" and search._varint(94) == "ie"  # 94 = 2·32 + 30: "i" (32+2, more follows), "e" (30)
    assert search.encode_postings([0, 1, 2]) == "=Bw"  # three in a row: the bitmap 0b111 is shorter


@given(st.lists(st.lists(st.integers(min_value=0, max_value=3000), unique=True).map(sorted), min_size=1, max_size=4), st.integers(0, 3000))
@settings(max_examples=200)
def test_postings_as_arrays_or_masks_unite_join_and_encode_alike(parts: list[list[int]], cut: int) -> None:
    everything = sorted(set().union(*parts))
    # Every other part as a mask: a union of any mix is the same documents, encoded the same.
    mixed = [search._as_mask(ids) if n % 2 else array("I", ids) for n, ids in enumerate(parts)]
    united = search._union(mixed)
    assert list(search._ids_of(united)) == everything
    assert search._encode(united) == search.encode_postings(everything)
    assert search._mask_ids(search._as_mask(everything)) == everything
    # Two consecutive ranges of documents, each as either kind.
    before, after = [i for i in everything if i < cut], [i for i in everything if i >= cut]
    for kinds in ((array, array), (array, int), (int, array), (int, int)):
        pieces = [array("I", ids) if kind is array else search._as_mask(ids) for kind, ids in zip(kinds, (before, after))]
        joined = search._joined(*pieces)
        assert list(search._ids_of(joined)) == everything
        assert search._same(joined, array("I", everything)) and search._same(search._as_mask(everything), joined)


def test_a_term_in_many_documents_becomes_a_mask() -> None:
    common, rare = array("I", range(0, 640, 2)), array("I", [7, 300])
    assert search._compact(common, 640) == search._as_mask(common)  # 320 of 640 documents
    assert search._compact(rare, 640) is rare


# -- terms -----------------------------------------------------------------------------
def words(text: str) -> set[str]:
    return {t for t in map(search.term_text, search.han_terms(text)) if t}


def test_han_terms_are_every_bigram_and_character_within_runs() -> None:
    assert words("人才荟萃，创新") == {"人", "才", "荟", "萃", "创", "新", "人才", "才荟", "荟萃", "创新"}
    assert "萃创" not in words("人才荟萃，创新")  # punctuation separates
    assert words("绿色GPU算力") == {"绿", "色", "算", "力", "绿色", "算力"}
    assert words("") == set()
    assert words("年") == {"年"}


@given(st.text(alphabet="人才荟萃创新绿色算力青海湖，。 ab5", max_size=40))
def test_every_substring_of_two_han_characters_is_a_term(text: str) -> None:
    terms = words(text)
    for start in range(len(text) - 1):
        pair = text[start : start + 2]
        if all(search._HAN_RUN.match(c) for c in pair):
            assert pair in terms


def test_latin_terms_are_lowercased_words_and_numbers() -> None:
    text = search._nfkc_lower("COP29 与 5G、ＧＰＵ（全角）2025年")
    assert search.latin_terms(text) == {"cop29", "5g", "gpu", "2025"}


def test_pinyin_terms_cover_runs_inside_words_and_heteronyms() -> None:
    readings = search.pinyin_readings("青海湖绿色算力重庆", {})
    terms = search.pinyin_terms("青海湖绿色算力", readings)
    assert {"~qinghai", "~qinghaihu", "~lvse", "~lvsesuanli", "~sesuan"} <= terms
    assert "~qing" not in terms  # single syllables are too common to be worth it
    assert "~chongqing" in search.pinyin_terms("重庆", readings)


# -- folding and the query normaliser ---------------------------------------------------
@pytest.fixture(scope="module")
def folding() -> dict[str, str]:
    return search.fold_map(["s2tw"], [("着", "著")])


def test_traditional_and_simplified_fold_to_one_form(folding: dict[str, str]) -> None:
    assert search.normalise("綠色算力", folding) == search.normalise("绿色算力", folding) == "绿色算力"
    assert search.normalise("頭髮", folding) == search.normalise("头发", folding)
    assert search.normalise("裡面", folding) == search.normalise("裏面", folding) == search.normalise("里面", folding)


def test_context_pairs_join_classes(folding: dict[str, str]) -> None:
    # Pairs seen in converted text (看着 → 看著) join their characters' classes.
    assert search.normalise("看著", folding) == search.normalise("看着", folding)
    joined = search.fold_map([], [("甲", "乙")])
    assert search.normalise("甲乙", joined) in ("甲甲", "乙乙")


def test_normalise_folds_width_and_case(folding: dict[str, str]) -> None:
    assert search.normalise("ＣＯＰ２９ Gpu", folding) == "cop29 gpu"


def test_every_edition_text_folds_to_the_source(folding: dict[str, str]) -> None:
    from banmian.convert import Converter

    source = "中国联通阿里云万卡绿色算力项目落地西宁，头发干燥，看着皇后面条"
    for config in ("s2t", "s2tw", "s2hk"):
        converted = Converter(config, "zh-Hant").text(source)
        pairs = list(zip(source, converted))
        fold = search.fold_map([config], pairs)
        assert search.normalise(converted, fold) == search.normalise(source, fold), config


# -- the built index ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("search-index")
    source = work / "paper"
    shutil.copytree(FIXTURE, source, ignore=shutil.ignore_patterns(".banmian-cache"))
    build(BuildOptions(source=source, output=work / "site", use_cache=False))
    return work / "site"


def load(site: Path, path: str) -> dict:
    return json.loads((site / "search" / path).read_text("utf-8"))


def lookup(site: Path, term: str) -> list[int]:
    manifest = load(site, "manifest.json")
    shard = load(site, f"terms/{search.shard_of(term, manifest['shards'])}.json")
    value = shard.get(term, "")
    return search.decode_postings(value if isinstance(value, str) else value[0])


def titles(site: Path, ids: list[int]) -> list[str]:
    return [load(site, f"doc/{i}.json")["e"]["zh-Hans"]["t"] for i in ids]


def test_every_search_file_is_json(built: Path) -> None:
    files = list((built / "search").rglob("*"))
    assert any(f.suffix == ".json" for f in files)
    for path in files:
        if path.is_file():
            json.loads(path.read_text("utf-8"))


def test_doc_files_are_written_as_the_json_encoder_writes_them(built: Path) -> None:
    # Doc files are put together by hand; their bytes must be those of the canonical encoder.
    for path in (built / "search" / "doc").glob("*.json"):
        assert path.read_bytes() == search._json(json.loads(path.read_bytes()))


def test_strings_are_escaped_as_the_json_encoder_escapes_them() -> None:
    for text in ('引号"与\\反斜杠', "换行\n制表\t", "\x00\x1f", "𠀀非基本平面", "</script>"):
        assert search._STRING(text).encode("utf-8") == search._json(text)


def test_drafts_are_never_indexed(built: Path) -> None:
    manifest = load(built, "manifest.json")
    assert manifest["docs"] == 6
    assert lookup(built, "紫罗") == []
    for i in range(manifest["docs"]):
        assert "紫罗兰" not in json.dumps(load(built, f"doc/{i}.json"), ensure_ascii=False)


def test_title_body_and_fields_are_indexed(built: Path) -> None:
    assert titles(built, lookup(built, "荟萃")) == ["高原科技城建设提速"]
    assert titles(built, lookup(built, "cop29")) == ["高原科技城建设提速"]
    assert set(titles(built, lookup(built, "莫昌"))) == {"青海湖裸鲤洄游季开启"}  # reporter
    assert titles(built, lookup(built, "摘登")) == ["中国联通·阿里云万卡绿色算力项目落地西宁"]  # 栏目
    assert len(lookup(built, "经济")) == 1  # 版名
    assert titles(built, lookup(built, "~lvsesuanli")) == ["中国联通·阿里云万卡绿色算力项目落地西宁"]
    assert len(lookup(built, "@a01")) == 4


def test_ids_are_in_date_order_and_head_postings_mark_title_hits(built: Path) -> None:
    dates = [load(built, f"doc/{i}.json")["d"] for i in range(6)]
    assert dates == sorted(dates)
    manifest = load(built, "manifest.json")
    shard = load(built, f"terms/{search.shard_of('西宁', manifest['shards'])}.json")
    every, head = shard["西宁"]
    head_ids = search.decode_postings(every) if head == "*" else search.decode_postings(head)
    assert set(titles(built, head_ids)) == {"中国联通·阿里云万卡绿色算力项目落地西宁", "西宁冬季供暖保障有力"}
    assert len(search.decode_postings(every)) == 3


def test_manifest_issue_calendar_is_compact_runs(built: Path) -> None:
    issues = load(built, "manifest.json")["issues"]
    # 2025-01-19: 1 article (the draft is not counted), 01-20: 2, 01-21: 3 — one day apart.
    assert issues == {"first": "2025-01-19", "runs": "AB" + "BC" + "BD"}


def test_documents_carry_each_editions_display_text(built: Path) -> None:
    doc = load(built, f"doc/{lookup(built, '头发')[0]}.json")
    assert doc["e"]["zh-Hant"]["t"] == "青海湖裸鯉洄游季開啟"
    assert doc["e"]["zh-Hant"]["u"].startswith("/zh-hant/2025-01-21/A01/")
    assert "头发頭髮" in doc["x"]["zh-Hant"]  # the context fix a snippet needs
    chars = load(built, "zh-hant/chars.json")["pairs"]
    assert "发發" in chars  # and the character default it overrides


def test_a_rebuild_after_editing_one_article_rewrites_only_what_it_touches(tmp_path: Path) -> None:
    source = tmp_path / "paper"
    shutil.copytree(FIXTURE, source, ignore=shutil.ignore_patterns(".banmian-cache"))
    output = tmp_path / "site"
    build(BuildOptions(source=source, output=output))
    before = {p: p.stat().st_mtime_ns for p in (output / "search").rglob("*.json")}
    edited = next(f"search/doc/{i}.json" for i in range(6) if load(output, f"doc/{i}.json")["p"] == "A05")
    article = source / "content" / "2025-01-20" / "A05" / "jingji.md"
    article.write_text(article.read_text("utf-8") + "\n新增一句关于氢能示范的话。\n", "utf-8")
    build(BuildOptions(source=source, output=output))
    after = {p: p.stat().st_mtime_ns for p in (output / "search").rglob("*.json")}
    assert before.keys() == after.keys()
    changed = {p.relative_to(output).as_posix() for p in after if after[p] != before[p]}
    manifest = load(output, "manifest.json")
    new_terms = {"氢能", "能示", "示范", "氢", "新增", "增一", "一句", "句关", "关于", "于氢", "范的", "的话"}
    touched_shards = {f"search/terms/{search.shard_of(t, manifest['shards'])}.json" for t in new_terms}
    assert edited in changed
    # 氢 is a new character: the fold map and character table may grow with it.
    assert changed <= touched_shards | {edited, "search/fold.json", "search/zh-hant/chars.json"}
    assert not any(p.startswith("search/doc/") and p != edited for p in changed)


def test_shard_count_grows_with_the_archive_not_the_shard_size() -> None:
    assert search._shard_count(1_000, None) == 1
    small = search._shard_count(600 * search.SHARD_TARGET, None)
    large = search._shard_count(6000 * search.SHARD_TARGET, None)
    assert large >= 8 * small
    assert search._shard_count(700 * search.SHARD_TARGET, small) == small  # kept: no mass rewrite


# -- incremental builds equal cold builds ------------------------------------------------
def _search_bytes(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted((site / "search").rglob("*.json"))}


def _edit_body(source: Path) -> None:
    article = source / "content" / "2025-01-20" / "A05" / "jingji.md"
    article.write_text(article.read_text("utf-8") + "\n新增一句关于氢能示范的话，头发也提到了。\n", "utf-8")


def _retitle(source: Path) -> None:
    article = source / "content" / "2025-01-20" / "A05" / "jingji.md"
    article.write_text(article.read_text("utf-8").replace("全省清洁能源装机", "全省风光电装机"), "utf-8")


def _delete(source: Path) -> None:
    (source / "content" / "2025-01-20" / "A05" / "jingji.md").unlink()


def _append_issue(source: Path) -> None:
    day = source / "content" / "2025-01-22" / "A01"
    day.mkdir(parents=True)
    text = (source / "content" / "2025-01-21" / "A02" / "rencai.md").read_text("utf-8")
    text = text.replace("2025-01-21", "2025-01-22").replace("A02", "A01")
    (day / "xinwen.md").write_text(text + "\n鄂陵湖畔新设观鸟站，頭髮花白的老站长说。\n", "utf-8")


@pytest.mark.parametrize("change", [_edit_body, _retitle, _delete, _append_issue])
def test_an_incremental_rebuild_equals_a_cold_build(tmp_path: Path, change) -> None:
    source, warm = _warm(tmp_path)
    before = _search_bytes(warm)
    change(source)
    build(BuildOptions(source=source, output=warm))
    cold = tmp_path / "cold"
    build(BuildOptions(source=source, output=cold, use_cache=False))
    after = _search_bytes(warm)
    assert after == _search_bytes(cold)
    assert after != before  # the change reached the index


def test_an_unchanged_rebuild_keeps_every_search_file(tmp_path: Path) -> None:
    source = tmp_path / "paper"
    shutil.copytree(FIXTURE, source, ignore=shutil.ignore_patterns(".banmian-cache"))
    output = tmp_path / "site"
    build(BuildOptions(source=source, output=output))
    before = {p: p.stat().st_mtime_ns for p in (output / "search").rglob("*.json")}
    build(BuildOptions(source=source, output=output))
    assert {p: p.stat().st_mtime_ns for p in (output / "search").rglob("*.json")} == before


def test_postings_edited_as_masks_encode_as_lists() -> None:
    for ids in ([0], [3, 70, 71, 5000], list(range(0, 300, 2)), list(range(40))):
        encoded = search.encode_postings(ids)
        assert search._mask(encoded) == sum(1 << i for i in ids)
        assert search._encode_mask(sum(1 << i for i in ids)) == encoded
    assert search._gap_ids(search.encode_postings([5, 100, 5000])) == [5, 100, 5000]


def test_a_body_edit_tokenises_one_article_and_updates_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "paper"
    shutil.copytree(FIXTURE, source, ignore=shutil.ignore_patterns(".banmian-cache"))
    build(BuildOptions(source=source, output=tmp_path / "site"))
    tokenised: list[str] = []
    rebuilt: list[int] = []
    article_terms, rebuild = search.article_terms, search._rebuild
    monkeypatch.setattr(search, "article_terms", lambda texts, *rest: tokenised.append(texts.title) or article_terms(texts, *rest))
    monkeypatch.setattr(search, "_rebuild", lambda *args: rebuilt.append(1) or rebuild(*args))
    _edit_body(source)
    build(BuildOptions(source=source, output=tmp_path / "site"))
    # The edited article only: its previous terms (read back from its doc file) and its new ones.
    assert tokenised == ["全省清洁能源装机突破六千万千瓦"] * 2 and rebuilt == []
    tokenised.clear()
    _append_issue(source)
    build(BuildOptions(source=source, output=tmp_path / "site"))
    assert len(tokenised) == 1 and rebuilt == []


def test_an_unchanged_rebuild_does_not_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "paper"
    shutil.copytree(FIXTURE, source, ignore=shutil.ignore_patterns(".banmian-cache"))
    build(BuildOptions(source=source, output=tmp_path / "site"))

    def fail(*args: object) -> None:
        raise AssertionError("indexed although nothing changed")

    monkeypatch.setattr(search, "_update", fail)
    monkeypatch.setattr(search, "_rebuild", fail)
    build(BuildOptions(source=source, output=tmp_path / "site"))


def _insert_article(source: Path) -> None:
    # An article in an issue before the last: every later id shifts by one.
    text = (source / "content" / "2025-01-20" / "A05" / "jingji.md").read_text("utf-8")
    text = text.replace("全省清洁能源装机突破六千万千瓦", "湟水河畔新添湿地公园").replace("order: 1", "order: 2")
    (source / "content" / "2025-01-20" / "A05" / "shidi.md").write_text(text + "\n看着白鹭飞过，市民说很惊喜。\n", "utf-8")


def _rename_page(source: Path) -> None:
    config = source / "newspaper.toml"
    config.write_text(config.read_text("utf-8").replace('A05 = "经济"', 'A05 = "经济·产业"'), "utf-8")


@pytest.mark.parametrize("change", [_insert_article, _rename_page])
def test_shifted_ids_and_renamed_pages_update_like_a_cold_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change) -> None:
    source, warm = _warm(tmp_path)
    change(source)
    rebuilt: list[int] = []
    rebuild = search._rebuild
    monkeypatch.setattr(search, "_rebuild", lambda *args: rebuilt.append(1) or rebuild(*args))
    build(BuildOptions(source=source, output=warm))
    cold = tmp_path / "cold"
    build(BuildOptions(source=source, output=cold, use_cache=False))
    assert _search_bytes(warm) == _search_bytes(cold)
    assert rebuilt == [1]  # the cold build only: the warm one was an update


def _warm(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the fixture paper, built once into <tmp>/warm: (the copy, the output)."""
    source = tmp_path / "paper"
    shutil.copytree(FIXTURE, source, ignore=shutil.ignore_patterns(".banmian-cache"))
    warm = tmp_path / "warm"
    build(BuildOptions(source=source, output=warm))
    return source, warm


def _doc_path(site: Path, page: str) -> Path:
    return next(p for p in (site / "search" / "doc").glob("*.json") if json.loads(p.read_bytes())["p"] == page)


def _count_rebuilds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    rebuilt: list[int] = []
    rebuild = search._rebuild
    monkeypatch.setattr(search, "_rebuild", lambda *args: rebuilt.append(1) or rebuild(*args))
    return rebuilt


def _cold(source: Path, tmp_path: Path) -> dict[str, bytes]:
    build(BuildOptions(source=source, output=tmp_path / "cold", use_cache=False))
    return _search_bytes(tmp_path / "cold")


def test_an_update_reads_the_old_doc_file_back_from_the_published_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, warm = _warm(tmp_path)
    read: list[int] = []
    published_doc = search._published_doc
    monkeypatch.setattr(search, "_published_doc", lambda folder, doc_id, doc_sum: read.append(doc_id) or published_doc(folder, doc_id, doc_sum))
    rebuilt = _count_rebuilds(monkeypatch)
    edited = int(_doc_path(warm, "A05").stem)
    _edit_body(source)
    build(BuildOptions(source=source, output=warm))
    assert read == [edited] and rebuilt == []  # the edited article's previous file only
    assert _search_bytes(warm) == _cold(source, tmp_path)


def test_a_doc_file_edited_by_hand_is_not_trusted_the_index_is_built_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, warm = _warm(tmp_path)
    # The edited article's published doc file, changed by hand: same size, same mtime,
    # a term it never had. Read back as its previous terms, it would leave 装置 in the index.
    doc = _doc_path(warm, "A05")
    stat = doc.stat()
    text = doc.read_bytes()
    assert "装机".encode() in text
    doc.write_bytes(text.replace("装机".encode(), "装置".encode()))
    os.utime(doc, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    rebuilt = _count_rebuilds(monkeypatch)
    _edit_body(source)
    build(BuildOptions(source=source, output=warm))
    assert rebuilt == [1]
    assert _search_bytes(warm) == _cold(source, tmp_path)


def test_a_lost_doc_file_of_an_unchanged_article_is_made_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, warm = _warm(tmp_path)
    lost = _doc_path(warm, "A01")
    lost.unlink()  # the state still says what it held; the published copy cannot be kept
    rebuilt = _count_rebuilds(monkeypatch)
    _edit_body(source)
    build(BuildOptions(source=source, output=warm))
    assert rebuilt == [] and lost.exists()
    assert _search_bytes(warm) == _cold(source, tmp_path)
    from banmian.cache import load_cache

    # Made again as it was: the state still trusts itself, its sums are the files'.
    state = load_cache(source).extra["search"]["index"]
    assert state.valid
    assert state.sums == [search._doc_sum((warm / "search" / "doc" / f"{i}.json").read_bytes()) for i in range(len(state.sums))]


def test_a_build_into_another_folder_reads_the_doc_files_where_they_were_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "paper"
    shutil.copytree(FIXTURE, source, ignore=shutil.ignore_patterns(".banmian-cache"))
    build(BuildOptions(source=source, output=tmp_path / "first"))
    rebuilt = _count_rebuilds(monkeypatch)
    _edit_body(source)
    build(BuildOptions(source=source, output=tmp_path / "second"))
    assert rebuilt == []
    assert _search_bytes(tmp_path / "second") == _cold(source, tmp_path)
    rebuilt.clear()  # the cold build's
    # Back to the first folder: its files are a build behind, the state is read from the second.
    _retitle(source)
    build(BuildOptions(source=source, output=tmp_path / "first"))
    assert rebuilt == []
    shutil.rmtree(tmp_path / "cold")
    assert _search_bytes(tmp_path / "first") == _cold(source, tmp_path)


def test_search_files_without_a_published_folder_build_from_nothing(tmp_path: Path) -> None:
    from banmian.cache import BuildCache
    from banmian.convert import Converter
    from banmian.pipeline import load_site, render_bodies

    source = tmp_path / "paper"
    shutil.copytree(FIXTURE, source, ignore=shutil.ignore_patterns(".banmian-cache"))
    loaded = load_site(BuildOptions(source=source, output=tmp_path / "unused"), BuildCache())
    bodies = render_bodies(loaded.site.articles, BuildCache(), 1)
    converters = {e.code: Converter(e.opencc, e.code) for e in loaded.site.paper.editions}
    state: dict = {}
    first = dict(search.search_files(loaded.site, bodies, converters, state))
    # Nowhere to read doc files back from: every file is bytes again, the same bytes.
    again = dict(search.search_files(loaded.site, bodies, converters, state, unchanged=set()))
    assert all(isinstance(data, bytes) for data in first.values()) and again == first


def test_tables_made_elsewhere_are_those_the_index_makes_itself(tmp_path: Path) -> None:
    from banmian.cache import BuildCache
    from banmian.convert import Converter
    from banmian.pipeline import load_site, render_bodies

    source = tmp_path / "paper"
    shutil.copytree(FIXTURE, source, ignore=shutil.ignore_patterns(".banmian-cache"))
    site = load_site(BuildOptions(source=source, output=tmp_path / "unused"), BuildCache()).site
    bodies = render_bodies(site.articles, BuildCache(), 1)
    converters = {e.code: Converter(e.opencc, e.code) for e in site.paper.editions}
    itself: dict = {}
    files = dict(search.search_files(site, bodies, converters, itself))
    made = search.tables_elsewhere(site.paper, {})
    assert made is not None
    steps, later = made
    for step in steps:
        step()
    given: dict = {}
    search.adopt_tables(given, later(a.src.title for a in site.articles))
    assert given["fold_base"] == itself["fold_base"]
    assert given["tables"][:2] == itself["tables"][:2]
    assert all(given["tables"][2][config] == pairs for config, pairs in itself["tables"][2].items())
    assert itself["pinyin"].items() <= given["pinyin"].items()
    # Given them, the index is the same, and the state needs nothing more made elsewhere.
    assert dict(search.search_files(site, bodies, converters, given)) == files
    assert search.tables_elsewhere(site.paper, given) is None
    search.adopt_tables(given, None)  # a helper that failed leaves the state as it was
    assert given["fold_base"] == itself["fold_base"]


def test_shipped_tables_are_those_derived_from_what_is_installed(tmp_path: Path) -> None:
    shipped = json.loads(search.SHIPPED_TABLES.read_text(encoding="utf-8"))
    if shipped["key"] != search._sources_key():
        pytest.skip("another OpenCC or pypinyin is installed: builds derive the tables (tested below)")
    search.ship_tables(tmp_path / "tables.json")  # derived now, from the installed OpenCC and pypinyin
    assert json.loads((tmp_path / "tables.json").read_text(encoding="utf-8")) == shipped
    assert search._shipped() == shipped


def test_tables_shipped_for_other_versions_are_derived_instead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "paper"
    shutil.copytree(FIXTURE, source, ignore=shutil.ignore_patterns(".banmian-cache"))
    build(BuildOptions(source=source, output=tmp_path / "shipped", use_cache=False))
    stale = tmp_path / "stale.json"
    # Tables under another key (another OpenCC), and wrong: never used.
    stale.write_text(json.dumps({"key": "another opencc", "compat": "[x]", "conversions": {"s2tw": "发髮"}, "phrases": {"s2tw": ""}}), encoding="utf-8")
    monkeypatch.setattr(search, "SHIPPED_TABLES", stale)
    derived: list[str] = []
    convert_chars = search._convert_chars
    monkeypatch.setattr(search, "_convert_chars", lambda config: derived.append(config) or convert_chars(config))
    for cached in (search._shipped, search._phrase_pairs):
        cached.cache_clear()
    monkeypatch.setattr(search, "_CONVERSIONS", {})
    monkeypatch.setattr(search, "_SAVED_CONVERSIONS", {})
    monkeypatch.setattr(search, "_COMPAT", None)
    monkeypatch.setattr(search, "_SAVED_COMPAT", None)
    try:
        build(BuildOptions(source=source, output=tmp_path / "derived", use_cache=False))
    finally:
        for cached in (search._shipped, search._phrase_pairs):
            cached.cache_clear()
    assert "s2tw" in derived
    assert _search_bytes(tmp_path / "derived") == _search_bytes(tmp_path / "shipped")


def test_forked_shares_give_the_bytes_of_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "paper"
    shutil.copytree(FIXTURE, source, ignore=shutil.ignore_patterns(".banmian-cache"))
    build(BuildOptions(source=source, output=tmp_path / "alone", use_cache=False))
    forks: list[int] = []
    fork = os.fork
    monkeypatch.setattr(search, "PARALLEL_DOCS", 1)
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or fork())
    # With four jobs the search stage may use jobs - 1 = three processes.
    build(BuildOptions(source=source, output=tmp_path / "shared", jobs=4, use_cache=False))
    assert len(forks) == 2  # children for two of three shares of documents
    assert _search_bytes(tmp_path / "shared") == _search_bytes(tmp_path / "alone")


def test_a_failed_child_has_its_task_run_again_here() -> None:
    parent = os.getpid()

    def task() -> int:
        if os.getpid() != parent:
            raise RuntimeError("only in the child")
        return 7

    assert search._run_forked([lambda: 1, task, lambda: 3]) == [1, 7, 3]


def test_a_child_that_fails_while_sending_has_its_task_run_again_here() -> None:
    parent = os.getpid()

    def task() -> list[object]:
        # In the child the lambda cannot be pickled: the megabyte before it is sent, then the child fails.
        return [b"x" * 1_000_000, (lambda: 0) if os.getpid() != parent else 0]

    assert search._run_forked([lambda: 1, task]) == [1, [b"x" * 1_000_000, 0]]


def test_the_cached_index_keeps_each_doc_file_as_its_sum_not_its_bytes(tmp_path: Path) -> None:
    """No per-article terms and no doc files in the build cache: the doc files are
    published, and an edited article's terms are read back from its published one."""
    source = tmp_path / "paper"
    shutil.copytree(FIXTURE, source, ignore=shutil.ignore_patterns(".banmian-cache"))
    build(BuildOptions(source=source, output=tmp_path / "site"))
    from banmian.cache import load_cache

    index = load_cache(source).extra["search"]["index"]
    docs = [p.read_bytes() for p in sorted((tmp_path / "site" / "search" / "doc").glob("*.json"), key=lambda p: int(p.stem))]
    assert index.sums == [search._doc_sum(data) for data in docs]
    kept = pickle.dumps(index)
    assert not any(data in kept for data in docs)
    files = sum(map(len, index.shard_bytes)) + sum(map(len, index.char_files.values())) + search._SUM_SIZE * len(docs)
    # Besides the files: the fold map (~24 KB whatever the archive) and counts per Han code.
    assert len(kept) < files + 40_000


def test_a_fold_pair_that_joins_classes_rebuilds_and_so_does_its_loss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A converter that writes 鄂陵 as 甲陵 joins 鄂 and 甲, which no config does:
    # every folded term may move, so the index is built again, both ways.
    effects = search._context_effects

    def joining(bigrams, converter):  # type: ignore[no-untyped-def]
        found = effects(bigrams, converter)
        if "鄂陵" in bigrams:
            found["鄂陵"] = "甲陵"
        return found

    monkeypatch.setattr(search, "_context_effects", joining)
    source, warm = _warm(tmp_path)
    rebuilt: list[int] = []
    rebuild = search._rebuild
    monkeypatch.setattr(search, "_rebuild", lambda *args: rebuilt.append(1) or rebuild(*args))
    for change in (_append_issue, lambda s: (s / "content" / "2025-01-22" / "A01" / "xinwen.md").unlink()):
        change(source)
        build(BuildOptions(source=source, output=warm))
        assert rebuilt == [1]
        cold = tmp_path / "cold"
        shutil.rmtree(cold, ignore_errors=True)
        build(BuildOptions(source=source, output=cold, use_cache=False))
        assert _search_bytes(warm) == _search_bytes(cold)
        rebuilt.clear()


def test_a_fork_that_fails_runs_its_task_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    assert search._run_forked([lambda: 1, lambda: 2, lambda: 3]) == [1, 2, 3]
