"""The benchmark runner's housekeeping: outputs set aside, deletions aged.

No timings here; only that a timed build never follows a deletion the
kernel still counts as recent (see RECENTLY_DELETED_S in bench/run.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import run as br  # noqa: E402


@pytest.fixture()
def stamp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / ".deleted-at"
    monkeypatch.setattr(br, "DELETED_STAMP", path)
    return path


def test_outputs_are_set_aside_whole_and_never_collide(tmp_path: Path) -> None:
    trash = tmp_path / "trash"
    for n in range(2):
        site = tmp_path / "site"
        (site / "a").mkdir(parents=True)
        (site / "a" / "index.html").write_text(f"build {n}", encoding="utf-8")
        br._set_aside(site, trash)
        assert not site.exists()
    kept = sorted(trash.iterdir())
    assert [p.name for p in kept] == ["0-site", "1-site"]
    assert [(p / "a" / "index.html").read_text(encoding="utf-8") for p in kept] == ["build 0", "build 1"]
    br._set_aside(tmp_path / "missing", trash)  # nothing there: nothing to do
    assert len(list(trash.iterdir())) == 2


def test_delete_notes_when_and_settle_waits_out_the_rest(stamp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(br.time, "sleep", slept.append)
    br.settle(quiet=True)  # never deleted anything: no wait
    assert slept == []
    folder = tmp_path / "out"
    (folder / "x").mkdir(parents=True)
    br.delete(folder)
    assert not folder.exists() and stamp.exists()
    br.settle(quiet=True)
    assert len(slept) == 1 and br.RECENTLY_DELETED_S - 5 < slept[0] <= br.RECENTLY_DELETED_S
    # Long enough ago: no wait.
    stamp.write_text(f"{br.time.time() - br.RECENTLY_DELETED_S - 1}\n", encoding="ascii")
    br.settle(quiet=True)
    assert len(slept) == 1


def test_deleting_nothing_leaves_no_stamp(stamp: Path, tmp_path: Path) -> None:
    br.delete(tmp_path / "never-made")
    assert not stamp.exists()
