from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from kycvault.adapters.blobstore_local import LocalBlobStore
from kycvault.ports.storage import BlobExists, BlobMissing


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


def test_listing_blobs_and_staging_files(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    key = f"{uuid.uuid4().hex}/{uuid.uuid4().hex}"
    published = store.create(key)
    published.write(b"ciphertext")
    published.finish()
    published.publish()
    in_flight = store.create(f"{uuid.uuid4().hex}/{uuid.uuid4().hex}")
    in_flight.write(b"partial")
    (store.root / "not-a-tenant").mkdir()
    [blob] = store.list_blobs()
    assert (blob.key, blob.size) == (key, len(b"ciphertext"))
    assert blob.age_seconds < 60
    [staged] = store.staging_files()
    assert staged.size == len(b"partial")
    assert not staged.owner_gone  # this process wrote it and is running
    store.remove_staging(staged.name)
    assert list(store.staging_files()) == []
    with pytest.raises(ValueError, match="not a staging file"):
        store.remove_staging("../x")


def test_check(tmp_path: Path) -> None:
    LocalBlobStore(tmp_path / "blobs").check()
