from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from kycvault.adapters.blobstore_local import LocalBlobStore
from kycvault.ports import BlobExists, BlobMissing


def key() -> str:
    return f"{uuid.uuid4().hex}/{uuid.uuid4().hex}"


def test_write_publish_read_delete(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    k = key()
    writer = store.create(k)
    writer.write(b"hello ")
    writer.write(b"world")
    assert writer.finish() == 11
    with pytest.raises(BlobMissing):
        store.open(k)  # nothing is visible before publish
    writer.publish()
    reader = store.open(k)
    assert reader.size == 11
    assert reader.read(6, 5) == b"world"
    reader.close()
    assert not any((tmp_path / "blobs" / ".staging").iterdir())
    assert oct(store.path_for(k).stat().st_mode & 0o777) == "0o600"
    store.delete(k)
    store.delete(k)  # missing is fine
    with pytest.raises(BlobMissing):
        store.open(k)


def test_publish_never_overwrites(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    k = key()
    first = store.create(k)
    first.write(b"first")
    first.finish()
    first.publish()
    second = store.create(k)
    second.write(b"second")
    second.finish()
    with pytest.raises(BlobExists):
        second.publish()
    second.discard()
    reader = store.open(k)
    assert reader.read(0, 100) == b"first"
    reader.close()


def test_discard_removes_staged_and_published(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    staged = store.create(key())
    staged.write(b"x")
    staged.discard()
    published = store.create(k := key())
    published.write(b"y")
    published.finish()
    published.publish()
    published.discard()
    with pytest.raises(BlobMissing):
        store.open(k)
    assert not any((tmp_path / "blobs" / ".staging").iterdir())


def test_keys_are_validated(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    for bad in ("../../etc/passwd", "a/b", f"{uuid.uuid4().hex}/../x", ""):
        with pytest.raises(ValueError, match="not a blob key"):
            store.path_for(bad)


def test_sweep_staging(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    old = store.staging / "old.tmp"
    old.write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    (store.staging / "new.tmp").write_bytes(b"y")
    assert store.sweep_staging(3600) == 1
    assert [p.name for p in store.staging.iterdir()] == ["new.tmp"]


def test_check(tmp_path: Path) -> None:
    LocalBlobStore(tmp_path / "blobs").check()
