"""The write stage: a fresh tree beside the output, then one atomic swap.

The published site is never written in place. Files are written into a
sibling folder; a file whose bytes did not change is hard-linked from the
published site instead (same inode: its mtime stays, so rsync and CDNs
upload only what changed). When everything is written, the two folders are
exchanged in one renameat2(RENAME_EXCHANGE) call: a reader, a web server or
a SIGKILL sees the old site or the new one, never a mix.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Mapping

RENAME_EXCHANGE = 2
TRASH_GRACE_SECONDS = 600
AT_FDCWD = -100


class OutputLocked(Exception):
    """Another build is writing the same output folder."""


@dataclass(frozen=True)
class Written:
    """The manifest entry of one output file."""

    fingerprint: str  # of everything the file was made from ("" when unknown)
    digest: str  # of its bytes
    size: int
    mtime_ns: int


def digest_of(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class OutputTree:
    """Collects one build's files in a staging folder and publishes them at once."""

    def __init__(self, output: Path, previous: Mapping[str, Written]) -> None:
        self.output = output.resolve()
        self.previous = previous
        self.staging = self.output.with_name(f".{self.output.name}.staging-{os.getpid()}")
        self.manifest: dict[str, Written] = {}
        self.written = 0
        self.unchanged = 0
        self._lock: IO[bytes] | None = None
        self._made_dirs: set[str] = {""}
        self._output = str(self.output)
        self._staging = str(self.staging)

    # -- locking -----------------------------------------------------------
    def lock(self) -> None:
        self.output.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.output.with_name(f".{self.output.name}.lock")
        handle = open(lock_path, "ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.close()
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise OutputLocked(
                    f"{self.output}: another build is writing this folder right now "
                    f"(lock {lock_path}); wait for it to finish"
                ) from None
            raise
        self._lock = handle

    def unlock(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    # -- staging -------------------------------------------------------------
    def begin(self) -> None:
        self._clear_stale_staging()
        self.staging.mkdir(parents=True)

    def _clear_stale_staging(self) -> None:
        # A build killed earlier leaves its staging folder behind; it was never
        # published, so it is safe to remove (we hold the lock).
        for stale in self.output.parent.glob(f".{self.output.name}.staging-*"):
            shutil.rmtree(stale, ignore_errors=True)
        # Old sites whose remover was killed; young ones are still being removed.
        for trash in self.output.parent.glob(f".{self.output.name}.trash-*"):
            try:
                if time.time() - trash.stat().st_mtime > TRASH_GRACE_SECONDS:
                    shutil.rmtree(trash, ignore_errors=True)
            except OSError:
                pass

    def reuse(self, path: str, fingerprint: str) -> bool:
        """Link the published file when it was made from the same inputs."""
        old = self.previous.get(path)
        if old is None or not fingerprint or old.fingerprint != fingerprint:
            return False
        return self._link_old(path, old, fingerprint)

    def put(self, path: str, data: bytes, fingerprint: str = "") -> None:
        digest = digest_of(data)
        old = self.previous.get(path)
        if old is not None and old.digest == digest and self._link_old(path, old, fingerprint):
            return
        target = self._target(path)
        if path in self.manifest:
            # Placed earlier in this build, maybe as a hard link to the
            # published file: writing through it would change the live site.
            os.unlink(target)
            del self.manifest[path]
        with open(target, "wb") as handle:
            handle.write(data)
        stat = os.stat(target)
        self.manifest[path] = Written(fingerprint, digest, len(data), stat.st_mtime_ns)
        self.written += 1

    def _link_old(self, path: str, old: Written, fingerprint: str) -> bool:
        source = f"{self._output}/{path}"  # strings: pathlib costs more than the syscalls here
        try:
            stat = os.stat(source)
        except OSError:
            return False
        # A file edited by hand in the published site is not trusted.
        if stat.st_size != old.size or stat.st_mtime_ns != old.mtime_ns:
            return False
        try:
            os.link(source, self._target(path))
        except OSError:
            return False
        self.manifest[path] = Written(fingerprint or old.fingerprint, old.digest, old.size, old.mtime_ns)
        self.unchanged += 1
        return True

    def _target(self, path: str) -> str:
        parent = os.path.dirname(path)
        if parent not in self._made_dirs:
            _make_dirs(self._staging, parent, self._made_dirs)
        return f"{self._staging}/{path}"

    def adopt(self, entries: Mapping[str, Written], written: int, unchanged: int) -> None:
        """Take in what worker processes wrote into the same staging folder."""
        self.manifest.update(entries)
        self.written += written
        self.unchanged += unchanged

    # -- publishing -----------------------------------------------------------
    def publish(self) -> None:
        if self.output.exists():
            _exchange(self.staging, self.output)
            self._discard(self.staging)  # it now holds the old site
        else:
            os.rename(self.staging, self.output)

    def _discard(self, old_site: Path) -> None:
        """Remove the replaced site without making the build wait for it.

        The new site is already published; deleting tens of thousands of old
        files can take longer than the whole incremental build, so a detached
        process does it. Leftovers of a remover that was killed are cleared by
        a later build.
        """
        trash = self.output.with_name(f".{self.output.name}.trash-{os.getpid()}-{time.monotonic_ns()}")
        try:
            os.rename(old_site, trash)
            subprocess.Popen(
                [sys.executable, "-c", "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)", str(trash)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError:
            shutil.rmtree(old_site, ignore_errors=True)
            shutil.rmtree(trash, ignore_errors=True)

    def abandon(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def _make_dirs(root: str, folder: str, made: set[str]) -> None:
    """mkdir folder and its missing parents under root, remembering what exists."""
    missing = []
    while folder not in made:
        missing.append(folder)
        folder = os.path.dirname(folder)
    for name in reversed(missing):
        try:
            os.mkdir(f"{root}/{name}")
        except FileExistsError:
            pass
        made.add(name)


def _exchange(a: Path, b: Path) -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        result = renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
        if result == 0:
            return
        error = ctypes.get_errno()
        if error not in (errno.ENOSYS, errno.EINVAL):
            raise OSError(error, os.strerror(error), str(b))
    # No atomic exchange on this system (not Linux, or an old filesystem):
    # two renames, with a window in which the old site sits beside it.
    aside = b.with_name(f".{b.name}.old-{os.getpid()}")
    os.rename(b, aside)
    os.rename(a, b)
    os.rename(aside, a)
