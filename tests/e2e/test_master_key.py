"""The master key as an operator handles it: a key file others can read is refused; a key
given in the environment leaves every process's environment once read (API workers of
``serve --workers 2`` and ``kycvault worker`` included) yet reaches every API process; no
process can dump core; only the embedded default makes its own key (``kycvault init-key``
elsewhere); a vault is never started on a key that is not its own.

The environment test runs real ``kycvault`` processes (what /proc shows of a process is what
is checked there); the others fork their commands from a process that imported them
already (``tests/zygote.py``): what they check happens after the command line is read."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import backends
from tests.backends import Backend
from tests.helpers import Server

VARIABLE = b"KYCVAULT_MASTER_KEY"


def _new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _refusal(done: subprocess.CompletedProcess[str]) -> str:
    """The one-line error of a command that refused."""
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # one line, no traceback
    assert lines[0].startswith("error: ")
    return lines[0]


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            listed = children.read_text().split()
        except FileNotFoundError:
            continue
        for child in listed:
            found += [int(child), *_descendants(int(child))]
    return found


def _api_workers(pid: int) -> list[int]:
    found = []
    for child in _descendants(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except FileNotFoundError:
            continue
    return found


def _core_limit(pid: int) -> tuple[str, str]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max core file size"):
            soft, hard = line.split()[4:6]
            return soft, hard
    raise KeyError("Max core file size")


def _scrubbed(pid: int) -> bool:
    """Whether the ``kycvault`` process ``pid`` has run and taken the variable out."""
    command = Path(f"/proc/{pid}/cmdline").read_bytes()
    return b"kycvault" in command and VARIABLE not in Path(f"/proc/{pid}/environ").read_bytes()


def _assert_no_key_and_no_core(pid: int, key: str) -> None:
    environ = Path(f"/proc/{pid}/environ").read_bytes()
    if VARIABLE in environ:  # which process, and whose child, for the report
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        stat = Path(f"/proc/{pid}/stat").read_text()
        parent = stat[stat.rindex(")") + 2 :].split()[1]
        raise AssertionError(
            f"process {pid} (parent {parent}) has the master key variable: {command[:300]!r}"
        )
    assert key.encode() not in environ
    assert _core_limit(pid) == ("0", "0"), f"process {pid} may dump core"


def test_a_key_file_open_to_others_is_refused(tmp_path: Path) -> None:
    server = Server(tmp_path)
    server.cli("migrate")
    key_file = server.data_dir / "master.key"
    key_file.chmod(0o644)
    line = _refusal(server.cli("serve", "--port", str(server.port), check=False))
    assert str(key_file) in line and f"chmod 600 {key_file}" in line
    assert _refusal(server.cli("tenant", "list", check=False)) == line
    key_file.chmod(0o600)
    assert server.cli("tenant", "list").returncode == 0


@pytest.mark.slow
def test_the_key_leaves_every_environment_and_reaches_every_api_worker(tmp_path: Path) -> None:
    key = _new_key()
    server = Server(
        tmp_path / "api",
        env_extra={"KYCVAULT_MASTER_KEY": key, "KYCVAULT_IN_PROCESS_WORKER": "false"},
        serve_args=("--workers", "2"),
        exec=True,
    ).start()
    worker = None
    try:
        tenant = server.create_tenant()
        # The API processes build their vault on the handed-over key, or they would not
        # start (the vault's tenants are under it); every request reads or writes with it.
        with server.client(tenant["api_key"]) as client:
            for n in range(12):
                made = client.post(
                    "/v1/documents",
                    data={"type": "bank_statement"},
                    files={"file": (f"s{n}.txt", f"statement {n}\n".encode() * 40, "text/plain")},
                )
                assert made.status_code == 201, made.text
                stored = made.json()["files"][0]
                got = client.get(f"/v1/documents/{made.json()['id']}/files/{stored['id']}/content")
                assert got.status_code == 200 and got.content.startswith(b"statement")
        assert not (server.data_dir / "master.key").exists()  # given, so never written

        worker = subprocess.Popen(
            [sys.executable, "-m", "kycvault", "worker"],
            env=server.env(),
            cwd=server.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Until it has read its settings. Between the fork and the exec /proc shows this
        # process's own environment (without the variable): wait for the command first.
        deadline = time.monotonic() + 60
        while not _scrubbed(worker.pid):
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(1)
        assert worker.poll() is None  # it runs, on the key it took

        # uvicorn replaces a worker that answers its health check late (a loaded machine):
        # look until both are up, and skip processes that end while being looked at.
        deadline = time.monotonic() + 60
        while len(_api_workers(server.pid)) != 2:
            assert time.monotonic() < deadline, "uvicorn did not keep two workers up"
            time.sleep(0.5)
        for pid in [server.pid, *_descendants(server.pid), worker.pid]:
            try:
                _assert_no_key_and_no_core(pid, key)
            except FileNotFoundError:
                continue  # it ended meanwhile
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        server.stop()


def test_the_scaled_shape_never_makes_a_key_by_itself(tmp_path: Path) -> None:
    backends.require(backends.SCALED)
    store = Backend.create(backends.SCALED)
    store.env.pop("KYCVAULT_MASTER_KEY")
    server = Server(tmp_path, backend=store)
    try:
        line = _refusal(server.cli("serve", "--port", str(server.port), check=False))
        assert "kycvault init-key" in line
        assert _refusal(server.cli("migrate", check=False)) == line
        assert not (server.data_dir / "master.key").exists()

        made = server.cli("init-key")
        key_file = server.data_dir / "master.key"
        assert f"created {key_file}" in made.stdout
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        assert "never replaced" in _refusal(server.cli("init-key", check=False))

        # No schema yet: commands other than serve, migrate, tenant create and import
        # refuse, naming the database.
        no_vault = _refusal(server.cli("tenant", "list", check=False))
        assert "no vault" in no_vault and "kycvault migrate" in no_vault
        created = server.cli("tenant", "create", "Acme")
        assert "api_key" in created.stdout

        elsewhere = tmp_path / "keys" / "other.key"
        assert (
            "KYCVAULT_MASTER_KEY_FILE=" in server.cli("init-key", "--file", str(elsewhere)).stdout
        )
        server.env_extra["KYCVAULT_MASTER_KEY_FILE"] = str(elsewhere)
        wrong = _refusal(server.cli("tenant", "list", check=False))
        assert f"from {elsewhere}" in wrong and "is not this vault's" in wrong
    finally:
        store.drop()


def test_the_embedded_default_makes_its_key_with_a_new_vault_only(tmp_path: Path) -> None:
    server = Server(tmp_path)
    server.cli("tenant", "create", "Acme")
    key_file = server.data_dir / "master.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    key_file.unlink()
    # The vault's data is under the lost key: no new key is made, and the refusal says why.
    line = _refusal(server.cli("serve", "--port", str(server.port), check=False))
    assert str(key_file) in line and "is missing" in line
    assert not key_file.exists()


def test_commands_outside_a_vault_make_nothing(tmp_path: Path) -> None:
    server = Server(tmp_path)
    for command in (
        ("tenant", "list"),
        ("tenant", "update", "1", "--sila-app-handle", "app"),
        ("key", "create", "1"),
        ("key", "list", "1"),
        ("key", "revoke", "kvk_0000000000000000"),
        ("worker", "--once"),
        ("export", str(tmp_path / "export")),
    ):
        line = _refusal(server.cli(*command, check=False))
        assert f"no vault in the data directory {server.data_dir}" in line, command
    assert not server.data_dir.exists()
    assert not (tmp_path / "export").exists()


def test_a_failed_import_leaves_no_key_and_a_wrong_key_is_refused(tmp_path: Path) -> None:
    source = Server(tmp_path / "source")
    tenant = source.cli("tenant", "create", "Acme").stdout
    export = tmp_path / "export"
    exported = source.cli("export", str(export)).stdout
    assert "holds no master key" in exported
    source_key = (source.data_dir / "master.key").read_text().strip()

    target = Server(tmp_path / "target")
    key_file = target.data_dir / "master.key"
    line = _refusal(target.cli("import", str(export), check=False))
    assert "KYCVAULT_MASTER_KEY" in line and str(key_file) in line
    assert not key_file.exists()

    target.env_extra["KYCVAULT_MASTER_KEY"] = _new_key()  # another vault's key
    assert "master_key_mismatch" in _refusal(target.cli("import", str(export), check=False))
    assert not key_file.exists()

    target.env_extra["KYCVAULT_MASTER_KEY"] = source_key
    assert "imported" in target.cli("import", str(export)).stdout
    assert not key_file.exists()  # the key was given: it stays where it was given

    # Without it, the server does not start on a new key (every API key would get 401)...
    del target.env_extra["KYCVAULT_MASTER_KEY"]
    port = str(target.port)
    assert "is missing" in _refusal(target.cli("serve", "--port", port, check=False))
    assert not key_file.exists()
    # ... nor on another vault's key file, and says whose key the vault needs.
    target.cli("init-key")
    wrong = _refusal(target.cli("serve", "--port", port, check=False))
    assert "is not this vault's" in wrong and str(key_file) in wrong
    key_file.unlink()
    key_file.write_text(source_key + "\n")
    key_file.chmod(0o600)
    assert "Acme" in target.cli("tenant", "list").stdout
    assert tenant  # created before the export, found after the import


def test_the_database_files_and_data_dir_are_private(tmp_path: Path) -> None:
    server = Server(tmp_path)
    server.data_dir.mkdir(mode=0o755)
    server.data_dir.chmod(0o755)
    files = [server.data_dir / f"kycvault.db{suffix}" for suffix in ("", "-wal", "-shm")]

    def modes() -> list[str]:
        return [oct(path.stat().st_mode & 0o777) for path in (server.data_dir, *files)]

    server.start()
    try:
        assert modes() == ["0o700", "0o600", "0o600", "0o600"]
    finally:
        server.stop()
    # A vault made before: its files and directory open to others are made private.
    server.data_dir.chmod(0o755)
    files[0].chmod(0o644)
    server.start()
    try:
        assert modes() == ["0o700", "0o600", "0o600", "0o600"]
    finally:
        server.stop()
