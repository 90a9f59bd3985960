"""The on-disk build cache: what an unchanged input already gave.

Keyed by content (file digests), so editing, reverting or touching a file
does the right thing; stamped with the banmian version and the Python
version, so an upgrade starts clean instead of trusting stale pickles.
"""

from __future__ import annotations

import contextlib
import gc
import operator
import os
import pickle
import secrets
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Container, Iterator, MutableMapping

from . import code_digest
from .errors import Problem
from .model import SOURCE_FIELDS, ArticleSource, Body, restore_source
from .walk import CACHE_DIR
from .write import TreeState, Written, pack_manifest, pack_spare, unpack_manifest, unpack_spare

STATE_FILE = "state.pickle"
STAMP = (code_digest(), sys.version_info[:2])


class BodyStore(MutableMapping[str, Body]):
    """Rendered bodies by article digest, kept in a pack file and read on demand.

    Pickled with the cache state they were 16 MB at 5,000 articles, loaded and
    saved whole on every build. Here a build appends the bodies it rendered to
    the pack, and reads back (os.pread, safe in forked workers) only the ones
    it shows again. The state that indexes the pack is saved after it, so a
    process killed while appending leaves unindexed bytes, never a bad index;
    a pack mostly of dead bodies is copied to a new file, and the old one is
    deleted only once a state naming the new one is saved.
    """

    def __init__(self) -> None:
        self.index: dict[str, tuple[int, int]] = {}  # digest → (offset, length) in the pack
        self.fresh: dict[str, Body] = {}  # rendered by this process, not yet packed
        self.name = ""  # the pack's file name in the cache folder
        self.folder: str | None = None
        self._fd: int | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]
        self.index, self.name = state["index"], state["name"]

    def attach(self, folder: Path) -> None:
        """Read from this cache folder; forget an index its pack cannot back."""
        self.folder = str(folder)
        try:
            size = os.stat(self._path()).st_size if self.name else 0
        except OSError:
            size = 0
        if any(offset + length > size for offset, length in self.index.values()):
            self.index = {}

    def _path(self) -> str:
        return f"{self.folder}/{self.name}"

    def __getitem__(self, digest: str) -> Body:
        body = self.fresh.get(digest)
        if body is not None:
            return body
        offset, length = self.index[digest]
        if self._fd is None:
            self._fd = os.open(self._path(), os.O_RDONLY)
        return Body(html=os.pread(self._fd, length, offset).decode("utf-8"))

    def __setitem__(self, digest: str, body: Body) -> None:
        self.fresh[digest] = body

    def __delitem__(self, digest: str) -> None:
        found = self.fresh.pop(digest, None) is not None
        if self.index.pop(digest, None) is None and not found:
            raise KeyError(digest)

    def __contains__(self, digest: object) -> bool:
        return digest in self.fresh or digest in self.index

    def known(self) -> Container[str]:
        """The digests with a body here, to ask many times at C speed (the
        loader asks for every article's; this class's __contains__ is Python)."""
        return self.index.keys() if not self.fresh else self.fresh.keys() | self.index.keys()

    def __iter__(self) -> Iterator[str]:
        yield from self.fresh
        yield from (d for d in self.index if d not in self.fresh)

    def __len__(self) -> int:
        return len(self.fresh) + sum(1 for d in self.index if d not in self.fresh)

    def retain(self, live: Container[str]) -> None:
        """Forget the bodies no article uses any more."""
        for digest in [d for d in self if d not in live]:
            del self[digest]

    def save(self, folder: Path) -> None:
        """Append the fresh bodies to the pack, or copy the live ones to a new
        pack when most of the old one is dead."""
        self.folder = str(folder)
        try:
            size = os.stat(self._path()).st_size if self.name else 0
        except OSError:
            size = 0
            self.index = {}  # the pack is gone: so are the bodies it held
        live = sum(length for _, length in self.index.values())
        if not self.name or size > 2 * live + PACK_SLACK:
            self._repack(folder)
        elif self.fresh:
            self._append(size)

    def _append(self, size: int) -> None:
        placed, chunks, offset = {}, [], size
        for digest, body in self.fresh.items():
            data = body.html.encode("utf-8")
            placed[digest] = (offset, len(data))
            chunks.append(data)
            offset += len(data)
        with open(self._path(), "ab") as handle:
            if handle.tell() != size:
                raise OSError(f"{self._path()} changed while this build was writing it")
            handle.write(b"".join(chunks))
        self.index.update(placed)
        self.fresh.clear()

    def _repack(self, folder: Path) -> None:
        bodies = {digest: self[digest] for digest in self}
        fd, temp = tempfile.mkstemp(dir=folder, prefix="bodies-", suffix=".pack")
        index = {}
        with os.fdopen(fd, "wb") as handle:
            for digest, body in bodies.items():
                data = body.html.encode("utf-8")
                index[digest] = (handle.tell(), len(data))
                handle.write(data)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.name, self.index = os.path.basename(temp), index
        self.fresh.clear()

    def drop_old_packs(self, folder: Path) -> None:
        """Delete packs no saved state names (called once the state is saved)."""
        for pack in folder.glob("bodies-*.pack"):
            if pack.name != self.name:
                _set_aside(pack)
                pack.unlink(missing_ok=True)


