"""The S3 blob store against moto's S3 server on loopback: create-only publishing (single and
multipart), ranged reads, missing blobs, and the upload spool left clean."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import httpx2
import pytest

from kycvault.adapters.blobstore_s3 import S3BlobStore
from kycvault.ports.storage import BlobExists, BlobMissing
from tests import backends


@pytest.fixture
def store(tmp_path: Path) -> S3BlobStore:
    backends.require(backends.SCALED)
    endpoint = backends.moto_endpoint()
    bucket = f"unit-{uuid.uuid4().hex[:12]}"
    httpx2.put(f"{endpoint}/{bucket}", timeout=10).raise_for_status()
    url = f"s3://{bucket}/p?endpoint={endpoint}&region=us-east-1&checksum=none"
    return S3BlobStore(url, spool=tmp_path / "spool")


def _key() -> str:
    return f"{uuid.uuid4().hex}/{uuid.uuid4().hex}"


@pytest.mark.parametrize("size", [0, 1, 5 * 1024 * 1024, 9 * 1024 * 1024 + 7])
def test_round_trip_and_ranges(store: S3BlobStore, size: int) -> None:
    data = os.urandom(size)
    key = _key()
    writer = store.create(key)
    for start in range(0, size, 1024 * 1024):
        writer.write(data[start : start + 1024 * 1024])
    assert writer.finish() == size
    writer.publish()
    assert list(store.spool.iterdir()) == []
    reader = store.open(key)
    assert reader.size == size
    assert reader.read(0, size + 10) == data
    if size > 100:
        assert reader.read(size - 100, 1000) == data[-100:]
    assert reader.read(size, 10) == b""
    store.check()


@pytest.mark.parametrize("size", [10, 9 * 1024 * 1024])
def test_publishing_never_overwrites(store: S3BlobStore, size: int) -> None:
    key = _key()
    first = store.create(key)
    first.write(b"a" * size)
    first.finish()
    first.publish()
    second = store.create(key)
    second.write(b"b" * size)
    second.finish()
    with pytest.raises(BlobExists):
        second.publish()
    second.discard()
    assert store.open(key).read(0, 10) == b"a" * 10
    assert list(store.spool.iterdir()) == []


def test_missing_and_deleted_blobs(store: S3BlobStore) -> None:
    key = _key()
    with pytest.raises(BlobMissing):
        store.open(key)
    writer = store.create(key)
    writer.write(b"x")
    writer.finish()
    writer.publish()
    store.delete(key)
    store.delete(key)  # already gone: fine
    with pytest.raises(BlobMissing):
        store.open(key)


def test_a_discarded_upload_leaves_nothing(store: S3BlobStore) -> None:
    key = _key()
    writer = store.create(key)
    writer.write(b"partial")
    writer.discard()
    assert list(store.spool.iterdir()) == []
    with pytest.raises(BlobMissing):
        store.open(key)
    stale = store.create(_key())
    stale.write(b"left by a crash")
    stale.finish()
    [leftover] = store.staging_files()
    assert leftover.size == len(b"left by a crash")
    assert not leftover.owner_gone
    store.remove_staging(leftover.name)
    assert list(store.staging_files()) == []


def test_listing_the_bucket(store: S3BlobStore) -> None:
    key = _key()
    writer = store.create(key)
    writer.write(b"ciphertext")
    writer.finish()
    writer.publish()
    store.check()  # leaves no probe object behind, and probes are never listed as blobs
    listed = {blob.key: blob for blob in store.list_blobs()}
    assert key in listed
    assert listed[key].size == len(b"ciphertext")
    assert 0 <= listed[key].age_seconds < 120


def test_keys_are_checked(store: S3BlobStore) -> None:
    with pytest.raises(ValueError, match="not a blob key"):
        store.create("../../etc/passwd")
