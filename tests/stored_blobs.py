"""A server's stored blobs as the tests see them, whichever store holds them: files under the
data directory (embedded) or objects in the S3 bucket (scaled-out). Read and changed straight
in the store, never through kycvault, so tamper and loss can be staged."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from uuid import UUID

import obstore
from obstore.exceptions import NotFoundError
from obstore.store import S3Store


@cache
def _s3_store(url: str) -> S3Store:
    """The bucket of a storage URL, one client a URL (making one costs ~10 ms of CPU, and
    the bad-input tests look at the bucket before and after every request)."""
    parsed = urlparse(url)
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    return S3Store(
        parsed.netloc,
        config={"endpoint": query["endpoint"], "region": query.get("region", "us-east-1")},
        client_options={"allow_http": True},
    )


@dataclass(frozen=True)
class Storage:
    """Where one server's blobs live, from its storage URL (None: the embedded default)."""

    data_dir: Path
    url: str | None

    @property
    def s3(self) -> S3Store | None:
        return None if self.url is None else _s3_store(self.url)

    @property
    def prefix(self) -> str:
        return urlparse(self.url).path.strip("/") if self.url else ""

    def blob(self, tenant_id: str, file_id: str) -> StoredBlob:
        return StoredBlob(self, f"{UUID(tenant_id).hex}/{UUID(file_id).hex}")

    def tenant_blobs(self, tenant_id: str) -> set[StoredBlob]:
        tenant_hex = UUID(tenant_id).hex
        store = self.s3
        if store is None:
            root = self.data_dir / "blobs" / tenant_hex
            if not root.exists():
                return set()
            return {
                StoredBlob(self, f"{tenant_hex}/{p.name}") for p in root.rglob("*") if p.is_file()
            }
        found = set()
        for batch in obstore.list(store, prefix=f"{self.prefix}/{tenant_hex}/"):
            for meta in batch:
                found.add(StoredBlob(self, meta["path"].removeprefix(f"{self.prefix}/")))
        return found

    def staging(self) -> list[str]:
        """Upload leftovers: the local staging directory, or the S3 store's spool."""
        directory = self.data_dir / ("spool" if self.url else "blobs/.staging")
        if not directory.exists():
            return []
        return sorted(e.name for e in directory.iterdir() if not e.name.startswith("ready-"))


@dataclass(frozen=True)
class StoredBlob:
    """One blob, with the few ``Path``-like operations the tests use."""

    storage: Storage
    key: str  # <tenant hex>/<file hex>

    @property
    def _path(self) -> Path:
        tenant, name = self.key.split("/")
        return self.storage.data_dir / "blobs" / tenant / name[:2] / name

    @property
    def _object(self) -> str:
        return f"{self.storage.prefix}/{self.key}"

    def read_bytes(self) -> bytes:
        store = self.storage.s3
        if store is None:
            return self._path.read_bytes()
        return bytes(obstore.get(store, self._object).bytes())

    def write_bytes(self, data: bytes) -> None:
        store = self.storage.s3
        if store is None:
            self._path.write_bytes(data)
        else:
            obstore.put(store, self._object, data)

    def unlink(self) -> None:
        store = self.storage.s3
        if store is None:
            self._path.unlink()
        else:
            obstore.delete(store, self._object)

    def exists(self) -> bool:
        store = self.storage.s3
        if store is None:
            return self._path.is_file()
        try:
            obstore.head(store, self._object)
        except (NotFoundError, FileNotFoundError):
            return False
        return True

    is_file = exists
