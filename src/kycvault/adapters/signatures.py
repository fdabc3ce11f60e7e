"""secp256k1 public-key recovery over keccak-256 digests: the signatures Ethereum wallets (and
Sila's SDKs) make with ``sign_hash``. coincurve wraps libsecp256k1; keccak-256 (not the
standardised SHA3-256, whose padding differs) comes from pycryptodome."""

from __future__ import annotations

import binascii

from coincurve import PublicKey
from Crypto.Hash import keccak

SIGNATURE_BYTES = 65


def keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def address_of(public_key: PublicKey) -> str:
    """The address of a key: the last 20 bytes of keccak-256 of its uncompressed point."""
    return "0x" + keccak256(public_key.format(compressed=False)[1:])[-20:].hex()


class Secp256k1Verifier:
    def signer(self, message: bytes, signature: str) -> str | None:
        text = signature.strip()
        if text[:2].lower() == "0x":
            text = text[2:]
        if len(text) != 2 * SIGNATURE_BYTES:
            return None
        try:
            raw = binascii.unhexlify(text)
        except (binascii.Error, ValueError):
            return None
        # v is 27/28 in Ethereum's encoding, 0/1 as libsecp256k1 takes the recovery id.
        v = raw[64] - 27 if raw[64] >= 27 else raw[64]
        if v not in (0, 1):
            return None
        try:
            key = PublicKey.from_signature_and_message(
                raw[:64] + bytes([v]), keccak256(message), hasher=None
            )
        except (ValueError, TypeError):
            return None
        return address_of(key)
