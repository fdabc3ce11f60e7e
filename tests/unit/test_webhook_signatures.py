"""The client's webhook check against signatures made as the vault makes them (the
delivery's own ``signed_headers``) and as the Standard Webhooks library makes them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from kycvault.client import WebhookVerificationError, verify_webhook
from kycvault.domain.webhooks import new_secret
from kycvault.services.webhook_delivery import signed_headers

BODY = json.dumps({"id": "e1", "type": "subject.created", "data": {"subject_id": "s1"}}).encode()
NOW = 1_800_000_000.0


def test_a_delivery_signed_by_the_vault_verifies() -> None:
    secret = new_secret()
    headers = signed_headers([secret], "msg_1", BODY, NOW)
    assert verify_webhook(BODY, headers, secret, now=NOW + 10)["type"] == "subject.created"
    # Header names in any case, as frameworks hand them over.
    upper = {k.upper(): v for k, v in headers.items()}
    assert verify_webhook(BODY.decode(), upper, secret, now=NOW)["data"] == {"subject_id": "s1"}


def test_during_a_rotation_either_secret_verifies() -> None:
    old, new = new_secret(), new_secret()
    headers = signed_headers([new, old], "msg_2", BODY, NOW)
    assert verify_webhook(BODY, headers, old, now=NOW)
    assert verify_webhook(BODY, headers, [new_secret(), new], now=NOW)


def test_the_standard_webhooks_library_agrees() -> None:
    secret = new_secret()
    signature = Webhook(secret).sign("msg_3", datetime.fromtimestamp(NOW, UTC), BODY.decode())
    headers = {
        "webhook-id": "msg_3",
        "webhook-timestamp": str(int(NOW)),
        "webhook-signature": signature,
    }
    assert verify_webhook(BODY, headers, secret, now=NOW)["id"] == "e1"


@pytest.mark.parametrize(
    "change",
    ["body", "id", "secret", "too_old", "too_new", "no_signature", "bad_timestamp"],
)
def test_anything_else_is_refused(change: str) -> None:
    secret = new_secret()
    headers = signed_headers([secret], "msg_4", BODY, NOW)
    body, now, key = BODY, NOW, secret
    if change == "body":
        body = BODY.replace(b"s1", b"s2")
    elif change == "id":
        headers["webhook-id"] = "msg_5"
    elif change == "secret":
        key = new_secret()
    elif change == "too_old":
        now = NOW + 301
    elif change == "too_new":
        now = NOW - 301
    elif change == "no_signature":
        del headers["webhook-signature"]
    else:
        headers["webhook-timestamp"] = "soon"
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, headers, key, now=now)
