"""The client's address, as far as it can be trusted.

It is the socket's peer, unless the peer is one of ``KYCVAULT_TRUSTED_PROXIES``: then
``X-Forwarded-For`` is read from the right (the hop the proxy itself appended) leftwards,
past every trusted proxy, and the first address that is not a trusted proxy is the client.
Everything left of it was written by the client and may be forged, so it is never read.
Without trusted proxies the header is ignored entirely (the server must not rewrite the peer
from it either: ``kycvault serve`` turns uvicorn's own proxy-header handling off).

An entry that is not an address ends the walk at the last hop known (a trusted proxy); when
every entry is a trusted proxy, the left-most is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import Request

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_address(value: str) -> IPAddress | None:
    """An address from a peer or a forwarded hop (``1.2.3.4``, ``1.2.3.4:5678``,
    ``2001:db8::1``, ``[2001:db8::1]:443``); IPv4-mapped IPv6 addresses as IPv4."""
    text = value.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, proxies: Sequence[IPNetwork]) -> bool:
    return any(address in network for network in proxies)


def resolve(
    peer: str | None, forwarded_for: Sequence[str], proxies: Sequence[IPNetwork]
) -> IPAddress | None:
    """The client behind ``peer``, given the ``X-Forwarded-For`` header values in order."""
    client = parse_address(peer) if peer else None
    if client is None or not proxies or not _trusted(client, proxies):
        return client
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            break
        client = address
        if not _trusted(address, proxies):
            break
    return client


def client_address(request: Request) -> IPAddress | None:
    proxies: Sequence[IPNetwork] = request.app.state.trusted_proxies
    peer = request.client.host if request.client else None
    return resolve(peer, request.headers.getlist("x-forwarded-for"), proxies)
