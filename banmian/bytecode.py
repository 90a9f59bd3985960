"""banmian's own bytecode, kept in the user's cache folder under PYTHONDONTWRITEBYTECODE.

That setting (common in containers) keeps Python from writing bytecode
beside the sources, so banmian's modules were compiled from source at every
start: about a tenth of a second of every small rebuild. This finder gives
banmian's own modules a loader that keeps their bytecode in
~/.cache/banmian/bytecode instead, as `sys.pycache_prefix` would, but for
them alone: the prefix applies to every module imported after it is set, so
the standard library's, Jinja's, Markdown's … bytecode written when they
were installed was ignored, and the first build after each install or edit
compiled them all again (2 s of CPU in a 5,000-article cold build).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import marshal
import os
import sys
from types import CodeType
from typing import Sequence


class OwnBytecode(importlib.abc.MetaPathFinder):
    """Finds banmian's modules as the path finder does, with a CachedSourceLoader."""

    def __init__(self, package: str, folder: str) -> None:
        self.prefix = package + "."
        self.folder = folder

    def find_spec(self, name: str, path: Sequence[str] | None = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        if not name.startswith(self.prefix):
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and type(spec.loader) is importlib.machinery.SourceFileLoader and spec.origin:
            spec.loader = CachedSourceLoader(name, spec.origin, self.folder)
        return spec


class CachedSourceLoader(importlib.machinery.SourceFileLoader):
    """A source file's code from a bytecode file in `folder`, valid while the
    source's mtime and size are those it was compiled from; else compiled
    and written there."""

    def __init__(self, fullname: str, path: str, folder: str) -> None:
        super().__init__(fullname, path)
        self.folder = folder

    def get_code(self, fullname: str) -> CodeType:
        source_path = self.get_filename(fullname)
        try:
            stat = os.stat(source_path)
        except OSError:
            return super().get_code(fullname)
        # The header of a timestamp-based .pyc (PEP 552): magic, flags 0, mtime, size.
        header = importlib.util.MAGIC_NUMBER + b"\0\0\0\0" + _u32(int(stat.st_mtime)) + _u32(stat.st_size)
        # Where sys.pycache_prefix would put it: the source's folder mirrored, the interpreter's tag.
        folder, name = os.path.split(os.path.abspath(source_path))
        cached = os.path.join(self.folder, folder.lstrip(os.sep), f"{os.path.splitext(name)[0]}.{sys.implementation.cache_tag}.pyc")
        try:
            with open(cached, "rb") as handle:
                data = handle.read()
            if data[:16] == header:
                return marshal.loads(memoryview(data)[16:])
        except (OSError, ValueError, EOFError, TypeError):
            pass  # missing, stale or damaged: compiled again
        code = self.source_to_code(self.get_data(source_path), source_path)
        try:
            os.makedirs(os.path.dirname(cached), exist_ok=True)
            temp = f"{cached}.{os.getpid()}.tmp"
            with open(temp, "wb") as handle:
                handle.write(header + marshal.dumps(code))
            os.replace(temp, cached)  # a reader sees a whole file or none
        except OSError:
            pass  # a read-only cache folder: compiled each time, as before
        return code


def _u32(value: int) -> bytes:
    return (value & 0xFFFFFFFF).to_bytes(4, "little")


def install(package: str, folder: str) -> None:
    """Keep package's submodules' bytecode in folder from now on (once per process)."""
    if not any(isinstance(finder, OwnBytecode) for finder in sys.meta_path):
        sys.meta_path.insert(0, OwnBytecode(package, folder))
