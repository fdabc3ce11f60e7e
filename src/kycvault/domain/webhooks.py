"""Webhooks as plain rules: which receiver addresses may be called (the SSRF guard), the
retry schedule, and the Standard Webhooks signature (standardwebhooks.com).

A receiver is a URL a tenant names; the vault then makes requests to it from inside the
network it runs in. Without a guard a tenant could make the vault call its own metadata
service, a database's HTTP port or an intranet page. So a URL must be https (or http to a
host the operator allows), and every address its host resolves to must be a public one,
checked when the endpoint is made and again before each delivery (DNS may have changed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import random
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from kycvault.errors import InvalidInput

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
DEFAULT_SCHEDULE = "5s,5m,30m,2h,5h,10h,10h"
SECRET_BYTES = 32
MAX_URL_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Address ranges no receiver may be in, beyond what ``ipaddress`` flags itself: the
# shared address space of carrier-grade NAT, and the IPv6 prefixes that embed an IPv4
# address (NAT64, 6to4, Teredo) are judged by the address they embed.
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


@dataclass(frozen=True, slots=True)
class ReceiverUrl:
    """A checked receiver URL: its scheme, host (an address literal or a name) and port."""

    url: str
    scheme: str
    host: str
    port: int


def refused(code: str, message: str) -> InvalidInput:
    return InvalidInput.field("url", code, message)


def parse_url(url: str, *, allowed_http_hosts: Iterable[str] = ()) -> ReceiverUrl:
    """``url`` if it may name a receiver: absolute https (or http to an allowed host), no
    credentials in it, no fragment. Its addresses are checked separately (``check_address``)."""
    if len(url) > MAX_URL_LENGTH or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise refused("invalid_url", f"an absolute URL of at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise refused("invalid_url", "not a valid URL") from None
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise refused("invalid_url", "an absolute http(s) URL")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise refused("invalid_url", "no credentials or fragment in a receiver URL")
    if parts.scheme == "http" and host not in {h.lower() for h in allowed_http_hosts}:
        raise refused("webhook_url_not_https", "a receiver URL must be https")
    return ReceiverUrl(url, parts.scheme, host, port or (443 if parts.scheme == "https" else 80))


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is a public unicast address (v4 or v6). IPv4-mapped, NAT64 and
    6to4 addresses are judged by the IPv4 address inside them."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or address.teredo
        if isinstance(embedded, tuple):  # Teredo: the server and the client
            return all(is_public(a) for a in embedded)
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
        if address in _SIX_TO_FOUR:
            return False
    elif address in _SHARED:
        return False
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def check_addresses(addresses: Sequence[IPAddress], *, allow_private: bool) -> None:
    """Refuse unless every address is public (or private addresses are allowed)."""
    if not addresses:
        raise refused("webhook_url_unresolvable", "the receiver's host has no address")
    if allow_private:
        return
    for address in addresses:
        if not is_public(address):
            raise refused(
                "webhook_url_private",
                f"the receiver's host resolves to a non-public address ({address})",
            )


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_schedule(text: str) -> tuple[timedelta, ...]:
    """``5s,5m,30m,2h``: the delays before each retry (a bare number is seconds)."""
    delays = []
    for part in text.split(","):
        match = _DURATION.match(part)
        if not match:
            raise ValueError(f"not a delay: {part.strip()!r} (use e.g. 5s, 5m, 2h)")
        delays.append(timedelta(seconds=float(match[1]) * _UNITS[match[2] or "s"]))
    if not delays or len(delays) > 50:
        raise ValueError("a schedule has 1 to 50 delays")
    return tuple(delays)


def retry_after(schedule: Sequence[timedelta], failures: int) -> timedelta | None:
    """The delay before the retry that follows the ``failures``-th failed attempt, with
    ±20 % jitter (receivers that failed together are not retried all at once); None when
    the schedule is spent."""
    if failures < 1 or failures > len(schedule):
        return None
    return schedule[failures - 1] * random.uniform(0.8, 1.2)  # noqa: S311


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,`` and the base64 HMAC-SHA256 of ``id.timestamp.body`` under the secret's bytes."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: Sequence[str], message_id: str, timestamp: int, body: bytes) -> str:
    """One signature per secret, space-separated (during a rotation, the old and the new)."""
    return " ".join(sign(s, message_id, timestamp, body) for s in secrets_)
