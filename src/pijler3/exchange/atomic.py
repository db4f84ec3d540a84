"""Durable, all-or-nothing file writes (SYSTEM.md guarantee 1: nothing half-written).

Every output of the chain is written through :func:`write_atomic`, or
:func:`open_atomic` when it is written in pieces: the bytes go to a temporary file in
the same directory, which is flushed and fsynced, renamed over the target, and then the
directory itself is fsynced so that the rename survives a power cut. A reader therefore
sees either the old file or the complete new one, never a part. A file that another
library writes in full (DuckDB's rebuilt store) is put in place by
:func:`replace_durably`, the same last two steps.

:func:`append_durable` is for append-only logs: one ``os.write`` of the whole line on an
``O_APPEND`` descriptor, then fsync. On Linux a single write of a regular file is not
interleaved with another process's write, but it can still be cut short by a crash;
the audit log detects and repairs such a torn final line.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TMP_SUFFIX = ".tmp"


def fsync_dir(directory: Path) -> None:
    """Flush a directory entry (a rename or a new file) to disk."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def open_atomic(path: Path | str, mode: int = 0o644) -> Iterator[BinaryIO]:
    """A binary file that appears at ``path`` complete, durably, or not at all.

    For output too large to hold in memory at once: write to the yielded file in as many
    pieces as needed. When the ``with`` block ends normally the file is flushed, fsynced
    and renamed over ``path``; when it raises, the temporary file is removed and
    ``path`` is left as it was. The temporary file has permissions ``mode`` from the
    start (not chmod-ed after writing), so a secret is never readable by others, not
    even for a moment.
    """
    target = Path(path)
    directory = target.parent
    # A kill -9 during an earlier write left its temporary file: gone now, so that no
    # stray partial copy (of a report, a package) outlives the crash.
    clean_stale(directory)
    fd, tmp_name = _locked_temp(target)
    try:
        # The duplicate shares the lock of ``fd``, which stays open (and the file locked)
        # until after the rename, so that no cleaner takes it for a dead one.
        with os.fdopen(os.dup(fd), "wb") as fh:
            # mkstemp creates the file 0o600; widen or keep it before any byte is written.
            os.fchmod(fh.fileno(), mode)
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    finally:
        os.close(fd)
    fsync_dir(directory)


def write_atomic(path: Path | str, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` in one step, durably, with permissions ``mode``."""
    with open_atomic(path, mode) as fh:
        fh.write(data)


def replace_durably(source: Path | str, target: Path | str) -> None:
    """Rename a complete file over ``target`` so that the rename survives a power cut.

    For a file that another library wrote in full (DuckDB's rebuilt store): its bytes
    are fsynced, it is renamed over ``target`` in one step, and the directory entry is
    fsynced. Both paths must be in the same directory (a rename across file systems is
    not atomic).
    """
    with open(source, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(source, target)
    fsync_dir(Path(target).parent)


def _locked_temp(target: Path) -> tuple[int, str]:
    """A new temporary file next to ``target``, held under ``flock`` until closed.

    The lock tells a live write from a dead one: :func:`clean_stale` removes only
    temporary files whose lock it can take. Should another process have removed ours
    between its creation and our lock, a fresh one is made.
    """
    while True:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TMP_SUFFIX, dir=target.parent)
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink:
            return fd, name
        os.close(fd)


def clean_stale(directory: Path, name: str | None = None) -> list[Path]:
    """Remove the temporary files of :func:`write_atomic` that no live process holds.

    ``name`` limits the search to the temporaries of one target file; without it every
    one in ``directory`` is considered. Returns the files removed.
    """
    pattern = f".{glob.escape(name)}.*{TMP_SUFFIX}" if name is not None else f".*{TMP_SUFFIX}"
    removed: list[Path] = []
    if not directory.is_dir():
        return removed
    for stale in sorted(directory.glob(pattern)):
        try:
            fd = os.open(stale, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a write in progress in another process
            stale.unlink(missing_ok=True)
            removed.append(stale)
        finally:
            os.close(fd)
    return removed


def append_durable(path: Path | str, line: bytes, mode: int = 0o644) -> None:
    """Append ``line`` to ``path`` with a single write, then fsync.

    The caller holds whatever lock keeps other writers out; this function only makes
    the append as atomic as the operating system allows and durable once it returns.
    """
    target = Path(path)
    created = not target.exists()
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    try:
        written = os.write(fd, line)
        if written != len(line):
            # A short write on a regular file means the disk is full or a quota was hit;
            # the torn line is repaired by the log's next append, so say so loudly now.
            raise OSError(f"{target}: short write ({written} of {len(line)} bytes)")
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        fsync_dir(target.parent)
