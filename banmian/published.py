"""Permanent URLs: the record of every article URL ever published.

Newspaper URLs are cited for decades. `content/.published.json` lives beside
the content and is committed with it; it maps each article's identity (its
source file, content-relative) to the URL path it is published at now and to
every path it was published at before. When a retitle changes the slug, or
the article moves to another page, each earlier path becomes a redirect page
to the newest one, in every edition, and is listed in /issues.json as moved.
An article that leaves the content takes its URLs with it; `check` and the
build say so before it happens.

Paths in the record are edition-relative ("2025-01-21/A01/slug/"), so one
record serves every edition and survives a change of base_url.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from .errors import Problem
from .fingerprint import fingerprint
from .model import Article, Site, frozen_map
from .walk import CONTENT_DIR, RECORD_NAME, record_path

RECORD_VERSION = 1
# What an article path looks like; anything else in the record was not
# written by us (a hand edit, a bad merge) and must not become a file path.
ARTICLE_PATH = re.compile(r"^\d{4}-\d{2}-\d{2}/[A-Z]*\d+/[a-z0-9]+(?:-[a-z0-9]+)*/$")


@dataclass(frozen=True)
class Entry:
    """One article in the record."""

    path: str  # where it is published now
    title: str  # its title when last published (for messages and redirect pages)
    previous: tuple[str, ...] = ()  # every earlier path, oldest first


@dataclass(frozen=True)
class Record:
    entries: Mapping[str, Entry]  # identity → entry


@dataclass(frozen=True)
class Moved:
    """An earlier URL path of an article and the path it lives at now."""

    old_path: str
    new_path: str
    title: str
    identity: str


@dataclass(frozen=True)
class Plan:
    """What this build does about published URLs, computed before anything is written."""

    record: Record | None  # to be saved once the site is published; None: as on disk
    redirects: tuple[Moved, ...]  # every earlier path still owned by a live article
    moved_now: tuple[Moved, ...]  # the moves this build makes (a subset of redirects)
    problems: tuple[Problem, ...]  # URLs that disappear


EMPTY = Record(frozen_map())


def identity_of(article: Article) -> str:
    """The source file, content-relative: it survives a retitle and a page move."""
    return article.src.file.removeprefix(f"{CONTENT_DIR}/")


def path_of(article: Article) -> str:
    return f"{article.key}/"


# -- reading and writing -------------------------------------------------------------
def load_record(source: Path) -> tuple[Record, list[Problem]]:
    """The record, or an empty one for a paper that never published; problems are errors.

    A record that cannot be read stops the build: building on without it
    would forget every earlier URL, which is exactly what it exists to prevent.
    """
    path = record_path(source)
    shown = f"{CONTENT_DIR}/{RECORD_NAME}"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return EMPTY, []
    except OSError as exc:
        return EMPTY, [Problem(shown, None, f"cannot read the record of published URLs: {exc.strerror}")]
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return EMPTY, [Problem(shown, None, "the record of published URLs is not UTF-8; restore it from version control")]
    except json.JSONDecodeError as exc:
        hint = " (a merge conflict? keep both sides' entries)" if b"<<<<<<<" in raw else ""
        return EMPTY, [Problem(shown, exc.lineno, f"the record of published URLs is not valid JSON: {exc.msg}{hint}")]
    return _parse(data, shown, raw.decode("utf-8"))


def _parse(data: Any, shown: str, text: str) -> tuple[Record, list[Problem]]:
    if not isinstance(data, dict) or not isinstance(data.get("articles"), dict):
        return EMPTY, [Problem(shown, 1, 'the record of published URLs must be {"version": 1, "articles": {…}}')]
    problems: list[Problem] = []
    entries: dict[str, Entry] = {}
    listed = data["articles"]
    for identity in sorted(listed):  # keys alone: they are unique, and sort faster than pairs
        raw = listed[identity]
        entry = _entry(raw)
        if entry is None:
            # The line is looked up only for a bad entry: finding it for
            # every one of thousands of good entries would be quadratic.
            line = _line_of(text, identity)
            problems.append(
                Problem(shown, line, f"{identity}: an entry must be {{\"path\": \"YYYY-MM-DD/PAGE/slug/\", \"title\": …, \"previous\": […]}}")
            )
            continue
        bad = [p for p in (entry.path, *entry.previous) if not ARTICLE_PATH.match(p)]
        if bad:
            problems.append(Problem(shown, _line_of(text, identity), f"{identity}: {bad[0]!r} is not an article path like 2025-01-21/A01/slug/"))
            continue
        entries[identity] = entry
    return Record(frozen_map(entries)), problems


def _entry(raw: Any) -> Entry | None:
    if not isinstance(raw, dict):
        return None
    path, title, previous = raw.get("path"), raw.get("title", ""), raw.get("previous", [])
    if not isinstance(path, str) or not isinstance(title, str) or not isinstance(previous, list):
        return None
    if not all(isinstance(p, str) for p in previous):
        return None
    return Entry(path, title, tuple(previous))


def _line_of(text: str, identity: str) -> int | None:
    needle = json.dumps(identity, ensure_ascii=False)
    position = text.find(needle)
    return text.count("\n", 0, position) + 1 if position >= 0 else None


def record_json(record: Record) -> bytes:
    """Deterministic, so that the committed file changes only where URLs changed."""
    articles = {
        identity: {"path": e.path, "title": e.title, **({"previous": list(e.previous)} if e.previous else {})}
        for identity, e in sorted(record.entries.items())
    }
    document = {"version": RECORD_VERSION, "articles": articles}
    return (json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


def save_record(source: Path, record: Record) -> None:
    """Replace the record atomically: a reader (or a kill) sees the old file or the new one."""
    path = record_path(source)
    data = record_json(record)
    try:
        if path.read_bytes() == data:
            return  # untouched: keep its mtime, and git status quiet
    except OSError:
        pass
    handle, temp = tempfile.mkstemp(prefix=f".{RECORD_NAME}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


# -- planning --------------------------------------------------------------------------
def plan(record: Record, site: Site) -> Plan:
    """Match this build's articles to the record: who moved, what redirects, what is lost."""
    articles = {identity_of(a): a for a in site.articles}
    matched = _match(record, articles)  # current identity → record identity
    live_paths = {path_of(a): identity for identity, a in articles.items()}

    entries: dict[str, Entry] = {}
    moved_now: list[Moved] = []
    for identity in sorted(articles):
        article = articles[identity]
        old = record.entries.get(matched.get(identity, ""))
        path = path_of(article)
        if old is None:
            entries[identity] = Entry(path, article.title)
            continue
        if old.path == path and old.title == article.title and not old.previous:
            entries[identity] = old  # the common case: nothing moved (and equal records compare fast)
            continue
        history = [*old.previous, old.path] if old.path != path else list(old.previous)
        if old.path != path:
            moved_now.append(Moved(old.path, path, article.title, identity))
        # A path now shown by a live article (its own current one, or another
        # article's) is no longer a redirect: the page there wins.
        previous = tuple(dict.fromkeys(p for p in history if p not in live_paths))
        entries[identity] = Entry(path, article.title, previous)

    claimed = _claim_previous(entries)
    redirects = tuple(
        Moved(old_path, claimed[identity].path, claimed[identity].title, identity)
        for identity in sorted(identity for identity, entry in claimed.items() if entry.previous)
        for old_path in claimed[identity].previous
    )
    gone = set(record.entries) - set(matched.values())
    problems = tuple(_disappearing(record, sorted(gone), live_paths, articles))
    return Plan(Record(frozen_map(claimed)), redirects, tuple(moved_now), problems)


