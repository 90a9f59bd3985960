"""Save-to-served latency of `banmian serve`, measured from outside.

For each site (the sample edition, and a generated archive of N articles):
start `build.py serve --port 0` on a temporary copy, wait for the first
build, then append a paragraph with a unique marker to one article and
time from the write until *both* editions of that article serve the marker
over HTTP. The server's own log gives the build part of each wait; the rest
is noticing the save, the quiet window that merges a burst of saves, and
HTTP.

Like a browser, which fetches when livereload tells it a build is done, the
pages are fetched once the server's log reports a build finished since the
save. Fetching them in a loop instead would measure the loop: every request
is answered by the server's one Python process, and a hundred a second took
a tenth or more of the builder's time away from it.

    python bench/serve_latency.py                        # sample + 5,000 articles
    python bench/serve_latency.py --articles 0 --edits 5  # the sample only
    python bench/serve_latency.py --articles 5000 --breakdown   # + where a rebuild's time goes

The code is run from a snapshot taken at start, so that someone editing the
working tree during a long run does not change banmian's code digest (and
with it every page's fingerprint) half-way through.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE_SLUG = "serve-latency-probe"
EDITIONS = ("zh-hans", "zh-hant")
START_TIMEOUT = 1800.0  # a cold build of a large archive on a slow machine
EDIT_TIMEOUT = 300.0
BUILT_LINE = r"^\w[\w, ]* \d+ articles in ([\d.]+) s"


@dataclass
class Site:
    name: str
    source: Path
    article: Path  # the file that is edited
    paths: tuple[str, ...]  # its URL path in every edition


def snapshot_code(into: Path) -> Path:
    """build.py, the package and the default theme, as they are now."""
    into.mkdir(parents=True)
    shutil.copy2(ROOT / "build.py", into / "build.py")
    for folder in ("banmian", "templates", "static"):
        shutil.copytree(ROOT / folder, into / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return into / "build.py"


def probe(source: Path, article: Path) -> tuple[str, ...]:
    """Give the article a fixed slug, so its URL is known without building."""
    text = article.read_text(encoding="utf-8")
    front_end = text.index("\n---", 3)
    front = re.sub(r"^slug:.*\n", "", text[:front_end] + "\n", flags=re.M)
    article.write_text(front + f"slug: {PROBE_SLUG}" + text[front_end:], encoding="utf-8")
    date = re.search(r"^date:\s*'?(\d{4}-\d{2}-\d{2})", front, re.M).group(1)  # type: ignore[union-attr]
    page = re.search(r"^page:\s*'?([A-Za-z]*\d+)", front, re.M).group(1)  # type: ignore[union-attr]
    return tuple(f"{ed}/{date}/{page}/{PROBE_SLUG}/" for ed in EDITIONS)


def sample_site(work: Path) -> Site:
    source = work / "sample"
    source.mkdir()
    shutil.copytree(ROOT / "content", source / "content", ignore=shutil.ignore_patterns(".published.json"))
    shutil.copy2(ROOT / "newspaper.toml", source / "newspaper.toml")
    article = sorted((source / "content").rglob("*.md"))[-1]
    return Site("sample", source, article, probe(source, article))


def archive_site(work: Path, articles: int) -> Site:
    sys.path.insert(0, str(ROOT))
    from bench.corpus import generate

    corpus = generate(work / f"corpus-{articles}", articles)
    files = sorted((corpus.banmian / "content").rglob("*.md"))
    article = files[len(files) // 2]  # an issue with neighbours on both sides
    return Site(f"{articles} articles", corpus.banmian, article, probe(corpus.banmian, article))


class Server:
    def __init__(self, build_py: Path, site: Site, log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, str(build_py), "serve", "--source", str(site.source), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=open(log, "w", encoding="utf-8"),
            text=True,
        )
        self.url = ""
        found = threading.Event()

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                match = re.search(r"http://\S+/", line)
                if match and not self.url:
                    self.url = match.group(0)
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(120):
            self.stop()
            raise SystemExit(f"the server printed no URL; see {log}")

    def fetch(self, path: str) -> str:
        try:
            with urllib.request.urlopen(self.url + path, timeout=EDIT_TIMEOUT) as reply:
                return reply.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            return error.read().decode("utf-8")

    def build_seconds(self) -> list[float]:
        text = self.log.read_text(encoding="utf-8")
        return [float(s) for s in re.findall(BUILT_LINE, text, re.M)]

    def builds_logged(self) -> int:
        """Builds finished so far, failed ones included (their problems are served too)."""
        text = self.log.read_text(encoding="utf-8")
        return len(re.findall(BUILT_LINE, text, re.M)) + len(re.findall(r"^build failed", text, re.M))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            # Removing the preview of a large archive takes a while on a slow disk.
            self.proc.wait(600)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def measure(build_py: Path, site: Site, edits: int, work: Path) -> dict[str, object]:
    log = work / f"serve-{site.name.replace(' ', '-')}.log"
    started = time.perf_counter()
    server = Server(build_py, site, log)
    try:
        first = server.fetch(site.paths[0])  # answered once the first build is done
        if PROBE_SLUG not in first and "banmian-overlay" in first:
            raise SystemExit(f"the first build failed; see {log}")
        first_seconds = time.perf_counter() - started
        print(f"  {site.name}: first build served after {first_seconds:.2f} s", flush=True)
        waits = []
        for n in range(edits):
            marker = f"LATENCY-{n}-{time.time_ns()}"  # Latin: the same in both editions
            saved = time.perf_counter()
            with open(site.article, "a", encoding="utf-8") as handle:
                handle.write(f"\n\n测量段落 {marker}。\n")
            pending = list(site.paths)
            seen = server.builds_logged()
            while pending:
                if time.perf_counter() - saved > EDIT_TIMEOUT:
                    raise SystemExit(f"edit {n} not served after {EDIT_TIMEOUT:.0f} s; see {log}")
                if server.builds_logged() == seen:
                    time.sleep(0.005)  # reading the log costs the server nothing
                    continue
                if marker in server.fetch(pending[0]):
                    pending.pop(0)
                else:  # that build began before the save: wait for the next one
                    seen = server.builds_logged()
            waits.append(time.perf_counter() - saved)
            print(f"  {site.name}: edit {n + 1} served in {waits[-1]:.2f} s", flush=True)
            time.sleep(0.5)  # let the reload settle: edits are separate saves, not a burst
        builds = server.build_seconds()
    finally:
        server.stop()
    return {"site": site.name, "first": first_seconds, "waits": waits, "builds": builds[1:]}


def breakdown(site: Site, build_py: Path) -> None:
    """Where one rebuild after a body edit spends its time, in process, with the serve options."""
    code = f"""
