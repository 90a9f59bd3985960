import dataclasses
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

import banmian.pipeline
from banmian.pipeline import BuildOptions, build
from banmian.write import TOKEN_NAME, OutputLocked, OutputTree, TreeState, Written, wait_for_finisher
from sitekit import copy_fixture


def publish(output: Path, files: dict[str, bytes], previous=None, fingerprints=None, state=None) -> OutputTree:  # type: ignore[no-untyped-def]
    # Two linking processes, as on any machine with two cores.
    tree = OutputTree(output, previous or {}, state, copies=2)
    tree.lock()
    try:
        tree.begin()
        for path, data in files.items():
            fp = (fingerprints or {}).get(path, "")
            if not tree.reuse(path, fp):
                tree.put(path, data, fp)
        tree.publish()
    finally:
        tree.unlock()
    return tree


def test_first_publish_creates_the_folder(tmp_path: Path) -> None:
    tree = publish(tmp_path / "site", {"index.html": b"a", "x/y/index.html": b"b"})
    assert (tmp_path / "site/x/y/index.html").read_bytes() == b"b"
    assert tree.written == 2 and tree.unchanged == 0
    assert not list(tmp_path.glob(".site.staging-*"))


def test_unchanged_bytes_keep_their_inode_and_mtime(tmp_path: Path) -> None:
    output = tmp_path / "site"
    first = publish(output, {"a.html": b"same", "b.html": b"old"})
    before = (output / "a.html").stat()
    second = publish(output, {"a.html": b"same", "b.html": b"new"}, first.manifest)
    after = (output / "a.html").stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert (output / "b.html").read_bytes() == b"new"
    assert second.unchanged == 1 and second.written == 1


def test_files_not_in_the_new_build_disappear(tmp_path: Path) -> None:
    output = tmp_path / "site"
    first = publish(output, {"a.html": b"1", "gone.html": b"2"})
    publish(output, {"a.html": b"1"}, first.manifest)
    assert not (output / "gone.html").exists()


def test_same_fingerprint_links_without_rendering(tmp_path: Path) -> None:
    output = tmp_path / "site"
    first = publish(output, {"a.html": b"rendered"}, fingerprints={"a.html": "fp1"})
    tree = OutputTree(output, first.manifest)
    tree.lock()
    tree.begin()
    assert tree.reuse("a.html", "fp1")
    assert not tree.reuse("a.html", "fp2")
    tree.abandon()
    tree.unlock()


def test_reuse_many_answers_as_reuse_does_one_by_one(tmp_path: Path) -> None:
    output = tmp_path / "site"
    files = {f"p{n}.html": f"page {n}".encode() for n in range(6)}
    first = publish(output, files, fingerprints={path: "fp" for path in files})
    (output / "p4.html").write_bytes(b"edited by hand!")  # not trusted: rendered again
    asked = [("p0.html", "fp"), ("p1.html", "other"), ("p2.html", ""), ("new.html", "fp"), ("p4.html", "fp"), ("p5.html", "fp")]
    answers = []
    for bulk in (False, True):
        tree = OutputTree(output, first.manifest)
        tree.lock()
        tree.begin()
        if bulk:
            left = tree.reuse_many(asked)
        else:
            left = [n for n, (path, fp) in enumerate(asked) if not tree.reuse(path, fp)]
        answers.append((left, dict(tree.manifest), tree.unchanged))
        tree.abandon()
        tree.unlock()
    assert answers[0] == answers[1]
    assert answers[1][0] == [1, 2, 3, 4] and answers[1][2] == 2


def test_keep_many_keeps_published_files_as_they_were_recorded(tmp_path: Path) -> None:
    output = tmp_path / "site"
    files = {f"s{n}.json": f"shard {n}".encode() for n in range(4)}
    first = publish(output, files, fingerprints={path: "stage1" for path in files})
    stamps = {path: (output / path).stat().st_mtime_ns for path in files}
    (output / "s2.json").write_bytes(b"edited by hand!")  # not trusted: made again
    tree = OutputTree(output, first.manifest)
    tree.lock()
    tree.begin()
    asked = ["s0.json", "new.json", "s1.json", "s2.json", "s3.json"]
    assert tree.keep_many(asked) == [1, 3]
    assert tree.unchanged == 3
    assert tree.manifest == {path: first.manifest[path] for path in ("s0.json", "s1.json", "s3.json")}
    for path in ("new.json", "s2.json"):
        tree.put(path, files.get(path, b"new"), "stage2")
    tree.publish()
    tree.unlock()
    assert all((output / path).stat().st_mtime_ns == stamps[path] for path in ("s0.json", "s1.json", "s3.json"))
    assert (output / "s2.json").read_bytes() == b"shard 2"


