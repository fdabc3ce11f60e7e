"""What the Argyle tests share: the seed page's OpenAPI as a contract every response is
validated against, an Argyle client (HTTP Basic ``api_key_id:api_key_secret``), uploads, and
a bounded wait for processing."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx2
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from kycvault.services import processing
from kycvault.services.context import Actor, AppContext
from tests.helpers import Part, Server, post_multipart

UPLOADS = "/compat/argyle/v2/user-uploads"
CONTRACT = Path(__file__).with_name("user_uploads.openapi.yaml")
STATUSES = ("unauthorized", "idle", "in_progress", "completed", "failed")
# The stages' results wait for a worker; OCR of a passport page takes a few seconds.
PROCESSING_WAIT_SECONDS = 60.0


@cache
def contract() -> dict[str, Any]:
    """The seed page's OpenAPI document. Its example shows the four ``metadata`` fields as
    null (Argyle answers null until OCR has run, and ``employment`` is deprecated), which
    OpenAPI 3.0 spells ``nullable``; the page leaves that out, and its example settles it."""
    document: dict[str, Any] = yaml.safe_load(CONTRACT.read_text())
    schema = document["components"]["schemas"]["UserUpload"]
    for field in schema["properties"]["metadata"]["properties"].values():
        field["nullable"] = True
    return document


def user_upload_schema() -> dict[str, Any]:
    return copy.deepcopy(contract()["components"]["schemas"]["UserUpload"])


def _validator(schema: dict[str, Any]) -> OAS30Validator:
    return OAS30Validator(schema, format_checker=oas30_format_checker)


@cache
def _upload_validator() -> OAS30Validator:
    return _validator(user_upload_schema())


def _same_keys(value: Any, schema: dict[str, Any], path: str) -> None:
    """Every property the schema lists is present, and nothing else (the schema alone
    would accept a missing field)."""
    properties = schema.get("properties")
    if not properties or not isinstance(value, dict):
        return
    assert set(value) == set(properties), f"{path or 'object'}: {sorted(value)}"
    for name, sub in properties.items():
        _same_keys(value[name], sub, f"{path}.{name}".lstrip("."))


def check_upload(body: Any) -> dict[str, Any]:
    """``body`` is a UserUpload exactly as the contract describes it."""
    validator = _upload_validator()
    validator.validate(body)
    _same_keys(body, validator.schema, "")
    assert isinstance(body, dict)
    return body


def check_page(body: Any) -> dict[str, Any]:
    """A list answer: ``{results, next, previous}``, next/previous URLs or null."""
    envelope = {
        "type": "object",
        "required": ["results", "next", "previous"],
        "additionalProperties": False,
        "properties": {
            "results": {"type": "array"},
            "next": {"type": "string", "nullable": True},
            "previous": {"type": "string", "nullable": True},
        },
    }
    _validator(envelope).validate(body)
    for item in body["results"]:
        check_upload(item)
    assert isinstance(body, dict)
    return body


def check_error(response: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def argyle_client(server: Server, tenant: dict[str, Any]) -> httpx2.Client:
    return server.client(None, auth=(tenant["key_id"], tenant["key_secret"]))


def make_user(native: httpx2.Client, **fields: Any) -> dict[str, Any]:
    """A subject, made through the native API: the Argyle user."""
    made = native.post("/v1/subjects", json={"type": "individual", **fields})
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def upload_parts(
    user: str, document_type: str, data: bytes, filename: str = "upload.pdf"
) -> list[Part]:
    return [
        Part("user", user.encode()),
        Part("document_type", document_type.encode()),
        Part("upload", data, filename),
    ]


def upload(
    client: httpx2.Client,
    user: str,
    document_type: str,
    data: bytes,
    filename: str = "upload.pdf",
) -> dict[str, Any]:
    response = post_multipart(client, UPLOADS, upload_parts(user, document_type, data, filename))
    assert response.status_code == 200, response.text
    return check_upload(response.json())


def pages(client: httpx2.Client, **params: Any) -> Iterator[dict[str, Any]]:
    """Every page of a listing, following ``next`` URLs as a client does."""
    url: str | None = UPLOADS
    query: dict[str, Any] | None = params
    while url is not None:
        response = client.get(url, params=query)
        assert response.status_code == 200, response.text
        page = check_page(response.json())
        yield page
        url, query = page["next"], None


def wait_for(
    client: httpx2.Client, upload_id: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Poll the upload until ``done`` holds (or fail after ``PROCESSING_WAIT_SECONDS``)."""
    deadline = time.monotonic() + PROCESSING_WAIT_SECONDS
    while True:
        response = client.get(f"{UPLOADS}/{upload_id}")
        assert response.status_code == 200, response.text
        body = check_upload(response.json())
        if done(body):
            return body
        assert time.monotonic() < deadline, f"processing did not finish: {body['processing']}"
        time.sleep(0.25)


def processed(body: dict[str, Any]) -> bool:
    return all(status not in ("idle", "in_progress") for status in body["processing"].values())


def set_processing(server: Server, tenant: dict[str, Any], **changes: bool) -> None:
    """Change the tenant's processing settings through the service layer, on the server's
    own database (the worker reads them for every job)."""

    async def update(ctx: AppContext) -> None:
        actor = Actor(UUID(tenant["tenant_id"]), "tests")
        await processing.update_settings(ctx, actor, dict(changes))

    server.in_context(update)


STAGES_OFF = {"classification": False, "ocr": False, "authenticity": False}