import cProfile, pstats, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, {str(build_py.parent)!r})
from banmian.cache import BuildCache
from banmian.pipeline import BuildOptions, build
source = Path({str(site.source)!r})
out = Path(tempfile.mkdtemp()) / "site"
cache = BuildCache()
options = BuildOptions(source=source, output=out, drafts=True, serving=True, use_cache=False, jobs=1)
build(options, cache=cache)
article = Path({str(site.article)!r})
with open(article, "a", encoding="utf-8") as handle:
    handle.write("\\n\\n剖析段落 PROFILE-MARK。\\n")
profile = cProfile.Profile()
started = time.perf_counter()
profile.enable()
result = build(options, cache=cache)
profile.disable()
print(f"one rebuild: {{time.perf_counter() - started:.2f}} s, {{result.written}} written, {{result.unchanged}} unchanged")
stats = pstats.Stats(profile)
rows = []
for (file, line, name), (cc, nc, tt, ct, callers) in stats.stats.items():
    if "/banmian/" in file or name in ("rmtree", "link", "makedirs"):
        rows.append((ct, nc, f"{{Path(file).name}}:{{line}}({{name}})"))
for ct, nc, where in sorted(rows, reverse=True)[:25]:
    print(f"  {{ct:7.3f}} s  {{nc:7d}} calls  {{where}}")
"""
    subprocess.run([sys.executable, "-c", code], check=True)


def report(result: dict[str, object]) -> None:
    waits = result["waits"]
    builds = result["builds"]
    assert isinstance(waits, list) and isinstance(builds, list)
    print(f"{result['site']}: first build served after {result['first']:.2f} s")
    print("  save → served (both editions): " + ", ".join(f"{w:.2f}" for w in waits) + " s")
    print(f"  median {statistics.median(waits):.2f} s, max {max(waits):.2f} s")
    if builds:
        print("  of which pipeline.build (server log): " + ", ".join(f"{b:.2f}" for b in builds) + " s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=5000, help="size of the generated archive (0: sample only)")
    parser.add_argument("--edits", type=int, default=3)
    parser.add_argument("--no-sample", action="store_true")
    parser.add_argument("--breakdown", action="store_true", help="also profile one rebuild in process")
    args = parser.parse_args(argv)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f}")
    work = Path(tempfile.mkdtemp(prefix="banmian-serve-latency-"))
    try:
        build_py = snapshot_code(work / "code")
        sites = [] if args.no_sample else [sample_site(work)]
        if args.articles:
            sites.append(archive_site(work, args.articles))
        for site in sites:
            report(measure(build_py, site, args.edits, work))
            if args.breakdown:
                breakdown(site, build_py)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
