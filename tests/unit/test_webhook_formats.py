"""Argyle's webhook shape: which vault events are which Argyle events, the message, and the
signature (hex HMAC-SHA512 of the body, checked against an independent computation)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from kycvault.domain import webhook_formats as formats
from kycvault.services import events

SUBJECT = "11111111-1111-1111-1111-111111111111"
DOC = "22222222-2222-2222-2222-222222222222"


def test_every_argyle_event_is_a_view_of_a_vault_event() -> None:
    assert set(formats.ARGYLE_EVENTS.values()) <= events.TYPES
    assert formats.native_types(["user_uploads.removed", "user_uploads.added"]) == [
        "document.created",
        "document.deleted",
    ]


@pytest.mark.parametrize(
    ("type_", "data", "expected"),
    [
        ("document.created", {"subject_id": SUBJECT, "document": {"file_ids": ["f"]}}, "added"),
        ("document.created", {"subject_id": SUBJECT, "document": {"file_ids": []}}, None),
        ("document.created", {"subject_id": None, "document": {"file_ids": ["f"]}}, None),
        ("document.deleted", {"subject_id": SUBJECT, "document_id": DOC}, "removed"),
        ("document.deleted", {"subject_id": None, "document_id": DOC}, None),
        ("document.processed", {"subject_id": SUBJECT, "stages": {"ocr": "completed"}}, "ocr"),
        ("document.processed", {"subject_id": SUBJECT, "stages": {"ocr": "failed"}}, None),
        ("file.added", {"subject_id": SUBJECT}, None),
    ],
)
def test_which_vault_events_are_user_upload_events(
    type_: str, data: dict[str, object], expected: str | None
) -> None:
    names = {"added": "user_uploads.added", "removed": "user_uploads.removed"}
    names["ocr"] = "user_uploads.ocr_completed"
    want = names[expected] if expected else None
    assert formats.argyle_event(type_, data) == want


def test_message_and_signature() -> None:
    body = formats.argyle_message(
        "hooks", "user_uploads.added", {"subject_id": SUBJECT, "document_id": DOC}, "u-7"
    )
    assert json.loads(body) == {
        "event": "user_uploads.added",
        "name": "hooks",
        "data": {"account": SUBJECT, "user": "u-7", "user_upload": DOC},
    }
    expected = hmac.new(b"secret", body, hashlib.sha512).hexdigest()
    assert formats.argyle_signature("secret", body) == expected
    assert len(expected) == 128
    assert formats.argyle_signature("other", body) != expected
