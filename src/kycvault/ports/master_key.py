"""Where the master key comes from: a file beside (or better, away from) the data, the
environment, or a command such as a secret store's or a KMS's CLI. Only the composition root
uses this port (``bootstrap.resolve_master_key``); the rest of the vault sees the ``Cipher``."""

from __future__ import annotations

from typing import Protocol


class MasterKeyUnavailable(Exception):
    """The provider could not give a key; the message says why and what to change."""


class MasterKeyProvider(Protocol):
    # What the key is called in messages: a variable's name, a file's path, a command.
    source: str

    def load(self) -> bytes:
        """The 32-byte key; ``MasterKeyUnavailable`` otherwise."""
        ...
