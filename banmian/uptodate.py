"""The up-to-date check: is the published site already what a build would make?

A build that succeeds leaves a stamp in the build cache: a digest of every
input it read — banmian's code, the build options, newspaper.toml, the
templates and static files (the site's and the default theme's), the size,
mtime and inode of every article and issue.toml under content/, and the bytes
of the record of published URLs — and the identity of the output folder right after it
published (device, inode, ctime: every publish replaces the folder, so any
later build that changed the site, or a hand adding or removing a file at
its top, changes it).

The next build computes the same digest before importing the pipeline (the
templates, Markdown, OpenCC, the search index …), and hands the walk over
content/ on to the load stage when it has to build; when it and the output
folder match the stamp, the site is already the result and nothing is done.
This is the same trust the build cache gives a file's size and mtime, taken
for the whole site at once: a no-change rebuild of 5,000 articles then takes
the time of a walk over content/ rather than of loading the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from . import code_digest
from .errors import Problem
from .walk import CACHE_DIR, CONFIG_NAME, CONTENT_DIR, THEME_ROOT, ContentEntry, content_entries, issue_files, record_path
from .write import FolderId, folder_id

STAMP_NAME = "uptodate.json"
STAMP_VERSION = 1


@dataclass(frozen=True)
class Stamp:
    """What a finished build leaves for the next one to compare with."""

    inputs: str  # digest of everything but the record of published URLs
    record: str  # digest of the record's bytes ("" when there is none)
    output: FolderId
    articles: int
    files: int
    warnings: tuple[Problem, ...]


Entries = tuple[ContentEntry, ...]


@dataclass(frozen=True)
class Inputs:
    digest: str  # of everything but the record of published URLs
    articles: Entries  # content_entries() of this walk: the load stage need not walk again


def read_inputs(source: Path, output: Path, options: Sequence[object]) -> Inputs:
    """What a build of source into output reads, besides the URL record.

    options: the build options that change the output (drafts, base URL …).
    """
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps([STAMP_VERSION, code_digest(), str(source), str(output), list(map(str, options))]).encode())
    try:
        h.update((source / CONFIG_NAME).read_bytes())
    except OSError:
        h.update(b"\0no config")
    for root in (source / "templates", THEME_ROOT / "templates", source / "static", THEME_ROOT / "static"):
        h.update(f"\0{root}\0".encode())
        _digest_tree(h, str(root))
    # content/: the articles as the load stage lists them, and each issue.toml.
    content = source / CONTENT_DIR
    articles = tuple(content_entries(content))
    rows = [_row(path, stat) for path, stat in articles]
    rows.extend(_row(path, stat) for path, stat in issue_files(content))
    h.update(b"\0content\0")
    h.update("\n".join(rows).encode("utf-8", "surrogateescape"))
    return Inputs(h.hexdigest(), articles)


def _row(path: str, stat: "os.stat_result | OSError") -> str:
    if isinstance(stat, OSError):
        return f"{path}\0unreadable"
    return f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ino}"


def _digest_tree(h: "hashlib._Hash", root: str) -> None:
    """Every file below root by relative path, size, mtime and inode, in a fixed order.

    Folders are known by (device, inode) so that a symlink loop is walked once.
    """
    seen: set[tuple[int, int]] = set()
    rows: list[str] = []

    def walk(folder: str, prefix: str) -> None:
        try:
            info = os.stat(folder)
            if (info.st_dev, info.st_ino) in seen:
                return
            seen.add((info.st_dev, info.st_ino))
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith("."):  # as the build skips them
                continue
            try:
                if entry.is_dir():
                    walk(entry.path, f"{prefix}{entry.name}/")
                    continue
                stat = entry.stat()
            except OSError as exc:
                rows.append(_row(f"{prefix}{entry.name}", exc))
                continue
            rows.append(_row(f"{prefix}{entry.name}", stat))

    walk(root, "")
    h.update("\n".join(rows).encode("utf-8", "surrogateescape"))


def record_digest(source: Path) -> str:
    try:
        return hashlib.blake2b(record_path(source).read_bytes(), digest_size=16).hexdigest()
    except OSError:
        return ""


def stamp_path(source: Path) -> Path:
    return source / CACHE_DIR / STAMP_NAME


def read_stamp(source: Path) -> Stamp | None:
    try:
        data = json.loads(stamp_path(source).read_bytes())
        return Stamp(
            inputs=str(data["inputs"]),
            record=str(data["record"]),
            output=(int(data["output"][0]), int(data["output"][1]), int(data["output"][2])),
            articles=int(data["articles"]),
            files=int(data["files"]),
            warnings=tuple(Problem(str(p), None if n is None else int(n), str(m), "warning") for p, n, m in data["warnings"]),
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None  # none, or not one we wrote: simply build


def up_to_date(source: Path, output: Path, inputs: str) -> Stamp | None:
    """The last build's stamp when the published site is what these inputs make."""
    stamp = read_stamp(source)
    if stamp is None or stamp.inputs != inputs or folder_id(str(output)) != stamp.output:
        return None
    return stamp if record_digest(source) == stamp.record else None


def save_stamp(
    source: Path, inputs: str, output: FolderId, articles: int, files: int, warnings: Iterable[Problem]
) -> None:
    """After a build: what it read and the output folder it left."""
    data = {
        "inputs": inputs,
        "record": record_digest(source),
        "output": list(output),
        "articles": articles,
        "files": files,
        "warnings": [[p.path, p.line, p.message] for p in warnings if p.severity == "warning"],
    }
    path = stamp_path(source)
    temporary = path.with_name(f".{STAMP_NAME}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        pass  # the next build checks nothing and builds: slower, never wrong
