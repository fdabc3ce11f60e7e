"""Wiring: settings in, a ``Container`` of adapters behind the ports out (nothing is read from
or written to the vault here; ``schema.py`` opens it)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import structlog

from kycvault import crashpoints
from kycvault.adapters.blobstore_local import LocalBlobStore
from kycvault.adapters.change_counts import FileChangeCounts
from kycvault.adapters.clamav import ClamdScanner
from kycvault.adapters.crypto import AesGcmCipher, master_key_id
from kycvault.adapters.db.field_codec import FieldCodec
from kycvault.adapters.db.keystore import SqlSubjectKeyStore
from kycvault.adapters.db.sqlite import sqlite_file
from kycvault.adapters.db.store import SqlStore, create_database
from kycvault.adapters.key_files import new_master_key, write_master_key_file
from kycvault.adapters.master_keys import configured_provider, previous_providers
from kycvault.adapters.reading import sandbox
from kycvault.adapters.reading.reader import SubprocessReader
from kycvault.adapters.signatures import Secp256k1Verifier
from kycvault.adapters.sniffing import FiletypeSniffer
from kycvault.adapters.webhook_sender import TIMEOUT_SECONDS as SEND_TIMEOUT_SECONDS
from kycvault.adapters.webhook_sender import HttpWebhookSender
from kycvault.config import Settings
from kycvault.domain.webhooks import parse_schedule
from kycvault.ports.master_key import MasterKeyUnavailable
from kycvault.ports.scanning import MalwareScanner
from kycvault.ports.storage import BlobStore
from kycvault.services.context import (
    AppContext,
    ConsoleSettings,
    JobSettings,
    Limits,
    WebhookSettings,
)
from kycvault.services.keyring import TenantKeyring
from kycvault.services.remembered import Remembered
from kycvault.services.subject_keys import SubjectKeyring
from kycvault.services.sweep import Grace

log = structlog.get_logger("kycvault.bootstrap")


class StartupRefused(RuntimeError):
    """The vault will not start on this configuration; the message says what to change."""


class SchemaNotCurrent(StartupRefused):
    pass


class NoVault(StartupRefused):
    """A command that only works on an existing vault found none where it looked."""


@dataclass(frozen=True)
class MasterKey:
    key: bytes
    # Where the key came from, for messages: the variable's name or the file's path.
    source: str
    # A key made for a new vault, written to this file once the vault is ready.
    new_file: Path | None = None
    # Other master keys accepted for unwrapping (during a rotation).
    previous: tuple[bytes, ...] = ()

    @property
    def id(self) -> str:
        return master_key_id(self.key)


@dataclass
class Container:
    settings: Settings
    store: SqlStore
    ctx: AppContext
    master_key: MasterKey | None = None
    # What confines the process that reads files (logged at start; see adapters/reading).
    reader_sandbox: dict[str, object] = field(default_factory=dict)

    async def close(self) -> None:
        await self.store.dispose()
        await self.ctx.subject_keys.store.close()
        sender = self.ctx.webhook_sender
        if isinstance(sender, HttpWebhookSender):
            await sender.close()


def build_blob_store(url: str, scratch: Path) -> BlobStore:
    """The blob store a storage URL names; ``scratch`` is local space for upload spools."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalBlobStore(Path(parsed.path))
    if parsed.scheme == "s3":
        from kycvault.adapters.blobstore_s3 import S3BlobStore

        return S3BlobStore(url, spool=scratch / "spool")
    raise ValueError(f"unsupported storage URL scheme {parsed.scheme!r} (use file:// or s3://)")


def sweep_grace(settings: Settings) -> Grace:
    return Grace(
        orphan_seconds=settings.orphan_grace_seconds,
        staging_seconds=settings.staging_grace_seconds,
    )


