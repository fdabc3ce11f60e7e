"""On an S3 bucket made with Object Lock (moto), a legal hold also sets the bucket's own legal
hold on the held documents' objects, so that they resist deletion through S3 itself; lifting
the last hold clears it, and the vault then deletes every version of the object. On a bucket
without Object Lock nothing is set and holds work as before."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from tests.backends import SCALED, moto_endpoint, require
from tests.e2e.documents_support import new_subject
from tests.e2e.holds_support import hold, lift, passport
from tests.helpers import Server, server_on

PREFIX = "vault"


@pytest.fixture
def s3() -> Any:
    require(SCALED)
    return boto3.client("s3", endpoint_url=moto_endpoint(), region_name="us-east-1")


@pytest.fixture
def locked_server(tmp_path: Path, s3: Any) -> Iterator[tuple[Server, str]]:
    """A server on PostgreSQL and a bucket of its own made with Object Lock enabled."""
    bucket = f"kv-lock-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    url = f"s3://{bucket}/{PREFIX}?endpoint={moto_endpoint()}&region=us-east-1"
    with server_on(tmp_path, SCALED, KYCVAULT_STORAGE_URL=url) as server:
        yield server, bucket


def _key(tenant: dict[str, Any], file: dict[str, Any]) -> str:
    return f"{PREFIX}/{uuid.UUID(str(tenant['tenant_id'])).hex}/{uuid.UUID(file['id']).hex}"


def _status(s3: Any, bucket: str, key: str) -> str:
    try:
        reply = s3.get_object_legal_hold(Bucket=bucket, Key=key)
    except ClientError as exc:  # never set: no legal hold configuration on the object
        if exc.response["Error"]["Code"] != "NoSuchObjectLockConfiguration":
            raise
        return "OFF"
    # An object whose legal hold was never set has an empty one (moto) or none at all.
    return str(reply.get("LegalHold", {}).get("Status", "OFF"))


def _versions(s3: Any, bucket: str, key: str) -> list[str]:
    reply = s3.list_object_versions(Bucket=bucket, Prefix=key)
    return [v["VersionId"] for v in reply.get("Versions", []) if v["Key"] == key]


def test_a_document_hold_locks_its_objects_until_lifted(
    locked_server: tuple[Server, str], s3: Any
) -> None:
    server, bucket = locked_server
    tenant = server.create_tenant()
    with server.client(tenant["api_key"]) as client:
        doc = passport(client)
        other = passport(client)
        key, other_key = _key(tenant, doc["files"][0]), _key(tenant, other["files"][0])
        assert _status(s3, bucket, key) == "OFF"

        placed = hold(client, document_id=doc["id"])
        assert _status(s3, bucket, key) == "ON"
        assert _status(s3, bucket, other_key) == "OFF"
        [version] = _versions(s3, bucket, key)
        with pytest.raises(ClientError) as refused:
            s3.delete_object(Bucket=bucket, Key=key, VersionId=version)
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
        assert _versions(s3, bucket, key) == [version]

        second = hold(client, document_id=doc["id"])
        lift(client, placed["id"])
        assert _status(s3, bucket, key) == "ON"  # another hold still covers it
        lift(client, second["id"])
        assert _status(s3, bucket, key) == "OFF"

        assert client.delete(f"/v1/documents/{doc['id']}").status_code == 204
        assert _versions(s3, bucket, key) == []  # every version gone, not hidden by a marker


def test_a_subject_hold_locks_its_documents_and_new_uploads(
    locked_server: tuple[Server, str], s3: Any
) -> None:
    server, bucket = locked_server
    tenant = server.create_tenant()
    with server.client(tenant["api_key"]) as client:
        subject = new_subject(client)
        before = passport(client, subject["id"])
        placed = hold(client, subject_id=subject["id"])
        after = passport(client, subject["id"])  # uploaded while the subject is held
        keys = [_key(tenant, d["files"][0]) for d in (before, after)]
        assert [_status(s3, bucket, k) for k in keys] == ["ON", "ON"]
        lift(client, placed["id"])
        assert [_status(s3, bucket, k) for k in keys] == ["OFF", "OFF"]


def test_a_bucket_without_object_lock_is_left_alone(tmp_path: Path, s3: Any) -> None:
    with server_on(tmp_path, SCALED) as server:  # its bucket is made without Object Lock
        tenant = server.create_tenant()
        with server.client(tenant["api_key"]) as client:
            doc = passport(client)
            placed = hold(client, document_id=doc["id"])
            assert placed["document_id"] == doc["id"]
            lift(client, placed["id"])
            assert client.delete(f"/v1/documents/{doc['id']}").status_code == 204
            assert client.get(f"/v1/documents/{doc['id']}").status_code == 404
