"""The on-disk build cache: what an unchanged input already gave.

Keyed by content (file digests), so editing, reverting or touching a file
does the right thing; stamped with the banmian version and the Python
version, so an upgrade starts clean instead of trusting stale pickles.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from . import code_digest
from .errors import Problem
from .model import ArticleSource, Body
from .write import Written

CACHE_DIR = ".banmian-cache"
STATE_FILE = "state.pickle"
STAMP = (code_digest(), sys.version_info[:2])


@dataclass
class BuildCache:
    # "file:digest" → parsed front matter and body, and the warnings it gave
    sources: dict[str, tuple[ArticleSource | None, tuple[Problem, ...]]] = field(default_factory=dict)
    # content file → (mtime_ns, size, inode, digest): unchanged files are not re-read
    stats: dict[str, tuple[int, int, int, str]] = field(default_factory=dict)
    # article source digest → rendered body
    bodies: dict[str, Body] = field(default_factory=dict)
    # title → slug (pypinyin and the segmenter are slow to load)
    slugs: dict[str, str] = field(default_factory=dict)
    # real path of an output folder → what was published there
    manifests: dict[str, dict[str, Written]] = field(default_factory=dict)
    # free-form state of the later stages (search shards …), by stage name
    extra: dict[str, Any] = field(default_factory=dict)


def cache_path(source: Path) -> Path:
    return source / CACHE_DIR / STATE_FILE


def load_cache(source: Path) -> BuildCache:
    path = cache_path(source)
    try:
        with open(path, "rb") as handle, _collector_paused():
            stamp, cache = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError):
        return BuildCache()
    if stamp != STAMP or not isinstance(cache, BuildCache):
        return BuildCache()
    return cache


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Unpickling creates the cache's objects, none of them garbage; the cycle
    collector would otherwise scan the growing heap again and again. Frozen
    afterwards, they are not scanned by later collections either."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def save_cache(source: Path, cache: BuildCache) -> None:
    path = cache_path(source)
    try:
        path.parent.mkdir(exist_ok=True)
        # Written beside and renamed: a killed build never leaves half a pickle.
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".state-")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump((STAMP, cache), handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temp, path)
    except OSError:
        # A read-only source folder still builds; it just builds cold next time.
        pass
