"""OpenCC's converters, loaded once per process, or meanwhile in a helper.

Loading s2t and t2tw takes ~0.07 s of CPU, and OpenCC's binding holds the
GIL while it loads, so no thread can do it meanwhile. A rebuild after one
article changed converts a few pages late in the build (at 10,000 articles,
two OpenCC calls, 5,000 characters, 0.6 s in), after reading its cache and
resolving the archive on one core. While it does, a helper forked first
loads the dictionaries on the other core, and converts those calls for it.

The helper only ever serves the process that forked it: a worker forked
later (page workers, search ranges) loads its own, as a build with workers
loads them before forking anyway (Converter.load). Should the helper die,
the build loads OpenCC itself and goes on: the helper is a cache of work the
build knows how to do.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from functools import lru_cache, partial
from typing import Callable, Iterable, Iterator, NoReturn

from .elsewhere import fork_helper, read_frame, write_frame

_loaded_here: set[str] = set()  # configs opencc_for has loaded in this process


@lru_cache(maxsize=None)
def opencc_for(config: str):  # type: ignore[no-untyped-def]
    """The OpenCC converter of a config name, loaded here once per process
    (OpenCC shares the dictionaries of its converters: s2t after s2tw costs ~5 ms)."""
    import opencc

    converter = opencc.OpenCC(f"{config}.json")
    _loaded_here.add(config)
    return converter


def converter_for(config: str):  # type: ignore[no-untyped-def]
    """What converts with config: OpenCC here once loaded here, else this
    process's helper while one is loading or serving it, else OpenCC loaded here now."""
    helper = _helper
    if helper is not None and config not in _loaded_here and helper.parent == os.getpid():
        return _Remote(helper, config)
    return opencc_for(config)


class _Remote:
    """A config's converter in the helper: convert() as OpenCC's."""

    def __init__(self, helper: "_Helper", config: str) -> None:
        self.helper = helper
        self.config = config

    def convert(self, text: str) -> str:
        converted = self.helper.convert(self.config, text)
        if converted is None:  # the helper is gone: from now on, here
            _stop(self.helper)
            return opencc_for(self.config).convert(text)
        return converted


class _Helper:
    """This process's side of a helper: two pipes and its pid."""

    def __init__(self, pid: int, requests: int, replies: int) -> None:
        self.pid = pid
        self.parent = os.getpid()
        self._requests: int | None = requests  # write end
        self._replies: int | None = replies  # read end
        self._turn = threading.Lock()  # one request and its reply at a time, whichever thread asks

    @classmethod
    def start(cls, preload: Callable[[], Iterable[str]]) -> "_Helper | None":
        """A helper loading preload()'s configs, or None when the system cannot fork one."""
        started = fork_helper(partial(_serve, preload))
        return None if started is None else cls(*started)

    def convert(self, config: str, text: str) -> str | None:
        """text converted by the helper; None if it is gone."""
        with self._turn:
            if self._requests is None or self._replies is None:
                return None
            try:
                write_frame(self._requests, f"{config}\0{text}".encode("utf-8"))
                converted = read_frame(self._replies)
            except OSError:
                return None
        return None if converted is None else converted.decode("utf-8")

    def stop(self) -> None:
        """The helper killed and reaped: it holds nothing the build needs."""
        with self._turn:
            if self._requests is None or self._replies is None:
                return  # stopped already: its pid may be another process's by now
            os.close(self._requests)
            os.close(self._replies)
            self._requests = self._replies = None
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.waitpid(self.pid, 0)


_helper: _Helper | None = None  # this process's helper, while loading_elsewhere() runs


def _stop(helper: _Helper) -> None:
    global _helper
    if _helper is helper:
        _helper = None
    helper.stop()


@contextlib.contextmanager
def loading_elsewhere(preload: Callable[[], Iterable[str]]) -> Iterator[None]:
    """While the body runs, OpenCC's converters are loaded by a forked helper
    (preload() there: the configs to load before the first request), and
    converter_for() converts there what is not loaded here. The helper is
    killed when the body ends."""
    global _helper
    helper = _Helper.start(preload) if _helper is None else None
    if helper is None:
        yield
        return
    _helper = helper
    try:
        yield
    finally:
        _stop(helper)


def _serve(preload: Callable[[], Iterable[str]], requests: int, replies: int) -> NoReturn:  # pragma: no cover
    """The helper's whole life: load, then convert each request (the config,
    NUL, the text, in UTF-8: a frame of elsewhere's), until the build is done."""
    global _helper
    status = 1
    try:
        _helper = None  # its parent's, inherited: this process converts here
        # ^C is for the build: it stops the helper with SIGKILL or by closing the pipe.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for config in preload():
            opencc_for(config)
        while (request := read_frame(requests)) is not None:
            config, _, text = request.decode("utf-8").partition("\0")
            write_frame(replies, opencc_for(config).convert(text).encode("utf-8"))
        status = 0
    finally:
        os._exit(status)
