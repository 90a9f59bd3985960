"""A build killed at any moment leaves the published site as it was.

A 3,000-article archive is built once; then its masthead is renamed (which
changes every page) and the rebuild is SIGKILLed, process group and all, at
several moments: while loading, while rendering, just before the swap and
just after it. Every time, the output is byte for byte the old site, or
(killed after the swap) entirely the new one; the record of published URLs
is untouched; and the next build succeeds. Two builds into one output: the
second is refused with a message.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Iterator

import pytest

from banmian.links import check_site_links
from banmian.pipeline import BuildOptions, build
from banmian.write import wait_for_finisher
from sitekit import ROOT

pytestmark = pytest.mark.slow

ARTICLES = 3000
PAGES_PER_ISSUE = 6
ARTICLES_PER_PAGE = 5
WORDS = (
    "青海 高原 生态 保护 发展 经济 会议 代表 委员 人民 建设 现代化 新征程 乡村 振兴 文化 旅游 "
    "黄河 长江 源头 三江源 牧民 草原 算力 数据 中心 绿色 能源 光伏 风电 学校 医院 交通 铁路"
).split()
TEXT = "本报讯 记者从有关部门获悉，今年以来全省各地坚持稳中求进工作总基调，推动高质量发展取得新成效。"


def write_archive(root: Path, count: int = ARTICLES, seed: int = 8) -> Path:
    """A paper of `count` articles: issues of 6 pages × 5 articles, bodies of ~1,500 characters."""
    rng = random.Random(seed)
    (root / "content").mkdir(parents=True)
    (root / "newspaper.toml").write_text(
        textwrap.dedent(
            """\
            title = "高原日报"
            base_url = "https://paper.example.org/"
            default_edition = "zh-Hans"

            [[editions]]
            code = "zh-Hans"
            path = "zh-hans"
            label = "简体"

            [[editions]]
            code = "zh-Hant"
            path = "zh-hant"
            label = "繁體"
            opencc = "s2tw"
            """
        ),
        encoding="utf-8",
    )
    per_issue = PAGES_PER_ISSUE * ARTICLES_PER_PAGE
    for n in range(count):
        day = time.strftime("%Y-%m-%d", time.gmtime(1704067200 + (n // per_issue) * 86400))
        page = f"A{(n % per_issue) // ARTICLES_PER_PAGE + 1:02d}"
        title = "".join(rng.sample(WORDS, 4)) + f"第{n}号"
        body = "\n\n".join(TEXT * rng.randint(3, 6) for _ in range(6))
        path = root / "content" / day / page / f"a{n:05d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\ntitle: {title}\ndate: {day}\npage: {page}\nreporter: 记者{n % 7}\n---\n{body}\n", encoding="utf-8")
    return root


def snapshot(folder: Path) -> dict[str, str]:
    """Every file's bytes (hashed) and every folder, so that a stray empty folder counts too."""
    tree: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink() or not path.is_dir():
            tree[relative] = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
        else:
            tree[relative + "/"] = "dir"
    return tree


