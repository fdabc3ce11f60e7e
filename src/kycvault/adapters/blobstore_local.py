"""The ``BlobStore`` port on a local directory (the embedded default).

Write protocol, in this order (each step durable before the next):
``open(staging/<uuid>.tmp, O_CREAT|O_EXCL, 0600)`` → write ciphertext → ``fsync(tmp)`` →
``link(tmp, <root>/<tenant>/<xx>/<file id>)`` (fails rather than overwrite) →
``fsync(dir)`` → ``unlink(tmp)``. The database row is committed only after that, so a crash
leaves at worst a staging leftover or an unreferenced blob, never a row without its blob.
Blob paths come only from server-generated keys, checked against a strict pattern.
Leftovers (a staging file of a crashed upload, a blob published for a row that never
committed) are found by listing and removed by the sweep (``services/sweep.py``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from kycvault.adapters.staging_owner import owner_gone, owner_tag
from kycvault.ports.storage import BlobExists, BlobMissing, BlobStoreError, StagingFile, StoredBlob

_KEY = re.compile(r"^[0-9a-f]{32}/[0-9a-f]{32}$")
STAGING_DIR = ".staging"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _store_error(exc: OSError) -> BlobStoreError:
    if exc.errno == errno.ENOSPC:
        return BlobStoreError("the blob store is full")
    return BlobStoreError(f"blob store I/O error ({errno.errorcode.get(exc.errno or 0, '?')})")


def write_all(fd: int | None, data: bytes) -> int:
    """Write every byte of ``data`` to a writer's open file; how many were written."""
    if fd is None:
        raise BlobStoreError("the blob writer is closed")
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except OSError as exc:
        raise _store_error(exc) from None
    return len(data)


class LocalBlobWriter:
    def __init__(self, store: LocalBlobStore, key: str) -> None:
        self.key = key
        self._store = store
        # The writer's tag first: a leftover of a process that died is known as such.
        self._tmp = store.staging / f"{owner_tag()}.{uuid.uuid4().hex}.tmp"
        self._final = store.path_for(key)
        self._published = False
        self._size = 0
        try:
            self._fd: int | None = os.open(
                self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600
            )
        except OSError as exc:
            raise _store_error(exc) from None

    def write(self, data: bytes) -> None:
        self._size += write_all(self._fd, data)

    def finish(self) -> int:
        if self._fd is None:
            raise BlobStoreError("the blob writer is closed")
        try:
            # fsync once; if it fails the data is lost and the file is discarded (fsyncgate:
            # retrying fsync on the same descriptor would falsely report success).
            os.fsync(self._fd)
        except OSError as exc:
            raise _store_error(exc) from None
        finally:
            os.close(self._fd)
            self._fd = None
        return self._size

    def publish(self) -> None:
        if self._fd is not None:
            raise BlobStoreError("finish() must come before publish()")
        directory = self._final.parent
        try:
            self._store.ensure_dir(directory)
            try:
                os.link(self._tmp, self._final)
            except FileExistsError:
                raise BlobExists(self.key) from None
            self._published = True
            _fsync_dir(directory)
            os.unlink(self._tmp)
        except OSError as exc:
            raise _store_error(exc) from None

    def discard(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp)
        if self._published:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._final)
            self._published = False


class LocalBlobReader:
    def __init__(self, path: Path) -> None:
        try:
            self._fd: int | None = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise BlobMissing(str(path.name)) from None
        except OSError as exc:
            raise _store_error(exc) from None
        self.size = os.fstat(self._fd).st_size

    def read(self, offset: int, length: int) -> bytes:
        if self._fd is None:
            raise BlobStoreError("the blob reader is closed")
        try:
            return os.pread(self._fd, length, offset)
        except OSError as exc:
            raise _store_error(exc) from None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class LocalBlobStore:
    """Blobs under ``root/<tenant>/<first two hex digits>/<file id>``; staging in
    ``root/.staging`` (the same filesystem, so ``link`` works)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging = root / STAGING_DIR
        self.staging.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)

    def path_for(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"not a blob key: {key!r}")
        tenant, name = key.split("/")
        return self.root / tenant / name[:2] / name

    def ensure_dir(self, directory: Path) -> None:
        if directory.is_dir():
            return
        missing = []
        probe = directory
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        for path in reversed(missing):
            with contextlib.suppress(FileExistsError):
                path.mkdir(mode=0o700)
            _fsync_dir(path.parent)

    def create(self, key: str) -> LocalBlobWriter:
        return LocalBlobWriter(self, key)

    def open(self, key: str) -> LocalBlobReader:
        return LocalBlobReader(self.path_for(key))

    def delete(self, key: str) -> None:
        try:
            os.unlink(self.path_for(key))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _store_error(exc) from None

    def check(self) -> None:
        probe = self.staging / f"ready-{uuid.uuid4().hex}"
        try:
            probe.write_bytes(b"ok")
            if probe.read_bytes() != b"ok":
                raise BlobStoreError("the blob store returned other bytes than written")
        except OSError as exc:
            raise _store_error(exc) from None
        finally:
            with contextlib.suppress(OSError):
                probe.unlink()

    def list_blobs(self) -> Iterator[StoredBlob]:
        now = time.time()
        for tenant in _subdirs(self.root, _HEX32):
            for prefix in _subdirs(Path(tenant.path), _HEX2):
                for entry in _entries(Path(prefix.path)):
                    if not (_HEX32.match(entry.name) and entry.name.startswith(prefix.name)):
                        continue
                    with contextlib.suppress(FileNotFoundError):
                        info = entry.stat(follow_symlinks=False)
                        # link() changes the inode's ctime: the age counts from publication,
                        # not from the staging file's last write.
                        changed = max(info.st_mtime, info.st_ctime)
                        yield StoredBlob(
                            key=f"{tenant.name}/{entry.name}",
                            size=info.st_size,
                            age_seconds=max(0.0, now - changed),
                        )

    def staging_files(self) -> Iterator[StagingFile]:
        now = time.time()
        for entry in _entries(self.staging):
            if not entry.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(FileNotFoundError):
                info = entry.stat(follow_symlinks=False)
                yield StagingFile(
                    name=entry.name,
                    size=info.st_size,
                    age_seconds=max(0.0, now - info.st_mtime),
                    owner_gone=owner_gone(entry.name.split(".", 1)[0]),
                )

    def remove_staging(self, name: str) -> None:
        if "/" in name or name.startswith("."):
            raise ValueError(f"not a staging file name: {name!r}")
        try:
            os.unlink(self.staging / name)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _store_error(exc) from None

    def supports_legal_hold(self) -> bool:
        return False  # a directory has no legal hold of its own; the vault's holds apply

    def set_legal_hold(self, key: str, on: bool) -> None:
        return None


_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX2 = re.compile(r"^[0-9a-f]{2}$")


def _entries(directory: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as entries:
            return list(entries)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise _store_error(exc) from None


def _subdirs(directory: Path, pattern: re.Pattern[str]) -> Iterator[os.DirEntry[str]]:
    for entry in _entries(directory):
        if pattern.match(entry.name) and entry.is_dir(follow_symlinks=False):
            yield entry
