"""The source folder's layout, and the walk over content/: which files are
articles, in which order.

Its own module, light to import: the up-to-date check reads the layout and
walks content/ before anything heavy is imported, and hands the walk on to
the load stage.
"""

from __future__ import annotations

import os
from operator import attrgetter
from pathlib import Path
from typing import Container, Iterator

CONFIG_NAME = "newspaper.toml"
CONTENT_DIR = "content"
ISSUE_FILE = "issue.toml"
RECORD_NAME = ".published.json"  # in content/: every URL ever published
CACHE_DIR = ".banmian-cache"
# The default theme (templates/, static/) beside the package.
THEME_ROOT = Path(__file__).resolve().parent.parent


def record_path(source: Path) -> Path:
    """The record of every URL the site has published (see published.py)."""
    return source / CONTENT_DIR / RECORD_NAME


def content_files(root: Path) -> Iterator[str]:
    """Every Markdown file under root (as "folder/name" strings, cheaper than
    Paths for thousands of files), following links but never in a loop."""
    for path, _ in content_entries(root):
        yield path


ContentEntry = tuple[str, "os.stat_result | OSError"]


def content_entries(
    root: Path, others: dict[str, os.stat_result | OSError] | None = None, skip: Container[str] = ()
) -> Iterator[ContentEntry]:
    """(path, its stat, or why it cannot be read) of every Markdown file, in order.

    os.scandir gives each file's stat with the listing, where os.walk plus a
    stat and a realpath per folder cost a third of a rebuild's loading time.
    Folders are known by (device, inode), so a symlink loop or a folder
    linked twice is walked once.

    others: filled with every other file the walk passes (issue.toml, the
    record, images), so that serve's watcher sees them in the same walk.
    skip: folders not to enter (serve's output, when it is inside content/).
    """
    seen: set[tuple[int, int]] = set()

    def walk(folder: str) -> Iterator[tuple[str, os.stat_result | OSError]]:
        try:
            info = os.stat(folder)
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=_NAME)
        except OSError:
            return
        if (info.st_dev, info.st_ino) in seen:
            return
        seen.add((info.st_dev, info.st_ino))
        folders = []
        for entry in entries:
            is_dir = _is_dir(entry)
            if entry.name.startswith("."):
                if others is not None and not is_dir:
                    others[entry.path] = _stat(entry)
                continue
            if is_dir:
                if entry.path not in skip:
                    folders.append(entry.path)
            elif entry.name.endswith(".md"):
                try:
                    yield entry.path, entry.stat()
                except OSError as exc:
                    yield entry.path, exc
            elif others is not None:
                others[entry.path] = _stat(entry)
        for path in folders:
            yield from walk(path)

    yield from walk(str(root))


def issue_files(root: Path) -> list[tuple[str, os.stat_result | OSError]]:
    """Each <root>/<folder>/issue.toml with its stat, in path order: what
    sorted(root.glob("*/issue.toml")) lists, with one stat a folder and no
    pattern matching (pathlib's took 60 ms for 3,650 folders, ten years of
    a daily paper's issues, on every build and every up-to-date check)."""
    try:
        with os.scandir(root) as listing:
            folders = sorted(entry.name for entry in listing if _is_dir(entry))
    except OSError:
        return []
    found: list[tuple[str, os.stat_result | OSError]] = []
    base = str(root)
    for name in folders:
        path = f"{base}/{name}/{ISSUE_FILE}"  # strings: pathlib's joins cost more than the stat
        try:
            found.append((path, os.stat(path)))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            found.append((path, exc))
    return found


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


_NAME = attrgetter("name")


def _stat(entry: os.DirEntry[str]) -> os.stat_result | OSError:
    try:
        return entry.stat()
    except OSError as exc:
        return exc
