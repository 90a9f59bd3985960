from pathlib import Path

from banmian.config import load_config


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "newspaper.toml").write_text(text, encoding="utf-8")
    return tmp_path


BASIC = """
title = "青海日报"
base_url = "https://epaper.example.org/epaper"
timezone = "Asia/Shanghai"

[[editions]]
code = "zh-Hans"
path = "zh-hans"
label = "简体"

[[editions]]
code = "zh-HK"
path = "zh-hk"
label = "繁體（香港）"
opencc = "s2hk.json"

[page_names]
A01 = "要闻"
"""


def test_valid_config(tmp_path: Path) -> None:
    paper, problems = load_config(write(tmp_path, BASIC))
    assert problems == []
    assert paper is not None
    assert paper.base_url == "https://epaper.example.org/epaper/"
    assert paper.base_path == "/epaper/"
    assert [e.code for e in paper.editions] == ["zh-Hans", "zh-HK"]
    assert paper.editions[1].opencc == "s2hk"
    assert paper.default_edition == "zh-Hans"
    assert paper.page_names["A01"] == "要闻"
    assert paper.feed_issues == 7 and paper.feed_full_text is True


def test_default_editions_when_none_given(tmp_path: Path) -> None:
    paper, problems = load_config(write(tmp_path, 'title = "报"\n'))
    assert paper is not None and not problems
    assert [(e.code, e.opencc) for e in paper.editions] == [("zh-Hans", None), ("zh-Hant", "s2tw")]


def test_missing_file(tmp_path: Path) -> None:
    paper, problems = load_config(tmp_path)
    assert paper is None and "newspaper.toml" in str(problems[0])


def test_syntax_error_names_line(tmp_path: Path) -> None:
    paper, problems = load_config(write(tmp_path, 'title = "报"\nbase_url = \n'))
    assert paper is None
    assert str(problems[0]).startswith("newspaper.toml:2: ")


def test_each_mistake_reported_with_its_line(tmp_path: Path) -> None:
    text = BASIC.replace('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"\ntitel = "x"').replace(
        'opencc = "s2hk.json"', 'opencc = "s2xx"'
    )
    paper, problems = load_config(write(tmp_path, text))
    assert paper is None
    messages = [str(p) for p in problems]
    assert any("newspaper.toml:4: unknown time zone" in m for m in messages)
    assert any("newspaper.toml:5: warning: unknown setting 'titel' (did you mean title?)" in m for m in messages)
    assert any("unknown OpenCC config 's2xx'" in m and m.startswith("newspaper.toml:12:") for m in messages)


def test_two_source_editions_is_an_error(tmp_path: Path) -> None:
    text = BASIC.replace('opencc = "s2hk.json"\n', "")
    paper, problems = load_config(write(tmp_path, text))
    assert paper is None
    assert any("exactly one edition" in str(p) for p in problems)


def test_default_edition_must_exist(tmp_path: Path) -> None:
    paper, problems = load_config(write(tmp_path, 'default_edition = "en"\n' + BASIC))
    assert paper is None
    assert any("default_edition 'en'" in str(p) for p in problems)
