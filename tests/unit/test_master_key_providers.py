"""Where the master key comes from: a key file (refused when others may read it), the
environment, or a command run without a shell that prints the key; a command that fails,
hangs, is missing or prints something else stops start-up with a message that says so
(quoting its stderr), and the commands exit 1 on it."""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from kycvault.adapters.crypto import master_key_id
from kycvault.adapters.key_files import write_master_key_file
from kycvault.adapters.master_keys import CommandKeyProvider, FileKeyProvider, GivenKeyProvider
from kycvault.bootstrap import StartupRefused, resolve_master_key
from kycvault.config import Settings
from kycvault.ports.master_key import MasterKeyUnavailable
from tests.helpers import Server

SCRIPT = """\
import sys
if sys.argv[1] == "ok":
    print({key!r})
    sys.stderr.write(" ".join(sys.argv[2:]))
elif sys.argv[1] == "fail":
    sys.stderr.write("vault: permission denied for path secret/kycvault\\n")
    sys.exit(2)
elif sys.argv[1] == "hang":
    import time
    time.sleep(60)
else:
    print("not a key")
"""


@pytest.fixture
def key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def script(tmp_path: Path, key: bytes) -> Path:
    path = tmp_path / "fetch_key.py"
    path.write_text(SCRIPT.format(key=base64.b64encode(key).decode()))
    return path


def _command(script: Path, *args: str, timeout: float = 30) -> CommandKeyProvider:
    line = " ".join([sys.executable, str(script), *args])
    return CommandKeyProvider(line, timeout=timeout, setting="KYCVAULT_MASTER_KEY_COMMAND")


def test_a_command_prints_the_key_and_runs_without_a_shell(script: Path, key: bytes) -> None:
    assert _command(script, "ok", "'two words'", "$HOME;", "echo").load() == key


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("fail", "failed (exit status 2): vault: permission denied for path secret/kycvault"),
        ("garbage", "did not print a master key (base64 of 32 bytes) on stdout"),
    ],
)
def test_a_command_that_fails_says_why(script: Path, mode: str, said: str) -> None:
    with pytest.raises(MasterKeyUnavailable) as refused:
        _command(script, mode).load()
    assert said in str(refused.value)
    assert str(refused.value).startswith(f"the command {sys.executable} (KYCVAULT_MASTER_KEY")


def test_a_command_that_hangs_or_is_missing_is_refused(script: Path, tmp_path: Path) -> None:
    with pytest.raises(MasterKeyUnavailable, match=r"did not finish within 0\.5 s"):
        _command(script, "hang", timeout=0.5).load()
    missing = CommandKeyProvider(str(tmp_path / "nothing"), timeout=5, setting="X")
    with pytest.raises(MasterKeyUnavailable, match="no such program"):
        missing.load()
    with pytest.raises(MasterKeyUnavailable, match="cannot be split"):
        CommandKeyProvider("vault 'unclosed", timeout=5, setting="X")


def test_file_and_environment_providers(tmp_path: Path, key: bytes) -> None:
    path = tmp_path / "master.key"
    write_master_key_file(path, key)
    assert FileKeyProvider(path).load() == key
    path.chmod(0o640)
    with pytest.raises(MasterKeyUnavailable, match="open to group or others"):
        FileKeyProvider(path).load()
    assert GivenKeyProvider(base64.b64encode(key).decode(), "KYCVAULT_MASTER_KEY").load() == key
    with pytest.raises(MasterKeyUnavailable, match="KYCVAULT_MASTER_KEY is not valid base64"):
        GivenKeyProvider("not base64!", "KYCVAULT_MASTER_KEY").load()


def test_the_settings_choose_the_provider(tmp_path: Path, script: Path, key: bytes) -> None:
    given = SecretStr(base64.b64encode(os.urandom(32)).decode())
    command = f"{sys.executable} {script} ok"
    chosen = resolve_master_key(
        Settings(
            data_dir=tmp_path,
            master_key=given,  # set, and not used: the provider is the command
            master_key_provider="command",
            master_key_command=command,
        ),
        may_create=True,
    )
    assert chosen.key == key and chosen.source.startswith(f"the command {sys.executable}")
    with pytest.raises(StartupRefused, match="KYCVAULT_MASTER_KEY is not set"):
        resolve_master_key(Settings(data_dir=tmp_path, master_key_provider="env"), may_create=True)
    with pytest.raises(StartupRefused, match="KYCVAULT_MASTER_KEY_COMMAND is not set"):
        resolve_master_key(
            Settings(data_dir=tmp_path, master_key_provider="command"), may_create=True
        )
    previous = tmp_path / "old.key"
    write_master_key_file(previous, os.urandom(32))
    both = resolve_master_key(
        # As the environment gives it: comma-separated text.
        Settings(data_dir=tmp_path, master_key=given, previous_master_key_files=f"{previous}"),
        may_create=True,
    )
    assert [master_key_id(k) for k in both.previous] == [
        master_key_id(FileKeyProvider(previous).load())
    ]


def test_commands_start_on_a_command_key_and_exit_1_when_it_fails(
    tmp_path: Path, script: Path, key: bytes
) -> None:
    command = {"KYCVAULT_MASTER_KEY_PROVIDER": "command", "KYCVAULT_ALLOW_GENERATED_KEY": "false"}
    server = Server(tmp_path / "vault", env_extra=command)
    server.env_extra["KYCVAULT_MASTER_KEY_COMMAND"] = f"{sys.executable} {script} ok"
    server.cli("tenant", "create", "Acme")
    status = server.cli("keys", "status").stdout
    assert f"configured master key: {master_key_id(key)}" in status
    assert not (server.data_dir / "master.key").exists()  # the key is not beside the data
    server.env_extra["KYCVAULT_MASTER_KEY_COMMAND"] = f"{sys.executable} {script} fail"
    failed = server.cli("tenant", "list", check=False)
    assert failed.returncode == 1
    [line] = failed.stderr.strip().splitlines()
    assert line.startswith("error: the command ") and "permission denied" in line
