"""The signature verifier recovers the address an Ethereum wallet signs with, from the
signatures Sila's SDK makes (eth-account's ``sign_hash`` over keccak-256 of the body)."""

from __future__ import annotations

import json
import secrets
import warnings

import pytest

from kycvault.adapters.signatures import Secp256k1Verifier, keccak256

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
