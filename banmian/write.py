"""The write stage: two trees beside the output, brought up to date in turn.

The published site is never written in place. A build fills a staging
folder beside the output and then exchanges the two in one
renameat2(RENAME_EXCHANGE) call: a reader, a web server or a SIGKILL sees
the old site or the new one, never a mix. A file whose bytes did not change
is the published file itself, hard-linked (same inode: its mtime stays, so
rsync and CDNs upload only what changed).

The tree the exchange replaces is not thrown away but kept as the *spare*
(`.site.spare`), and the next build starts from it instead of from an empty
folder: it holds the previous build's files, most of them hard links shared
with the published site, so bringing it up to date costs a few system calls
per *changed* file, not a link and a folder per file of the site. A file in
it is never written through (it may be a link into the live site): it is
unlinked and made anew.

A spare is used only when the build cache says exactly what it holds: a
random token in the folder must match the cache's record of it, and the
output folder must still be the one the record saw published (device,
inode, ctime; any build that swaps or a hand that adds or removes a file at
its top changes them). A build killed while updating the spare leaves it
under the staging name, where it is never mistaken for a spare; whenever in
doubt, a build starts from a fresh staging folder and links every unchanged
file from the published site after checking its size and mtime.

The build command does not wait for what only helps the next build: once
the site is published it forks a *finisher* that saves the cache and links
a first spare, hands it the output's lock (hand_over) and exits. The next
build's lock() waits for that finisher, known by the pid it left beside the
output, and refuses only a real second writer.

No longer checked: published files edited, added or deleted by hand below
the top folder, where the build does not change them. The spare's link to
the same inode is kept without a look at the published file, so such edits
may stay or come back every other build. Edit the sources instead; deleting
`.site.spare` makes the next build start fresh and undo them.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import operator
import os
import secrets
import shutil
import subprocess
import sys
import time
from array import array
from dataclasses import dataclass
from itertools import compress, repeat
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Mapping, NamedTuple, Sequence, TypeVar

RENAME_EXCHANGE = 2
TRASH_GRACE_SECONDS = 600
AT_FDCWD = -100
TOKEN_NAME = ".banmian-spare"  # in the spare's top folder; never a site file (dot files are not published)
NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC

FolderId = tuple[int, int, int]  # device, inode, ctime_ns
T = TypeVar("T")


class OutputLocked(Exception):
    """Another build is writing the same output folder."""


class Written(NamedTuple):
    """The manifest entry of one output file.

    A named tuple, not a dataclass: the cache holds two manifests of every
    output file, and tuples unpickle about three times faster.
    """

    fingerprint: str  # of everything the file was made from ("" when unknown)
    digest: str  # of its bytes
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class TreeState:
    """What the build cache keeps of the folders a build left, to trust them next time."""

    published: FolderId | None  # the output folder right after publishing
    spare_token: str  # also in the spare's TOKEN_NAME file; "" when no spare was kept
    spare: Mapping[str, Written]  # exactly the files the spare holds

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore_tree_state, (self.published, self.spare_token, pack_manifest(self.spare)))


def _restore_tree_state(published: FolderId | None, token: str, spare: PackedManifest) -> TreeState:
    return TreeState(published, token, unpack_manifest(spare))


# A manifest as a few long columns: pickling 17,819 entries one by one took
# a tenth of a second each way, two manifests (published, spare) a build.
PackedManifest = tuple[str, str, str, bytes, bytes] | dict[str, Written]


def pack_manifest(manifest: Mapping[str, Written]) -> PackedManifest:
    paths = list(manifest)
    if any("\n" in path for path in paths):  # a static file named so: kept as it is
        return dict(manifest)
    entries = list(manifest.values())
    return (
        "\n".join(paths),
        "\n".join([e.fingerprint for e in entries]),
        "\n".join([e.digest for e in entries]),
        array("q", [e.size for e in entries]).tobytes(),
        array("q", [e.mtime_ns for e in entries]).tobytes(),
    )


def unpack_manifest(packed: PackedManifest) -> dict[str, Written]:
    if isinstance(packed, dict):
        return packed
    paths, fingerprints, digests, sizes, mtimes = packed
    if not paths:
        return {}
    # tuple.__new__ on each row, not Written(...): the named tuple's own
    # __new__ is Python, a third of the time for the 35,000 entries of a
    # 10,000-article site.
    rows = zip(fingerprints.split("\n"), digests.split("\n"), array("q", sizes), array("q", mtimes))
    return dict(zip(paths.split("\n"), map(tuple.__new__, repeat(Written), rows)))


def pack_spare(spare: Mapping[str, Written], published: Mapping[str, Written]) -> tuple[PackedManifest, str]:
    """The spare as it differs from the published manifest: after a rebuild
    they differ in the files that changed, so the cache need not hold (and
    read back) a second manifest of the whole site.

    By the file, not the fingerprint: a file of the spare is only ever trusted
    to be the same bytes as a published one (_same_file), and every search
    file's fingerprint changes with any edit while its bytes mostly do not;
    kept, they made the spare's difference most of the index (10 MB at
    10,000 articles)."""
    differing = {}
    for path, entry in spare.items():
        other = published.get(path)
        if other is None or not _same_file(entry, other):
            differing[path] = entry
    return pack_manifest(differing), "\0".join(path for path in published if path not in spare)


def unpack_spare(packed: tuple[PackedManifest, str], published: Mapping[str, Written]) -> dict[str, Written]:
    differing, absent = packed
    spare = dict(published)
    for path in absent.split("\0") if absent else ():
        del spare[path]
    spare.update(unpack_manifest(differing))
    return spare


def digest_of(data: bytes) -> str:
    # Every file the build makes is digested (~150 MB at 5,000 articles): MD5,
    # as a checksum, not for security, runs a third faster here than BLAKE2b.
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class OutputTree:
    """Collects one build's files in a staging folder and publishes them at once.

    previous: the manifest of the published site; state: what the last
    publish left (None: nothing known, so nothing beside the output is trusted).
    """

    def __init__(
        self,
        output: Path,
        previous: Mapping[str, Written],
        state: TreeState | None = None,
        first_spare: bool = True,
        copies: int = 1,
    ) -> None:
        """first_spare: make a spare after a first build too (no use when nothing
        remembers it), with up to `copies` processes linking it."""
        self.first_spare = first_spare
        self.copies = copies
        self.output = output.resolve()
        self.previous = previous
        self.state = state  # after publish(): what the next build needs
        self.staging = self.output.with_name(f".{self.output.name}.staging-{os.getpid()}")
        self.spare = self.output.with_name(f".{self.output.name}.spare")
        self.manifest: dict[str, Written] = {}
        self.written = 0
        self.unchanged = 0
        self.removed = 0
        self.swapped = False  # a new tree was published: the cache must learn the new state
        self._lock: IO[bytes] | None = None
        self._made_dirs: set[str] = {""}
        self._output = str(self.output)
        self._staging = str(self.staging)
        # What the staging folder held when the build began: the spare's files, or none.
        self._held: Mapping[str, Written] = {}
        self._from_spare = False
        self._published_known = False
        self._copy_plan: tuple[list[list[str]], str] | None = None  # the first spare, to link: (groups, token)
        self._copying: tuple[list[subprocess.Popen[bytes]], str] | None = None  # the first spare being linked
        # Where a build that handed its lock to a finisher leaves the finisher's pid.
        self._finisher = _beside(self.output, "finishing")

    # -- locking -----------------------------------------------------------
    def lock(self) -> None:
        """Hold the output's lock, waiting for the finisher a build left (see
        hand_over), refusing while another build is writing."""
        self.output.parent.mkdir(parents=True, exist_ok=True)
        lock_path = _beside(self.output, "lock")
        handle = open(lock_path, "ab")
        try:
            _take_lock(handle, self._finisher)
        except OSError as exc:
            handle.close()
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise OutputLocked(
                    f"{self.output}: another build is writing this folder right now "
                    f"(lock {lock_path}); wait for it to finish"
                ) from None
            raise
        with contextlib.suppress(FileNotFoundError):
            self._finisher.unlink()  # its finisher has exited: the lock was free
        self._lock = handle

    def unlock(self) -> None:
        self._finish_first_spare()
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def hand_over(self, pid: int) -> None:
        """Leave the lock (and the spare still to be linked) to process pid, a
        forked finisher sharing the lock's open file: it holds the lock until it
        exits. A later build's lock() waits for it, knowing it by the pid left
        beside the output."""
        with contextlib.suppress(OSError):
            self._finisher.write_bytes(str(pid).encode())
        if self._lock is not None:
            self._lock.close()  # not unlocked: the finisher's copy keeps it
            self._lock = None
        self._copy_plan = self._copying = None  # the finisher's to link

    # -- staging -------------------------------------------------------------
    def begin(self) -> None:
        """Take the spare as the staging folder when it can be trusted, else start empty."""
        self._clear_stale_staging()
        state = self.state
        self._published_known = state is not None and state.published is not None and folder_id(self._output) == state.published
        if self._published_known and state is not None and state.spare_token and _read_token(self.spare) == state.spare_token:
            # Renamed before the first change: a build killed from here on
            # leaves a staging folder, which is cleared, never a half-updated spare.
            os.rename(self.spare, self.staging)
            self._held, self._from_spare = state.spare, True
        else:
            self._remove_later([self.spare])
            self.staging.mkdir(parents=True)

    def _clear_stale_staging(self) -> None:
        # A build killed earlier leaves its staging folder behind; it was never
        # published, so it is safe to remove (we hold the lock).
        self._remove_later(list(self.output.parent.glob(f".{self.output.name}.staging-*")))
        # Old sites whose remover was killed; young ones are still being removed.
        for trash in self.output.parent.glob(f".{self.output.name}.trash-*"):
            try:
                if time.time() - trash.stat().st_mtime > TRASH_GRACE_SECONDS:
                    shutil.rmtree(trash, ignore_errors=True)
            except OSError:
                pass

    def reuse(self, path: str, fingerprint: str) -> bool:
        """Keep (or link) the published file when it was made from the same inputs."""
        old = self.previous.get(path)
        if old is None or not fingerprint or old.fingerprint != fingerprint:
            return False
        return self._keep_published(path, old, fingerprint)

    def reuse_many(self, items: Iterable[tuple[str, str]]) -> list[int]:
        """reuse() of each (path, fingerprint); the positions of those it could not.

        The same steps, inlined: a rebuild asks for every page of the archive
        (12,000 at 5,000 articles) and keeps nearly all, so the calls per page
        were a tenth of a serve rebuild.
        """
        return self._keep_each(items, same_inputs=True)

    def keep_many(self, paths: Sequence[str]) -> list[int]:
        """Keep the published file at each path, which the caller knows holds
        the bytes it would put there, recorded as it was; the positions of
        those with none to keep.

        A rebuild keeps every search file the index's update left as it was
        (11,000 at 10,000 articles): those the staging folder holds as
        published (the spare's link, the very entry) are kept together, in C;
        the few others (changed by the last build, so the spare's copy is
        older) one by one, as reuse_many does."""
        held = self._held_as_published(paths)
        if held is None:
            return self._keep_each(((path, "") for path in paths), same_inputs=False)
        same, olds = held
        self.manifest.update(zip(compress(paths, same), compress(olds, same)))
        self.unchanged += sum(same)
        others = list(compress(range(len(paths)), map(operator.not_, same)))
        left = self._keep_each(((paths[index], "") for index in others), same_inputs=False)
        return [others[index] for index in left]

    def keep_group(self, paths: Sequence[str]) -> bool:
        """Keep the published file at every path, recorded as it was, when
        the caller knows all were made from what they would be made from now
        (a group of pages with an unchanged fingerprint); False, keeping none,
        unless the staging folder holds each as published.

        All or nothing, and in C: a rebuild keeps nearly every issue of the
        archive so, and per path (reuse_many) that was 24,500 steps at
        10,000 articles."""
        held = self._held_as_published(paths)
        if held is None or not paths:
            return False
        same, olds = held
        for index in compress(range(len(paths)), map(operator.not_, same)):
            # Not the very entry: the same file still (its fingerprint changed), as _keep_each.
            old = olds[index]
            if old is None or not _holds(self._held.get(paths[index]), old):
                return False
        self.manifest.update(zip(paths, olds))
        self.unchanged += len(paths)
        return True

    def _held_as_published(self, paths: Sequence[str]) -> tuple[list[bool], list[Written | None]] | None:
        """(whether the staging folder holds each path's published file as
        the very entry of the published manifest, each path's published
        entry); None when this build has placed any of them already."""
        if not self.manifest.keys().isdisjoint(paths):
            return None
        olds = list(map(self.previous.get, paths))
        # Never `None is None`: a path the spare lacks is _ABSENT there.
        return list(map(operator.is_, map(self._held.get, paths, repeat(_ABSENT)), olds)), olds

    def _keep_each(self, items: Iterable[tuple[str, str]], same_inputs: bool) -> list[int]:
        """Keep the published file of each (path, fingerprint), only if made from
        the same fingerprint when same_inputs; the positions of those it could not."""
        previous, manifest, held = self.previous, self.manifest, self._held
        left: list[int] = []
        kept = 0
        for index, (path, fingerprint) in enumerate(items):
            old = previous.get(path)
            if old is None or (same_inputs and (not fingerprint or old.fingerprint != fingerprint)):
                left.append(index)
                continue
            here = manifest.get(path)
            if here is None:
                here = held.get(path)
            if _holds(here, old):
                if fingerprint and fingerprint != old.fingerprint:  # as _record
                    old = Written(fingerprint, old.digest, old.size, old.mtime_ns)
                manifest[path] = old  # when nothing differs, the same object: pickled once for both manifests
                kept += 1
            elif not self._link_old(path, old, fingerprint):
                left.append(index)
        self.unchanged += kept
        return left

    def put(self, path: str, data: bytes, fingerprint: str = "") -> None:
        digest = digest_of(data)
        old = self.previous.get(path)
        if old is not None and old.digest == digest:
            if self._keep_published(path, old, fingerprint):
                return
        else:
            here = self._holding(path)
            if here is not None and here.digest == digest:
                # The spare's own copy has these bytes (an edit undone): no write.
                self._record(path, here, fingerprint)
                return
        target = self._target(path)
        mtime_ns = _replacing(target, lambda t: _write_new(t, data))
        self.manifest[path] = Written(fingerprint, digest, len(data), mtime_ns)
        self.written += 1

    def _holding(self, path: str) -> Written | None:
        """What the staging folder has at path: placed by this build, or left by the spare."""
        placed = self.manifest.get(path)
        return placed if placed is not None else self._held.get(path)

    def _keep_published(self, path: str, old: Written, fingerprint: str) -> bool:
        here = self._holding(path)
        if here is not None and _same_file(here, old):
            self._record(path, old, fingerprint)  # the spare's link to the published inode
            return True
        return self._link_old(path, old, fingerprint)

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
            _replacing(self._target(path), lambda t: os.link(source, t))
        except OSError:
            return False
        self._record(path, old, fingerprint)
        return True

    def _record(self, path: str, entry: Written, fingerprint: str) -> None:
        # The same object when nothing differs: the cache pickles it once for both manifests.
        if fingerprint and fingerprint != entry.fingerprint:
            # Not _replace(): built directly, it costs a quarter as much, and
            # a rebuild records every kept file of the search index this way.
            entry = Written(fingerprint, entry.digest, entry.size, entry.mtime_ns)
        self.manifest[path] = entry
        self.unchanged += 1

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
        # Here, after every put (workers included): the spare's files this build did not make.
        gone = [path for path in self._held if path not in self.manifest]
        _remove_files(self._staging, gone)
        self.removed = len(gone)
        if self._from_spare and not self.written and not gone and self._nothing_changed():
            # The published site already is the result and the staging folder
            # is still exactly the spare: put it back, as trusted as before.
            os.rename(self.staging, self.spare)
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{self._staging}/{TOKEN_NAME}")  # the spare's mark is not part of the site
        if self.output.exists():
            _exchange(self.staging, self.output)
            token, spare = self._keep_spare()  # the staging folder now holds the old site
        else:
            os.rename(self.staging, self.output)
            token, spare = self._first_spare()
        self.swapped = True
        self.state = TreeState(folder_id(self._output), token, spare)

    def _nothing_changed(self) -> bool:
        return _same_files(self.manifest, self.previous) and _same_files(self.manifest, self._held)

    def _first_spare(self) -> tuple[str, Mapping[str, Written]]:
        """Start making a spare of hard links to the new site, when no spare
        comes from this build (the first build, or one after a lost cache).

        Otherwise the next rebuild would make them (~1 s at 5,000 articles):
        the first rebuild, the one a desk waits for after setting up. Planned
        here; start_spare() has `cp -rlP` link the tree in C while the cache
        is saved (by this process, or by the finisher it is handed to), one
        copy per core, each taking a share of the top-level folders; unlock()
        waits for them and names the result. Until then the token is in no
        folder, so a kill leaves a spare no build trusts.

        Not `cp -al`: its --preserve=all copies each folder's owner, times
        and extended attributes, five more system calls a folder (12,280 at
        5,000 articles), a third of its time on ext4. The files are links,
        their attributes the same inodes'; the folders' are this build's.
        """
        if not self.first_spare:
            return "", {}
        token = secrets.token_hex(16)
        self._copy_plan = (_copy_groups(os.listdir(self._output), self.manifest, self.copies), token)
        return token, dict(self.manifest)

    def start_spare(self) -> None:
        """Start linking the first spare publish() planned (see _first_spare), if any."""
        if self._copy_plan is None:
            return
        groups, token = self._copy_plan
        self._copy_plan = None
        copying: list[subprocess.Popen[bytes]] = []
        try:
            os.mkdir(self._staging)
            for group in groups:
                copying.append(
                    subprocess.Popen(
                        ["cp", "-rlP", "-t", self._staging, "--", *(f"{self._output}/{name}" for name in group)],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
        except OSError:  # no GNU cp: the first rebuild makes the spare
            for process in copying:
                process.wait()
            self._remove_later([self.staging])
            return
        self._copying = (copying, token)

    def _finish_first_spare(self) -> None:
        self.start_spare()
        if self._copying is None:
            return
        copying, token = self._copying
        self._copying = None
        try:
            if any([process.wait() != 0 for process in copying]):  # a list: every one waited for
                raise OSError("cp -rlP failed")
            # The token last, then the name: a kill before leaves a staging folder.
            _write_new(f"{self._staging}/{TOKEN_NAME}", token.encode())
            os.rename(self.staging, self.spare)
        except OSError:
            self._remove_later([self.staging])

    def _keep_spare(self) -> tuple[str, Mapping[str, Written]]:
        """Keep the replaced site as the next build's spare, when its contents are known."""
        if not self._published_known:
            # What the replaced tree holds is unknown (a lost or older cache):
            # thrown away, and the new site linked as the spare instead.
            self._remove_later([self.staging])
            return self._first_spare()
        token = secrets.token_hex(16)
        try:
            # The token last, then the name: a kill before leaves a staging folder.
            _write_new(f"{self._staging}/{TOKEN_NAME}", token.encode())
            os.rename(self.staging, self.spare)
        except OSError:
            self._remove_later([self.staging])
            return "", {}
        return token, self.previous

    def _remove_later(self, folders: Iterable[Path]) -> None:
        """Remove folders without making the build wait for it.

        Deleting tens of thousands of files can take longer than the whole
        incremental build, so they are renamed aside at once and a detached
        process deletes them. Leftovers of a remover that was killed are
        cleared by a later build.
        """
        trashed = []
        for folder in folders:
            trash = self.output.with_name(f".{self.output.name}.trash-{os.getpid()}-{time.monotonic_ns()}")
            try:
                os.rename(folder, trash)
                os.utime(trash)  # its age tells a later build whether its remover was killed
            except FileNotFoundError:
                continue
            except OSError:
                shutil.rmtree(folder, ignore_errors=True)
                continue
            trashed.append(str(trash))
        if not trashed:
            return
        try:
            subprocess.Popen(
                [sys.executable, "-c", "import shutil, sys\nfor f in sys.argv[1:]: shutil.rmtree(f, ignore_errors=True)", *trashed],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError:
            for trash in trashed:
                shutil.rmtree(trash, ignore_errors=True)

    def abandon(self) -> None:
        # Maybe a half-updated spare: never to be trusted again.
        self._remove_later([self.staging])


_ABSENT = object()


def _holds(here: Written | None, old: Written) -> bool:
    """Whether the staging folder's entry here is the published file old:
    the very entry (most often), or the same file recorded under another
    fingerprint."""
    return here is old or (here is not None and _same_file(here, old))


def _same_file(a: Written, b: Written) -> bool:
    """The same bytes with the same mtime: a link to one inode, as far as a reader can tell."""
    return a.digest == b.digest and a.size == b.size and a.mtime_ns == b.mtime_ns


def _same_files(a: Mapping[str, Written], b: Mapping[str, Written]) -> bool:
    if len(a) != len(b):
        return False
    for path, entry in a.items():
        other = b.get(path)
        if other is not entry and (other is None or not _same_file(entry, other)):
            return False
    return True


def _copy_groups(names: Iterable[str], manifest: Mapping[str, Written], count: int) -> list[list[str]]:
    """Top-level names in up to count groups of about equal numbers of files
    (the two editions are most of a site), the largest placed first."""
    files: dict[str, int] = dict.fromkeys(names, 1)
    for path in manifest:
        top = path.partition("/")[0]
        if top in files:
            files[top] += 1
    groups: list[list[str]] = [[] for _ in range(max(1, count))]
    loads = [0] * len(groups)
    for name in sorted(files, key=lambda n: (-files[n], n)):
        lightest = loads.index(min(loads))
        groups[lightest].append(name)
        loads[lightest] += files[name]
    return [group for group in groups if group]


def folder_id(path: str) -> FolderId | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino, stat.st_ctime_ns


# How long a build waits for the finisher of the one before (it saves a
# cache and links a spare: seconds, even at 150,000 articles).
FINISHER_WAIT_SECONDS = 600.0


def _take_lock(handle: IO[bytes], finisher: Path) -> None:
    """flock handle; if a finisher (hand_over) holds it, once it has exited.
    Raises OSError (EAGAIN) when another build holds it."""
    deadline = time.monotonic() + FINISHER_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES) or not _alive(finisher) or time.monotonic() > deadline:
                raise
        time.sleep(0.01)


def _alive(finisher: Path) -> bool:
    """Is the process whose pid the file holds running?"""
    try:
        pid = int(finisher.read_bytes())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def wait_for_finisher(output: Path) -> None:
    """Return once no finisher of a build holds output's lock (for callers
    that read the cache or the spare right after a `banmian build`)."""
    output = output.resolve()
    lock_path = _beside(output, "lock")
    if not lock_path.exists():
        return
    with open(lock_path, "ab") as handle:
        with contextlib.suppress(OSError):
            _take_lock(handle, _beside(output, "finishing"))
            fcntl.flock(handle, fcntl.LOCK_UN)


def _beside(output: Path, what: str) -> Path:
    """The output's lock file ("lock") or its finisher's pid file ("finishing")."""
    return output.with_name(f".{output.name}.{what}")


def _read_token(folder: Path) -> str:
    try:
        with open(folder / TOKEN_NAME, encoding="ascii") as handle:
            return handle.read()
    except (OSError, ValueError):
        return ""


def _write_new(target: str, data: bytes) -> int:
    """Create target (it must not exist) holding data; its mtime in ns."""
    # Bare descriptors: a file object's layers cost as much as the system calls.
    fd = os.open(target, NEW_FILE, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        return os.fstat(fd).st_mtime_ns
    finally:
        os.close(fd)


def _replacing(target: str, make: Callable[[str], T]) -> T:
    """make(target) after clearing what the spare left there.

    Unlinked, never written through: it may be a hard link into the live site.
    """
    try:
        return make(target)
    except FileExistsError:
        _vacate(target)
        return make(target)


def _vacate(target: str) -> None:
    try:
        os.unlink(target)
    except OSError:
        if not os.path.isdir(target):
            raise
        shutil.rmtree(target)  # the spare had a folder where this build has a file


def _remove_files(root: str, paths: Iterable[str]) -> None:
    """Unlink paths under root, then the folders that leaves empty."""
    folders: set[str] = set()
    for path in paths:
        try:
            os.unlink(f"{root}/{path}")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            pass  # gone with its folder, or a folder of this build now
        folder = os.path.dirname(path)
        while folder and folder not in folders:
            folders.add(folder)
            folder = os.path.dirname(folder)
    for folder in sorted(folders, key=len, reverse=True):  # a folder before its parent
        try:
            os.rmdir(f"{root}/{folder}")
        except OSError:
            pass  # not empty: it holds files of this build


def _make_dirs(root: str, folder: str, made: set[str]) -> None:
    """mkdir folder and its missing parents under root, remembering what exists."""
    missing = []
    while folder not in made:
        missing.append(folder)
        folder = os.path.dirname(folder)
    for name in reversed(missing):
        path = f"{root}/{name}"
        try:
            os.mkdir(path)
        except FileExistsError:
            if not os.path.isdir(path):  # the spare had a file where this build has a folder
                os.unlink(path)
                os.mkdir(path)
        made.add(name)


def _exchange(a: Path, b: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)  # this process's symbols, libc's among them: no ldconfig run
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
