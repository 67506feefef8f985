"""Files domchat writes that hold secrets or the record: created readable by their owner only (0600).

Exports are written whole or not at all: into a temporary file beside the target, flushed to
disk, then renamed over it, so a full disk or a crash never leaves half a file that looks whole.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

PRIVATE = 0o600


def create_private(path: Path) -> None:
    """Create `path` empty with mode 0600 unless it exists (SQLite then gives its -wal and -shm the same mode)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))


def append_line(path: Path, line: str) -> None:
    """Append one line and flush it to disk; the file is created 0600 if missing."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE)
    try:
        os.write(fd, (line.rstrip("\n") + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_private(path: Path) -> Iterator[IO[str]]:
    """A text stream whose content replaces `path` (mode 0600) only when the block ends without error."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)  # mkstemp creates 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # the rename itself reaches the disk with the folder's entry
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
