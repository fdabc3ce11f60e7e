"""The master key file: made 0600 and never over another, refused when other users may read
or replace it, and checked on the file actually read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kycvault.adapters.crypto import master_key_id
from kycvault.adapters.key_files import KeyFileRefused, read_master_key_file, write_master_key_file


def test_a_new_key_file_is_private_and_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    key = os.urandom(32)
    write_master_key_file(path, key)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert read_master_key_file(path) == key
    with pytest.raises(FileExistsError):
        write_master_key_file(path, os.urandom(32))
    assert read_master_key_file(path) == key
    assert master_key_id(key) != master_key_id(os.urandom(32))


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o660, 0o610])
def test_a_key_file_open_to_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "master.key"
    write_master_key_file(path, os.urandom(32))
    path.chmod(mode)
    with pytest.raises(KeyFileRefused) as refused:
        read_master_key_file(path)
    message = str(refused.value)
    assert str(path) in message
    assert f"chmod 600 {path}" in message
    assert "\n" not in message


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_private_key_file_is_read(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "master.key"
    key = os.urandom(32)
    write_master_key_file(path, key)
    path.chmod(mode)
    assert read_master_key_file(path) == key


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_a_key_file_of_another_user_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    write_master_key_file(path, os.urandom(32))
    os.chown(path, 54321, -1)
    with pytest.raises(KeyFileRefused, match="belongs to another user"):
        read_master_key_file(path)


def test_a_key_file_that_is_not_a_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    write_master_key_file(path, os.urandom(32))
    path.write_text("not base64!")
    with pytest.raises(ValueError, match="base64"):
        read_master_key_file(path)
