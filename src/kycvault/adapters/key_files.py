"""Master key files and values: a new key, written once to a private file; a key read back
from a file only while no other user may read or replace it; a key given as base64 text.
What the key does is ``crypto.py``'s concern."""

from __future__ import annotations

import base64
import os
import secrets
import stat
from pathlib import Path

from kycvault.adapters.crypto import KEY_SIZE


class KeyFileRefused(ValueError):
    """A master key file that must not be used as it is; the message says what to do."""


def new_master_key() -> bytes:
    return secrets.token_bytes(KEY_SIZE)


def decode_master_key(value: str, source: str) -> bytes:
    """A master key given as base64 (``source`` names where it came from, for errors)."""
    return _decode_key(value, source)


def read_master_key_file(path: Path) -> bytes:
    """The key in ``path``, refused when other users may read or replace it: the file must
    belong to this process's user (or root) and have no group or other permission bits."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise KeyFileRefused(f"cannot read the master key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "r") as handle:
        # Checked on the open file, so the file checked is the file read.
        status = os.fstat(handle.fileno())
        mode = stat.S_IMODE(status.st_mode)
        if mode & 0o077:
            raise KeyFileRefused(
                f"the master key file {path} is open to group or others (mode {mode:04o}): "
                f"run `chmod 600 {path}`"
            )
        if status.st_uid not in (os.geteuid(), 0):
            raise KeyFileRefused(
                f"the master key file {path} belongs to another user (uid {status.st_uid}): "
                f"run `chown {os.geteuid()} {path}`"
            )
        text = handle.read()
    return _decode_key(text.strip(), str(path))


def write_master_key_file(path: Path, key: bytes) -> None:
    """Store ``key`` in a new file (0600, never over an existing one), durably."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(key).decode() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _decode_key(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError(f"the master key in {source} is not valid base64") from None
    if len(key) != KEY_SIZE:
        raise ValueError(f"the master key in {source} must decode to 32 bytes")
    return key