# A driver that runs the real build but announces (and lingers at) the
# moments around the swap, so a test can kill it there instead of hoping.
DRIVER = textwrap.dedent(
    """\
    import os, sys, time
    sys.path.insert(0, {root!r})
    import banmian.write as write
    exchange, rmtree = write._exchange, write.shutil.rmtree
    def announce(what):
        print(what, flush=True)
        if os.environ.get("LINGER") == what:
            time.sleep(60)
    def before_exchange(a, b):
        announce("before-swap")
        exchange(a, b)
        announce("after-swap")
    write._exchange = before_exchange
    write_new, writes = write._write_new, []
    def counted_write(target, data):
        # Announced from whichever process (workers too) makes its 30th file.
        writes.append(target)
        if len(writes) == 30:
            announce("mid-update")
        return write_new(target, data)
    write._write_new = counted_write
    from banmian.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


class Archive:
    pages: int

    def __init__(self, root: Path) -> None:
        self.source = root / "paper"
        self.output = root / "site"
        self.driver = root / "driver.py"
        self.driver.write_text(DRIVER.format(root=str(ROOT)), encoding="utf-8")

    def start(self, *extra: str, linger: str = "") -> subprocess.Popen[str]:
        env = dict(os.environ, LINGER=linger)
        return subprocess.Popen(
            [sys.executable, str(self.driver), "build", "--source", str(self.source), "--output", str(self.output), "--quiet", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,  # its own process group: workers die with it
        )

    def build(self) -> subprocess.CompletedProcess[str]:
        done = self.start()
        out, err = done.communicate(timeout=600)
        # The build's finisher (cache, first spare) outlives it, in its own
        # session: the checks look at the folders once it is done.
        wait_for_finisher(self.output)
        return subprocess.CompletedProcess(done.args, done.returncode, out, err)

    def retitle_paper(self, title: str) -> None:
        config = self.source / "newspaper.toml"
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace(text.split("\n", 1)[0], f'title = "{title}"'), encoding="utf-8")


def kill(process: subprocess.Popen[str]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)


def wait_for_line(process: subprocess.Popen[str], wanted: str, timeout: float = 300) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    for line in iter(process.stdout.readline, ""):
        if line.strip() == wanted:
            return
        assert time.monotonic() < deadline, f"no {wanted!r} in time"
    raise AssertionError(f"the build ended without saying {wanted!r}: {process.stderr.read() if process.stderr else ''}")


def staged_files(archive: Archive) -> int:
    count = 0
    for staging in archive.output.parent.glob(f".{archive.output.name}.staging-*"):
        for _, _, files in os.walk(staging):
            count += len(files)
    return count


def wait_for_staging(archive: Archive, process: subprocess.Popen[str], files: int, timeout: float = 300) -> None:
    """Until the build has written `files` files into its staging folder."""
    deadline = time.monotonic() + timeout
    while staged_files(archive) < files:
        assert process.poll() is None, f"the build ended before staging {files} files"
        assert time.monotonic() < deadline, f"fewer than {files} files staged in {timeout} s"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    root = tmp_path_factory.mktemp("kill")
    archive = Archive(root)
    write_archive(archive.source)
    started = time.monotonic()
    done = archive.build()
    assert done.returncode == 0, done.stderr
    print(f"\n{ARTICLES} articles: first build {time.monotonic() - started:.1f} s")
    archive.pages = sum(1 for _ in archive.output.rglob("*.html"))  # type: ignore[attr-defined]
    yield archive


# When to kill: seconds after the start (interpreter start-up, loading), or
# once the staging folder exists (rendering has begun) or holds half the pages.
MOMENTS = ["0.2 s", "1 s", "2 s", "first staged file", "half the pages staged"]


@pytest.mark.parametrize("moment", MOMENTS)
def test_sigkill_mid_build_leaves_site_byte_identical(archive: Archive, moment: str) -> None:
    before = snapshot(archive.output)
    record = (archive.source / "content/.published.json").read_bytes()
    archive.retitle_paper(f"高原日报 KILL{MOMENTS.index(moment)}")  # every page changes
    process = archive.start()
    started = time.monotonic()
    if moment.endswith(" s"):
        time.sleep(float(moment.split()[0]))
    else:
        wait_for_staging(archive, process, 1 if moment == "first staged file" else archive.pages // 2)  # type: ignore[attr-defined]
    assert process.poll() is None, f"the build finished before {moment}; too small an archive to test a kill"
    kill(process)
    print(f"killed at {moment}: {time.monotonic() - started:.2f} s in, {staged_files(archive)} files staged")
    assert snapshot(archive.output) == before
    assert (archive.source / "content/.published.json").read_bytes() == record


def test_second_build_is_refused_and_a_kill_before_the_swap_changes_nothing(archive: Archive) -> None:
    before = snapshot(archive.output)
    archive.retitle_paper("高原日报 BEFORE")
    first = archive.start(linger="before-swap")
    try:
        wait_for_line(first, "before-swap")  # everything rendered and staged; it holds the lock
        second = archive.start()
        _, err = second.communicate(timeout=300)
        assert second.returncode == 1
        assert "another build is writing this folder right now" in err
        assert str(archive.output) in err
        assert snapshot(archive.output) == before  # the refused build touched nothing
    finally:
        kill(first)
    assert snapshot(archive.output) == before


def test_sigkill_just_after_the_swap_leaves_the_whole_new_site(archive: Archive) -> None:
    before = snapshot(archive.output)
    archive.retitle_paper("高原日报 AFTER")  # ASCII: the same in every edition
    process = archive.start(linger="after-swap")
    wait_for_line(process, "after-swap")
    kill(process)
    assert snapshot(archive.output).keys() == before.keys()
    pages = list(archive.output.rglob("*.html"))
    stale = [p for p in pages if "AFTER" not in p.read_text(encoding="utf-8")]
    assert len(pages) == archive.pages and stale == []  # type: ignore[attr-defined]


def test_build_after_kills_succeeds_and_is_whole(archive: Archive) -> None:
    archive.retitle_paper("高原日报 AGAIN")
    process = archive.start()
    wait_for_staging(archive, process, 100)
    kill(process)
    started = time.monotonic()
    done = archive.build()
    assert done.returncode == 0, done.stderr
    print(f"build after a kill: {time.monotonic() - started:.1f} s")
    leftovers = [p.name for p in archive.output.parent.iterdir() if ".staging-" in p.name or ".old-" in p.name]
    assert leftovers == []  # a killed build's staging folder is cleared by the next one
    assert len(list(archive.output.glob("zh-hant/*/*/*/index.html"))) == ARTICLES
    assert "高原日报 AGAIN" in (archive.output / "zh-hans/index.html").read_text(encoding="utf-8")
    started = time.monotonic()
    assert check_site_links(archive.output) == []
    print(f"link check of {archive.pages} pages: {time.monotonic() - started:.1f} s")  # type: ignore[attr-defined]


# -- the spare: the tree replaced by the last build, updated in place ----------------
SPARE_ARTICLES = 300


@pytest.fixture()
def spared(tmp_path: Path) -> Archive:
    """A smaller archive built twice: the second build left a spare beside the site."""
    archive = Archive(tmp_path)
    write_archive(archive.source, SPARE_ARTICLES, seed=9)
    for title in ("高原日报", "高原日报 SPARE"):
        archive.retitle_paper(title)
        done = archive.build()
        assert done.returncode == 0, done.stderr
    assert archive.output.with_name(".site.spare").is_dir()
    return archive


def same_as_cold(archive: Archive) -> None:
    cold = archive.output.with_name("cold")
    build(BuildOptions(source=archive.source, output=cold, use_cache=False, record_urls=False))
    assert snapshot(archive.output) == snapshot(cold)


@pytest.mark.parametrize("moment", ["mid-update", "before-swap"])
def test_sigkill_while_updating_the_spare_leaves_the_site_and_the_next_build_is_whole(spared: Archive, moment: str) -> None:
    before = snapshot(spared.output)
    record = (spared.source / "content/.published.json").read_bytes()
    spared.retitle_paper("高原日报 KILLED")  # every page changes: every file of the spare is replaced
    process = spared.start(linger=moment)
    wait_for_line(process, moment)
    staging = list(spared.output.parent.glob(".site.staging-*"))
    assert not spared.output.with_name(".site.spare").exists() and len(staging) == 1  # the spare is being updated
    kill(process)
    assert snapshot(spared.output) == before
    assert (spared.source / "content/.published.json").read_bytes() == record
    for title in ("高原日报 AFTER KILL", "高原日报 AGAIN"):  # from a fresh folder, then from the spare it left
        spared.retitle_paper(title)
        done = spared.build()
        assert done.returncode == 0, done.stderr
        assert not list(spared.output.parent.glob(".site.staging-*"))
        same_as_cold(spared)