# Dead bytes a pack may carry before it is copied out.
PACK_SLACK = 1 << 20


@dataclass
class BuildCache:
    # "file:digest" → parsed front matter and body, and the warnings it gave
    sources: dict[str, tuple[ArticleSource | None, tuple[Problem, ...]]] = field(default_factory=dict)
    # content file → (mtime_ns, size, inode, digest): unchanged files are not re-read
    stats: dict[str, tuple[int, int, int, str]] = field(default_factory=dict)
    # article source digest → rendered body (in a pack file beside the state)
    bodies: BodyStore = field(default_factory=BodyStore)
    # content/<date>/issue.toml → what parsing gave, by its stat (load.ParsedIssue)
    issues: dict[str, Any] = field(default_factory=dict)
    # title → slug (pypinyin and the segmenter are slow to load)
    slugs: dict[str, str] = field(default_factory=dict)
    # real path of an output folder → what was published there
    manifests: dict[str, dict[str, Written]] = field(default_factory=dict)
    # free-form state of the later stages (search shards …), by stage name
    extra: dict[str, Any] = field(default_factory=dict)
    # What only a long-running process (serve) can keep: never pickled
    live: dict[str, Any] = field(default_factory=dict)

    def state(self, stage: str) -> dict[str, Any]:
        """A stage's state in extra, unpickled on first use (see LATER)."""
        value = self.extra.get(stage)
        if isinstance(value, Later):
            value = self.extra[stage] = pickle.loads(value.data)
        elif value is None:
            value = self.extra[stage] = {}
        return value  # type: ignore[no-any-return]


    def __getstate__(self) -> dict[str, Any]:
        # Thousands of article records pickled one by one cost a tenth of a
        # second each way; as columns of plain tuples a few hundredths.
        state = self.__dict__.copy()
        del state["live"]
        # A state this build never asked for goes back as the bytes it came as.
        state["extra"] = {
            key: Later(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)) if key in LATER and isinstance(value, dict) else value
            for key, value in self.extra.items()
        }
        state["sources"] = _pack_sources(self.sources)
        state["manifests"] = {key: pack_manifest(m) for key, m in self.manifests.items()}
        trees = self.extra.get("output_trees")
        if trees:
            # Each spare as it differs from its output's manifest (see pack_spare).
            state["extra"] = {**state["extra"], "output_trees": {
                key: None if tree is None else (tree.published, tree.spare_token, pack_spare(tree.spare, self.manifests.get(key, {})))
                for key, tree in trees.items()
            }}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["live"] = {}
        state["sources"] = _unpack_sources(state["sources"])
        state["manifests"] = {key: unpack_manifest(m) for key, m in state["manifests"].items()}
        trees = state["extra"].get("output_trees")
        if trees:
            state["extra"]["output_trees"] = {
                key: None if packed is None else TreeState(packed[0], packed[1], unpack_spare(packed[2], state["manifests"].get(key, {})))
                for key, packed in trees.items()
            }
        self.__dict__.update(state)


