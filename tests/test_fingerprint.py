"""Fingerprints go by value: equal values, equal digests; different types, different digests."""

from __future__ import annotations

import datetime as dt
import sys

from banmian.fingerprint import fingerprint, text_digest


def test_fingerprints_go_by_value_only() -> None:
    built = "".join(["重庆", "银行"])  # a string made at run time, not interned
    assert fingerprint(built, [1, (built, None)]) == fingerprint(sys.intern("重庆银行"), [1, ("重庆银行", None)])
    assert fingerprint("None") != fingerprint(None)
    assert fingerprint([1, 2]) != fingerprint((1, 2))
    assert fingerprint("a", "b") != fingerprint("ab") != fingerprint("a\x00b")
    assert fingerprint(dt.date(2025, 1, 21)) == fingerprint(dt.date(2025, 1, 21)) != fingerprint("2025-01-21")


def test_text_digests_go_by_the_text() -> None:
    built = "".join(["重庆", "银行"])
    assert text_digest(built) == text_digest("重庆银行") != text_digest("重慶銀行")
    assert len(text_digest("")) == len(fingerprint("")) == 32  # the same width in a manifest
