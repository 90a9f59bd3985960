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


def keep_bytecode() -> None:
    """Let the command's own modules be compiled once, not on every run.

    Under PYTHONDONTWRITEBYTECODE (common in containers) Python compiles
    banmian's modules from source at each start: about a tenth of a second
    of every small rebuild. Their bytecode then goes to the user's cache
    folder, not beside the sources, which is what that setting protects.
    """
    import os
    import sys

    if not sys.dont_write_bytecode or sys.pycache_prefix is not None:
        return
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    sys.pycache_prefix = os.path.join(base, "banmian", "bytecode")
    sys.dont_write_bytecode = False
