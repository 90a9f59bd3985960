"""The preview server: build, serve, watch, rebuild, reload the browser.

One process, two threads:

- the main thread runs Tornado's event loop and answers HTTP and the
  livereload WebSocket; it only ever reads files from the output folder by
  path, so the atomic swap of that folder after each build is invisible to it;
- a builder thread polls the watched files, waits until a burst of saves has
  gone quiet, and runs `pipeline.build` with one BuildCache kept in memory,
  so a rebuild re-renders only the pages whose fingerprint changed.

A build that fails never stops the server: the last good site stays served
and every HTML page gets an overlay listing the problems (`path:line: message`);
the next good build clears it and reloads every open page.

We use livereload for its WebSocket handler and its livereload.js client, not
for its Server: that one polls every 800 ms, stops scanning at the first changed
file (so a burst of saves becomes several rebuilds), runs the callback on the
event loop (no page is served during a build) and ignores changes that come
within 3 s of the last reload (the second of two quick edits never reloads).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import html
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, TextIO
from urllib.parse import quote

from tornado import httpserver, netutil, web
from livereload.handlers import LiveReloadHandler, LiveReloadJSHandler

from .cache import BuildCache, collector_paused, load_cache
from .config import CONFIG_NAME, load_config
from .errors import ContentError
from .load import CONTENT_DIR
from .walk import ContentEntry, content_entries
from .pipeline import BuildOptions, BuildResult, build

WATCHED = (CONTENT_DIR, "templates", "static", CONFIG_NAME)
# Saves closer together than this are one edit (editors write a file, then
# its backup, then touch the folder; `git checkout` writes dozens).
QUIET_SECONDS = 0.12
# Polling more often than this costs CPU for no visible gain; on a very large
# archive the interval grows with the time one scan takes.
MIN_POLL_SECONDS = 0.05
MAX_POLL_SECONDS = 1.0
# With file events, a scan now and then all the same: events can be lost
# (a full inotify queue) or never come (some network mounts).
EVENTS_POLL_SECONDS = 2.0
NUDGING_EVENTS = frozenset({"created", "deleted", "modified", "moved", "closed"})
# Files editors write beside the one being saved; they never change the site.
EDITOR_LITTER = (".swp", ".swx", ".swo", ".tmp", "~")
LITTER_NAMES = ("4913", ".DS_Store")
# The heap is collected once the builder has been idle this long after a
# build (see Builder.tidy), or after this many builds without such a pause.
TIDY_AFTER_SECONDS = 1.0
TIDY_EVERY_BUILDS = 10
HEAD_END = b"</head>"
BODY_END = b"</body>"

# Static hosts send these; Python's mimetypes depends on /etc/mime.types,
# which differs between machines (text/xml or application/xml …).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".pdf": "application/pdf",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".webmanifest": "application/manifest+json",
    ".map": "application/json",
}


# -- watching -------------------------------------------------------------------
Stamp = tuple[int, int, int, int]  # mtime_ns, ctime_ns, size, inode
UNREADABLE: Stamp = (-1, -1, -1, -1)


def _stamp(st: os.stat_result) -> Stamp:
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


def _is_litter(name: str) -> bool:
    return name.endswith(EDITOR_LITTER) or name.startswith(".#") or name in LITTER_NAMES


class Watcher:
    """Scans the source folder's inputs; says which paths changed since the last look.

    The scan is the truth: it works on network and container mounts, and
    ctime and inode are compared as well as mtime, so an editor that saves by
    renaming a new file over the old one, or two saves within one clock tick,
    are still seen. But a scan of a 5,000-article archive takes ~50 ms, so
    polling costs a fifth of a core while nobody types, and a save waits for
    the next poll. Where the system reports file events (inotify, FSEvents,
    through watchdog), they only say *when* to scan: `nudged` is set, and the
    builder scans at once instead of polling, and only now and then besides.
    """

    def __init__(self, source: Path, ignore: Iterable[Path] = ()) -> None:
        self.source = source
        self.roots = [source / name for name in WATCHED]
        self.content = source / CONTENT_DIR
        self.ignore = {str(p) for p in ignore}
        self.nudged = threading.Event()  # a file event came since it was cleared
        self._observer: Any = None  # a watchdog Observer, while listening
        self._nudge: Any = None
        self._observed: set[str] = set()
        self.stamps: dict[str, Stamp] = {}
        self.scan_seconds = 0.0
        # The articles as the last scan found them, in the loader's order: a
        # rebuild starts right after a scan, and need not walk content/ again.
        self.articles: tuple[ContentEntry, ...] = ()

    def scan(self) -> dict[str, Stamp]:
        started = time.perf_counter()
        if self._observer is not None and len(self._observed) <= len(self.roots):
            with suppress(OSError, RuntimeError):
                self._observe_roots()  # a folder made since: its events count too
        found: dict[str, Stamp] = {}
        for root in self.roots:
            if root == self.content:
                self._scan_content(found)
            else:
                self._scan_path(str(root), found)
        self.scan_seconds = time.perf_counter() - started
        return found

    def _scan_content(self, found: dict[str, Stamp]) -> None:
        others: dict[str, os.stat_result | OSError] = {}
        self.articles = tuple(content_entries(self.content, others, skip=self.ignore))
        for path, stat in self.articles:
            # One that cannot be read is watched too: the build says why.
            found[path] = UNREADABLE if isinstance(stat, OSError) else _stamp(stat)
        for path, stat in others.items():
            if not isinstance(stat, OSError) and not _is_litter(os.path.basename(path)):
                found[path] = _stamp(stat)

    def _scan_path(self, path: str, found: dict[str, Stamp]) -> None:
        try:
            st = os.stat(path)
        except OSError:
            return  # not there (yet): a folder a site does not have is fine
        if os.path.isdir(path):
            self._scan_dir(path, found, {(st.st_dev, st.st_ino)})
        else:
            found[path] = _stamp(st)

    def _scan_dir(self, folder: str, found: dict[str, Stamp], seen: set[tuple[int, int]]) -> None:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        for entry in entries:
            if _is_litter(entry.name) or entry.name in (".git", "__pycache__") or entry.path in self.ignore:
                continue
            try:
                st = entry.stat()  # follows links, as the content loader does
                if entry.is_dir():
                    if (st.st_dev, st.st_ino) not in seen:  # a link loop
                        self._scan_dir(entry.path, found, seen | {(st.st_dev, st.st_ino)})
                    continue
            except OSError:
                continue  # deleted while we looked: the next scan sees it gone
            found[entry.path] = _stamp(st)

    def start(self) -> None:
        """Remember how things are now; later changes are measured from here."""
        self.stamps = self.scan()

    def changes(self) -> set[str]:
        now = self.scan()
        old = self.stamps
        self.stamps = now
        changed = {path for path, stamp in now.items() if old.get(path) != stamp}
        changed.update(path for path in old if path not in now)
        return changed

    @property
    def interval(self) -> float:
        """How long to wait between scans: when told of events, only as a safety net."""
        if self._observer is not None:
            return max(EVENTS_POLL_SECONDS, 20 * self.scan_seconds)
        return min(MAX_POLL_SECONDS, max(MIN_POLL_SECONDS, 4 * self.scan_seconds))

    def listen(self) -> bool:
        """Be nudged by the system's file events from now on; False where
        there are none to be had (no watchdog, no inotify watches left):
        then only polling tells of changes, as before."""
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            return False
        watcher = self

        class Nudge(FileSystemEventHandler):  # type: ignore[misc]
            def on_any_event(self, event: Any) -> None:
                # Not reads (opened, closed without writing: the build reads every
                # file), nor a folder's own "modified", which comes with the event
                # of the file inside that made it.
                if event.event_type not in NUDGING_EVENTS or (event.is_directory and event.event_type == "modified"):
                    return
                if watcher.matters(event.src_path) or watcher.matters(getattr(event, "dest_path", "")):
                    watcher.nudged.set()

        observer = Observer()
        self._nudge = Nudge()
        try:
            # The source folder itself, not its subfolders: the config file, and
            # templates/ or static/ made later (observed from the next scan on).
            observer.schedule(self._nudge, str(self.source), recursive=False)
            self._observed.add(str(self.source))
            self._observer = observer
            self._observe_roots()
            observer.start()
        except (OSError, RuntimeError):  # out of inotify watches, or none at all
            self.close()
            return False
        return True

    def _observe_roots(self) -> None:
        if self._observer is None:
            return
        for root in self.roots:
            if str(root) not in self._observed and root.is_dir():
                self._observer.schedule(self._nudge, str(root), recursive=True)
                self._observed.add(str(root))

    def matters(self, path: str) -> bool:
        """Does a change at path change the site? (Its folder, its name, not the output.)"""
        if not path or _is_litter(os.path.basename(path)):
            return False
        if any(path == ignored or path.startswith(ignored + os.sep) for ignored in self.ignore):
            return False
        return any(path == root or path.startswith(root + os.sep) for root in map(str, self.roots))

    def close(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            with suppress(Exception):
                observer.stop()
                if observer.is_alive():
                    observer.join(5)


# -- what the last build left ---------------------------------------------------------
@dataclass
class BuildState:
    """What the server shows: read by the HTTP thread, replaced by the builder."""

    good: bool = False  # the output folder holds a complete site
    problems: tuple[str, ...] = ()  # of the last build; empty when it succeeded
    # The output folder's inode when the last build failed. The pipeline swaps
    # in a new folder (a new inode) when it publishes, a moment before build()
    # returns and we learn of it: a request in that moment sees the new inode
    # and so neither the fixed page under a stale overlay nor a stale error page.
    failed_inode: int | None = None
    # Where the site's links expect it (the path of base_url): the server
    # answers from the output folder there, so a paper hosted at /epaper/ is
    # previewed with its styles and links working, byte for byte as published.
    base_path: str = "/"
    builds: int = 0
    first_done: threading.Event = field(default_factory=threading.Event)

    def view(self, output: Path) -> tuple[bool, tuple[str, ...]]:
        """(is there a site to serve, the problems to show over it)."""
        problems = self.problems
        if not problems:
            return self.good, ()
        inode = _inode(output)
        if inode is not None and inode != self.failed_inode:
            return True, ()  # published since the failure: the fix is being served
        return self.good, problems


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


# -- building -------------------------------------------------------------------
Notify = Callable[[], None]


class Builder(threading.Thread):
    """Watches, coalesces bursts of saves, and runs one build at a time."""

    def __init__(
        self,
        options: BuildOptions,
        cache: BuildCache,
        watcher: Watcher,
        state: BuildState,
        on_built: Notify,
        log: TextIO,
    ) -> None:
        super().__init__(name="banmian-builder", daemon=True)
        self.options = options
        self.cache = cache
        self.watcher = watcher
        self.state = state
        self.on_built = on_built
        self.log = log
        self.stopping = threading.Event()
        self.untidy = 0  # builds since the heap was last collected
        self.built_at = 0.0

    def run(self) -> None:
        # The snapshot comes first: a save during the first build is seen after it.
        self.watcher.start()
        listening = self.watcher.listen()
        self.rebuild(changed=(), first=True)
        self.settle()
        pending: set[str] = set()
        last_change = 0.0
        nudged = self.watcher.nudged
        while not self.stopping.is_set():
            try:
                nudged.clear()  # before the scan: an event during it means scan again
                changed = self.watcher.changes()
                now = time.monotonic()
                if changed:
                    pending |= changed
                    last_change = now
                elif pending and now - last_change >= QUIET_SECONDS:
                    batch, pending = sorted(pending), set()
                    self.rebuild(batch)
                    continue  # look again at once: saves during the build wait for us
                elif self.untidy and now - self.built_at >= TIDY_AFTER_SECONDS:
                    self.tidy()
                if listening and pending:
                    # Told of every change: quiet for the window since the scan
                    # that saw the last one, the build can start from that scan.
                    if not nudged.wait(QUIET_SECONDS) and not self.stopping.is_set():
                        batch, pending = sorted(pending), set()
                        self.rebuild(batch)
                    continue
            except Exception:  # keep watching: a server that stops rebuilding is a silent lie
                traceback.print_exc(file=self.log)
            if listening:
                wait = self.watcher.interval
                if self.untidy:
                    wait = min(wait, max(0.0, TIDY_AFTER_SECONDS - (time.monotonic() - self.built_at)))
                nudged.wait(wait)
            else:
                self.stopping.wait(self.watcher.interval)

    def stop(self, wait: float) -> None:
        self.stopping.set()
        self.watcher.nudged.set()  # wakes the builder if it waits for events
        if self.is_alive():
            self.join(wait)
        self.watcher.close()

    def rebuild(self, changed: Sequence[str], first: bool = False) -> None:
        """Build and tell the browsers. Called right after a scan of the
        watcher: a rebuild takes the articles as that scan found them."""
        was_good, old_problems = self.state.good, self.state.problems
        result = self._build(first)
        if self.stopping.is_set():
            return
        if result is not None:
            self.state.base_path = result.base_path
            self.state.good, self.state.problems = True, ()
        self.state.builds += 1
        self.state.first_done.set()
        self._say(result, changed, first, was_good and not old_problems)
        if first or result is None or result.written or old_problems:
            self.on_built()
        self.built_at = time.monotonic()
        self.untidy += 1
        if self.untidy >= TIDY_EVERY_BUILDS:
            self.tidy()  # saves without pause: the heap must still be collected some time

    def settle(self) -> None:
        """Build once more, quietly, right after a good first build.

        The first build leaves the cache holding copies of its articles'
        records (without their Markdown); the next build loads those, and
        the pages and issues resolve.Reuse keeps are known by their records'
        identity, so that build would find none of them: the first save after
        starting took 0.28 s where later ones take 0.17 s (5,000 articles).
        Built now, while nobody waits, and changing nothing, it is the first
        save's build that finds them.
        """
        if not self.state.good or self.state.problems or self.stopping.is_set():
            return
        try:
            with collector_paused():
                result = build(_one_job(self.options), cache=self.cache)
        except Exception:  # the next save's build will say what is wrong
            return
        if result.written and not self.stopping.is_set():
            # A save came during the first build: this build published it, so say so.
            print(
                f"rebuilt {result.articles} articles in {result.seconds:.2f} s: {result.written} files written, "
                f"{result.unchanged} unchanged (saved during the first build)",
                file=self.log,
                flush=True,
            )
            self.on_built()

    def tidy(self) -> None:
        """Collect the heap's garbage cycles, then freeze what is left.

        The kept cache and site are a few hundred thousand objects. A full
        collection walks them all (~0.1 s at 5,000 articles), and with the
        collector on one started in every other rebuild, adding a third to
        it. So rebuilds run with the collector off, and it runs here instead,
        once the builder is idle; frozen, the objects that survived are out of
        later collections' reach until the next tidy.
        """
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self.untidy = 0

    def _build(self, first: bool) -> BuildResult | None:
        # A cold start uses every core; afterwards only a few pages change and
        # a worker pool would cost more to start than it saves.
        options = self.options if first else _one_job(self.options)
        try:
            if first:
                return build(options, cache=self.cache)
            with collector_paused():
                return build(options, cache=self.cache, articles=self.watcher.articles)
        except ContentError as error:
            self._failed(tuple(str(p) for p in error.problems) or ("build failed",))
        except Exception as exc:  # a bug must not take the preview down with it
            lines = traceback.format_exception_only(type(exc), exc)
            self._failed((f"internal error: {''.join(lines).strip()}",))
            if not self.stopping.is_set():
                traceback.print_exc(file=self.log)
        return None

    def _failed(self, problems: tuple[str, ...]) -> None:
        # The inode first: a reader that sees the new problems sees it too.
        self.state.failed_inode = _inode(self.options.output)
        self.state.problems = problems

    def _say(self, result: BuildResult | None, changed: Sequence[str], first: bool, was_clean: bool) -> None:
        if self.stopping.is_set():
            return
        what = "" if first else f" ({_describe(changed, self.options.source)})"
        if result is None:
            for line in self.state.problems:
                print(line, file=self.log)
            shown = "the last good build" if self.state.good else "an error page"
            print(f"build failed{what}: {len(self.state.problems)} problem(s); serving {shown}", file=self.log)
        else:
            for warning in result.warnings:
                print(warning, file=self.log)
            verb = "built" if first else ("rebuilt" if was_clean else "fixed, rebuilt")
            print(
                f"{verb} {result.articles} articles in {result.seconds:.2f} s: "
                f"{result.written} files written, {result.unchanged} unchanged{what}",
                file=self.log,
            )
        self.log.flush()


def _one_job(options: BuildOptions) -> BuildOptions:
    from dataclasses import replace

    return replace(options, jobs=1)


def _describe(changed: Sequence[str], source: Path) -> str:
    names = []
    for path in changed[:3]:
        try:
            names.append(Path(path).relative_to(source).as_posix())
        except ValueError:
            names.append(path)
    more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
    return ", ".join(names) + more + (" changed" if names else "")


# -- what is served -------------------------------------------------------------------
def live_script(port: int) -> bytes:
    # livereload.js reads the WebSocket port from its own src (?port=) and the
    # host from the page's, so it also works when the preview is opened by name.
    return f'<script src="/livereload.js?port={port}"></script>'.encode()


def overlay(problems: Sequence[str], good: bool) -> bytes:
    """A fixed panel over the page listing what is wrong, escaped."""
    under = "下面是上一次成功的构建 · showing the last good build" if good else "还没有成功的构建 · no good build yet"
    items = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
    return (
        '<div id="banmian-overlay" role="alert" style="position:fixed;inset:0;z-index:2147483647;'
        "overflow:auto;background:rgba(20,0,0,.88);color:#fff;padding:2em;"
        'font:15px/1.6 ui-monospace,Menlo,Consolas,monospace">'
        '<h2 style="margin:0 0 .5em;color:#ff8a80;font-size:20px">构建失败 · build failed</h2>'
        f'<ul style="margin:0;padding-left:1.2em;white-space:pre-wrap;word-break:break-all">{items}</ul>'
        f'<p style="margin-top:1.5em;color:#ccc">{html.escape(under)}；'
        "修改文件后本页会自动刷新 · fix the file and this page reloads by itself</p></div>"
    ).encode()


def inject(page: bytes, *, script: bytes, panel: bytes = b"") -> bytes:
    """Put the reload script in <head> and the overlay at the end of <body>."""
    at = page.find(HEAD_END)
    page = page[:at] + script + page[at:] if at >= 0 else script + page
    if panel:
        at = page.rfind(BODY_END)
        page = page[:at] + panel + page[at:] if at >= 0 else page + panel
    return page


def error_page(problems: Sequence[str], script: bytes) -> bytes:
    return (
        b'<!doctype html><html lang="zh-Hans"><head><meta charset="utf-8">'
        b"<title>\xe6\x9e\x84\xe5\xbb\xba\xe5\xa4\xb1\xe8\xb4\xa5 \xc2\xb7 build failed</title>"
        + script
        + b"</head><body>"
        + overlay(problems, good=False)
        + b"</body></html>"
    )


def content_type(path: str) -> str:
    import mimetypes

    suffix = os.path.splitext(path)[1].lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def resolve_path(root: Path, url_path: str) -> Path | None:
    """The file or folder a URL path names inside root, or None if it leaves root."""
    parts = [p for p in url_path.split("/") if p not in ("", ".")]
    if any(p == ".." or "\\" in p or "\x00" in p for p in parts):
        return None
    return root.joinpath(*parts)


class SiteHandler(web.RequestHandler):
    """The output folder as a static host serves it, plus reload script and overlay."""

    def initialize(self, root: Path, state: BuildState, script: bytes) -> None:
        self.root = root
        self.state = state
        self.script = script
        self.problems: tuple[str, ...] = ()  # what this reply shows, read once

    def compute_etag(self) -> None:
        return None  # every reply is fresh: a preview must never show a stale page

    async def head(self, path: str) -> None:
        await self.get(path)

    async def get(self, path: str) -> None:
        # Requests that arrive during the first build wait for it instead of
        # seeing an empty folder.
        while not self.state.first_done.is_set():
            await asyncio.sleep(0.05)
        self.set_header("Cache-Control", "no-store")
        servable, self.problems = self.state.view(self.root)
        if not servable:
            self._send(200, "text/html; charset=utf-8", error_page(self.problems, self.script), html_page=False)
            return
        base = self.state.base_path
        if base != "/":
            # The site lives at base: the root (and base without its slash) lead there.
            if path in ("", base.strip("/")):
                self.redirect(base, permanent=False)
                return
            if not f"/{path}".startswith(base):
                self._send(404, "text/plain; charset=utf-8", f"404: the site is at {base}\n".encode(), html_page=False)
                return
            path = path[len(base) - 1 :]
        target = resolve_path(self.root, path)
        if target is None:
            self._not_found(path)
            return
        if target.is_dir():
            if not path.endswith("/") and path != "":
                query = f"?{self.request.query}" if self.request.query else ""
                self.redirect(f"{base}{quote(path)}/{query}", permanent=True)
                return
            target = target / "index.html"
        data = _read(target)
        if data is None:
            self._not_found(path)
            return
        kind = content_type(target.name)
        self._send(200, kind, data, html_page=kind.startswith("text/html"))

    def _not_found(self, path: str) -> None:
        for folder in _parents(self.root, path):
            data = _read(folder / "404.html")
            if data is not None:
                self._send(404, "text/html; charset=utf-8", data, html_page=True)
                return
        self._send(404, "text/plain; charset=utf-8", b"404 not found\n", html_page=False)

    def _send(self, status: int, kind: str, data: bytes, *, html_page: bool) -> None:
        if html_page:
            panel = overlay(self.problems, good=True) if self.problems else b""
            data = inject(data, script=self.script, panel=panel)
        if self.problems:
            self.set_header("X-Banmian-Build", "failed")
        self.set_status(status)
        self.set_header("Content-Type", kind)
        self.set_header("Content-Length", str(len(data)))
        if self.request.method != "HEAD":
            self.write(data)

    def log_exception(self, *args: object) -> None:
        # A browser that drops the connection mid-reply is not worth a traceback.
        if not isinstance(args[1] if len(args) > 1 else None, (ConnectionError,)):
            super().log_exception(*args)  # type: ignore[arg-type]


def _read(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as handle:  # by path, every time: the folder is swapped under us
            return handle.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError):
        return None


def _parents(root: Path, url_path: str) -> list[Path]:
    """The folders of a URL path, nearest first: /zh-hant/x/y → zh-hant/x, zh-hant, root."""
    parts = [p for p in url_path.split("/") if p and p not in (".", "..")][:-1]
    return [root.joinpath(*parts[:n]) for n in range(len(parts), -1, -1)]


def reload_browsers() -> None:
    """Tell every connected page to reload (livereload protocol 7)."""
    message = {"command": "reload", "path": "*", "liveCSS": False, "liveImg": False}
    for waiter in list(LiveReloadHandler.waiters):
        try:
            waiter.write_message(message)
        except Exception:  # a closed tab: forget it
            LiveReloadHandler.waiters.discard(waiter)


def application(root: Path, state: BuildState, port: int) -> web.Application:
    return web.Application(
        [
            (r"/livereload", LiveReloadHandler),
            (r"/livereload\.js", LiveReloadJSHandler),
            (r"/(.*)", SiteHandler, {"root": root, "state": state, "script": live_script(port)}),
        ],
        compress_response=False,
        log_function=_log_request,
    )


def _log_request(handler: web.RequestHandler) -> None:
    # The terminal is for build results; only a failure of the server itself
    # is worth a line there (a 404 is the 404 page doing its job).
    if handler.get_status() >= 500:
        request = handler.request
        print(f"{handler.get_status()} {request.method} {request.uri}", file=sys.stderr)


# -- the command ----------------------------------------------------------------------
@dataclass
class Listening:
    sockets: list[socket.socket]
    port: int


def listen(host: str, port: int) -> Listening:
    """Bind now, so that a busy port is reported before anything is built."""
    sockets = netutil.bind_sockets(port, address=host, reuse_port=False)
    return Listening(sockets, sockets[0].getsockname()[1])


def bind_problem(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use (another preview or web server?): "
            "stop it, choose another with --port N, or use --port 0 to pick a free one"
        )
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on port {port}: ports below 1024 need privileges; try --port 8000"
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host!r}: not an address of this machine (try --host 127.0.0.1)"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"


def _base_path(source: Path) -> str:
    """The path of base_url in newspaper.toml ("/" when it cannot be read: the build will say why)."""
    paper, _ = load_config(source)
    return paper.base_path if paper is not None else "/"


def url_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else ("[::1]" if host == "::" else host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def is_public(host: str) -> bool:
    return host in ("", "0.0.0.0", "::") or not (host == "localhost" or host.startswith("127.") or host == "::1")


def run_serve(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    source: Path = args.source.resolve()
    if not source.is_dir():
        print(f"{args.source}: no such folder (--source names the newspaper folder)", file=err)
        return 1
    try:
        listening = listen(args.host, args.port)
    except OSError as exc:
        print(bind_problem(args.host, args.port, exc), file=err)
        return 1

    scratch: Path | None = None
    if args.output is None:
        # Never the published <source>/site: previewing must not disturb it.
        scratch = Path(tempfile.mkdtemp(prefix="banmian-serve-"))
    output = (args.output or scratch / "site").resolve()  # type: ignore[operator]
    options = BuildOptions(source=source, output=output, drafts=not args.no_drafts, serving=True, use_cache=False)
    try:
        return asyncio.run(_serve(options, args.host, listening, out, err))
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _stopper(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> Callable[[int, object], None]:
    """The handler of SIGINT and SIGTERM: stop the server, never a traceback.

    Not loop.add_signal_handler: the build's worker processes are forked from
    this one and would inherit its wakeup socket, so the SIGTERM with which a
    worker pool is shut down at the end of every parallel build would reach
    the server as its own. Workers inherit this handler instead, and act on
    the pid: Ctrl-C (sent to the whole process group) is left to the server,
    which ends the pool; SIGTERM ends the worker as it would have.
    """
    server_pid = os.getpid()

    def handle(signum: int, frame: object) -> None:
        if os.getpid() == server_pid:
            loop.call_soon_threadsafe(stop.set)
        elif signum != signal.SIGINT:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    return handle


async def _serve(options: BuildOptions, host: str, listening: Listening, out: TextIO, err: TextIO) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    previous = {signum: signal.signal(signum, _stopper(loop, stop)) for signum in (signal.SIGINT, signal.SIGTERM)}

    state = BuildState()
    server = httpserver.HTTPServer(application(options.output, state, listening.port))
    server.add_sockets(listening.sockets)
    # The on-disk cache makes the first build warm; afterwards it lives here.
    cache = load_cache(options.source)
    watcher = Watcher(options.source, ignore=[options.output])
    builder = Builder(options, cache, watcher, state, lambda: loop.call_soon_threadsafe(reload_browsers), err)

    state.base_path = _base_path(options.source)
    url = url_for(host, listening.port) + state.base_path.lstrip("/")
    print(f"serving {options.source} at {url}", file=out, flush=True)
    if is_public(host):
        print(
            f"warning: --host {host}: the preview is reachable from the network by anyone who can reach "
            "this machine, drafts included; use the default 127.0.0.1 to keep it private",
            file=err,
        )
    drafts = "hidden (--no-drafts)" if not options.drafts else "shown, marked 草稿"
    print(f"drafts {drafts}; building into {options.output}", file=err)
    print(f"watching {', '.join(WATCHED)}; press Ctrl-C to stop", file=err, flush=True)
    builder.start()
    try:
        await stop.wait()
    finally:
        server.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        # A build in progress is let finish briefly so its staging folder is
        # not left half-written; the next build would clear it anyway.
        builder.stop(wait=5.0)
        await server.close_all_connections()
    print("stopped", file=err, flush=True)
    return 0
