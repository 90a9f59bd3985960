from banmian.slugs import FALLBACK_SLUG, SLUG_MAX, is_valid_slug, slugify, slugify_all, with_suffix


def test_phrases_read_heteronyms_right() -> None:
    assert slugify("重庆") == "chongqing"
    assert slugify("银行行长") == "yinhang-hangzhang"
    assert slugify("长江") == "changjiang"
    assert slugify("广东") == "guangdong"
    assert slugify("女足姑娘长大了") == "nvzu-guniang-zhangda-le"


def test_words_not_syllables() -> None:
    assert slugify("绿色算力") == "lvse-suanli"
    assert slugify("现代化新青海") == "xiandaihua-xin-qinghai"


def test_latin_and_digits_kept_lowercase() -> None:
    assert slugify("5G网络") == "5g-wangluo"
    assert slugify("COP29 会议") == "cop29-huiyi"
    assert slugify("２０２５年") == "2025-nian"  # full-width digits folded


def test_u_umlaut_written_v() -> None:
    assert "lv" in slugify("绿")
    assert slugify("女") == "nv"


def test_punctuation_and_markup_dropped() -> None:
    assert slugify("“同心圆”——画好！") == "tongxinyuan-huahao"
    assert slugify("<script>alert(1)</script>") == "script-alert-1-script"


def test_never_empty() -> None:
    assert slugify("") == FALLBACK_SLUG
    assert slugify("😀！？") == FALLBACK_SLUG


def test_cut_at_word_boundary_within_limit() -> None:
    title = "以懂青海爱青海兴青海的担当情怀为现代化新青海建设建言献策努力奋斗"
    slug = slugify(title)
    assert len(slug) <= SLUG_MAX
    assert is_valid_slug(slug)
    assert slugify(title + "更多的字").startswith(slug[:40])
    # a cut never leaves half a word: every part is a whole word of the full slug
    full = slugify(title, limit=500).split("-")
    assert slug.split("-") == full[: len(slug.split("-"))]


def test_overlong_single_word_is_cut_hard() -> None:
    slug = slugify("a" * 100)
    assert slug == "a" * SLUG_MAX


def test_suffix_stays_within_limit() -> None:
    base = slugify("以懂青海爱青海兴青海的担当情怀为现代化新青海建设建言献策努力奋斗")
    numbered = with_suffix(base, 12)
    assert numbered.endswith("-12") and len(numbered) <= SLUG_MAX and is_valid_slug(numbered)
    assert with_suffix("tongming-biaoti", 2) == "tongming-biaoti-2"


def test_is_valid_slug_rejects_paths_and_non_ascii() -> None:
    for bad in ("a/b", "..", "a..b", "青海", "A-b", "-a", "a-", "a--b", "x" * 61, ""):
        assert not is_valid_slug(bad), bad
    assert is_valid_slug("qinghai-2025")


def test_slugify_all_is_slugify_of_each() -> None:
    titles = ["重庆银行行长", "青海日报 2025", "Café 绿色算力", "!!!"]
    assert slugify_all(titles) == {title: slugify(title) for title in titles}
