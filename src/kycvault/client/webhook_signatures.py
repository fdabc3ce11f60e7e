"""Checking a webhook the vault sent, as Standard Webhooks (standardwebhooks.com) defines it:
``webhook-signature`` holds ``v1,<base64 HMAC-SHA256>`` entries (two during a secret's
rotation) over ``{webhook-id}.{webhook-timestamp}.{body}``, keyed with the base64 bytes
after the secret's ``whsec_`` prefix. Verify the body exactly as received, before parsing it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from kycvault.client.errors import KycVaultError

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
DEFAULT_TOLERANCE = 300  # seconds either side of now: a replay later than that is refused


class WebhookVerificationError(KycVaultError):
    default_code = "webhook_verification_failed"


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError("the secret is not a whsec_ secret") from None


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,…`` signature of ``body`` under ``secret`` (what the vault sends)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"no {name} header")


def verify_webhook(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> dict[str, Any]:
    """The event (parsed JSON) if ``body`` was signed with ``secret`` (or one of several,
    while rotating) less than ``tolerance`` seconds from now; ``WebhookVerificationError``
    otherwise. Deduplicate on the ``webhook-id`` header: a delivery may come twice."""
    payload = body.encode() if isinstance(body, str) else body
    message_id = _header(headers, "webhook-id")
    stamp = _header(headers, "webhook-timestamp")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a number") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance")
    secrets = [secret] if isinstance(secret, str) else list(secret)
    expected = [sign(s, message_id, timestamp, payload) for s in secrets]
    offered = _header(headers, "webhook-signature").split()
    # Every pair compared, in constant time each: which one matched leaks nothing.
    matched = False
    for candidate in offered:
        for wanted in expected:
            matched |= hmac.compare_digest(candidate.encode(), wanted.encode())
    if not matched:
        raise WebhookVerificationError("no signature matches")
    try:
        event = json.loads(payload)
    except ValueError:
        raise WebhookVerificationError("the body is not JSON") from None
    if not isinstance(event, dict):
        raise WebhookVerificationError("the body is not a JSON object")
    return event
