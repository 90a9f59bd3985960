from pathlib import Path

import pytest

from banmian.write import OutputLocked, OutputTree


def publish(output: Path, files: dict[str, bytes], previous=None, fingerprints=None) -> OutputTree:  # type: ignore[no-untyped-def]
    tree = OutputTree(output, previous or {})
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


def test_stale_staging_of_a_killed_build_is_cleared(tmp_path: Path) -> None:
    stale = tmp_path / ".site.staging-99999"
    stale.mkdir()
    (stale / "half.html").write_bytes(b"x")
    publish(tmp_path / "site", {"a.html": b"1"})
    assert not stale.exists()
