"""OpenCC loaded here once, or meanwhile in a helper (banmian/opencc_loaded.py)."""

from __future__ import annotations

import os
import signal
from typing import Iterator

import pytest

import banmian.opencc_loaded as loaded
from banmian.opencc_loaded import converter_for, loading_elsewhere, opencc_for

TEXT = "他的头发很长，发展要着眼长远。\n台风过后的台湾"


@pytest.fixture()
def nothing_loaded(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    """A process that has loaded no converter yet (the tests before may have)."""
    here: set[str] = set()
    monkeypatch.setattr(loaded, "_loaded_here", here)
    opencc_for.cache_clear()
    yield here
    opencc_for.cache_clear()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_helper_converts_what_is_not_loaded_here_and_is_reaped(nothing_loaded: set[str]) -> None:
    with loading_elsewhere(lambda: ["s2t"]):
        helper = loaded._helper
        assert helper is not None
        remote = converter_for("s2t")
        assert isinstance(remote, loaded._Remote)
        converted = remote.convert(TEXT)
        # A config it did not preload, it loads when asked.
        taiwan = converter_for("t2tw").convert(converted)
        assert nothing_loaded == set()  # nothing was loaded in this process
    assert loaded._helper is None and _gone(helper.pid)
    assert converted == opencc_for("s2t").convert(TEXT)  # the same as here
    assert taiwan == opencc_for("t2tw").convert(converted)
    assert "頭髮" in converted and nothing_loaded == {"s2t", "t2tw"}


def test_loaded_here_it_converts_here(nothing_loaded: set[str]) -> None:
    here = opencc_for("s2t")
    with loading_elsewhere(lambda: []):
        assert converter_for("s2t") is here


def test_a_dead_helper_leaves_the_converting_to_this_process(nothing_loaded: set[str]) -> None:
    with loading_elsewhere(lambda: ["s2t"]):
        helper = loaded._helper
        assert helper is not None
        os.kill(helper.pid, signal.SIGKILL)
        os.waitpid(helper.pid, 0)
        assert converter_for("s2t").convert(TEXT) == opencc_for("s2t").convert(TEXT)
        assert loaded._helper is None  # given up on: the rest is converted here
        assert converter_for("s2t") is opencc_for("s2t")


def test_a_forked_process_does_not_use_its_parents_helper(nothing_loaded: set[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with loading_elsewhere(lambda: []):
        parent = os.getpid()
        monkeypatch.setattr(os, "getpid", lambda: parent + 1)  # as in a page worker
        assert converter_for("s2t") is opencc_for("s2t")


def test_a_failed_fork_means_loading_here(nothing_loaded: set[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise OSError("out of processes")

    monkeypatch.setattr(os, "fork", no_fork)
    with loading_elsewhere(lambda: ["s2t"]):
        assert loaded._helper is None
        assert converter_for("s2t") is opencc_for("s2t")


def test_a_helper_is_killed_once_however_often_it_is_stopped(nothing_loaded: set[str], monkeypatch: pytest.MonkeyPatch) -> None:
    killed: list[int] = []
    kill = os.kill
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append(pid) or kill(pid, sig))
    with loading_elsewhere(lambda: []):
        helper = loaded._helper
        assert helper is not None
        helper.stop()  # as a failed conversion does; then loading_elsewhere's end stops it again
    helper.stop()
    assert killed == [helper.pid]  # a reaped pid may be another process's by then
