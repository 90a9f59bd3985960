"""Work a cold build hands to a forked helper while it reads the articles.

Until its page workers start, a cold build runs on one core: it reads and
parses every article while the other core waits. Some of what comes later
needs only tables and the titles: the slugs (jieba's and pypinyin's tables,
~0.45 s to load) and the search index's character tables (derived from
OpenCC and pypinyin, ~0.6 s). A helper forked first loads and derives them
there. It is asked one question (the titles) once they are read; it answers
that first, since the build waits for it, and only then works on a second,
later result (the search tables), meanwhile, as the build resolves and its
page workers start; the build collects that only when it needs it. (Worked
on before the question came, a step in progress delayed the answer by
~0.1 s.) One helper, not one per task: a third process on two
cores slows the reading as much as it saves.

Whatever the helper does not deliver (it died, it was killed, the system
cannot fork) the build does itself, as without it: every result is a cache
of work the build knows how to do.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import threading
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, NoReturn, Sequence

# Each result goes through the pipe as its length, then its pickle: the
# build reads the first without waiting for the second.
_LENGTH = struct.Struct("<Q")


@dataclass(frozen=True)
class Work:
    """What a helper does, in order."""

    prepare: Sequence[Callable[[], object]]  # first: what the answer needs (loading tables)
    answer: Callable[[Any], object]  # the question → the result the build waits for
    # After answering (the build waits for nothing else), steps whose
    # results stay in the helper's memory for the later result.
    steps: Sequence[Callable[[], object]] = ()
    later: Callable[[Any], object] | None = None  # the question → the later result


class Elsewhere:
    """The build's side of a helper process."""

    def __init__(self, pid: int, question: int, results: int) -> None:
        self._pid: int | None = pid
        self._question: int | None = question  # write end: the question goes there
        self._results: int | None = results  # read end: the results come from there
        self._sender: threading.Thread | None = None
        self._done = False  # both results read: the helper has nothing left to write

    @classmethod
    def start(cls, work: Work) -> "Elsewhere | None":
        """A helper at work, or None when the system cannot fork one."""
        started = fork_helper(partial(_helper, work))
        return None if started is None else cls(*started)

    def ask(self, question: object) -> None:
        """Send the question; from a thread, since the helper reads it only
        between its steps and a pipe holds 64 KB."""
        fd, self._question = self._question, None
        if fd is None:
            return
        data = pickle.dumps(question, pickle.HIGHEST_PROTOCOL)

        def send() -> None:
            try:
                _write_all(fd, data)
            except OSError:
                pass  # the helper is gone: answer() gets nothing
            finally:
                os.close(fd)

        self._sender = threading.Thread(target=send, daemon=True)
        self._sender.start()

    def answer(self) -> object | None:
        """The answer to the question; None if the helper failed."""
        return self._result()

    def later(self) -> object | None:
        """The later result (waiting for it); None if the helper failed. The helper is then reaped."""
        found = self._result()
        self._done = found is not None
        self.close()
        return found

    def _result(self) -> object | None:
        fd = self._results
        if fd is None:
            return None
        data = read_frame(fd)
        if data is not None:
            with suppress(Exception):  # a pickle the helper could not finish: nothing came
                return pickle.loads(data)
        self.close()  # it failed: it sends nothing more
        return None

    def close(self) -> None:
        """Stop the helper (if it is still working, it works for nobody) and reap it."""
        for name in ("_question", "_results"):
            fd = getattr(self, name)
            if fd is not None:
                setattr(self, name, None)
                os.close(fd)
        if self._sender is not None:
            self._sender.join()
            self._sender = None
        if self._pid is not None:
            pid, self._pid = self._pid, None
            if not self._done:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def fork_helper(life: Callable[[int, int], NoReturn]) -> tuple[int, int, int] | None:
    """(pid, write end to it, read end from it) of a forked process living
    life(its read end, its write end); None when the system cannot fork one
    (out of processes or descriptors: the caller does the work itself)."""
    if not hasattr(os, "fork"):
        return None
    pipes: list[int] = []
    try:
        to_in, to_out = os.pipe()
        pipes += to_in, to_out
        from_in, from_out = os.pipe()
        pipes += from_in, from_out
        pid = os.fork()
    except OSError:
        for fd in pipes:
            os.close(fd)
        return None
    if pid == 0:  # pragma: no cover - the helper's coverage is not collected
        os.close(to_out)
        os.close(from_in)
        life(to_in, from_out)
    os.close(to_in)
    os.close(from_out)
    return pid, to_out, from_in


def _helper(work: Work, question_fd: int, results_fd: int) -> NoReturn:  # pragma: no cover
    """The helper's whole life; it never returns, nor runs the parent's exit handlers."""
    status = 1
    try:
        for step in work.prepare:
            step()
        question = pickle.loads(_read_all(question_fd))
        write_frame(results_fd, pickle.dumps(work.answer(question), pickle.HIGHEST_PROTOCOL))
        if work.later is not None:
            for step in work.steps:
                step()
            write_frame(results_fd, pickle.dumps(work.later(question), pickle.HIGHEST_PROTOCOL))
        status = 0
    finally:
        os._exit(status)


def read_frame(fd: int) -> bytes | None:
    """One message as write_frame sent it; None if the pipe ends first."""
    head = _read_exactly(fd, _LENGTH.size)
    return None if head is None else _read_exactly(fd, _LENGTH.unpack(head)[0])


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def write_frame(fd: int, data: bytes) -> None:
    _write_all(fd, _LENGTH.pack(len(data)) + data)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
