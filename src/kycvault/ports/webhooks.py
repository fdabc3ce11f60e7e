"""What delivering a webhook needs from the network: resolve a receiver's host, and post to
one checked address of it (the services check the addresses, see ``domain/webhooks.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from kycvault.domain.webhooks import IPAddress, ReceiverUrl


@dataclass(frozen=True, slots=True)
class Reply:
    """A receiver's answer: its status and the start of its body (at most ``MAX_BODY``)."""

    status: int
    body: bytes


class SendFailed(Exception):
    """No answer: the connection failed, timed out, or the answer was not HTTP."""


class WebhookSender(Protocol):
    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address of ``host`` (empty when it has none)."""
        ...

    async def post(
        self, url: ReceiverUrl, address: IPAddress, headers: Mapping[str, str], body: bytes
    ) -> Reply:
        """POST ``body`` to ``url``, connecting to ``address`` (so the host is not resolved
        again), following no redirect; ``SendFailed`` without an answer."""
        ...
