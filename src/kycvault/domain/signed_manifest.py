"""Manifests signed with HMAC-SHA256, so that whoever holds the master key can tell an export
as it was made from one edited since.

The SHA-256 digests inside a manifest prove nothing on their own: whoever edits a file of
an export can recompute its digest and write it into the manifest (crypto review L7). The
MAC of the manifest is made under a key derived from the master key (the services derive
it, with ``Cipher.derive_secret(label)``), which an editor does not hold.

The signature is a small JSON document kept beside the manifest (``manifest.sig``): the
algorithm, the label of the key (a versioned name, so a later key can be told apart) and
the MAC of the manifest's exact bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json

ALGORITHM = "HMAC-SHA256"
SIGNATURE_NAME = "manifest.sig"


def _mac(key: bytes, manifest: bytes) -> str:
    return hmac.new(key, manifest, hashlib.sha256).hexdigest()


def sign(key: bytes, label: str, manifest: bytes) -> bytes:
    """The signature document of ``manifest`` under ``key`` (derived for ``label``)."""
    body = {"algorithm": ALGORITHM, "key": label, "mac": _mac(key, manifest)}
    return (json.dumps(body, indent=2) + "\n").encode()


def check(key: bytes, label: str, manifest: bytes, signature: bytes) -> str | None:
    """Why ``signature`` does not prove ``manifest`` under ``key``, or None when it does."""
    try:
        parsed = json.loads(signature)
    except ValueError:
        return "the signature is not JSON"
    if not isinstance(parsed, dict) or parsed.get("algorithm") != ALGORITHM:
        return f"the signature is not {ALGORITHM}"
    if parsed.get("key") != label:
        return f"signed under key {parsed.get('key')!r}, which this version does not use"
    mac = parsed.get("mac")
    if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(key, manifest)):
        return "it does not match its MAC: it was altered, or made under another master key"
    return None
