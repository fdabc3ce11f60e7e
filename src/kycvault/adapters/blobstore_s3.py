"""The ``BlobStore`` port on S3-compatible object storage (the scaled-out shape), via obstore.

Only ciphertext reaches the store; kycvault checks every frame's tag on read, so nothing
relies on the store's own checksums.

Write protocol: ciphertext is spooled to a private local file (0600, bounded memory, the
size of one file at most) → ``finish`` closes it → ``publish`` uploads it with
``If-None-Match: *`` (``PutMode.Create``; multipart above 8 MiB, completed conditionally
too), so an existing object is never overwritten, then removes the spool. The database row
is committed only after ``publish``: a crash leaves at worst a spool file or an unreferenced
object (both found by listing and removed by the sweep), never a row without its blob.

URL: ``s3://bucket/prefix?endpoint=http://host:port&region=eu-west-1&checksum=sha256``.
Credentials come from the usual ``AWS_*`` environment variables. ``checksum=none`` is for
stores that reject the newest checksum headers; ``allow_http=true`` is implied by an
``http://`` endpoint.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

import obstore
from obstore.exceptions import AlreadyExistsError, NotFoundError, PreconditionError
from obstore.store import S3Store

from kycvault.adapters.blobstore_local import write_all
from kycvault.adapters.s3_object_lock import ObjectLock
from kycvault.adapters.staging_owner import owner_gone, owner_tag
from kycvault.ports.storage import BlobExists, BlobMissing, BlobStoreError, StagingFile, StoredBlob

if TYPE_CHECKING:
    from obstore.store import ClientConfig, S3Config

_KEY = re.compile(r"^[0-9a-f]{32}/[0-9a-f]{32}$")
_MULTIPART_CHUNK = 8 * 1024 * 1024
_SPOOL_PREFIX = "kv-s3-"


def _store_error(exc: Exception) -> BlobStoreError:
    # obstore's messages can carry the request URL; the type is enough for a caller.
    return BlobStoreError(f"object store error ({type(exc).__name__})")


class S3BlobWriter:
    def __init__(self, store: S3BlobStore, key: str) -> None:
        self.key = key
        self._store = store
        self._path = store.object_path(key)
        self._published = False
        self._size = 0
        try:
            # The writer's tag in the name: a leftover of a process that died is known as such.
            fd, name = tempfile.mkstemp(prefix=f"{_SPOOL_PREFIX}{owner_tag()}.", dir=store.spool)
        except OSError as exc:
            raise _store_error(exc) from None
        self._spool = Path(name)
        self._fd: int | None = fd

    def write(self, data: bytes) -> None:
        self._size += write_all(self._fd, data)

    def finish(self) -> int:
        # The spool is a buffer, not the durable copy: durability comes from the store
        # acknowledging the upload in ``publish``, which precedes the database commit.
        if self._fd is None:
            raise BlobStoreError("the blob writer is closed")
        os.close(self._fd)
        self._fd = None
        return self._size

    def publish(self) -> None:
        if self._fd is not None:
            raise BlobStoreError("finish() must come before publish()")
        try:
            with self._spool.open("rb") as source:
                obstore.put(
                    self._store.client,
                    self._path,
                    source,
                    mode="create",
                    use_multipart=self._size > _MULTIPART_CHUNK,
                    chunk_size=_MULTIPART_CHUNK,
                    max_concurrency=4,
                )
        except (AlreadyExistsError, PreconditionError):
            raise BlobExists(self.key) from None
        except Exception as exc:
            raise _store_error(exc) from None
        self._published = True
        with contextlib.suppress(OSError):
            self._spool.unlink()

    def discard(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        with contextlib.suppress(OSError):
            self._spool.unlink()
        if self._published:
            self._store.delete(self.key)
            self._published = False


class S3BlobReader:
    def __init__(self, store: S3BlobStore, key: str) -> None:
        self._store = store
        self._path = store.object_path(key)
        try:
            meta = obstore.head(store.client, self._path)
        except (NotFoundError, FileNotFoundError):
            raise BlobMissing(key) from None
        except Exception as exc:
            raise _store_error(exc) from None
        self.size = int(meta["size"])

    def read(self, offset: int, length: int) -> bytes:
        length = min(length, self.size - offset)
        if length <= 0:
            return b""
        try:
            return bytes(
                obstore.get_range(self._store.client, self._path, start=offset, length=length)
            )
        except (NotFoundError, FileNotFoundError):
            raise BlobMissing(self._path) from None
        except Exception as exc:
            raise _store_error(exc) from None

    def close(self) -> None:
        return None


class S3BlobStore:
    """Objects at ``<prefix>/<tenant>/<file id>`` in one bucket."""

    def __init__(self, url: str, spool: Path) -> None:
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError("storage URL must look like s3://bucket/prefix?endpoint=…")
        query = {name: values[-1] for name, values in parse_qs(parsed.query).items()}
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        config: S3Config = {}
        client: ClientConfig = {"timeout": "120s"}
        endpoint = query.get("endpoint")
        if endpoint:
            config["endpoint"] = endpoint
            client["allow_http"] = endpoint.startswith("http://")
        if "region" in query:
            config["region"] = query["region"]
        checksum = query.get("checksum", "sha256").lower()
        if checksum not in ("sha256", "none"):
            raise ValueError("checksum must be sha256 or none")
        if checksum == "sha256":
            config["checksum_algorithm"] = "SHA256"
        if query.get("virtual_hosted", "false").lower() == "true":
            config["virtual_hosted_style_request"] = True
        self.client = S3Store(self.bucket, config=config, client_options=client)
        self.lock = ObjectLock(
            self.bucket,
            endpoint,
            query.get("region"),
            path_style=config.get("virtual_hosted_style_request") is not True,
        )
        self.spool = spool
        self.spool.mkdir(parents=True, exist_ok=True, mode=0o700)

    def object_path(self, key: str) -> str:
        if not _KEY.match(key):
            raise ValueError(f"not a blob key: {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    def create(self, key: str) -> S3BlobWriter:
        return S3BlobWriter(self, key)

    def open(self, key: str) -> S3BlobReader:
        return S3BlobReader(self, key)

    def delete(self, key: str) -> None:
        if self.lock.supported():  # versioned: a plain delete would only hide the bytes
            self.lock.delete_versions(self.object_path(key))
            return
        try:
            obstore.delete(self.client, self.object_path(key))
        except (NotFoundError, FileNotFoundError):
            return
        except Exception as exc:
            raise _store_error(exc) from None

    def check(self) -> None:
        probe = "/".join(filter(None, (self.prefix, ".ready", uuid.uuid4().hex)))
        try:
            obstore.put(self.client, probe, b"ok")
            if bytes(obstore.get(self.client, probe).bytes()) != b"ok":
                raise BlobStoreError("the object store returned other bytes than written")
        except BlobStoreError:
            raise
        except Exception as exc:
            raise _store_error(exc) from None
        finally:
            with contextlib.suppress(Exception):
                obstore.delete(self.client, probe)

    def list_blobs(self) -> Iterator[StoredBlob]:
        prefix = f"{self.prefix}/" if self.prefix else ""
        now = datetime.now(UTC)
        try:
            for batch in obstore.list(self.client, self.prefix or None, chunk_size=1000):
                for meta in batch:
                    key = meta["path"][len(prefix) :]
                    if not _KEY.match(key):
                        continue  # readiness probes, foreign objects
                    yield StoredBlob(
                        key=key,
                        size=int(meta["size"]),
                        age_seconds=max(0.0, (now - meta["last_modified"]).total_seconds()),
                    )
        except BlobStoreError:
            raise
        except Exception as exc:
            raise _store_error(exc) from None

    def staging_files(self) -> Iterator[StagingFile]:
        now = time.time()
        try:
            with os.scandir(self.spool) as entries:
                spool_entries = [entry for entry in entries if entry.name.startswith(_SPOOL_PREFIX)]
        except OSError as exc:
            raise _store_error(exc) from None
        for entry in spool_entries:
            with contextlib.suppress(FileNotFoundError):
                info = entry.stat(follow_symlinks=False)
                tag = entry.name[len(_SPOOL_PREFIX) :].split(".", 1)[0]
                yield StagingFile(
                    name=entry.name,
                    size=info.st_size,
                    age_seconds=max(0.0, now - info.st_mtime),
                    owner_gone=owner_gone(tag),
                )

    def remove_staging(self, name: str) -> None:
        if "/" in name or not name.startswith(_SPOOL_PREFIX):
            raise ValueError(f"not a spool file name: {name!r}")
        try:
            os.unlink(self.spool / name)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _store_error(exc) from None

    def supports_legal_hold(self) -> bool:
        return self.lock.supported()

    def set_legal_hold(self, key: str, on: bool) -> None:
        self.lock.set(self.object_path(key), on)
