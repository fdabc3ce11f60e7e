"""secp256k1 public-key recovery over keccak-256 digests: the signatures Ethereum wallets (and
Sila's SDKs) make with ``sign_hash``. coincurve wraps libsecp256k1; keccak-256 (not the
standardised SHA3-256, whose padding differs) comes from pycryptodome.

ECDSA signatures are malleable: (r, n - s) with the other recovery id is a second valid
signature of the same message by the same key, which anyone can compute from the first. As
Ethereum does since EIP-2, only the low form (s <= n/2) is accepted, so each message has one
acceptable (r, s) per key and a captured signature cannot be turned into a "new" one.
"""

from __future__ import annotations

import binascii

from coincurve import PublicKey
from Crypto.Hash import keccak

SIGNATURE_BYTES = 65
# The order of secp256k1's group.
CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HALF_ORDER = CURVE_ORDER // 2


def keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def address_of(public_key: PublicKey) -> str:
    """The address of a key: the last 20 bytes of keccak-256 of its uncompressed point."""
    return "0x" + keccak256(public_key.format(compressed=False)[1:])[-20:].hex()


def _decode(signature: str) -> tuple[bytes, int] | None:
    """r‖s (64 bytes) and the recovery id (0/1) of a well-formed low-s signature."""
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
    s = int.from_bytes(raw[32:64], "big")
    if not 0 < s <= HALF_ORDER:
        return None
    return raw[:64], v


class Secp256k1Verifier:
    def signer(self, message: bytes, signature: str) -> str | None:
        decoded = _decode(signature)
        if decoded is None:
            return None
        rs, v = decoded
        try:
            key = PublicKey.from_signature_and_message(
                rs + bytes([v]), keccak256(message), hasher=None
            )
        except (ValueError, TypeError):
            return None
        return address_of(key)

    def canonical(self, signature: str) -> bytes | None:
        decoded = _decode(signature)
        return decoded[0] if decoded else None
