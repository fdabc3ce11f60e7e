"""The key-change count of an embedded vault: eight bytes in a file beside the SQLite
database, mapped into every process that opens the vault.

Every process of an embedded vault is on one host (SQLite's WAL needs shared memory, so it
cannot be shared over a network), so a shared mapping reaches them all: a process reads the
count from memory for each request, and a revocation's write is seen by the others as soon
as it is made. Writers take a ``flock`` so that two increments never make one. The file
holds no secret; a missing or damaged one is made again (the count restarts, which every
process sees as a change).
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
from pathlib import Path

_COUNT = struct.Struct("<Q")


class FileKeyChanges:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._map: mmap.mmap | None = None

    def _mapped(self) -> mmap.mmap:
        if self._map is None:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                if os.fstat(fd).st_size < _COUNT.size:
                    os.ftruncate(fd, _COUNT.size)
                self._map = mmap.mmap(fd, _COUNT.size, mmap.MAP_SHARED)
            finally:
                os.close(fd)  # the mapping keeps the file
        return self._map

    def count(self) -> int:
        (value,) = _COUNT.unpack_from(self._mapped(), 0)
        return int(value)

    def changed(self) -> None:
        mapped = self._mapped()
        fd = os.open(self._path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            (value,) = _COUNT.unpack_from(mapped, 0)
            _COUNT.pack_into(mapped, 0, value + 1)
        finally:
            os.close(fd)  # and with it the lock

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