def private_paths(settings: Settings) -> list[Path]:
    """What the reading process must never reach: the data directory, the key files, a SQLite
    database or blob directory kept elsewhere, and the ``.env`` file settings may come from."""
    paths = [settings.data_dir, settings.resolved_master_key_file, Path(".env")]
    paths += settings.previous_master_key_files  # the old key during a rotation
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


def build_scanner(settings: Settings) -> MalwareScanner | None:
    """clamd when ``KYCVAULT_CLAMAV_URL`` names it; otherwise uploads are not scanned."""
    if not settings.clamav_url:
        return None
    try:
        return ClamdScanner(settings.clamav_url, timeout=settings.clamav_timeout_seconds)
    except ValueError as exc:
        raise StartupRefused(f"KYCVAULT_CLAMAV_URL: {exc}") from None


def vault_place(settings: Settings) -> str:
    return f"the data directory {settings.data_dir.resolve()}"


def resolve_master_key(settings: Settings, *, may_create: bool) -> MasterKey:
    """The configured master key, from the provider ``KYCVAULT_MASTER_KEY_PROVIDER`` names
    (by default ``KYCVAULT_MASTER_KEY``, else the key file), and the previous keys accepted
    during a rotation. A missing file becomes a new key (written later, by
    ``prepare_schema``) only where ``may_create`` and the shape generates keys (the embedded
    default); otherwise the refusal says what to do."""
    key_file = settings.resolved_master_key_file
    timeout = settings.master_key_command_timeout_seconds
    try:
        previous = tuple(
            p.load()
            for p in previous_providers(
                settings.previous_master_key_files,
                settings.previous_master_key_command,
                timeout=timeout,
            )
        )
        provider = configured_provider(
            settings.master_key_provider,
            given=settings.master_key.get_secret_value() if settings.master_key else "",
            key_file=key_file,
            command=settings.master_key_command,
            timeout=timeout,
        )
        if provider is not None:
            return MasterKey(provider.load(), provider.source, previous=previous)
    except MasterKeyUnavailable as exc:
        raise StartupRefused(str(exc)) from None
    if may_create and settings.generates_key:
        return MasterKey(new_master_key(), str(key_file), new_file=key_file)
    if settings.is_embedded:
        raise StartupRefused(
            f"no master key: {key_file} does not exist and KYCVAULT_MASTER_KEY is not set "
            "(restore the vault's key file, or give its key in KYCVAULT_MASTER_KEY)"
        )
    raise StartupRefused(
        f"no master key: set KYCVAULT_MASTER_KEY, or run `kycvault init-key` to create "
        f"{key_file} (keys are generated on purpose outside the embedded default)"
    )


def create_master_key_file(path: Path) -> str:
    """A new master key in a new file (0600; never over an existing one, which raises
    ``FileExistsError``); returns the key's public id."""
    key = new_master_key()
    write_master_key_file(path, key)
    return master_key_id(key)


