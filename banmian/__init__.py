"""banmian (版面): a static site generator for bilingual Chinese newspaper editions."""

__version__ = "0.1.0"


def code_digest() -> str:
    """Digest of banmian's own source: a development checkout's edits count as a new version."""
    import hashlib
    from pathlib import Path

    h = hashlib.blake2b(__version__.encode(), digest_size=16)
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()
