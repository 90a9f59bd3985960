"""The walk over content/: articles in order, dot files skipped, no loop twice."""

from pathlib import Path

from banmian.walk import content_entries, content_files


def _content(tmp_path: Path, *names: str) -> Path:
    """A content/ folder holding the named files, one byte each."""
    root = tmp_path / "content"
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x", encoding="utf-8")
    return root


def test_symlink_loop_does_not_hang(tmp_path: Path) -> None:
    folder = tmp_path / "content" / "2025-01-21"
    folder.mkdir(parents=True)
    (folder / "a.md").write_text("x", encoding="utf-8")
    (folder / "loop").symlink_to(tmp_path / "content")
    files = list(content_files(tmp_path / "content"))
    assert [Path(p).name for p in files] == ["a.md"]


def test_articles_in_name_order_with_their_stat_and_nothing_else(tmp_path: Path) -> None:
    root = _content(tmp_path, "2025-01-22/A01/b.md", "2025-01-21/A02/a.md", "2025-01-21/A01/z.md", "2025-01-21/issue.toml",
                    "2025-01-21/A01/.draft.md", ".published.json", "2025-01-21/A01/photo.jpg")
    entries = list(content_entries(root))
    assert [p[len(str(root)) + 1 :] for p, _ in entries] == ["2025-01-21/A01/z.md", "2025-01-21/A02/a.md", "2025-01-22/A01/b.md"]
    assert all(stat.st_size == 1 for _, stat in entries)  # type: ignore[union-attr]


def test_other_files_are_listed_for_the_watcher_and_skipped_folders_left_out(tmp_path: Path) -> None:
    root = _content(tmp_path, "2025-01-21/A01/a.md", "2025-01-21/issue.toml", "2025-01-21/A01/.draft.md", ".published.json",
                    "2025-01-21/A01/photo.jpg", "preview/index.md", "preview/x.html")
    (root / "2025-01-21" / "A01" / "gone.md").symlink_to(tmp_path / "nowhere.md")
    others: dict = {}
    entries = list(content_entries(root, others, skip={str(root / "preview")}))
    shown = {p[len(str(root)) + 1 :]: stat for p, stat in entries}
    assert list(shown) == ["2025-01-21/A01/a.md", "2025-01-21/A01/gone.md"]
    assert isinstance(shown["2025-01-21/A01/gone.md"], OSError)  # the loader says why it cannot read it
    assert sorted(p[len(str(root)) + 1 :] for p in others) == [
        ".published.json", "2025-01-21/A01/.draft.md", "2025-01-21/A01/photo.jpg", "2025-01-21/issue.toml",
    ]
    plain = list(content_entries(root, skip={str(root / "preview")}))  # others changes nothing
    assert [(p, type(s)) for p, s in entries] == [(p, type(s)) for p, s in plain]
