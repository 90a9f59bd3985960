"""The helper process a cold build hands work to (banmian/elsewhere.py)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from banmian.elsewhere import Elsewhere, Work

MADE: list[str] = []  # filled by the steps: in the helper's memory, not this process's


def _work(**changes: object) -> Work:
    fields: dict[str, object] = {
        "prepare": (lambda: MADE.append("prepared"),),
        "answer": lambda question: [word.upper() for word in question],
        "steps": (lambda: MADE.append("one"), lambda: MADE.append("two")),
        "later": lambda question: (len(question), list(MADE)),
    }
    fields.update(changes)
    return Work(**fields)  # type: ignore[arg-type]


def test_the_answer_comes_first_and_the_later_result_holds_every_step() -> None:
    MADE.clear()
    helper = Elsewhere.start(_work())
    assert helper is not None
    helper.ask(["qinghai", "xining"])
    assert helper.answer() == ["QINGHAI", "XINING"]
    # The steps ran in the helper, each once, in order.
    assert helper.later() == (2, ["prepared", "one", "two"])
    assert MADE == []
    helper.close()  # again: nothing left to reap


def test_a_question_larger_than_a_pipe_is_sent_while_the_helper_works() -> None:
    question = ["标题" * 50] * 5_000  # ~1 MB: the helper reads it only once prepared
    helper = Elsewhere.start(_work(prepare=(lambda: time.sleep(0.2),), answer=len))
    assert helper is not None
    helper.ask(question)
    assert helper.answer() == 5_000
    assert helper.later() is not None


def test_without_later_work_the_helper_ends_after_answering() -> None:
    helper = Elsewhere.start(_work(later=None))
    assert helper is not None
    helper.ask(["a"])
    assert helper.answer() == ["A"]
    assert helper.later() is None  # nothing more comes; the helper is reaped


def test_a_helper_killed_or_failing_gives_nothing() -> None:
    dead = Elsewhere.start(_work())
    assert dead is not None
    os.kill(dead._pid, signal.SIGKILL)  # type: ignore[arg-type]
    dead.ask(["标题"])
    assert dead.answer() is None  # the caller does the work itself
    assert dead.later() is None
    failing = Elsewhere.start(_work(answer=lambda question: 1 / 0))
    assert failing is not None
    failing.ask(["标题"])
    assert failing.answer() is None and failing.later() is None


def test_closing_a_busy_helper_stops_it_instead_of_waiting() -> None:
    helper = Elsewhere.start(_work(steps=(lambda: time.sleep(60),)))
    assert helper is not None
    pid = helper._pid
    helper.ask(["a"])
    started = time.monotonic()
    helper.close()  # never asked for its results: a failed build does not wait for it
    assert time.monotonic() - started < 30
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # type: ignore[arg-type]  # reaped already


def test_an_unasked_helper_is_reaped_on_close() -> None:
    helper = Elsewhere.start(_work())
    assert helper is not None
    helper.close()
    assert helper.answer() is None


def test_no_helper_when_the_system_cannot_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    before = len(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(os, "fork", refuse)
    assert Elsewhere.start(_work()) is None
    assert len(os.listdir("/proc/self/fd")) == before  # its pipes closed again
