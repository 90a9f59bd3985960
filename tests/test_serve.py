"""The preview server, from outside: a real process on a free port, fetched over HTTP.

Every test copies a fixture site, starts `python build.py serve --port 0`,
reads the URL it prints, and kills the process at the end. Edits are
followed by polling with a generous timeout: the tests say *that* a change
is served, never how fast (bench/serve_latency.py measures that).
"""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

from banmian import serve as serve_module
from banmian.cache import BuildCache
from banmian.pipeline import BuildOptions
from banmian.serve import Builder, BuildState, Watcher, inject, resolve_path
from sitekit import ROOT, copy_fixture, run_cli

TIMEOUT = 180.0  # a loaded CI machine builds slowly; a hang still fails
ARTICLE = "2025-03-01/A02/nvzu-guniang/"  # economy.md, explicit slug
ECONOMY = "content/2025-03-01/A02/economy.md"
URL_LINE = re.compile(r"(http://\S+/)")


@dataclass
class Server:
    proc: subprocess.Popen[str]
    source: Path
    err_path: Path
    url: str = ""
    out_lines: list[str] = field(default_factory=list)

    @property
    def root(self) -> str:
        """The server's own root; url is where the site is (the fixture's base_url is …/paper/)."""
        return self.url.split("/", 3)[0] + "//" + self.url.split("/", 3)[2] + "/"

    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def get(self, path: str) -> tuple[int, dict[str, str], str]:
        try:
            url = path if path.startswith("http://") else self.url + path.lstrip("/")
            with urllib.request.urlopen(url, timeout=60) as reply:
                headers = {k.lower(): v for k, v in reply.headers.items()}
                return reply.status, headers, reply.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            headers = {k.lower(): v for k, v in error.headers.items()}
            return error.code, headers, error.read().decode("utf-8")

    def text(self, path: str) -> str:
        return self.get(path)[2]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start(source: Path, tmp: Path, *extra: str) -> Server:
    err_path = tmp / f"serve-{time.monotonic_ns()}.err"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "build.py"), "serve", "--source", str(source), "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=open(err_path, "w", encoding="utf-8"),
        text=True,
        encoding="utf-8",
    )
    server = Server(proc, source, err_path)
    found = threading.Event()

    def read() -> None:  # keeps the pipe drained for the whole life of the process
        assert proc.stdout is not None
        for line in proc.stdout:
            server.out_lines.append(line)
            match = URL_LINE.search(line)
            if match and not server.url:
                server.url = match.group(1)
                found.set()

    threading.Thread(target=read, daemon=True).start()
    if not found.wait(TIMEOUT):
        proc.kill()
        raise AssertionError(f"no URL printed; stderr:\n{server.stderr()}")
    server.get("")  # answered once the first build is done: edits after this are rebuilds
    return server


def wait_for(what: str, check: Callable[[], bool], server: Server) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        assert server.proc.poll() is None, f"the server died while waiting for {what}:\n{server.stderr()}"
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; stderr:\n{server.stderr()}")


@pytest.fixture
def paper(tmp_path: Path) -> Path:
    return copy_fixture("paper", tmp_path)


