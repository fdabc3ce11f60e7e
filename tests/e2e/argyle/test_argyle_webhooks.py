"""Argyle's webhooks end to end, on both backend pairs: subscriptions through
``/compat/argyle/v2/webhooks`` in Argyle's shape, and its user-upload messages
(``user_uploads.added``, ``.ocr_completed``, ``.removed``) delivered to a real receiver on
loopback by the server's in-process worker, each signed as Argyle documents
(``X-Argyle-Signature``: hex HMAC-SHA512 of the body as sent, keyed with the client's
secret)."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from kycvault.domain.mrz import Layout
from tests.e2e.argyle.support import check_error, make_user, upload
from tests.e2e.webhook_support import SERVER_ENV, Receiver, receiving
from tests.helpers import Server, server_on
from tests.samples import OCR_B, document_image, random_person

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

WEBHOOKS = "/compat/argyle/v2/webhooks"
ALL_EVENTS = ["user_uploads.added", "user_uploads.ocr_completed", "user_uploads.removed"]
WEBHOOK_FIELDS = {"id", "events", "name", "url", "secret", "config", "created_at", "updated_at"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Server]:
    """A server of its own that delivers webhooks to loopback (the package's ``argyle``
    and ``native`` clients are its tenant's)."""
    root: Path = tmp_path_factory.mktemp(f"argyle-webhooks-{backend}")
    with server_on(root, backend, **SERVER_ENV) as srv:
        yield srv


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


def subscribe(argyle: httpx2.Client, **body: Any) -> dict[str, Any]:
    made = argyle.post(WEBHOOKS, json=body)
    assert made.status_code == 201, made.text
    found: dict[str, Any] = made.json()
    assert set(found) == WEBHOOK_FIELDS
    return found


def messages(receiver: Receiver, event: str) -> list[dict[str, Any]]:
    return [r.event for r in receiver.delivered() if r.event["event"] == event]


def test_subscriptions_in_argyles_shape(
    argyle: httpx2.Client, native: httpx2.Client, receiver: Receiver
) -> None:
    made = subscribe(
        argyle,
        events=["user_uploads.added"],
        name="uploads",
        url=receiver.url(),
        secret="s3cret",
    )
    assert made["events"] == ["user_uploads.added"] and made["name"] == "uploads"
    assert made["url"] == receiver.url() and made["config"] is None
    assert made["secret"] == "s3cret"  # shown once, as the client chose it
    assert made["created_at"].endswith("Z")
    shown = argyle.get(f"{WEBHOOKS}/{made['id']}")
    assert shown.status_code == 200 and shown.json() == {**made, "secret": None}
    everything = subscribe(argyle, events="*", name="all", url=receiver.url())
    assert everything["events"] == ALL_EVENTS and everything["secret"] is None
    listed = argyle.get(WEBHOOKS).json()
    assert [w["id"] for w in listed["results"]] == [made["id"], everything["id"]]
    assert listed["next"] is None and listed["previous"] is None

    # A native endpoint is no Argyle subscription, though the native API lists both.
    plain = native.post("/v1/webhook-endpoints", json={"url": receiver.url(), "events": ["*"]})
    assert plain.status_code == 201, plain.text
    check_error(argyle.get(f"{WEBHOOKS}/{plain.json()['id']}"), 404, "webhook_endpoint_not_found")
    assert len(argyle.get(WEBHOOKS).json()["results"]) == 2
    endpoints = {e["id"]: e for e in native.get("/v1/webhook-endpoints").json()["data"]}
    assert set(endpoints) == {made["id"], everything["id"], plain.json()["id"]}
    assert endpoints[made["id"]]["format"] == "argyle"
    assert endpoints[made["id"]]["vendor_events"] == ["user_uploads.added"]
    assert endpoints[made["id"]]["events"] == ["document.created"]
    assert endpoints[plain.json()["id"]]["format"] == "standard"
    # Its events are Argyle's: the native API does not change them.
    refused = native.patch(
        f"/v1/webhook-endpoints/{made['id']}", json={"events": ["subject.created"]}
    )
    assert refused.status_code == 409 and refused.json()["code"] == "webhook_endpoint_vendor_events"

    removed = argyle.delete(f"{WEBHOOKS}/{made['id']}")
    assert removed.status_code == 204
    gone = check_error(argyle.get(f"{WEBHOOKS}/{made['id']}"), 404, "webhook_endpoint_not_found")
    assert gone["detail"] == "Not found."
    check_error(argyle.delete(f"{WEBHOOKS}/{made['id']}"), 404, "webhook_endpoint_not_found")
    check_error(argyle.get(f"{WEBHOOKS}/not-an-id"), 404, "webhook_endpoint_not_found")


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"events": ["user_uploads.added"], "name": "n"}, "url", "validation_error"),
        ({"events": ["paystubs.added"], "name": "n", "url": "U"}, "events", "unknown_event_type"),
        ({"events": [], "name": "n", "url": "U"}, "events", "unknown_event_type"),
        ({"events": "user_uploads.added", "name": "n", "url": "U"}, "events", "invalid_events"),
        ({"events": ["user_uploads.added"], "url": "U"}, "name", "validation_error"),
        (
            {"events": ["*"], "name": "n", "url": "U", "config": {"include_resource": True}},
            "config",
            "unsupported_config",
        ),
        ({"events": ["*"], "name": "n", "url": "ftp://example.com/"}, "url", "invalid_url"),
    ],
)
def test_bad_subscriptions_are_refused_in_argyles_error_shape(
    argyle: httpx2.Client,
    native: httpx2.Client,
    receiver: Receiver,
    body: dict[str, Any],
    field: str,
    code: str,
) -> None:
    if body.get("url") == "U":
        body = {**body, "url": receiver.url()}
    refused = check_error(argyle.post(WEBHOOKS, json=body), 400, code)
    assert isinstance(refused[field], list) and refused[field]
    assert argyle.get(WEBHOOKS).json()["results"] == []
    assert native.get("/v1/webhook-endpoints").json()["data"] == []


