"""The benchmark runner's housekeeping: outputs set aside, deletions aged.

No timings here; only that a timed build never follows a deletion the
kernel still counts as recent (see RECENTLY_DELETED_S in bench/run.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import run as br  # noqa: E402


@pytest.fixture()
def stamp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / ".deleted-at"
    monkeypatch.setattr(br, "DELETED_STAMP", path)
    monkeypatch.setattr(br, "test_run_ended", lambda: 0.0)  # not this very test run
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


def test_timed_builds_are_not_sampled_and_each_tool_has_one_memory_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The sampler reads every process's page tables every 50 ms: it took CPU
    # from a two-core build that a one-process peer never missed.
    calls: list[tuple[str, str, bool]] = []

    def fake_build(ws: object, tool: str, phase: str, *, cold: bool, cached: bool = False, label: str = "", sample: bool = False) -> br.Measurement:
        calls.append((tool, phase, sample))
        return br.Measurement(tool, phase, 2.0 if tool == "banmian" else 5.0, 1.0, 100.0, 300.0 if sample else None)

    monkeypatch.setattr(br, "build", fake_build)
    args = type("Args", (), {"repeat": 2, "cold_only": True, "quiet": True, "articles": 10_000, "seed": 1,
                             "json": str(tmp_path / "r.json")})()
    ws = type("Ws", (), {"out_root": tmp_path})()
    results: list[br.Measurement] = []
    monkeypatch.setattr(br, "machine_info", lambda: {"cpu": "test", "cores": 2, "date": "today"})
    br._measure_all(args, ["banmian", "pelican"], ws, None, results, {})  # type: ignore[arg-type]
    assert calls == [
        ("banmian", "cold", False), ("pelican", "cold", False),
        ("banmian", "cold", False), ("pelican", "cold", False),
        ("banmian", br.MEMORY_PHASE, True), ("pelican", br.MEMORY_PHASE, True),
    ]
    rows = br.table(results).splitlines()
    assert rows[2].startswith("| banmian | cold | 2 | 2.00 |") and "| – |" in rows[2]  # timed: no tree figure
    assert rows[4].startswith(f"| banmian | {br.MEMORY_PHASE} | 1 |") and "| 300 |" in rows[4]
    assert br.targets(results, {}, 10_000) == [
        "target PASS: cold build ≤ 0.5 × Pelican (2.00 s vs 5.00 s = 0.40 ×)",
        "target PASS: peak memory ≤ 400 MiB at 10,000 (300 MiB)",
    ]


def test_a_test_run_just_before_is_waited_out_too(stamp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    monkeypatch.setattr(br, "DELETED_STAMP", stamp)
    monkeypatch.setattr(br.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(br.getpass, "getuser", lambda: "desk")
    assert br.test_run_ended() == 0.0  # no test run here
    root = tmp_path / "pytest-of-desk"
    (root / "pytest-7" / "test_kill0").mkdir(parents=True)
    (root / "pytest-current").symlink_to(root / "pytest-7")
    old = br.time.time() - 1000
    os.utime(root / "pytest-7", (old, old))
    os.utime(root, (old, old))
    made = (root / "pytest-7" / "test_kill0").stat().st_mtime
    assert br.test_run_ended() == made
    slept: list[float] = []
    monkeypatch.setattr(br.time, "sleep", slept.append)
    br.settle(quiet=True)
    assert len(slept) == 1 and br.RECENTLY_DELETED_S - 5 < slept[0] <= br.RECENTLY_DELETED_S
