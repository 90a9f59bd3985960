"""The newspaper's records."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle

import pytest

from banmian.model import ArticleSource, Body, FrozenMap, with_body


def _source() -> ArticleSource:
    return ArticleSource(
        file="content/2025-01-21/A01/001.md", digest="d1", title="青海日报", date=dt.date(2025, 1, 21), page="A01",
        body="正文", body_line=9, kicker="引题", reporters=("甲", "乙"), order=2, lines=FrozenMap({"title": 2}),
    )


def test_with_body_is_replace_without_init() -> None:
    source = _source()
    copy = with_body(source, "另一正文")
    assert copy == dataclasses.replace(source, body="另一正文")
    assert copy.body == "另一正文" and source.body == "正文"  # the original is left as it was
    assert copy.line_of("title") == 2 and copy.reporters == ("甲", "乙")
    with pytest.raises(dataclasses.FrozenInstanceError):
        copy.body = "x"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(copy)) == copy


def test_body_text_is_derived_each_time_not_kept() -> None:
    # Kept, every article's text was 23 MB of a 10,000-article build's peak;
    # only the search index reads it, once. The lead, read by every teaser, is kept.
    body = Body(html="<p>第一段&amp;</p>\n<h2>小标题</h2>\n<p>第二段</p>")
    assert body.text == "第一段&\n小标题\n第二段"
    assert "text" not in body.__dict__
    assert body.lead == "第一段&" and body.__dict__["lead"] == "第一段&"