@pytest.fixture
def serve(paper: Path, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def run(*extra: str) -> Server:
        server = start(paper, tmp_path, *extra)
        started.append(server)
        return server

    yield run
    for server in started:
        server.stop()


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


# -- over HTTP -------------------------------------------------------------------------
@pytest.mark.slow
def test_serves_both_editions_with_the_reload_script(serve: Callable[..., Server]) -> None:
    server = serve()
    assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/paper/")
    status, headers, hans = server.get("zh-hans/" + ARTICLE)
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "女足姑娘长大了" in hans
    assert '<script src="/livereload.js?port=' in hans
    hant = server.text("zh-hant/" + ARTICLE)
    assert "女足姑娘長大了" in hant and "/livereload.js?port=" in hant
    status, headers, script = server.get(server.root + "livereload.js")
    assert status == 200 and "javascript" in headers["content-type"] and "LiveReload" in script
    assert "banmian-overlay" not in hans


@pytest.mark.slow
def test_each_edit_is_served_in_both_editions(serve: Callable[..., Server]) -> None:
    server = serve()
    article = server.source / ECONOMY
    for n in range(3):
        marker = f"EDIT-{n}-MARK"  # Latin: OpenCC leaves it alone in 繁體
        append(article, f"\n\n新的一段 {marker}。\n")
        for edition in ("zh-hans", "zh-hant"):
            wait_for(f"{marker} in {edition}", lambda: marker in server.text(f"{edition}/{ARTICLE}"), server)
    assert "rebuilt" in server.stderr()


@pytest.mark.slow
def test_an_open_page_is_told_to_reload_after_a_rebuild(serve: Callable[..., Server]) -> None:
    from tornado.ioloop import IOLoop
    from tornado.websocket import websocket_connect

    server = serve()
    article = server.source / ECONOMY

    async def listen() -> dict[str, object]:
        # The handshake livereload.js makes, then wait for the server's word.
        socket_url = server.root.replace("http://", "ws://") + "livereload"
        connection = await websocket_connect(socket_url, connect_timeout=60)
        await connection.write_message(json.dumps({"command": "hello", "protocols": ["http://livereload.com/protocols/official-7"]}))
        hello = json.loads(await connection.read_message())  # type: ignore[arg-type]
        assert hello["command"] == "hello"
        await connection.write_message(json.dumps({"command": "info", "url": server.url}))
        await asyncio.sleep(0.5)  # the server registers the page on "info"
        append(article, "\n\n重新载入 RELOAD-MARK。\n")
        message = await asyncio.wait_for(connection.read_message(), TIMEOUT)
        connection.close()
        return json.loads(message)  # type: ignore[arg-type]

    message = IOLoop.current().run_sync(listen, timeout=TIMEOUT + 30)
    assert message["command"] == "reload"
    assert "RELOAD-MARK" in server.text("zh-hant/" + ARTICLE)  # the reload comes after the rebuild


@pytest.mark.slow
def test_a_burst_of_saves_is_one_rebuild(serve: Callable[..., Server]) -> None:
    server = serve()
    article = server.source / ECONOMY
    for n in range(5):  # as an editor's save, backup and format-on-save do
        append(article, f"\n\n连续保存 BURST-{n}。\n")
    wait_for("the last save", lambda: "BURST-4" in server.text("zh-hans/" + ARTICLE), server)
    time.sleep(1.0)  # a second rebuild, if there were one, would be under way by now
    assert server.stderr().count("rebuilt") == 1, server.stderr()


@pytest.mark.slow
def test_broken_front_matter_keeps_the_server_up_and_recovers(serve: Callable[..., Server]) -> None:
    server = serve()
    article = server.source / ECONOMY
    good = article.read_text(encoding="utf-8")
    article.write_text(good.replace("page: A02", "page: [A02"), encoding="utf-8")
    page = "zh-hans/" + ARTICLE
    wait_for("the overlay", lambda: "banmian-overlay" in server.text(page), server)
    # Every page shows it, over the last good site, naming the file and line.
    for path in (page, "zh-hant/" + ARTICLE, "zh-hans/", "no/such/page/"):
        status, _, body = server.get(path)
        assert "banmian-overlay" in body and ECONOMY in body, path
        assert re.search(re.escape(ECONOMY) + r":\d+: front matter is not valid YAML", body)
    assert "女足姑娘长大了" in server.text(page)  # the last good build is still underneath
    assert re.search(re.escape(ECONOMY) + r":\d+: front matter", server.stderr())

    article.write_text(good + "\n修好了 FIXED-MARK。\n", encoding="utf-8")
    wait_for("recovery", lambda: "FIXED-MARK" in server.text(page), server)
    assert "banmian-overlay" not in server.text(page)
    assert "banmian-overlay" not in server.text("zh-hant/" + ARTICLE)


@pytest.mark.slow
def test_a_site_that_never_built_shows_the_problem_then_recovers(paper: Path, serve: Callable[..., Server]) -> None:
    article = paper / ECONOMY
    good = article.read_text(encoding="utf-8")
    article.write_text(good.replace("---\ntitle", "---\ntitle: [unclosed\ntitle", 1), encoding="utf-8")
    server = serve()
    status, _, body = server.get("zh-hans/" + ARTICLE)
    assert status == 200 and "banmian-overlay" in body and ECONOMY in body
    assert "/livereload.js?port=" in body  # so the page reloads once it is fixed
    article.write_text(good, encoding="utf-8")
    wait_for("recovery", lambda: server.get("zh-hans/" + ARTICLE)[0] == 200
             and "banmian-overlay" not in server.text("zh-hans/" + ARTICLE), server)
    assert "女足姑娘长大了" in server.text("zh-hans/" + ARTICLE)


@pytest.mark.slow
def test_a_template_error_shows_the_template_and_recovers(serve: Callable[..., Server]) -> None:
    server = serve()
    override = server.source / "templates" / "article.html"
    override.parent.mkdir(exist_ok=True)
    override.write_text("{% extends 'base.html' %}\n{% block content %}{% if %}{% endblock %}\n", encoding="utf-8")
    page = "zh-hans/" + ARTICLE
    wait_for("the template overlay", lambda: "banmian-overlay" in server.text(page), server)
    body = server.text(page)
    assert "article.html" in body and "template error" in body
    override.unlink()
    wait_for("recovery", lambda: "banmian-overlay" not in server.text(page), server)


@pytest.mark.slow
def test_behaves_like_a_static_host(serve: Callable[..., Server]) -> None:
    server = serve()
    assert server.get("static/banmian.css")[1]["content-type"].startswith("text/css")
    assert server.get("issues.json")[1]["content-type"].startswith("application/json")
    assert "xml" in server.get("sitemap.xml")[1]["content-type"]
    assert "xml" in server.get("zh-hans/feed.xml")[1]["content-type"]
    assert server.get("static/banmian.css")[2] == (ROOT / "static" / "banmian.css").read_text(encoding="utf-8")

    status, headers, body = server.get("zh-hant/2025-03-01/no-such-page/")
    assert status == 404 and headers["content-type"].startswith("text/html")
    assert "/livereload.js?port=" in body and "404" in body

    # A folder without its slash is redirected, as static hosts do, keeping the query.
    host = server.root.split("//")[1].rstrip("/")
    connection = http.client.HTTPConnection(host, timeout=60)
    connection.request("GET", "/paper/zh-hans/search?q=%E9%87%8D%E5%BA%86")
    reply = connection.getresponse()
    assert reply.status in (301, 308) and reply.getheader("Location") == "/paper/zh-hans/search/?q=%E9%87%8D%E5%BA%86"
    reply.read()
    # The site is where its links expect it, the path of base_url: the rest leads there or is not found.
    for outside, location in (("/", "/paper/"), ("/paper", "/paper/")):
        connection.request("GET", outside)
        reply = connection.getresponse()
        assert reply.status == 302 and reply.getheader("Location") == location
        reply.read()
    connection.request("GET", "/zh-hans/")
    reply = connection.getresponse()
    assert reply.status == 404 and b"/paper/" in reply.read()
    connection.close()
    status, _, body = server.get("zh-hant/2025-03-01")
    assert status == 200 and "2025" in body
    assert server.get("../../etc/passwd")[0] == 404
    assert server.get("")[0] == 200


@pytest.mark.slow
def test_drafts_are_marked_in_serve_and_hidden_with_no_drafts(serve: Callable[..., Server], paper: Path, tmp_path: Path) -> None:
    server = serve()
    page = server.text("zh-hans/2025-03-01/A01/")
    assert "草稿不应发布的秘密文章" in page and "草稿</mark>" in page
    server.stop()
    hidden = serve("--no-drafts")
    assert "草稿不应发布的秘密文章" not in hidden.text("zh-hans/2025-03-01/A01/")
    # The published build has neither the reload script nor the overlay.
    result = run_cli("build", "--source", str(paper), "--output", str(tmp_path / "site"), "--quiet")
    assert result.returncode == 0, result.stderr
    pages = list((tmp_path / "site").rglob("*.html"))
    assert pages and not any(b"livereload" in p.read_bytes() for p in pages)
    assert not (paper / "site").exists()  # serve built elsewhere, never into <source>/site


@pytest.mark.slow
def test_survives_a_first_build_with_worker_processes(tmp_path: Path) -> None:
    # Over PARALLEL_THRESHOLD pages the first build forks a worker pool, whose
    # shutdown signals its workers; those signals must not stop the server.
    from bench.corpus import generate

    corpus = generate(tmp_path / "corpus", 240)
    server = start(corpus.banmian, tmp_path)
    try:
        wait_for("the first build", lambda: "built 240 articles" in server.stderr(), server)
        time.sleep(1.0)
        assert server.proc.poll() is None, server.stderr()
        assert server.get("zh-hant/")[0] == 200
    finally:
        server.stop()


# -- the command line -----------------------------------------------------------------
def test_a_port_in_use_is_a_clear_message(paper: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("serve", "--source", str(paper), "--port", str(port))
    assert result.returncode == 1
    assert f"port {port}" in result.stderr and "already in use" in result.stderr and "--port 0" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_removes_the_preview(serve: Callable[..., Server]) -> None:
    server = serve()
    wait_for("the first build", lambda: "built" in server.stderr(), server)
    output = Path(re.search(r"building into (\S+)", server.stderr()).group(1))  # type: ignore[union-attr]
    assert (output / "index.html").is_file()
    assert server.stop() == 0
    assert "Traceback" not in server.stderr() and "stopped" in server.stderr()
    assert not output.exists()


@pytest.mark.slow
def test_listening_on_every_address_says_so(serve: Callable[..., Server]) -> None:
    server = serve("--host", "0.0.0.0")
    assert "reachable from the network" in server.stderr()
    assert server.get("zh-hans/")[0] == 200


# -- the parts ------------------------------------------------------------------------
def test_watcher_sees_new_changed_and_removed_files_but_not_editor_litter(tmp_path: Path) -> None:
    (tmp_path / "content" / "d").mkdir(parents=True)
    article = tmp_path / "content" / "d" / "a.md"
    article.write_text("one", encoding="utf-8")
    watcher = Watcher(tmp_path)
    watcher.start()
    assert watcher.changes() == set()
    article.write_text("two!", encoding="utf-8")
    (tmp_path / "content" / "d" / ".a.md.swp").write_text("x", encoding="utf-8")
    (tmp_path / "content" / "d" / "a.md~").write_text("x", encoding="utf-8")
    (tmp_path / "newspaper.toml").write_text("title = 'x'", encoding="utf-8")
    assert watcher.changes() == {str(article), str(tmp_path / "newspaper.toml")}
    # Same size, same second: a save by rename is still seen (new inode).
    replacement = tmp_path / "content" / "d" / "b.tmp"
    replacement.write_text("two?", encoding="utf-8")
    os.replace(replacement, article)
    assert watcher.changes() == {str(article)}
    article.unlink()
    assert watcher.changes() == {str(article)}


def test_watcher_hands_the_build_its_walk_of_the_articles(paper: Path, tmp_path: Path) -> None:
    from banmian.walk import content_entries

    watcher = Watcher(paper)
    watcher.start()
    walked = list(content_entries(paper / "content"))
    assert [(p, s.st_size) for p, s in watcher.articles] == [(p, s.st_size) for p, s in walked]  # type: ignore[union-attr]
    broken = paper / "content" / "2025-03-01" / "A02" / "broken.md"
    broken.symlink_to(tmp_path / "nowhere.md")
    assert watcher.changes() == {str(broken)}  # watched, so that the build can say it cannot be read
    assert any(p == str(broken) and isinstance(s, OSError) for p, s in watcher.articles)
    assert watcher.changes() == set()  # and seen once, not on every scan


def _builder(paper: Path, tmp_path: Path, on_built: Callable[[], None] = lambda: None, log: io.StringIO | None = None) -> Builder:
    """A builder as serve makes one, run here step by step instead of as a thread."""
    options = BuildOptions(source=paper, output=tmp_path / "out", drafts=True, serving=True, use_cache=False, jobs=1)
    return Builder(options, BuildCache(), Watcher(paper), BuildState(), on_built, log or io.StringIO())


def test_the_first_save_after_starting_finds_the_unchanged_pages_kept(
    paper: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from banmian import resolve

    builder = _builder(paper, tmp_path)
    builder.watcher.start()
    builder.rebuild((), first=True)
    builder.settle()
    answers: list[bool] = []
    page = resolve.Reuse.page
    monkeypatch.setattr(resolve.Reuse, "page", lambda self, *a: answers.append(page(self, *a) is not None) or page(self, *a))
    economy = paper / ECONOMY
    economy.write_text(economy.read_text(encoding="utf-8") + "\n据了解，这是一次修改。\n", encoding="utf-8")
    builder.watcher.changes()
    builder.rebuild((str(economy),))
    assert answers.count(False) == 1 and answers.count(True) >= 2  # only the edited article's page is made again


def test_a_save_during_the_first_build_is_published_and_told(paper: Path, tmp_path: Path) -> None:
    told: list[int] = []
    log = io.StringIO()
    builder = _builder(paper, tmp_path, lambda: told.append(1), log)
    builder.watcher.start()
    builder.rebuild((), first=True)
    economy = paper / ECONOMY  # saved after the first build read it
    economy.write_text(economy.read_text(encoding="utf-8") + "\n据了解，这是一次修改。\n", encoding="utf-8")
    builder.settle()
    assert told == [1, 1] and "(saved during the first build)" in log.getvalue()
    assert "這是一次修改。" in (builder.options.output / "zh-hant" / ARTICLE / "index.html").read_text(encoding="utf-8")


def test_file_events_nudge_the_watcher_for_inputs_only(paper: Path) -> None:
    output = paper / "content" / "preview"
    output.mkdir()
    watcher = Watcher(paper, ignore=[output])
    watcher.start()
    assert watcher.listen()  # watchdog is installed, and Linux has inotify
    try:
        assert watcher.interval >= 2.0  # scans only as a safety net now
        economy = paper / ECONOMY
        for quiet in (output / "index.html", economy.with_name(".economy.md.swp"), paper / "README.txt"):
            watcher.nudged.clear()
            quiet.write_text("x", encoding="utf-8")
            assert not watcher.nudged.wait(0.5), quiet  # the output, editor litter, files no build reads
        for loud in (economy, paper / "newspaper.toml"):
            watcher.nudged.clear()
            loud.write_text(loud.read_text(encoding="utf-8") + "\n", encoding="utf-8")
            assert watcher.nudged.wait(10), loud
        watcher.nudged.clear()
        (paper / "static").mkdir(exist_ok=True)
        watcher.scan()  # a folder made since listening began is observed from the next scan
        (paper / "static" / "extra.css").write_text("p{}", encoding="utf-8")
        assert watcher.nudged.wait(10)
    finally:
        watcher.close()


def test_without_file_events_the_watcher_polls(paper: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "watchdog.observers", None)  # as if watchdog were not installed
    watcher = Watcher(paper)
    watcher.start()
    assert not watcher.listen()
    assert watcher.interval <= 1.0


def test_watcher_does_not_watch_the_output_inside_the_source(tmp_path: Path) -> None:
    (tmp_path / "content" / "site").mkdir(parents=True)
    watcher = Watcher(tmp_path, ignore=[tmp_path / "content" / "site"])
    watcher.start()
    (tmp_path / "content" / "site" / "index.html").write_text("x", encoding="utf-8")
    assert watcher.changes() == set()


def test_rebuilds_run_without_the_collector_and_the_heap_is_tidied_later(
    paper: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    monkeypatch.setattr(serve_module, "TIDY_EVERY_BUILDS", 3)
    builder = _builder(paper, tmp_path)
    enabled: list[bool] = []
    real_build = serve_module.build
    monkeypatch.setattr(serve_module, "build", lambda *a, **k: (enabled.append(gc.isenabled()), real_build(*a, **k))[1])
    try:
        builder.watcher.start()  # as run() does: a rebuild comes right after a scan
        builder.rebuild((), first=True)
        economy = paper / ECONOMY
        economy.write_text(economy.read_text(encoding="utf-8") + "\n据了解，这是一次修改。\n", encoding="utf-8")
        assert builder.watcher.changes() == {str(economy)}
        builder.rebuild((str(economy),))
        assert enabled == [True, False]  # the first build may fork workers: collected as usual
        assert gc.isenabled() and builder.untidy == 2
        builder.tidy()
        assert builder.untidy == 0 and gc.get_freeze_count() > 0
        for _ in range(3):  # saves without a pause still get the heap collected
            builder.rebuild((str(economy),))
        assert builder.untidy == 0
        assert "這是一次修改。" in (builder.options.output / "zh-hant" / ARTICLE / "index.html").read_text(encoding="utf-8")
    finally:
        gc.unfreeze()


def test_inject_puts_the_script_in_head_and_the_overlay_in_body() -> None:
    page = b"<html><head><title>t</title></head><body><p>x</p></body></html>"
    out = inject(page, script=b"<script></script>", panel=b"<div id=o></div>")
    assert out == b"<html><head><title>t</title><script></script></head><body><p>x</p><div id=o></div></body></html>"
    assert inject(b"bare", script=b"<s>") == b"<s>bare"


def test_url_paths_never_leave_the_output(tmp_path: Path) -> None:
    assert resolve_path(tmp_path, "zh-hans/2025-03-01/") == tmp_path / "zh-hans" / "2025-03-01"
    assert resolve_path(tmp_path, "zh-hans/../../etc/passwd") is None
    assert resolve_path(tmp_path, "") == tmp_path
