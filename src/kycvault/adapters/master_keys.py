"""The master-key providers (``ports/master_key.py``): a key file, a key given in the
environment (taken out of it when settings are read: config.py), and a command.

The command is run without a shell (its line split as a POSIX shell would, ``shlex``), with
a timeout, and must print the base64 key on stdout; what it writes on stderr ends up in the
refusal when it fails. It inherits the environment (a secret store's CLI needs its own
credentials there); the master key variable itself has left it by then."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from kycvault.adapters.key_files import KeyFileRefused, decode_master_key, read_master_key_file
from kycvault.ports.master_key import MasterKeyProvider, MasterKeyUnavailable

MASTER_KEY_VARIABLE = "KYCVAULT_MASTER_KEY"

_STDERR_SHOWN = 500  # characters of a failed command's stderr quoted in the refusal
_STDOUT_MAX = 4096  # a base64 key is 44 characters; anything much longer is not a key


class FileKeyProvider:
    """A key file: base64 of 32 bytes, owned by this user (or root), mode 0600 or tighter."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.source = str(path)

    def load(self) -> bytes:
        try:
            return read_master_key_file(self.path)
        except KeyFileRefused as exc:
            raise MasterKeyUnavailable(str(exc)) from None
        except ValueError as exc:  # not base64, or not 32 bytes
            raise MasterKeyUnavailable(str(exc)) from None
        except OSError as exc:  # e.g. a directory where the file should be
            raise MasterKeyUnavailable(
                f"cannot read the master key file {self.path}: {exc.strerror}"
            ) from None


class GivenKeyProvider:
    """A key given as base64 text (the environment variable, held by the process)."""

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self.source = source

    def load(self) -> bytes:
        try:
            return decode_master_key(self._value, self.source)
        except ValueError as exc:
            raise MasterKeyUnavailable(str(exc)) from None


class CommandKeyProvider:
    """A command that prints the base64 key on stdout (``vault kv get -field=key …``, a KMS
    CLI decrypting a wrapped key); exit status 0 or the key is refused."""

    def __init__(self, command: str, *, timeout: float, setting: str) -> None:
        try:
            self._argv = shlex.split(command)
        except ValueError as exc:
            raise MasterKeyUnavailable(f"{setting} cannot be split into words: {exc}") from None
        if not self._argv:
            raise MasterKeyUnavailable(f"{setting} is empty")
        self._timeout = timeout
        # The program, not its arguments: those may carry a token.
        self.source = f"the command {self._argv[0]} ({setting})"

    def load(self) -> bytes:
        try:
            done = subprocess.run(
                self._argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self._timeout,
                check=False,
            )
        except FileNotFoundError:
            raise MasterKeyUnavailable(f"{self.source}: no such program") from None
        except PermissionError:
            raise MasterKeyUnavailable(f"{self.source}: not executable") from None
        except subprocess.TimeoutExpired:
            raise MasterKeyUnavailable(
                f"{self.source} did not finish within {self._timeout:g} s"
            ) from None
        if done.returncode != 0:
            raise MasterKeyUnavailable(
                f"{self.source} failed (exit status {done.returncode}): {_said(done.stderr)}"
            )
        if len(done.stdout) > _STDOUT_MAX:
            raise MasterKeyUnavailable(f"{self.source} printed more than a key")
        try:
            return decode_master_key(done.stdout.decode("ascii").strip(), self.source)
        except (UnicodeDecodeError, ValueError):
            raise MasterKeyUnavailable(
                f"{self.source} did not print a master key (base64 of 32 bytes) on stdout"
            ) from None


def _said(stderr: bytes) -> str:
    text = " ".join(stderr.decode(errors="replace").split())
    if not text:
        return "it wrote nothing on stderr"
    return text if len(text) <= _STDERR_SHOWN else text[:_STDERR_SHOWN] + "…"


def command_provider(command: str | None, *, timeout: float, setting: str) -> CommandKeyProvider:
    if not command:
        raise MasterKeyUnavailable(
            f"KYCVAULT_MASTER_KEY_PROVIDER is command, and {setting} is not set"
        )
    return CommandKeyProvider(command, timeout=timeout, setting=setting)


def configured_provider(
    kind: str, *, given: str, key_file: Path, command: str | None, timeout: float
) -> MasterKeyProvider | None:
    """The provider ``kind`` names (``auto``: the variable when it is set, else the file);
    None when that is the key file and there is none (a new vault's key may be made there)."""
    if kind == "command":
        if not command:
            raise MasterKeyUnavailable(
                "KYCVAULT_MASTER_KEY_PROVIDER is command, "
                "and KYCVAULT_MASTER_KEY_COMMAND is not set"
            )
        return CommandKeyProvider(command, timeout=timeout, setting="KYCVAULT_MASTER_KEY_COMMAND")
    if kind == "env" or (kind == "auto" and given):
        if not given:
            raise MasterKeyUnavailable(
                f"KYCVAULT_MASTER_KEY_PROVIDER is env, and {MASTER_KEY_VARIABLE} is not set"
            )
        return GivenKeyProvider(given, MASTER_KEY_VARIABLE)
    if key_file.exists() or key_file.is_symlink():
        return FileKeyProvider(key_file)
    return None


def previous_providers(
    files: tuple[Path, ...], command: str | None, *, timeout: float
) -> list[MasterKeyProvider]:
    """The other master keys accepted during a rotation."""
    providers: list[MasterKeyProvider] = [FileKeyProvider(path) for path in files]
    if command:
        setting = "KYCVAULT_PREVIOUS_MASTER_KEY_COMMAND"
        providers.append(CommandKeyProvider(command, timeout=timeout, setting=setting))
    return providers
