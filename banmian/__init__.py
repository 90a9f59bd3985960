"""banmian (版面): a static site generator for bilingual Chinese newspaper editions."""

import functools

__version__ = "0.1.0"


# The libraries whose output banmian publishes (HTML, 繁體, pinyin, slugs):
# a new version of one may change pages, so it counts as a new banmian.
DEPENDENCIES = ("jinja2", "markupsafe", "markdown", "opencc", "pypinyin", "rjieba", "pyyaml")


@functools.lru_cache(maxsize=None)
def code_digest() -> str:
    """Digest of banmian's own source and of its libraries' installed versions:
    a development checkout's edits, or an upgraded OpenCC, count as a new version."""
    import hashlib
    from pathlib import Path

    h = hashlib.blake2b(__version__.encode(), digest_size=16)
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.read_bytes())
    h.update("\0".join(installed_versions()).encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def installed_versions() -> list[str]:
    """The dist-info folders of DEPENDENCIES on sys.path (name and version),
    read from the folder listings: importlib.metadata costs more to import
    than a no-change build takes."""
    import os
    import sys

    found = []
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            low = name.lower()
            if low.endswith((".dist-info", ".egg-info")) and low.split("-", 1)[0].replace("_", "-") in DEPENDENCIES:
                found.append(name)
    return sorted(found)


def keep_bytecode() -> None:
    """Let the command's own modules be compiled once, not on every run.

    Under PYTHONDONTWRITEBYTECODE (common in containers) Python compiles
    banmian's modules from source at each start: about a tenth of a second
    of every small rebuild. Their bytecode then goes to the user's cache
    folder, not beside the sources, which is what that setting protects;
    every other module's is left to Python (banmian.bytecode).
    """
    import os
    import sys

    if not sys.dont_write_bytecode or sys.pycache_prefix is not None:
        return
    from .bytecode import install

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    install(__name__, os.path.join(base, "banmian", "bytecode"))
