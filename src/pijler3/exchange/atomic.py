"""Durable, all-or-nothing file writes (SYSTEM.md guarantee 1: nothing half-written).

Every output of the chain is written through :func:`write_atomic`: the bytes go to a
temporary file in the same directory, which is flushed and fsynced, renamed over the
target, and then the directory itself is fsynced so that the rename survives a power
cut. A reader therefore sees either the old file or the complete new one, never a part.

:func:`append_durable` is for append-only logs: one ``os.write`` of the whole line on an
``O_APPEND`` descriptor, then fsync. On Linux a single write of a regular file is not
interleaved with another process's write, but it can still be cut short by a crash;
the audit log detects and repairs such a torn final line.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    """Flush a directory entry (a rename or a new file) to disk."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path | str, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` in one step, durably, with permissions ``mode``.

    The temporary file is created with ``mode`` from the start (not chmod-ed after
    writing), so a secret is never readable by others, not even for a moment.
    """
    target = Path(path)
    directory = target.parent
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        # mkstemp creates the file 0o600; widen or keep it before any byte is written.
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    os.close(fd)
    try:
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    fsync_dir(directory)


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