def test_keep_group_keeps_every_file_of_a_group_or_none(tmp_path: Path) -> None:
    output = tmp_path / "site"
    files = {f"2024-01-0{day}/p{n}.html": f"{day} {n}".encode() for day in (1, 2) for n in range(3)}
    first = publish(output, files, fingerprints=dict.fromkeys(files, "fp"))
    stamps = {path: (output / path).stat().st_mtime_ns for path in files}
    one, two = sorted(files)[:3], sorted(files)[3:]
    tree = OutputTree(output, first.manifest, first.state)
    tree.lock()
    tree.begin()
    assert tree.keep_group(one)
    assert tree.manifest == {path: first.manifest[path] for path in one} and tree.unchanged == 3
    assert not tree.keep_group(one)  # placed by this build already
    assert not tree.keep_group([*two, "2024-01-03/p0.html"])  # one never published: none kept
    assert not tree.keep_group([])
    assert tree.unchanged == 3 and not set(two) & tree.manifest.keys()
    for path in two:
        tree.put(path, files[path], "fp")
    tree.publish()
    tree.unlock()
    assert all((output / path).stat().st_mtime_ns == stamps[path] for path in files)
    assert {path: (output / path).read_bytes() for path in files} == files


def test_keep_group_needs_the_spare_to_hold_the_published_files(tmp_path: Path) -> None:
    output = tmp_path / "site"
    files = {f"p{n}.html": f"page {n}".encode() for n in range(3)}
    first = publish(output, files, fingerprints=dict.fromkeys(files, "fp"))
    second = publish(output, {**files, "p1.html": b"changed"}, first.manifest, dict.fromkeys(files, "fp2"), first.state)
    # The spare the second build left is the first site: its p1.html is not
    # the published one. Without a state nothing beside the output is trusted.
    for state in (second.state, None):
        tree = OutputTree(output, second.manifest, state)
        tree.lock()
        tree.begin()
        assert not tree.keep_group(list(files))
        assert tree.keep_group(["p0.html"]) is (state is not None)
        tree.abandon()
        tree.unlock()


def test_keep_many_with_a_spare_keeps_what_it_holds_at_once_and_links_the_rest(tmp_path: Path) -> None:
    output = tmp_path / "site"
    files = {f"s{n}.json": f"shard {n}".encode() for n in range(5)}
    first = publish(output, files, fingerprints=dict.fromkeys(files, "stage1"))
    second = publish(output, {**files, "s1.json": b"changed"}, first.manifest, {**dict.fromkeys(files, "stage1"), "s1.json": "stage2"}, first.state)
    # The spare is the first site: s1.json there is the old one, and must be linked anew.
    tree = OutputTree(output, second.manifest, second.state)
    tree.lock()
    tree.begin()
    one_by_one: list[str] = []
    keep_each = tree._keep_each
    tree._keep_each = lambda items, same_inputs: keep_each([one_by_one.append(item[0]) or item for item in items], same_inputs)  # type: ignore[method-assign]
    asked = ["s0.json", "new.json", "s1.json", "s2.json", "s3.json", "s4.json"]
    assert tree.keep_many(asked) == [1]
    assert tree.unchanged == 5 and one_by_one == ["new.json", "s1.json"]
    assert tree.manifest == {path: second.manifest[path] for path in asked if path != "new.json"}
    tree.put("new.json", b"new", "stage3")
    tree.publish()
    tree.unlock()
    assert (output / "s1.json").read_bytes() == b"changed"


def test_hand_edited_published_file_is_not_trusted(tmp_path: Path) -> None:
    output = tmp_path / "site"
    first = publish(output, {"a.html": b"rendered"}, fingerprints={"a.html": "fp1"})
    (output / "a.html").write_bytes(b"edited by hand!")
    publish(output, {"a.html": b"rendered"}, first.manifest, fingerprints={"a.html": "fp1"})
    assert (output / "a.html").read_bytes() == b"rendered"


