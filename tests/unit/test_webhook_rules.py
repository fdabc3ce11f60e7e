"""The pure rules of webhooks: which receiver addresses are refused (v4, v6, IPv4-mapped and
other embedded forms), receiver URLs, the retry schedule with its jitter, and signatures as
the official Standard Webhooks library verifies them."""

from __future__ import annotations

import ipaddress
import json
import time
from datetime import timedelta

import pytest
from standardwebhooks import Webhook

from kycvault.domain import webhooks as rules
from kycvault.errors import InvalidInput

REFUSED = [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0",  # noqa: S104 (an address refused, not one bound to)
    "224.0.0.1", "240.0.0.1", "255.255.255.255", "192.0.2.1",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
    "64:ff9b::a00:1", "2002:a00:1::1", "2002:7f00:1::",
]  # fmt: skip
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address: str) -> None:
    parsed = ipaddress.ip_address(address)
    assert not rules.is_public(parsed)
    with pytest.raises(InvalidInput) as refused:
        rules.check_addresses([parsed], allow_private=False)
    assert _code(refused.value) == "webhook_url_private"
    rules.check_addresses([parsed], allow_private=True)  # allowed when configured


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert rules.is_public(ipaddress.ip_address(address))


def test_one_private_address_among_public_ones_refuses() -> None:
    found = [ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("10.0.0.1")]
    with pytest.raises(InvalidInput):
        rules.check_addresses(found, allow_private=False)
    with pytest.raises(InvalidInput):
        rules.check_addresses([], allow_private=True)  # no address at all


def _code(error: InvalidInput) -> str:
    return error.errors[0].code


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://example.com/hook", "webhook_url_not_https"),
        ("ftp://example.com/hook", "invalid_url"),
        ("https://", "invalid_url"),
        ("https://user:pw@example.com/", "invalid_url"),
        ("https://example.com/#frag", "invalid_url"),
        ("https://exa mple.com/", "invalid_url"),
        ("https://example.com:99999/", "invalid_url"),
        ("/relative", "invalid_url"),
    ],
)
def test_receiver_urls_refused(url: str, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.parse_url(url)
    assert _code(refused.value) == code


def test_receiver_urls_accepted() -> None:
    parsed = rules.parse_url("https://Hooks.Example.com./in?x=1")
    assert (parsed.scheme, parsed.host, parsed.port) == ("https", "hooks.example.com", 443)
    plain = rules.parse_url("http://receiver:8080/in", allowed_http_hosts=("receiver",))
    assert (plain.host, plain.port) == ("receiver", 8080)
    v6 = rules.parse_url("https://[2606:4700::1]:8443/")
    assert rules.literal_address(v6.host) == ipaddress.ip_address("2606:4700::1")


def test_schedule_parsing_and_backoff() -> None:
    schedule = rules.parse_schedule(rules.DEFAULT_SCHEDULE)
    assert schedule[0] == timedelta(seconds=5) and schedule[-1] == timedelta(hours=10)
    assert len(schedule) == 7
    assert rules.parse_schedule("0.2s, 250ms,3") == (
        timedelta(seconds=0.2),
        timedelta(milliseconds=250),
        timedelta(seconds=3),
    )
    for bad in ("", "5x", "5s,,5s", "-1s"):
        with pytest.raises(ValueError, match="delay"):
            rules.parse_schedule(bad)
    for failures, base in enumerate(schedule, start=1):
        delays = {rules.retry_after(schedule, failures) for _ in range(20)}
        assert all(d is not None and base * 0.8 <= d <= base * 1.2 for d in delays)
        assert len(delays) > 1  # jittered
    assert rules.retry_after(schedule, len(schedule) + 1) is None  # spent
    assert rules.retry_after(schedule, 0) is None


def test_signatures_verify_with_standardwebhooks() -> None:
    secret = rules.new_secret()
    assert secret.startswith("whsec_") and len(rules.secret_key(secret)) == 32
    body = json.dumps({"id": "evt", "type": "subject.created"}).encode()
    now = int(time.time())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now),
        "webhook-signature": rules.signature_header([secret], "msg_1", now, body),
    }
    assert Webhook(secret).verify(body, headers)["type"] == "subject.created"
    other = rules.new_secret()
    both = dict(
        headers,
        **{"webhook-signature": rules.signature_header([other, secret], "msg_1", now, body)},
    )
    assert Webhook(secret).verify(body, both) and Webhook(other).verify(body, both)
    tampered = dict(headers, **{"webhook-id": "msg_2"})
    with pytest.raises(Exception, match="signature"):
        Webhook(secret).verify(body, tampered)
