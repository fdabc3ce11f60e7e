"""The ``WebhookSender`` port over httpx2: resolution with the event loop's resolver, and a
POST that connects to the address the caller checked rather than resolving the host again,
so a DNS answer changed between the check and the connection (DNS rebinding) cannot switch
the receiver to an internal address. TLS still checks the certificate against the URL's
host name (sent as SNI, and as the Host header)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping

import httpx2

from kycvault.domain.webhooks import IPAddress, ReceiverUrl
from kycvault.ports.webhooks import Reply, SendFailed

TIMEOUT_SECONDS = 10.0
MAX_BODY = 64 * 1024


class HttpWebhookSender:
    def __init__(self, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self._timeout = timeout
        # Made at the first delivery: most processes (the command line, API processes
        # without a worker) never send one, and the client's TLS setup costs each start.
        self._client: httpx2.AsyncClient | None = None

    def _http(self) -> httpx2.AsyncClient:
        if self._client is None:
            self._client = httpx2.AsyncClient(
                timeout=httpx2.Timeout(self._timeout),
                follow_redirects=False,
                trust_env=False,  # no proxy from the environment: it would bypass the check
                limits=httpx2.Limits(max_connections=100, max_keepalive_connections=0),
            )
        return self._client

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            pass
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError):
            return []
        found: list[IPAddress] = []
        for _family, _type, _proto, _name, sockaddr in infos:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
            if address not in found:
                found.append(address)
        return found

    async def post(
        self, url: ReceiverUrl, address: IPAddress, headers: Mapping[str, str], body: bytes
    ) -> Reply:
        target = httpx2.URL(url.url)
        literal = f"[{address}]" if address.version == 6 else str(address)
        default_port = 443 if url.scheme == "https" else 80
        host_header = url.host if url.port == default_port else f"{url.host}:{url.port}"
        if ":" in url.host:  # an IPv6 literal as the host
            host_header = f"[{url.host}]" + ("" if url.port == default_port else f":{url.port}")
        request = self._http().build_request(
            "POST",
            target.copy_with(host=literal.strip("[]"), port=url.port),
            headers={**headers, "host": host_header},
            content=body,
            extensions={"sni_hostname": url.host} if url.scheme == "https" else {},
        )
        try:
            response = await self._http().send(request, stream=True)
            try:
                received = bytearray()
                async for chunk in response.aiter_raw():
                    received += chunk
                    if len(received) >= MAX_BODY:
                        break
                return Reply(response.status_code, bytes(received[:MAX_BODY]))
            finally:
                await response.aclose()
        except httpx2.HTTPError as exc:
            raise SendFailed(f"{type(exc).__name__}: {exc}"[:200]) from None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