# Stage states kept pickled in the cache's state until a build asks for
# them (BuildCache.state): the feeds' (8 MB at 10,000 articles, 20 ms to
# unpickle) is needed only when an article the feeds carry changed, and
# the typical rebuild, a correction to an older story, changes none.
LATER = ("feeds",)


@dataclass(frozen=True)
class Later:
    """A stage's state as pickled bytes, not yet asked for."""

    data: bytes


_SOURCE_VALUES = operator.itemgetter(*SOURCE_FIELDS)


def _pack_sources(sources: dict[str, tuple[ArticleSource | None, tuple[Problem, ...]]]) -> tuple[list[Any], ...]:
    keys, values, lines, problems = [], [], [], []
    for key, (article, found) in sources.items():
        keys.append(key)
        values.append(None if article is None else _SOURCE_VALUES(article.__dict__))
        lines.append(None if article is None else dict(article.lines))
        problems.append(found)
    return keys, values, lines, problems


def _unpack_sources(packed: tuple[list[Any], ...]) -> dict[str, tuple[ArticleSource | None, tuple[Problem, ...]]]:
    keys, values, lines, problems = packed
    return {
        key: (None if value is None else restore_source(value, line), found)
        for key, value, line, found in zip(keys, values, lines, problems)
    }


def cache_path(source: Path) -> Path:
    return source / CACHE_DIR / STATE_FILE


# Old cache files, linked aside so that replacing them frees nothing yet.
SET_ASIDE = ".old-"


def _set_aside(path: Path) -> None:
    """Give path's file a second name until the next build deletes it.

    Freeing a file's blocks is slow here (35–120 ms for the 40 MB state on
    this machine's ext4 with online discard) and is paid by whoever drops
    the last link: with this one kept, replacing or unlinking path frees
    nothing, and the next build frees it on a thread while it works.
    """
    with contextlib.suppress(OSError):
        os.link(path, path.with_name(f"{SET_ASIDE}{secrets.token_hex(6)}-{path.name}"))


def _delete_set_aside(folder: Path) -> None:
    def delete(paths: list[Path]) -> None:
        for path in paths:
            with contextlib.suppress(OSError):
                path.unlink()

    old = list(folder.glob(f"{SET_ASIDE}*"))
    if old:
        threading.Thread(target=delete, args=(old,), daemon=True).start()


def load_cache(source: Path) -> BuildCache:
    path = cache_path(source)
    _delete_set_aside(path.parent)
    try:
        with open(path, "rb") as handle, collector_paused(freeze=True):
            stamp, cache = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError):
        return BuildCache()
    if stamp != STAMP or not isinstance(cache, BuildCache):
        return BuildCache()
    cache.bodies.attach(path.parent)
    return cache


@contextlib.contextmanager
def collector_paused(freeze: bool = False) -> Iterator[None]:
    """No cycle collection while a stage makes many objects and no garbage
    cycles (unpickling the cache, indexing): each full collection would walk
    the whole growing heap for nothing. freeze: keep the objects made out of
    later collections too (the cache, which lives as long as the build)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was_enabled:
            gc.enable()


def save_cache(source: Path, cache: BuildCache) -> None:
    path = cache_path(source)
    try:
        path.parent.mkdir(exist_ok=True)
        _delete_set_aside(path.parent)  # serve saves many times and loads once
        # Written beside and renamed: a killed build never leaves half a pickle.
        cache.bodies.save(path.parent)  # before the state that indexes it
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".state-")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump((STAMP, cache), handle, protocol=pickle.HIGHEST_PROTOCOL)
        _set_aside(path)
        os.replace(temp, path)
        cache.bodies.drop_old_packs(path.parent)
    except OSError:
        # A read-only source folder still builds; it just builds cold next time.
        pass
