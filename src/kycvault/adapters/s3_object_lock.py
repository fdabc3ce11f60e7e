"""S3 Object Lock legal holds on the vault's objects, through botocore (obstore, which moves
the bytes, has no call for them). Optional: without botocore installed, or on a bucket made
without Object Lock, there is nothing to set, which is found out once and logged once; the
vault's own holds apply either way.

On a bucket with Object Lock (always versioned), deleting an object without a version only
hides it behind a delete marker: the vault's deletion removes every version of the key
instead, clearing its legal hold first (the vault deletes a blob only once its rows are gone,
so no hold of the vault's can be on it any more)."""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import structlog

from kycvault.ports.storage import BlobStoreError

log = structlog.get_logger("kycvault.storage")

# A botocore session loads S3's service description (a large JSON file) once and keeps it for
# the clients it makes; sessions are not safe to make clients from in two threads at once.
_SESSION_LOCK = threading.Lock()
_NO_LOCK = {"ObjectLockConfigurationNotFoundError", "InvalidRequest"}
_MISSING = {"NoSuchKey", "NoSuchVersion", "404"}


def _code(exc: Exception) -> str:
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


@cache
def botocore_session() -> Any:
    """The process's botocore session (every store's Object Lock client comes from it)."""
    import botocore.session  # type: ignore[import-untyped]  # optional: Object Lock only

    return botocore.session.get_session()


class ObjectLock:
    """Legal holds on one bucket's objects."""

    def __init__(self, bucket: str, endpoint: str | None, region: str | None, path_style: bool):
        self.bucket = bucket
        self._endpoint, self._region, self._path_style = endpoint, region, path_style
        self._client: Any = None
        self._supported: bool | None = None
        self._mutex = threading.Lock()

    def _connect(self) -> Any:
        from botocore.config import Config  # type: ignore[import-untyped]  # optional

        style = "path" if self._path_style else "virtual"
        with _SESSION_LOCK:
            return botocore_session().create_client(
                "s3",
                endpoint_url=self._endpoint,
                region_name=self._region or "us-east-1",
                config=Config(
                    s3={"addressing_style": style},
                    connect_timeout=10,
                    read_timeout=60,
                    retries={"max_attempts": 3, "mode": "standard"},
                ),
            )

    def supported(self) -> bool:
        """Whether the bucket has Object Lock on (asked once; a failure to ask is not
        remembered, so the next call asks again)."""
        with self._mutex:
            if self._supported is not None:
                return self._supported
            try:
                client = self._connect()
            except ImportError:
                log.warning("object_lock_unavailable", reason="botocore is not installed")
                self._supported = False
                return False
            try:
                reply = client.get_object_lock_configuration(Bucket=self.bucket)
                enabled = reply.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
                self._supported = enabled == "Enabled"
            except Exception as exc:
                if _code(exc) not in _NO_LOCK:
                    raise BlobStoreError(f"object store error ({type(exc).__name__})") from None
                self._supported = False
            if not self._supported:
                log.info("object_lock_off", bucket=self.bucket)
            self._client = client
            return self._supported

    def set(self, path: str, on: bool) -> None:
        if not self.supported():
            return
        status = "ON" if on else "OFF"
        try:
            self._client.put_object_legal_hold(
                Bucket=self.bucket, Key=path, LegalHold={"Status": status}
            )
        except Exception as exc:
            if _code(exc) in _MISSING:
                return
            raise BlobStoreError(f"object store error ({type(exc).__name__})") from None

    def delete_versions(self, path: str) -> None:
        """Remove every version of ``path`` (and its delete markers), clearing legal holds."""
        try:
            reply = self._client.list_object_versions(Bucket=self.bucket, Prefix=path)
            found = reply.get("Versions", []) + reply.get("DeleteMarkers", [])
            for version in (v for v in found if v["Key"] == path):
                if version in reply.get("Versions", []):
                    self._client.put_object_legal_hold(
                        Bucket=self.bucket,
                        Key=path,
                        VersionId=version["VersionId"],
                        LegalHold={"Status": "OFF"},
                    )
                self._client.delete_object(
                    Bucket=self.bucket, Key=path, VersionId=version["VersionId"]
                )
        except Exception as exc:
            if _code(exc) in _MISSING:
                return
            raise BlobStoreError(f"object store error ({type(exc).__name__})") from None