def test_abandoned_build_leaves_the_site(tmp_path: Path) -> None:
    output = tmp_path / "site"
    publish(output, {"a.html": b"1"})
    tree = OutputTree(output, {})
    tree.lock()
    tree.begin()
    tree.put("a.html", b"2")
    tree.abandon()
    tree.unlock()
    assert (output / "a.html").read_bytes() == b"1"
    assert not list(tmp_path.glob(".site.staging-*"))


def test_second_writer_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    first = OutputTree(tmp_path / "site", {})
    first.lock()
    second = OutputTree(tmp_path / "site", {})
    with pytest.raises(OutputLocked, match="another build is writing"):
        second.lock()
    first.unlock()
    second.lock()
    second.unlock()


def test_a_build_waits_for_the_finisher_it_was_handed_the_lock_by(tmp_path: Path) -> None:
    files = {f"{top}/{n}/index.html": f"{top}{n}".encode() for top in ("zh-hans", "zh-hant") for n in range(3)}
    tree = OutputTree(tmp_path / "site", {}, copies=2)
    tree.lock()
    tree.begin()
    for path, data in files.items():
        tree.put(path, data)
    tree.publish()
    pid = os.fork()
    if pid == 0:  # the finisher: slow, so the next build must wait for it
        status = 1
        try:
            time.sleep(0.5)
            tree.start_spare()
            tree.unlock()
            status = 0
        finally:
            os._exit(status)
    tree.hand_over(pid)
    assert tree._lock is None and tree._copy_plan is None  # this process neither unlocks nor links
    tree.unlock()  # a no-op here: the lock stays the finisher's
    started = time.monotonic()
    second = OutputTree(tmp_path / "site", {})
    second.lock()  # not refused: it waits
    waited = time.monotonic() - started
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert waited > 0.2
    # The finisher had linked and named the whole spare before the lock was free.
    spare = tmp_path / ".site.spare"
    assert folder_tree(spare) == {TOKEN_NAME: tree.state.spare_token.encode(), **folder_tree(tmp_path / "site")}  # type: ignore[union-attr]
    assert not (tmp_path / ".site.finishing").exists()  # cleared with the lock taken
    second.unlock()


def test_a_dead_finisher_does_not_make_a_second_writer_wait(tmp_path: Path) -> None:
    first = OutputTree(tmp_path / "site", {})
    first.lock()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / ".site.finishing").write_bytes(str(dead.pid).encode())
    started = time.monotonic()
    with pytest.raises(OutputLocked, match="another build is writing"):
        OutputTree(tmp_path / "site", {}).lock()
    assert time.monotonic() - started < 1
    first.unlock()
    wait_for_finisher(tmp_path / "site")  # nothing holds it: returns at once


def test_stale_staging_of_a_killed_build_is_cleared(tmp_path: Path) -> None:
    stale = tmp_path / ".site.staging-99999"
    stale.mkdir()
    (stale / "half.html").write_bytes(b"x")
    publish(tmp_path / "site", {"a.html": b"1"})
    assert not stale.exists()


# -- the spare: the replaced tree, updated in place by the next build ---------------
class Output:
    """One output folder published again and again, remembering what the cache would."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.manifest: dict[str, Written] = {}
        self.state: TreeState | None = None

    def publish(self, files: dict[str, bytes], fingerprints: dict[str, str] | None = None) -> OutputTree:
        tree = publish(self.folder, files, self.manifest, fingerprints, self.state)
        self.manifest, self.state = tree.manifest, tree.state
        return tree

    @property
    def spare(self) -> Path:
        return self.folder.with_name(f".{self.folder.name}.spare")


def folder_tree(folder: Path) -> dict[str, bytes | None]:
    """Every file's bytes and every folder (None), so a stray empty folder counts too."""
    return {p.relative_to(folder).as_posix(): None if p.is_dir() else p.read_bytes() for p in sorted(folder.rglob("*"))}