def test_user_upload_messages_are_signed_as_argyle_documents(
    argyle: httpx2.Client, native: httpx2.Client, receiver: Receiver
) -> None:
    if not OCR_B.exists():
        pytest.skip("the OCR-B font is not installed")
    signed = subscribe(argyle, events="*", name="uploads", url=receiver.url("/signed"), secret="k")
    unsigned = subscribe(
        argyle, events=["user_uploads.removed"], name="gone", url=receiver.url("/unsigned")
    )
    user = make_user(native, external_id="argyle-user-7")
    person = random_person(random.Random(7), Layout.TD3)
    made = upload(
        argyle, user["id"], "proof-of-identity", document_image(person, seed=7), "passport.png"
    )
    # Not a user upload: a document of no subject.
    other = native.post("/v1/documents", json={"type": "passport"})
    assert other.status_code == 201, other.text

    receiver.wait_for(lambda: len(messages(receiver, "user_uploads.ocr_completed")) == 1, 60)
    deleted = native.delete(f"/v1/documents/{made['id']}")
    assert deleted.status_code == 204, deleted.text
    receiver.wait_for(lambda: len(messages(receiver, "user_uploads.removed")) == 2)

    expected = {"account": user["id"], "user": "argyle-user-7", "user_upload": made["id"]}
    for received in receiver.delivered():
        message = received.event
        assert set(message) == {"event", "name", "data"}
        assert message["data"] == expected
        if received.path == "/signed":
            assert message["name"] == "uploads"
            digest = hmac.new(b"k", received.body, hashlib.sha512).hexdigest()
            assert received.headers["x-argyle-signature"] == digest
        else:
            assert message == {"event": "user_uploads.removed", "name": "gone", "data": expected}
            assert "x-argyle-signature" not in received.headers
    signed_events = [
        json.loads(r.body)["event"] for r in receiver.delivered() if r.path == "/signed"
    ]
    in_order = ["user_uploads.added", "user_uploads.ocr_completed", "user_uploads.removed"]
    assert signed_events == in_order
    assert signed["events"] == ALL_EVENTS and unsigned["secret"] is None
