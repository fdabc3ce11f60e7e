"""The process that reads untrusted files holds no secret and reaches nothing it does not
need: started by the reader's launcher (``sandbox.spawn``) with the secrets of a real
deployment in the worker's environment, a probe confined exactly like ``child.py`` reports
what it sees; the real reader runs a stand-in Tesseract that reports the same from inside.

As root (these tests' machine) the reader drops to ``nobody``; Landlock and seccomp are tried
on their own where the kernel has them."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from kycvault.adapters.reading import sandbox, tesseract
from kycvault.adapters.reading.reader import SubprocessReader
from kycvault.bootstrap import StartupRefused, build_reader, private_paths
from kycvault.config import Settings
from kycvault.ports.reading import ReadingFailed
from tests.samples import text_pdf

SECRETS = {
    "KYCVAULT_MASTER_KEY": "bWFzdGVyLWtleS1ub2JvZHktbXVzdC1zZWUtdGhpcyE=",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-nobody-must-see",
    "AWS_ACCESS_KEY_ID": "AKIANOBODYMUSTSEE",
    "KYCVAULT_DATABASE_URL": "postgresql+psycopg://vault:db-password-nobody-must-see@db/vault",
    "DATABASE_URL": "postgresql://vault:db-password-nobody-must-see@db/vault",
}
ROOT = os.geteuid() == 0
LANDLOCK = sandbox.landlock_abi()
SECCOMP = sandbox.seccomp_available()


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return SECRETS


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory any user may enter (pytest's own are root's alone), as a real data
    directory's parent or a Tesseract's home would be."""
    path = Path(tempfile.mkdtemp(prefix="kv-sandbox-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def data_dir(shared_dir: Path) -> Path:
    """A data directory as the server makes it: 0700, with a 0600 master key."""
    data = shared_dir / "kycvault-data"
    data.mkdir(mode=0o700)
    key = data / "master.key"
    key.write_text(SECRETS["KYCVAULT_MASTER_KEY"])
    key.chmod(0o600)
    return data


def probe(confinement: sandbox.Confinement, **asks: Any) -> dict[str, Any]:
    process = sandbox.spawn("tests.reader_probe", confinement, stderr=None)
    out, _ = process.communicate(json.dumps(asks).encode(), timeout=60)
    assert process.returncode == 0, out
    report: dict[str, Any] = json.loads(out)
    return report


def leaked(environ: dict[str, str]) -> list[str]:
    """Variables that name or carry a secret."""
    return [
        name
        for name, value in environ.items()
        if name.startswith(("KYCVAULT_", "AWS_"))
        or "DATABASE" in name
        or any(secret in value for secret in SECRETS.values())
    ]


@pytest.fixture
def listener() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


# What the worker hands over


def test_the_reader_sees_no_secret_of_the_worker(secrets: dict[str, str]) -> None:
    report = probe(sandbox.plan())
    assert leaked(report["environ"]) == []
    assert report["environ"]["OMP_THREAD_LIMIT"] == "1"
    set_here = {"OMP_THREAD_LIMIT", "OPENBLAS_NUM_THREADS", "PYTHONPATH"}
    assert set(report["environ"]) <= {*sandbox.PASSED_VARIABLES, *set_here}


def test_tesseract_is_given_no_secret_either(secrets: dict[str, str], shared_dir: Path) -> None:
    # Tesseract is started from the reader, whose environment is already clean; it is given
    # the allow-list even where its caller's environment is not.
    printer = shared_dir / "env-tesseract"
    printer.write_text("#!/bin/sh\nenv\n")
    printer.chmod(0o755)
    seen = tesseract._run(b"", [], binary=str(printer), timeout=30)
    environ = dict(line.split("=", 1) for line in seen.splitlines() if "=" in line)
    assert leaked(environ) == []
    assert environ["OMP_THREAD_LIMIT"] == "1"


def test_the_real_reader_and_its_tesseract_see_no_secret_and_no_key(
    secrets: dict[str, str], shared_dir: Path, data_dir: Path
) -> None:
    """The whole path, as processing runs it: the reader's child starts the configured
    Tesseract, which here reports its environment, its user and whether it can read the key
    file; Tesseract's last line of error output comes back as the read's failure reason."""
    key = data_dir / "master.key"
    spy = shared_dir / "tesseract"
    spy.write_text(
        "#!/bin/sh\n"
        "leaks=$(env | grep -cE 'KYCVAULT_|AWS_|DATABASE|nobody-must-see')\n"
        f"if cat {key} >/dev/null 2>&1; then k=read; else k=denied; fi\n"
        'echo "leaks=$leaks uid=$(id -u) key=$k" >&2\n'
        "exit 3\n"
    )
    spy.chmod(0o755)
    confinement = sandbox.plan(private=[data_dir], tesseract_binary=str(spy))
    reader = SubprocessReader(timeout=60, tesseract_binary=str(spy), confinement=confinement)
    scanned = text_pdf([""])  # no text layer: OCR is tried
    with pytest.raises(ReadingFailed) as failed:
        reader.read(scanned, "application/pdf", ocr=True, today=date(2026, 5, 1))
    seen = dict(part.split("=") for part in str(failed.value).split(": ", 1)[1].split())
    assert seen["leaks"] == "0"
    assert seen["key"] == "denied"
    if ROOT:
        assert seen["uid"] == str(confinement.uid) != "0"


def test_the_reader_holds_only_its_pipes(tmp_path: Path) -> None:
    # Descriptors the worker holds, inheritable ones included, stay with the worker.
    held = [os.open(tmp_path / f"held-{n}", os.O_CREAT | os.O_RDWR) for n in range(3)]
    for fd in held:
        os.set_inheritable(fd, True)
    try:
        report = probe(sandbox.plan())
    finally:
        for fd in held:
            os.close(fd)
    assert report["descriptors"] == [0, 1, 2]


def test_the_reader_cannot_dump_core_or_be_attached_to() -> None:
    report = probe(sandbox.plan())
    assert report["core_limit"] == [0, 0]
    assert report["dumpable"] == 0


# What it can reach


@pytest.mark.skipif(not ROOT, reason="a server that is not root cannot change the user")
def test_as_root_the_reader_runs_as_nobody_and_cannot_open_the_key(data_dir: Path) -> None:
    key = str(data_dir / "master.key")
    alone = sandbox.without(sandbox.plan(private=[data_dir]), "landlock", "seccomp")
    report = probe(alone, open=[key])
    assert (report["uid"], report["euid"]) == (alone.uid, alone.uid) != (0, 0)
    assert alone.user == "nobody"
    assert report["groups"] in ([], [alone.gid])
    assert report["opened"][key] == "EACCES"
    # What the key file's permissions alone would not stop: root, unconfined, reads it.
    assert probe(sandbox.without(alone, "user"), open=[key])["opened"][key] == "ok"


@pytest.mark.skipif(LANDLOCK < 1, reason="this kernel has no Landlock")
def test_landlock_alone_keeps_the_key_away_even_from_root(data_dir: Path) -> None:
    key = str(data_dir / "master.key")
    neighbour = data_dir.parent / "readable.txt"
    neighbour.write_text("fine")
    neighbour.chmod(0o644)
    planned = sandbox.plan(private=[data_dir])
    # The data directory lies inside a directory the reader may read: it is cut out of it.
    allowed = sandbox.narrowed([str(data_dir.parent)], [data_dir])
    assert str(neighbour) in allowed and not any(str(data_dir) in p for p in allowed)
    landlock_only = sandbox.without(planned, "user", "seccomp")
    confinement = replace(landlock_only, read=landlock_only.read + tuple(allowed))
    report = probe(confinement, open=[key, str(neighbour), "/etc/passwd"])
    assert report["opened"] == {key: "EACCES", str(neighbour): "ok", "/etc/passwd": "EACCES"}


@pytest.mark.skipif(LANDLOCK < 4, reason="network rules need Landlock ABI 4")
def test_landlock_alone_refuses_tcp_connections(listener: int) -> None:
    landlock_only = sandbox.without(sandbox.plan(), "user", "seccomp")
    assert probe(landlock_only, connect=listener)["connect"] == "EACCES"


@pytest.mark.skipif(not SECCOMP, reason="no seccomp filter here (libseccomp2)")
def test_seccomp_alone_refuses_making_any_socket(listener: int) -> None:
    seccomp_only = sandbox.without(sandbox.plan(), "user", "landlock")
    assert probe(seccomp_only, connect=listener)["connect"] == "EPERM"


def test_unconfined_the_probe_does_reach_the_network(listener: int) -> None:
    # The probe's own check: with every layer off the same connection is made.
    bare = sandbox.without(sandbox.plan(), "user", "landlock", "seccomp")
    assert probe(bare, connect=listener)["connect"] == "ok"


# Settings


def test_the_private_paths_cover_data_key_database_and_blobs(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        master_key_file=tmp_path / "keys" / "master.key",
        previous_master_key_files=(tmp_path / "keys" / "old.key",),
        storage_url=f"file://{tmp_path / 'blobs'}",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'db' / 'vault.db'}",
    )
    private = set(private_paths(settings))
    assert {
        (tmp_path / "data").resolve(),
        (tmp_path / "keys" / "master.key").resolve(),
        (tmp_path / "keys" / "old.key").resolve(),
        (tmp_path / "blobs").resolve(),
        (tmp_path / "db" / "vault.db").resolve(),
        (tmp_path / "db" / "vault.db-wal").resolve(),
    } <= private


def test_an_unknown_reader_user_refuses_to_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, reader_user="no-such-user-here")
    with pytest.raises(StartupRefused, match="no user 'no-such-user-here'"):
        build_reader(settings)


@pytest.mark.skipif(not ROOT, reason="the default user is chosen when the server is root")
def test_as_root_the_default_reader_user_is_nobody_and_another_can_be_named(
    tmp_path: Path,
) -> None:
    assert build_reader(Settings(data_dir=tmp_path)).confinement.user == "nobody"
    named = build_reader(Settings(data_dir=tmp_path, reader_user="daemon")).confinement
    assert (named.user, named.uid) == ("daemon", 1)
    assert build_reader(Settings(data_dir=tmp_path, reader_user="root")).confinement.uid is None
    bare = build_reader(Settings(data_dir=tmp_path, reader_user="54321")).confinement
    assert (bare.uid, bare.gid) == (54321, 54321)