def stamps(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def test_the_replaced_tree_becomes_the_spare_and_the_build_after_starts_from_it(tmp_path: Path) -> None:
    site = Output(tmp_path / "site")
    assert site.publish({"a.html": b"1"}).swapped  # first build: a new folder
    # ... and its spare, hard links made by `cp -rlP`, so that the first rebuild is as quick as later ones.
    assert site.spare.is_dir() and (site.spare / "a.html").stat().st_ino == (site.folder / "a.html").stat().st_ino
    second = site.publish({"a.html": b"1", "b.html": b"2"})
    assert site.spare.is_dir() and second._from_spare and second.written == 1
    third = site.publish({"a.html": b"1", "b.html": b"3"})
    assert third._from_spare and third.written == 1 and third.unchanged == 1
    assert folder_tree(site.folder) == {"a.html": b"1", "b.html": b"3"}
    assert not list(tmp_path.glob(".site.staging-*"))


def test_the_first_spare_is_linked_whole_by_several_copies(tmp_path: Path) -> None:
    site = Output(tmp_path / "site")
    files = {f"{top}/{n}/index.html": f"{top}{n}".encode() for top in ("zh-hans", "zh-hant", "search") for n in range(3)}
    site.publish({**files, "index.html": b"root"})
    assert folder_tree(site.spare) == {".banmian-spare": site.state.spare_token.encode(), **folder_tree(site.folder)}  # type: ignore[union-attr]
    assert stamps(site.spare).items() >= stamps(site.folder).items()


def test_copy_groups_share_the_files_out_evenly() -> None:
    from banmian.write import _copy_groups

    manifest = {f"{top}/{n}": Written("", "", 0, 0) for top, count in (("zh-hans", 9), ("zh-hant", 9), ("search", 5)) for n in range(count)}
    names = ["zh-hans", "zh-hant", "search", "index.html", "static"]
    groups = _copy_groups(names, manifest, 2)
    assert sorted(name for group in groups for name in group) == sorted(names)
    assert len(groups) == 2 and {"zh-hans", "zh-hant"} not in [set(g) & {"zh-hans", "zh-hant"} for g in groups]
    assert _copy_groups(names, manifest, 1) == [sorted(names, key=lambda n: (-sum(p.startswith(n + "/") for p in manifest), n))]
    assert _copy_groups(["a"], {}, 4) == [["a"]]


def test_unchanged_files_keep_inode_and_mtime_while_the_trees_alternate(tmp_path: Path) -> None:
    site = Output(tmp_path / "site")
    site.publish({"same.html": b"same", "deep/er/same.html": b"deep", "flip.html": b"A"})
    kept = {path: stamp for path, stamp in stamps(site.folder).items() if "same" in path}
    for n, version in enumerate([b"B", b"A", b"B", b"A", b"B"]):
        tree = site.publish({"same.html": b"same", "deep/er/same.html": b"deep", "flip.html": version})
        assert tree._from_spare  # the first build left a spare too
        now = stamps(site.folder)
        assert {path: now[path] for path in kept} == kept
        assert (site.folder / "flip.html").read_bytes() == version


def test_no_change_rebuild_keeps_the_folder_and_the_spare(tmp_path: Path) -> None:
    site = Output(tmp_path / "site")
    files = {"a.html": b"1", "x/b.html": b"2"}
    site.publish(files)
    site.publish(files)  # makes the spare
    site.publish({**files, "a.html": b"changed"})
    site.publish(files)  # the spare's own a.html, swapped
    assert site.publish(files).swapped  # the spare held the changed a.html: linked, swapped
    inode = site.folder.stat().st_ino
    state = site.state
    tree = site.publish(files)
    assert tree._from_spare and not tree.swapped and tree.written == 0
    assert site.folder.stat().st_ino == inode and site.state is state  # nothing swapped, nothing new to remember
    assert site.publish(files)._from_spare  # and the spare is still trusted


def test_spare_reuse_gives_the_bytes_of_a_cold_build(tmp_path: Path) -> None:
    site = Output(tmp_path / "site")
    versions = [
        {"index.html": b"v1", "a/1.html": b"one", "a/2.html": b"two", "b/c/3.html": b"three"},
        {"index.html": b"v2", "a/1.html": b"one", "a/2.html": b"TWO", "d/4.html": b"four"},
        {"index.html": b"v1", "a/1.html": b"one", "b/c/3.html": b"three", "d/4.html": b"four"},
        {"index.html": b"v3", "a/1.html": b"one!", "b/c/3.html": b"three", "b/c/5.html": b"five"},
        {"index.html": b"v3"},
        {"index.html": b"v1", "a/1.html": b"one", "a/2.html": b"two", "b/c/3.html": b"three"},
    ]
    for n, files in enumerate(versions):
        tree = site.publish(files)
        assert tree._from_spare == (n >= 1)  # the first build leaves a spare
        cold = publish(tmp_path / f"cold-{n}", files)
        assert folder_tree(site.folder) == folder_tree(cold.output)


def test_files_removed_from_the_site_disappear_with_their_folders(tmp_path: Path) -> None:
    site = Output(tmp_path / "site")
    both = {"a.html": b"1", "x/y/gone.html": b"2", "x/kept.html": b"3"}
    site.publish(both)
    site.publish(both)  # the spare now holds x/y/gone.html too
    for _ in range(3):  # from the spare that had it, then from the one that did not
        tree = site.publish({"a.html": b"1", "x/kept.html": b"3"})
        assert tree._from_spare
        assert folder_tree(site.folder) == {"a.html": b"1", "x": None, "x/kept.html": b"3"}
    assert tree.removed == 0  # the last spare had it no more


def test_a_file_may_become_a_folder_and_back(tmp_path: Path) -> None:
    site = Output(tmp_path / "site")
    as_file = {"index.html": b"i", "feed": b"a file"}
    as_folder = {"index.html": b"i", "feed/index.xml": b"in a folder", "feed/more/x.xml": b"x"}
    for files in [as_file, as_file, as_folder, as_file, as_folder, as_folder, as_file]:
        site.publish(files)
        assert folder_tree(site.folder) == folder_tree(publish(tmp_path / "cold", files).output)
        shutil.rmtree(tmp_path / "cold")


def test_spare_not_trusted_is_not_used(tmp_path: Path) -> None:
    files = {"a.html": b"1", "b/c.html": b"2"}

    def tampered(harm: Callable[[Output], None]) -> OutputTree:
        site = Output(tmp_path / harm.__name__)
        site.publish(files)
        site.publish(files)
        (site.spare / "b/c.html").unlink()  # what the spare holds no longer matches its record …
        (site.spare / "b/c.html").write_bytes(b"tampered")
        harm(site)  # … and this is how a build should notice
        tree = site.publish(files)
        assert folder_tree(site.folder) == {"a.html": b"1", "b": None, "b/c.html": b"2"}
        assert not list(tmp_path.glob(f".{harm.__name__}.staging-*"))
        return tree

    def token_changed(site: Output) -> None:
        (site.spare / TOKEN_NAME).write_text("forged", encoding="ascii")

    def token_lost(site: Output) -> None:
        (site.spare / TOKEN_NAME).unlink()

    def cache_lost(site: Output) -> None:
        site.manifest, site.state = {}, None

    def other_cache(site: Output) -> None:  # an older record (a build whose cache was not saved since)
        assert site.state is not None
        site.state = dataclasses.replace(site.state, spare_token="0" * 32)

    def output_replaced(site: Output) -> None:  # the published site is not the one the record saw
        copy = shutil.copytree(site.folder, tmp_path / "copy")
        shutil.rmtree(site.folder)
        copy.rename(site.folder)

    def file_added_on_top(site: Output) -> None:
        (site.folder / "by-hand.html").write_bytes(b"x")

    for harm in [token_changed, token_lost, cache_lost, other_cache, output_replaced, file_added_on_top]:
        assert not tampered(harm)._from_spare, harm.__name__


def test_linked_files_are_still_checked_for_hand_edits(tmp_path: Path) -> None:
    site = Output(tmp_path / "site")
    fps = {"a.html": "fp"}
    site.publish({"a.html": b"old"}, {"a.html": "old"})
    site.publish({"a.html": b"rendered"}, fps)  # the spare keeps the old a.html
    (site.folder / "a.html").write_bytes(b"edited by hand!")
    tree = site.publish({"a.html": b"rendered"}, fps)
    assert tree._from_spare
    assert (site.folder / "a.html").read_bytes() == b"rendered"


def test_abandoned_build_from_the_spare_leaves_the_site_and_is_not_trusted_again(tmp_path: Path) -> None:
    site = Output(tmp_path / "site")
    files = {"a.html": b"1", "b.html": b"2"}
    site.publish(files)
    site.publish(files)
    tree = OutputTree(site.folder, site.manifest, site.state)
    tree.lock()
    tree.begin()
    assert tree._from_spare
    tree.put("a.html", b"half-way")
    tree.abandon()
    tree.unlock()
    assert folder_tree(site.folder) == files
    assert not site.spare.exists() and not list(tmp_path.glob(".site.staging-*"))
    assert not site.publish(files)._from_spare
    assert folder_tree(site.folder) == files


def test_spare_reuse_through_the_pipeline_matches_a_cold_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(banmian.pipeline, "PARALLEL_THRESHOLD", 1)  # workers put into the spare too
    trees: list[OutputTree] = []

    class Recorded(OutputTree):
        def begin(self) -> None:
            super().begin()
            trees.append(self)

    monkeypatch.setattr(banmian.pipeline, "OutputTree", Recorded)
    source = copy_fixture("paper", tmp_path)
    output = tmp_path / "site"
    article = source / "content/2025-03-02/A01/next-day.md"
    original = article.read_text(encoding="utf-8")
    extra = source / "content/2025-03-02/A01/extra.md"
    edits: list[Callable[[], None]] = [
        lambda: None,
        lambda: article.write_text(original.replace("第二天的正文", "第二天改写的正文"), encoding="utf-8"),
        lambda: article.write_text(original, encoding="utf-8"),
        lambda: extra.write_text(original.replace("第二天的头条新闻", "另一条新闻"), encoding="utf-8"),
        lambda: extra.unlink(),
    ]
    for n, edit in enumerate(edits):
        edit()
        build(BuildOptions(source=source, output=output, jobs=2))
        assert trees[-1]._from_spare == (n >= 1)  # the first build leaves a spare
        cold = tmp_path / f"cold-{n}"
        build(BuildOptions(source=source, output=cold, jobs=1, use_cache=False))
        assert folder_tree(output) == folder_tree(cold)


def test_manifests_pickle_as_columns_and_come_back_equal() -> None:
    import pickle

    from banmian.write import TreeState, Written, pack_manifest, unpack_manifest

    manifest = {f"zh-hans/2025-01-0{n}/A01/x/index.html": Written(f"fp{n}", f"d{n}", n, 10**18 + n) for n in range(5)}
    assert unpack_manifest(pack_manifest(manifest)) == manifest
    odd = {"static/a\nb.css": Written("", "d", 1, 2)}  # a line break in a name: kept as a dict
    assert unpack_manifest(pack_manifest(odd)) == odd
    state = TreeState((1, 2, 3), "token", manifest)
    assert pickle.loads(pickle.dumps(state)) == state


def test_a_first_spare_that_could_not_be_linked_is_never_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    import banmian.write

    real_popen = subprocess.Popen

    def failing_cp(args, **kwargs):  # type: ignore[no-untyped-def]
        if args[0] == "cp":  # as if killed half way: the links made, then a failure
            return real_popen(["sh", "-c", 'cp "$@"; exit 1', "sh", *args[1:]], **kwargs)
        return real_popen(args, **kwargs)

    monkeypatch.setattr(banmian.write.subprocess, "Popen", failing_cp)
    site = Output(tmp_path / "site")
    first = site.publish({"a.html": b"1"})
    assert not site.spare.exists() and not (tmp_path / f".site.staging-{__import__('os').getpid()}").exists()
    monkeypatch.setattr(banmian.write.subprocess, "Popen", real_popen)
    second = site.publish({"a.html": b"1", "b.html": b"2"})
    assert not second._from_spare and first.state is not None
    assert folder_tree(site.folder) == {"a.html": b"1", "b.html": b"2"}


def test_a_spare_is_kept_as_its_difference_from_the_published_manifest() -> None:
    from banmian.write import pack_spare, unpack_spare

    published = {f"p/{n}.html": Written("f", f"d{n}", n, n) for n in range(50)}
    spare = dict(published)
    spare["p/3.html"] = Written("f", "older", 3, 1)  # changed since
    del spare["p/7.html"]  # new in the published site
    spare["gone.html"] = Written("", "x", 1, 1)  # removed from the published site
    packed = pack_spare(spare, published)
    assert unpack_spare(packed, published) == spare
    assert len(unpack_spare(pack_spare(published, published), published)) == 50
    # The same file under another fingerprint (a search file after an edit) is no difference.
    refingered = dict(spare, **{"p/9.html": Written("old-fp", "d9", 9, 9)})
    assert pack_spare(refingered, published) == packed
    assert unpack_spare(pack_spare({}, published), published) == {}
