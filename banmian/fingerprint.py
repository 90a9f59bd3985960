"""Fingerprints: digests of values, for the cache and for files made from them."""

from __future__ import annotations

import hashlib
import marshal


def fingerprint(*parts: object) -> str:
    """Digest of parts by value. marshal (version 0: no interning or reference
    marks, so equal values give equal bytes) serialises the strings, tuples
    and lists of a whole archive's worth of documents several times faster
    than repr; anything it cannot take (dates, dataclasses) goes by repr."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        try:
            h.update(b"m" + marshal.dumps(part, 0))
        except ValueError:
            h.update(b"r" + repr(part).encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def text_digest(text: str) -> str:
    """Digest of one string: for the many small ones, fingerprint() without
    its marshalling (a third of the time)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