def _private_data_dir(path: Path) -> None:
    """The data directory, made or brought to 0700: it holds the database and key file."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & stat.S_ISVTX:
        raise StartupRefused(
            f"the data directory {path.resolve()} is a shared directory (sticky bit): "
            "give kycvault a directory of its own (KYCVAULT_DATA_DIR)"
        )
    if mode & 0o077:
        try:
            os.chmod(path, 0o700)
        except OSError as exc:
            raise StartupRefused(
                f"the data directory {path.resolve()} is open to other users (mode "
                f"{mode:04o}) and cannot be made private ({exc.strerror}): `chmod 700` it"
            ) from None
        log.warning("data_dir_made_private", path=str(path.resolve()), was=f"{mode:04o}")


def build_container(
    settings: Settings, *, create_vault: bool = True, create_key: bool = True
) -> Container:
    """Wire everything for ``settings``. Without ``create_vault`` an embedded vault must
    exist already (nothing is created); without ``create_key`` no master key is made."""
    crashpoints.arm(settings.crashpoint)
    database = sqlite_file(settings.resolved_database_url)
    if not create_vault and database is not None and not database.exists():
        raise NoVault(
            f"no vault in {vault_place(settings)} ({database.name} is not there): run this in "
            "the vault's directory or set KYCVAULT_DATA_DIR; only serve, migrate, tenant "
            "create and import make a new vault"
        )
    reader = build_reader(settings)  # first: a reader user that cannot be had stops start-up
    master = resolve_master_key(settings, may_create=create_vault and create_key)
    _private_data_dir(settings.data_dir)
    cipher = AesGcmCipher(master.key, previous=master.previous)
    # A delivery is leased for the job lease: its request must end well within it, or a
    # second worker could take the delivery over while the first is still sending.
    sender = HttpWebhookSender(timeout=min(SEND_TIMEOUT_SECONDS, settings.job_lease_seconds / 2))
    store = SqlStore(
        create_database(settings.resolved_database_url, sqlite_pool_size=settings.sqlite_pool_size),
        FieldCodec(cipher, current_for=settings.key_cache_seconds),
    )
    keyring = TenantKeyring(store, cipher, current_for=settings.key_cache_seconds)
    keystore = SqlSubjectKeyStore.open(settings.resolved_keystore_url)
    # Shared by every process of an embedded vault; the scaled-out shape remembers nothing.
    counts = FileChangeCounts(Path(f"{database}.changes")) if database else None
    ctx = AppContext(
        store=store,
        blobs=build_blob_store(settings.resolved_storage_url, settings.data_dir),
        cipher=cipher,
        sniffer=FiletypeSniffer(),
        keyring=keyring,
        subject_keys=SubjectKeyring(keystore, keyring, cipher, keep_for=settings.key_cache_seconds),
        limits=Limits(
            max_file_size=settings.max_file_size,
            max_files_per_request=settings.max_files_per_request,
            max_files_per_document=settings.max_files_per_document,
            download_link_ttl=timedelta(seconds=settings.download_link_ttl_seconds),
            idempotency_ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
            idempotency_lease=timedelta(seconds=settings.idempotency_lease_seconds),
            signed_request_window=timedelta(seconds=settings.sila_replay_window_seconds),
            max_read_size=settings.max_read_size,
            auth_failure_limit=settings.auth_failure_limit,
            auth_failure_window=timedelta(seconds=settings.auth_failure_window_seconds),
            event_retention=timedelta(days=settings.event_retention_days),
        ),
        reader=reader,
        signatures=Secp256k1Verifier(),
        scanner=build_scanner(settings),
        webhooks=WebhookSettings(
            schedule=parse_schedule(settings.webhook_retry_schedule),
            allow_private=settings.webhook_allow_private,
            allowed_http_hosts=settings.webhook_allowed_http_hosts,
        ),
        webhook_sender=sender,
        keys=Remembered("keys", counts),
        catalogs=Remembered("document_types", counts),
        console=ConsoleSettings(
            idle_timeout=timedelta(minutes=settings.console_idle_minutes),
            absolute_timeout=timedelta(hours=settings.console_session_hours),
            login_failure_limit=settings.console_login_failure_limit,
            login_failure_window=timedelta(minutes=settings.console_login_failure_window_minutes),
            password_memory_kib=settings.console_password_memory_kib,
            password_passes=settings.console_password_passes,
        ),
        jobs=JobSettings(
            lease=timedelta(seconds=settings.job_lease_seconds),
            max_attempts=settings.job_max_attempts,
            idle_poll_seconds=settings.worker_poll_seconds,
            scrub_cycle=(
                timedelta(days=settings.scrub_cycle_days) if settings.scrub_cycle_days else None
            ),
            scrub_bytes_per_second=settings.scrub_bytes_per_second,
        ),
    )
    return Container(
        settings=settings,
        store=store,
        ctx=ctx,
        master_key=master,
        reader_sandbox=sandbox.describe(reader.confinement),
    )