def _match(record: Record, articles: Mapping[str, Article]) -> dict[str, str]:
    """Current identity → record identity. A renamed file is recognised when cheap.

    Same file: same article. A file renamed keeps its history when the new
    file sits at the old URL, or has the old date and title, and only one
    candidate does (a guess between two would be worse than no guess).
    """
    matched = {identity: identity for identity in articles if identity in record.entries}
    orphans = {identity: e for identity, e in record.entries.items() if identity not in articles}
    newcomers = sorted(identity for identity in articles if identity not in record.entries)
    keys = (
        lambda e: e.path,
        lambda e: (e.path.split("/", 1)[0], e.title),
    )
    article_keys = (
        lambda a: path_of(a),
        lambda a: (a.date.isoformat(), a.title),
    )
    for entry_key, article_key in zip(keys, article_keys):
        by_key: dict[Any, list[str]] = {}
        for identity, entry in orphans.items():
            by_key.setdefault(entry_key(entry), []).append(identity)
        wanted: dict[Any, list[str]] = {}
        for identity in newcomers:
            wanted.setdefault(article_key(articles[identity]), []).append(identity)
        for key, candidates in wanted.items():
            owners = by_key.get(key, [])
            if len(candidates) == 1 and len(owners) == 1:
                matched[candidates[0]] = owners[0]
                del orphans[owners[0]]
                newcomers.remove(candidates[0])
    return matched


