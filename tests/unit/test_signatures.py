"""The signature verifier recovers the address an Ethereum wallet signs with, from the
signatures Sila's SDK makes (eth-account's ``sign_hash`` over keccak-256 of the body); it
refuses the malleated high-s form, and gives every encoding of a signature one canonical
form (what the replay check records)."""

from __future__ import annotations

import json
import secrets
import warnings

import pytest
from coincurve import PublicKey

from kycvault.adapters.signatures import (
    CURVE_ORDER,
    HALF_ORDER,
    Secp256k1Verifier,
    address_of,
    keccak256,
)

with warnings.catch_warnings():
    # web3, which the SDK imports, still loads websockets' deprecated legacy module.
    warnings.simplefilter("ignore", DeprecationWarning)
    from silasdk.ethwallet import EthWallet

verifier = Secp256k1Verifier()


@pytest.fixture
def wallet() -> dict[str, str]:
    made: dict[str, str] = EthWallet.create(secrets.token_hex(16))
    return made


def test_keccak_is_not_sha3() -> None:
    # Keccak-256 of the empty string, as Ethereum uses it (SHA3-256 pads differently).
    expected = "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256(b"").hex() == expected


def test_recovers_the_signing_address(wallet: dict[str, str]) -> None:
    body = json.dumps({"header": {"created": 1, "user_handle": "u.silamoney.eth"}})
    signature = EthWallet.signMessage(body, wallet["eth_private_key"])
    assert verifier.signer(body.encode(), signature) == wallet["eth_address"].lower()
    assert verifier.signer(body.encode(), "0x" + signature) == wallet["eth_address"].lower()
    # The same signature in libsecp256k1's encoding of v (0/1 rather than 27/28).
    raw = bytes.fromhex(signature)
    plain_v = (raw[:64] + bytes([raw[64] - 27])).hex()
    assert verifier.signer(body.encode(), plain_v) == wallet["eth_address"].lower()


def test_another_message_recovers_another_address(wallet: dict[str, str]) -> None:
    signature = EthWallet.signMessage("original", wallet["eth_private_key"])
    assert verifier.signer(b"altered", signature) not in (None, wallet["eth_address"].lower())


@pytest.mark.parametrize(
    "signature",
    ["", "zz" * 65, "00" * 64, "00" * 66, "00" * 65, "11" * 64 + "1d", " "],
    ids=["empty", "not-hex", "short", "long", "zero", "bad-v", "blank"],
)
def test_malformed_signatures_recover_nobody(signature: str) -> None:
    assert verifier.signer(b"message", signature) is None


def _malleated(signature: str) -> str:
    """The other valid signature of the same message by the same key: (r, n - s), v flipped."""
    raw = bytes.fromhex(signature.removeprefix("0x"))
    s = CURVE_ORDER - int.from_bytes(raw[32:64], "big")
    return (raw[:32] + s.to_bytes(32, "big") + bytes([55 - raw[64]])).hex()  # 27 <-> 28


def test_the_sdk_signs_in_the_low_s_form(wallet: dict[str, str]) -> None:
    # What real clients send must keep working: eth-account (as Ethereum since EIP-2) only
    # makes s <= n/2, and signs deterministically (RFC 6979).
    for n in range(300):
        body = json.dumps({"header": {"created": n, "reference": secrets.token_hex(8)}})
        signature = EthWallet.signMessage(body, wallet["eth_private_key"])
        assert int(signature[64:128], 16) <= HALF_ORDER
        assert verifier.signer(body.encode(), signature) == wallet["eth_address"].lower()
    assert EthWallet.signMessage("same", wallet["eth_private_key"]) == EthWallet.signMessage(
        "same", wallet["eth_private_key"]
    )


def test_the_high_s_form_is_refused(wallet: dict[str, str]) -> None:
    body = b'{"header": {"created": 1}}'
    signature = EthWallet.signMessage(body.decode(), wallet["eth_private_key"])
    high = _malleated(signature)
    assert int(high[64:128], 16) > HALF_ORDER
    # libsecp256k1 itself would recover the signer from it: the low-s rule is what refuses.
    raw = bytes.fromhex(high)
    recovered = PublicKey.from_signature_and_message(
        raw[:64] + bytes([raw[64] - 27]), keccak256(body), hasher=None
    )
    assert address_of(recovered) == wallet["eth_address"].lower()
    assert verifier.signer(body, high) is None
    assert verifier.canonical(high) is None
    # s = n/2 is the largest accepted, s = 0 none.
    rs_v = bytes.fromhex(signature)
    at_half = rs_v[:32] + HALF_ORDER.to_bytes(32, "big") + rs_v[64:]
    assert verifier.canonical(at_half.hex()) is not None
    assert verifier.canonical((rs_v[:32] + bytes(32) + rs_v[64:]).hex()) is None


def test_one_canonical_form_per_signature(wallet: dict[str, str]) -> None:
    signature = EthWallet.signMessage("message", wallet["eth_private_key"])
    raw = bytes.fromhex(signature)
    variants = [
        signature,
        "0x" + signature,
        "0X" + signature.upper(),
        f" {signature} ",
        (raw[:64] + bytes([raw[64] - 27])).hex(),
    ]
    assert {verifier.canonical(v) for v in variants} == {raw[:64]}
    other = EthWallet.signMessage("message 2", wallet["eth_private_key"])
    assert verifier.canonical(other) != raw[:64]
