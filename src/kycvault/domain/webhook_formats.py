"""The shapes a webhook message can take besides the Standard Webhooks one: Argyle's.

An Argyle subscription names Argyle's user-upload events; each is a view of one vault event
(``ARGYLE_EVENTS``), and not every such vault event makes one: ``user_uploads.added`` is a
subject's document created with its file (Argyle's upload), ``user_uploads.removed`` a
subject's document deleted, ``user_uploads.ocr_completed`` a subject's document whose
processing completed its OCR stage. The message is ``{event, name, data: {account, user,
user_upload}}`` (the subscription's name; the upload account, which is the subject's id as
the user-uploads API shows it; the user as the client knows it; the document's id), and it
is signed as Argyle documents: ``X-Argyle-Signature``, the hex HMAC-SHA512 of the body
exactly as sent, keyed with the secret the client chose (no header when it chose none).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

STANDARD = "standard"
ARGYLE = "argyle"
FORMATS = frozenset({STANDARD, ARGYLE})
ARGYLE_SIGNATURE_HEADER = "x-argyle-signature"
# Argyle's event → the vault event it is a view of.
ARGYLE_EVENTS: Mapping[str, str] = {
    "user_uploads.added": "document.created",
    "user_uploads.removed": "document.deleted",
    "user_uploads.ocr_completed": "document.processed",
}


def native_types(vendor_events: list[str]) -> list[str]:
    """The vault event types an Argyle subscription to ``vendor_events`` listens to."""
    return sorted({ARGYLE_EVENTS[name] for name in vendor_events})


def argyle_event(event_type: str, data: Mapping[str, Any]) -> str | None:
    """The Argyle event a vault event of ``event_type`` with ``data`` is, if any."""
    if data.get("subject_id") is None:
        return None  # only a subject's (a user's) documents are user uploads
    if event_type == "document.created":
        document = data.get("document")
        has_file = isinstance(document, Mapping) and bool(document.get("file_ids"))
        return "user_uploads.added" if has_file else None
    if event_type == "document.deleted":
        return "user_uploads.removed"
    if event_type == "document.processed":
        stages = data.get("stages")
        ocr_done = isinstance(stages, Mapping) and stages.get("ocr") == "completed"
        return "user_uploads.ocr_completed" if ocr_done else None
    return None


def argyle_message(name: str, event: str, data: Mapping[str, Any], user: str) -> bytes:
    """The body of an Argyle webhook for ``event`` (a vault event's ``data``)."""
    message = {
        "event": event,
        "name": name,
        "data": {
            "account": str(data["subject_id"]),
            "user": user,
            "user_upload": str(data["document_id"]),
        },
    }
    return json.dumps(message, separators=(",", ":")).encode()


def argyle_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()
