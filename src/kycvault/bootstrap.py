"""Composition root: settings in, a wired ``Container`` out. The only place that knows which
adapter implements which port."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import structlog

from kycvault.adapters.blobstore_local import LocalBlobStore
from kycvault.adapters.crypto import AesGcmCipher, load_master_key
from kycvault.adapters.db import migrate
from kycvault.adapters.db.store import SqlStore, create_database
from kycvault.adapters.reading import sandbox
from kycvault.adapters.reading.reader import SubprocessReader
from kycvault.adapters.signatures import Secp256k1Verifier
from kycvault.adapters.sniffing import FiletypeSniffer
from kycvault.config import Settings
from kycvault.ports import BlobStore
from kycvault.services.context import JobSettings, Limits, Vault
from kycvault.services.keyring import TenantKeyring

log = structlog.get_logger("kycvault.bootstrap")


class StartupRefused(RuntimeError):
    """The vault will not start on this configuration; the message says what to change."""


class SchemaNotCurrent(StartupRefused):
    pass


@dataclass
class Container:
    settings: Settings
    store: SqlStore
    vault: Vault
    # What confines the process that reads files (logged at start; see adapters/reading).
    reader_sandbox: dict[str, object] = field(default_factory=dict)

    async def close(self) -> None:
        await self.store.dispose()


def build_blob_store(url: str, scratch: Path) -> BlobStore:
    """The blob store a storage URL names; ``scratch`` is local space for upload spools."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalBlobStore(Path(parsed.path))
    if parsed.scheme == "s3":
        from kycvault.adapters.blobstore_s3 import S3BlobStore

        return S3BlobStore(url, spool=scratch / "spool")
    raise ValueError(f"unsupported storage URL scheme {parsed.scheme!r} (use file:// or s3://)")


def private_paths(settings: Settings) -> list[Path]:
    """What the reading process must never reach: the data directory, the key file, a SQLite
    database or blob directory kept elsewhere, and the ``.env`` file settings may come from."""
    paths = [settings.data_dir, settings.resolved_master_key_file, Path(".env")]
    storage = urlparse(settings.resolved_storage_url)
    if storage.scheme == "file":
        paths.append(Path(storage.path))
    database = settings.resolved_database_url
    if settings.is_sqlite and ":///" in database:
        file = Path(database.split(":///", 1)[1].split("?", 1)[0])
        paths += [file, file.with_name(file.name + "-wal"), file.with_name(file.name + "-shm")]
    return [path.resolve() for path in paths]


def build_reader(settings: Settings) -> SubprocessReader:
    try:
        confinement = sandbox.plan(
            user=settings.reader_user,
            private=private_paths(settings),
            tesseract_binary=settings.tesseract_binary,
        )
    except sandbox.SandboxError as exc:
        raise StartupRefused(str(exc)) from None
    if confinement.notes:
        log.warning("reader_sandbox", **sandbox.describe(confinement))
    else:
        log.info("reader_sandbox", **sandbox.describe(confinement))
    return SubprocessReader(
        timeout=settings.reader_timeout_seconds,
        memory_bytes=settings.reader_memory_mib * 1024 * 1024,
        tesseract_binary=settings.tesseract_binary,
        confinement=confinement,
    )


def build_container(settings: Settings) -> Container:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    reader = build_reader(settings)  # first: a reader user that cannot be had stops start-up
    key_file = settings.resolved_master_key_file
    secret = settings.master_key.get_secret_value() if settings.master_key else None
    master_key, created = load_master_key(
        value=secret, path=key_file, create=settings.allow_generated_key
    )
    if created:
        log.warning(
            "master_key_created",
            path=str(key_file),
            advice="this key decrypts every stored document: back it up, keep it apart from "
            "the data, and in production supply KYCVAULT_MASTER_KEY from a secret store",
        )
    cipher = AesGcmCipher(master_key)
    store = SqlStore(
        create_database(settings.resolved_database_url, sqlite_pool_size=settings.sqlite_pool_size)
    )
    vault = Vault(
        store=store,
        blobs=build_blob_store(settings.resolved_storage_url, settings.data_dir),
        cipher=cipher,
        sniffer=FiletypeSniffer(),
        keyring=TenantKeyring(store, cipher),
        limits=Limits(
            max_file_size=settings.max_file_size,
            max_files_per_request=settings.max_files_per_request,
            max_files_per_document=settings.max_files_per_document,
            download_link_ttl=timedelta(seconds=settings.download_link_ttl_seconds),
            idempotency_ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
            idempotency_lease=timedelta(seconds=settings.idempotency_lease_seconds),
            signed_request_window=timedelta(seconds=settings.sila_replay_window_seconds),
            max_read_size=settings.max_read_size,
        ),
        reader=reader,
        signatures=Secp256k1Verifier(),
        jobs=JobSettings(
            lease=timedelta(seconds=settings.job_lease_seconds),
            max_attempts=settings.job_max_attempts,
            idle_poll_seconds=settings.worker_poll_seconds,
        ),
    )
    return Container(
        settings=settings,
        store=store,
        vault=vault,
        reader_sandbox=sandbox.describe(reader.confinement),
    )


async def prepare_schema(container: Container, *, upgrade: bool) -> None:
    """Upgrade the schema to the newest migration, or check that it is there already; and
    refuse a database that does not keep what it acknowledges."""
    unsafe = await container.store.durability_problems()
    if unsafe:
        raise StartupRefused(
            "the database may lose acknowledged writes: "
            + "; ".join(unsafe)
            + " (documents are written once and must survive a crash)"
        )
    if upgrade:
        await migrate.upgrade(container.store.database)
        return
    current = await migrate.current_revision(container.store.database)
    if current != migrate.head_revision():
        raise SchemaNotCurrent(
            f"the database schema is at {current or 'nothing'}, not at the newest migration: "
            "run `kycvault migrate`"
        )
