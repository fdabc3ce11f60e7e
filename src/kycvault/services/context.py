"""What every use case receives: the ports it may use (``AppContext``) and who is calling
(``Actor``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from kycvault.domain.catalog import BUILTIN_CATALOG, Catalog
from kycvault.domain.models import ApiKey
from kycvault.domain.scopes import FULL_ACCESS, grants
from kycvault.domain.webhooks import DEFAULT_SCHEDULE, parse_schedule
from kycvault.ports.cipher import Cipher
from kycvault.ports.persistence.store import Store
from kycvault.ports.reading import DocumentReader
from kycvault.ports.scanning import MalwareScanner
from kycvault.ports.signatures import SignatureVerifier
from kycvault.ports.sniffing import Sniffer
from kycvault.ports.storage import BlobStore
from kycvault.ports.webhooks import WebhookSender
from kycvault.services.keyring import TenantKeyring
from kycvault.services.remembered import Remembered
from kycvault.services.subject_keys import SubjectKeyring


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Limits:
    max_file_size: int
    max_files_per_request: int
    max_files_per_document: int
    download_link_ttl: timedelta = timedelta(minutes=15)
    idempotency_ttl: timedelta = timedelta(hours=24)
    idempotency_lease: timedelta = timedelta(minutes=15)
    # Files larger than this are not read by processing (their stages fail with a reason).
    max_read_size: int = 64 * 1024 * 1024
    # How far a signed request's own timestamp may be from now (Sila's ``header.created``);
    # each one is accepted once, its use kept this long (services/sila_auth.py).
    signed_request_window: timedelta = timedelta(minutes=5)
    # Failed authentications per client address and per key id in one window before
    # failing requests get 429 (see ``services/auth_limits.py``).
    auth_failure_limit: int = 20
    auth_failure_window: timedelta = timedelta(minutes=1)
    # Events (``services/events.py``) are kept this long, then removed by housekeeping.
    event_retention: timedelta = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class JobSettings:
    """How workers hold and retry jobs (see ``services/workers.py``, ``services/job_queue.py``)."""

    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 5
    batch: int = 4
    idle_poll_seconds: float = 0.5
    # The scrub re-reads each stored file once per cycle (None: never), at this pace.
    scrub_cycle: timedelta | None = None
    scrub_bytes_per_second: int = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """How webhooks are delivered (see ``services/webhook_delivery.py``)."""

    # The delays before each retry of a failed delivery.
    schedule: tuple[timedelta, ...] = parse_schedule(DEFAULT_SCHEDULE)
    # Receivers at private, loopback or link-local addresses (on-premise ones, tests).
    allow_private: bool = False
    # Hosts a receiver URL may name with plain http.
    allowed_http_hosts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    """The review console's login sessions (see ``services/console_sessions.py``)."""

    idle_timeout: timedelta = timedelta(minutes=30)
    absolute_timeout: timedelta = timedelta(hours=12)
    # A session's last_seen_at is written at most this often (not on every page view).
    touch_interval: timedelta = timedelta(minutes=1)
    login_failure_limit: int = 10
    login_failure_window: timedelta = timedelta(minutes=15)
    # Argon2id's memory (KiB) and passes for console passwords (``services/passwords.py``).
    password_memory_kib: int = 65536
    password_passes: int = 3


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated caller: a tenant, acting through one API key, with that key's
    ``scopes``, from a client address when it came over HTTP. The vault's own actors
    (workers, a redeemed download link, a Sila app's signature, the command line) act with
    full access; an API key's actor always carries the key's scopes
    (``tenants.authenticate``)."""

    tenant_id: UUID
    key_id: str
    request_id: str | None = None
    scopes: frozenset[str] = FULL_ACCESS
    client_address: str | None = None

    def allows(self, scope: str) -> bool:
        """Whether the caller holds ``scope`` (``admin`` holds every one)."""
        return grants(self.scopes, scope)


@dataclass(frozen=True, slots=True)
class AppContext:
    store: Store
    blobs: BlobStore
    cipher: Cipher
    sniffer: Sniffer
    keyring: TenantKeyring
    subject_keys: SubjectKeyring
    limits: Limits
    signatures: SignatureVerifier
    catalog: Catalog = BUILTIN_CATALOG
    jobs: JobSettings = field(default_factory=JobSettings)
    reader: DocumentReader | None = None
    # Every upload streams through it when set (``KYCVAULT_CLAMAV_URL``).
    scanner: MalwareScanner | None = None
    clock: Callable[[], datetime] = field(default=utcnow)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    # Posts webhook deliveries (None: deliveries wait in the queue).
    webhook_sender: WebhookSender | None = None
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    # API keys (by key id: the key and its secret's hash) and tenants' document types this
    # process remembers (services/remembered.py; nothing without shared change counts).
    keys: Remembered[str, tuple[ApiKey, bytes]] = field(
        default_factory=lambda: Remembered("keys", None)
    )
    catalogs: Remembered[UUID, Catalog] = field(
        default_factory=lambda: Remembered("document_types", None)
    )
