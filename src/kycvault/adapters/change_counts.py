"""The change counts of an embedded vault (``ports/change_counts.py``): eight bytes a kind
in a file beside the SQLite database, mapped into every process that opens the vault.

Every process of an embedded vault is on one host (SQLite's WAL needs shared memory, so a
database cannot be shared over a network), so a shared mapping reaches them all: a process
reads a count from memory for each request, and a change is seen by the others as soon as it
is written. Writers take a ``flock`` so that two increments never make one. The file holds
no secret; a missing one is made again (the counts restart at zero, which every process that
had mapped the old one does not see: it keeps its own mapping, so a vault's file must not be
deleted while it serves).
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
from pathlib import Path

from kycvault.ports.change_counts import KINDS, Kind

_COUNT = struct.Struct("<Q")
_SIZE = _COUNT.size * len(KINDS)


class FileChangeCounts:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._map: mmap.mmap | None = None

    def _mapped(self) -> mmap.mmap:
        if self._map is None:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                if os.fstat(fd).st_size < _SIZE:
                    os.ftruncate(fd, _SIZE)
                self._map = mmap.mmap(fd, _SIZE, mmap.MAP_SHARED)
            finally:
                os.close(fd)  # the mapping keeps the file
        return self._map

    def count(self, kind: Kind) -> int:
        (value,) = _COUNT.unpack_from(self._mapped(), KINDS.index(kind) * _COUNT.size)
        return int(value)

    def changed(self, kind: Kind) -> None:
        mapped = self._mapped()
        offset = KINDS.index(kind) * _COUNT.size
        fd = os.open(self._path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            (value,) = _COUNT.unpack_from(mapped, offset)
            _COUNT.pack_into(mapped, offset, value + 1)
        finally:
            os.close(fd)  # and with it the lock

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