def _claim_previous(entries: Mapping[str, Entry]) -> dict[str, Entry]:
    """Each earlier path redirects to one article only.

    plan() drops a path from a history as soon as another article is
    published there, so a path is in two histories only in a hand-merged
    record (two branches that both moved articles); the identity that sorts
    first keeps it, so the answer is at least stable.
    """
    owner: dict[str, str] = {}
    for identity in sorted(identity for identity, entry in entries.items() if entry.previous):
        for old_path in entries[identity].previous:
            owner.setdefault(old_path, identity)
    return {
        identity: Entry(entry.path, entry.title, tuple(p for p in entry.previous if owner[p] == identity))
        if entry.previous
        else entry
        for identity, entry in entries.items()
    }


def _disappearing(
    record: Record, gone: Iterable[str], live_paths: Mapping[str, str], articles: Mapping[str, Article]
) -> Iterator[Problem]:
    for identity in gone:
        entry = record.entries[identity]
        where = f"{CONTENT_DIR}/{identity}"
        for path in (entry.path, *entry.previous):
            taker = live_paths.get(path)
            if taker is None:
                what = "would disappear (404)"
            else:
                what = f"would show another article, {articles[taker].src.file}"
            yield Problem(
                where,
                None,
                f"published URL {path} of {entry.title!r} {what}: the file is gone or no longer published; "
                f"restore it, or accept that links to it break",
                "warning",
            )


def plan_remembered(source: Path, site: Site, memo: dict[str, Any]) -> tuple[Plan | None, list[Problem]]:
    """load_record() and plan(), or what they gave last time when neither the
    record file nor any article's identity, URL or title changed since.

    The plan's record is None when it equals the record on disk (nothing to
    save). memo is kept by the caller between builds (the build cache).
    """
    try:
        stat = record_path(source).stat()
        file_key: tuple[int, ...] = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    except OSError:
        file_key = ()
    # Each article's file, key and title: what its identity, path and title are made from.
    articles_key = fingerprint([(a.src.file, a.key, a.src.title) for a in site.articles])
    if memo.get("key") == (file_key, articles_key):
        return Plan(*memo["plan"]), []
    record, record_problems = load_record(source)
    if record_problems:
        memo.clear()
        return None, record_problems
    planned = plan(record, site)
    if planned.record == record:
        planned = Plan(None, planned.redirects, planned.moved_now, planned.problems)
    # Remembered even when the record is to be saved: saving changes its stat
    # (a new key), and builds that save nothing (serve, drafts) reuse the plan.
    memo.clear()
    memo["key"] = (file_key, articles_key)
    memo["plan"] = (planned.record, planned.redirects, planned.moved_now, planned.problems)
    return planned, []


# -- output ----------------------------------------------------------------------------
def redirect_pages(plan_: Plan, site: Site, render: Any) -> Iterator[tuple[str, bytes]]:
    """(output path, bytes) of a redirect page per earlier path per edition.

    render is Renderer.redirect(edition, old_url, new_url, title) -> bytes.
    """
    paper = site.paper
    for moved in plan_.redirects:
        for edition in paper.editions:
            old_url = f"{paper.base_path}{edition.path}/{moved.old_path}"
            new_url = f"{paper.base_path}{edition.path}/{moved.new_path}"
            yield f"{edition.path}/{moved.old_path}index.html", render(edition, old_url, new_url, moved.title)


def moved_list(plan_: Plan, site: Site) -> list[dict[str, Any]]:
    """The `moved` entries of /issues.json: every earlier URL, per edition, and where it went."""
    paper = site.paper

    def urls(path: str) -> dict[str, str]:
        return {e.code: f"{paper.base_path}{e.path}/{path}" for e in paper.editions}

    return [
        {"title": m.title, "from": urls(m.old_path), "to": urls(m.new_path)}
        for m in sorted(plan_.redirects, key=lambda m: (m.old_path, m.new_path))
    ]
