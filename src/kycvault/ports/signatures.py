"""The signature-verifier port: who signed a request."""

from __future__ import annotations

from typing import Protocol


class SignatureVerifier(Protocol):
    """Who signed a message, for APIs whose clients sign requests with an Ethereum-style key
    (Sila's ``authsignature`` and ``usersignature``). Cheap enough for the event loop."""

    def signer(self, message: bytes, signature: str) -> str | None:
        """The address (``0x`` and 40 lower-case hex digits) of the secp256k1 key whose
        recoverable signature ``signature`` (hex of r, s and v; ``0x`` optional) is over
        keccak-256 of ``message``; None when the signature is malformed, is not in the low-s
        form (s at most half the group order), or recovers no key."""
        ...

    def canonical(self, signature: str) -> bytes | None:
        """r and s (64 bytes) of a well-formed low-s signature: the same bytes however it is
        written (``0x`` or not, either case, v as 27/28 or 0/1); None when it is malformed."""
        ...
