"""The one settings object. Every value comes from ``KYCVAULT_*`` environment variables (or a
``.env`` file), is validated at start-up, and is injected; no other module reads the
environment.

``KYCVAULT_MASTER_KEY`` is taken out of the environment the first time settings are read:
the process keeps the value (``process.held_master_key``) for its later settings, and
nothing it starts afterwards inherits it. ``kycvault serve`` hands the held key to its API
worker processes itself (handover.py)."""

from __future__ import annotations

import difflib
import importlib.util
import ipaddress
import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from kycvault.domain.webhooks import DEFAULT_SCHEDULE, parse_schedule
from kycvault.process import held_master_key, hold_master_key, take_from_environment

MiB = 1024 * 1024
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MASTER_KEY_VARIABLE = "KYCVAULT_MASTER_KEY"


class _HeldMasterKey(PydanticBaseSettingsSource):
    """Moves the master key variable out of the environment into the process, and serves
    it to every settings object read afterwards."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        taken = take_from_environment(MASTER_KEY_VARIABLE)
        if taken:
            hold_master_key(taken)
        held = held_master_key()
        return {"master_key": held} if held else {}


def tracing_packages_installed() -> bool:
    """Whether OpenTelemetry's SDK and OTLP/HTTP exporter are installed (asked only when
    tracing is: a process with tracing off loads none of them)."""
    try:
        modules = ("opentelemetry.sdk.trace", "opentelemetry.exporter.otlp.proto.http")
        return all(importlib.util.find_spec(name) is not None for name in modules)
    except ModuleNotFoundError:  # a parent package is missing
        return False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KYCVAULT_", env_file=".env", extra="ignore", frozen=True
    )

    # Where the embedded default keeps its SQLite file, blobs and key file.
    data_dir: Path = Path("kycvault-data")
    # SQLAlchemy URL; default: SQLite in the data dir.
    database_url: str | None = None
    # Blob store URL; default: file://<data dir>/blobs.
    storage_url: str | None = None
    # Base64 of 32 bytes. Without it the key is read from (or, embedded, created in) the file.
    master_key: SecretStr | None = None
    master_key_file: Path | None = None
    # Where the master key comes from: ``file`` (master_key_file), ``env``
    # (KYCVAULT_MASTER_KEY), ``command`` (master_key_command prints it), or ``auto``: the
    # variable when it is set, else the file.
    master_key_provider: Literal["auto", "file", "env", "command"] = "auto"
    # A command printing the base64 key on stdout (a secret store's or KMS's CLI), run
    # without a shell; a non-zero exit status or the timeout stops start-up.
    master_key_command: str | None = None
    master_key_command_timeout_seconds: float = Field(default=30, gt=0, le=600)
    # Other master keys accepted for unwrapping while a rotation is under way (files,
    # comma-separated; or a command): rows name the master key that wraps them.
    previous_master_key_files: Annotated[tuple[Path, ...], NoDecode] = ()
    previous_master_key_command: str | None = None
    # Create a key file when a new embedded vault (SQLite + local disk) is made. Other
    # shapes never get a generated key: ``kycvault init-key`` makes one on purpose.
    allow_generated_key: bool = True
    # SQLAlchemy URL of the subject-key store (crypto-shredding: README, "Compliance"). Default:
    # SQLite beside the master key file when the database is SQLite; else the database itself,
    # which start-up warns about (its backups would then hold the keys erasure destroys).
    keystore_url: str | None = None
    # How long a process goes on using the tenant key it last read as current; a key
    # rotation waits this long before re-wrapping (services/key_rotation.py).
    key_cache_seconds: float = Field(default=10.0, gt=0, le=3600)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # API processes of ``kycvault serve`` (``--workers``); default: one per usable CPU. One of
    # them, elected through a lock file in the data dir, runs the in-process job worker and
    # the periodic housekeeping (bootstrap/primary.py).
    workers: int | None = Field(default=None, ge=1, le=256)
    # Public URL used to build links (never taken from the request's Host header).
    public_url: str | None = None

    max_file_size: int = Field(default=128 * MiB, ge=1)
    max_files_per_request: int = Field(default=5, ge=1, le=100)
    max_files_per_document: int = Field(default=10, ge=1, le=1000)
    max_json_body: int = Field(default=1 * MiB, ge=1024)
    max_form_field_size: int = Field(default=64 * 1024, ge=1024)
    max_form_fields: int = Field(default=50, ge=1)
    # Upgrade the schema when the server starts (``kycvault serve`` does it once, before
    # starting its workers, and turns this off for them).
    migrate_on_start: bool = True
    # Single-use download links live this long.
    download_link_ttl_seconds: int = Field(default=15 * 60, ge=1, le=7 * 24 * 3600)
    # Idempotency keys are remembered this long. A running request renews its claim every
    # third of the lease; a claim not renewed for a whole lease belongs to a request that
    # died, and its key may be used again.
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    idempotency_lease_seconds: float = Field(default=60, ge=0.2)
    # Leftovers: a staging file is removed at once when the process that wrote it is gone,
    # otherwise after this long; a published blob that no row references after this long.
    staging_grace_seconds: float = Field(default=24 * 3600, ge=0)
    orphan_grace_seconds: float = Field(default=3600, ge=0)
    # How often each API process sweeps leftovers and purges expired links and keys.
    sweep_interval_seconds: float = Field(default=3600, gt=0)
    # The scrub: workers re-read every stored file in full once per cycle (0 turns it off),
    # at most this many bytes a second per worker.
    scrub_cycle_days: float = Field(default=30, ge=0)
    scrub_bytes_per_second: int = Field(default=16 * MiB, ge=64 * 1024)
    # A Sila-signed request whose header.created is further than this from the server's
    # clock is refused (replay window).
    sila_replay_window_seconds: int = Field(default=300, ge=1, le=24 * 3600)
    # Failed authentications allowed per client address and per key id in a window; past
    # that, failing requests get 429 until a window has passed (a valid key is always served).
    auth_failure_limit: int = Field(default=20, ge=1)
    auth_failure_window_seconds: int = Field(default=60, ge=1, le=24 * 3600)
    # The review console (/console): a login session ends after this long without a
    # request, and this long after the login whatever happens; failed logins allowed per
    # e-mail address and per client address in a window, after which logins of that address
    # are refused (429) until the window has passed.
    console_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    console_session_hours: int = Field(default=12, ge=1, le=24 * 30)
    console_login_failure_limit: int = Field(default=10, ge=1)
    console_login_failure_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # Argon2id's cost for console passwords: RFC 9106's second recommended option (64 MiB,
    # three passes) unless lowered, e.g. on a very small machine (every login pays it once).
    console_password_memory_kib: int = Field(default=65536, ge=64, le=4 * 1024 * 1024)
    console_password_passes: int = Field(default=3, ge=1, le=16)
    # Events of the event log (GET /v1/events) older than this are removed by housekeeping.
    event_retention_days: int = Field(default=30, ge=1, le=3650)
    # How often each API process and each ``kycvault worker`` scans for documents that
    # reached an expiry threshold (document.expiring / document.expired events).
    expiry_scan_seconds: float = Field(default=3600, gt=0)
    # How often each API process and each ``kycvault worker`` purges documents past their
    # retention period (services/retention_purge.py); 0 turns the purge off in that process.
    retention_scan_seconds: float = Field(default=3600, ge=0)
    # Webhooks: the delays before each retry of a failed delivery (s, m, h, d), whether
    # receivers may be at private/loopback/link-local addresses (on-premise receivers,
    # tests), and the hosts a receiver URL may name with plain http (comma-separated).
    webhook_retry_schedule: str = DEFAULT_SCHEDULE
    webhook_allow_private: bool = False
    webhook_allowed_http_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    # Reverse proxies whose X-Forwarded-For names the client (addresses or CIDRs, separated
    # by commas); without them the client is the socket's peer and the header is ignored.
    trusted_proxies: Annotated[tuple[IPNetwork, ...], NoDecode] = ()

    # Background jobs. The embedded shape runs a worker inside the server unless told not
    # to; the scaled-out shape runs ``kycvault worker`` processes instead (set true to have
    # the API processes work too).
    in_process_worker: bool | None = None
    job_lease_seconds: int = Field(default=300, ge=1)
    job_max_attempts: int = Field(default=5, ge=1, le=100)
    worker_poll_seconds: float = Field(default=0.5, gt=0, le=60)

    # Processing: each file is read in a child process with these limits; larger files
    # are not read. ``tesseract`` must be on PATH for OCR.
    reader_timeout_seconds: float = Field(default=60, gt=0, le=3600)
    reader_memory_mib: int = Field(default=1536, ge=256)
    max_read_size: int = Field(default=64 * MiB, ge=1)
    tesseract_binary: str = "tesseract"
    # The user the reading process drops to (name or uid). Default: ``nobody`` when the
    # server runs as root; an unprivileged server's reader stays its own user (it cannot
    # change user) and is held by Landlock and seccomp alone.
    reader_user: str | None = None

    # For crash tests only: named steps at which the process kills itself (crashpoints.py).
    crashpoint: str = ""

    # Malware scanning: clamd at tcp://host:port or unix:///path. Unset: nothing is scanned.
    # The timeout bounds connecting, each send and the wait for the verdict; it is longer than
    # clamd's own MaxScanTime (120 s by default), so that a slow scan comes back from clamd as
    # an exceeded limit rather than being cut off here.
    clamav_url: str | None = None
    clamav_timeout_seconds: float = Field(default=150, gt=0, le=3600)

    # The HTTP protocol layer: what one client may hold of a server process.
    # Request line and headers together, in bytes (431 beyond).
    max_header_bytes: int = Field(default=64 * 1024, ge=4096, le=16 * MiB)
    # From a connection's opening (or a kept-alive request's first byte) to its last header
    # line; a connection that has sent nothing by then is closed, one that has is sent 408.
    header_timeout_seconds: float = Field(default=30, gt=0, le=3600)
    # Longest silence while a request body is being read; the request is then abandoned
    # like a client that went away (its staged upload is discarded) and answered 408.
    body_idle_timeout_seconds: float = Field(default=60, gt=0, le=3600)
    # Least average body rate over each such period (0: none), against a body trickled a
    # byte at a time to hold a connection.
    body_min_bytes_per_second: int = Field(default=1024, ge=0)
    # How long an idle connection is kept open after a response.
    keepalive_timeout_seconds: int = Field(default=5, ge=1, le=3600)
    # Open connections per API process; one more is answered 503 and closed unread.
    max_connections: int = Field(default=1000, ge=1, le=1_000_000)

    sqlite_pool_size: int = Field(default=8, ge=1, le=64)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    # OpenTelemetry tracing: ``otlp`` sends a span per request and per job run over OTLP/HTTP
    # (the optional ``tracing`` packages); ``off`` loads none of it.
    tracing: Literal["off", "otlp"] = "off"
    # The collector's traces URL (``http://collector:4318/v1/traces``). Unset: the exporter's
    # own default (the standard OTEL_EXPORTER_OTLP_* variables, else localhost:4318).
    otlp_endpoint: str | None = None

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        parse_schedule(value)  # a ValueError says what is wrong
        return value

    @field_validator("tracing")
    @classmethod
    def _tracing_installed(cls, value: str) -> str:
        if value == "otlp" and not tracing_packages_installed():
            raise ValueError(
                "otlp needs the optional tracing packages: pip install 'kycvault[tracing]'"
            )
        return value

    @field_validator("otlp_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None:
            parsed = urlparse(value)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("webhook_allowed_http_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(h.strip().lower() for h in value.split(",") if h.strip())
        return value

    @field_validator("previous_master_key_files", mode="before")
    @classmethod
    def _paths(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(Path(p.strip()) for p in value.split(",") if p.strip())
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.replace(",", " ").split()
        if isinstance(value, list | tuple):
            try:
                # strict=False: "10.0.0.1/8" means the network 10.0.0.0/8.
                return tuple(ipaddress.ip_network(str(v).strip(), strict=False) for v in value)
            except ValueError as exc:
                raise ValueError(f"not an address or CIDR network: {exc}") from None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            _HeldMasterKey(settings_cls),
            env_settings,
            dotenv_settings,
            file_secret_settings,
        )

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'kycvault.db').resolve()}"

    @cached_property
    def resolved_storage_url(self) -> str:
        if self.storage_url:
            return self.storage_url
        return f"file://{(self.data_dir / 'blobs').resolve()}"

    @cached_property
    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or self.data_dir / "master.key"

    @cached_property
    def resolved_keystore_url(self) -> str:
        if self.keystore_url:
            return self.keystore_url
        if self.is_sqlite:
            place = self.resolved_master_key_file.parent.resolve() / "subject-keys.db"
            return f"sqlite+aiosqlite:///{place}"
        return self.resolved_database_url

    @property
    def keystore_shares_database(self) -> bool:
        return self.resolved_keystore_url == self.resolved_database_url

    @cached_property
    def resolved_public_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def is_embedded(self) -> bool:
        """The embedded default: SQLite and a local blob directory."""
        return self.is_sqlite and urlparse(self.resolved_storage_url).scheme == "file"

    @property
    def generates_key(self) -> bool:
        """Whether a missing key file may be created when a new vault is made."""
        return self.allow_generated_key and self.is_embedded

    @property
    def api_processes(self) -> int:
        """How many API processes ``kycvault serve`` starts."""
        if self.workers is not None:
            return self.workers
        return max(1, len(os.sched_getaffinity(0)))

    @property
    def runs_in_process_worker(self) -> bool:
        return self.is_sqlite if self.in_process_worker is None else self.in_process_worker

    @property
    def max_request_body(self) -> int:
        """Largest multipart body worth reading: every file at its cap plus form overhead."""
        return self.max_files_per_request * self.max_file_size + 4 * MiB


# Read by the client commands (``kycvault upload``, ``ls``, ``get``), not by the server.
CLIENT_VARIABLES = frozenset({"KYCVAULT_URL", "KYCVAULT_API_KEY"})
_PREFIX = "KYCVAULT_"


class ConfigError(ValueError):
    """Settings that cannot be used: one line per problem, each naming its variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def variable_of(field: str) -> str:
    return _PREFIX + field.upper()


def known_variables() -> frozenset[str]:
    return frozenset(variable_of(name) for name in Settings.model_fields) | CLIENT_VARIABLES


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A line for each ``KYCVAULT_*`` variable that no setting reads (a typo would otherwise
    leave the default in force without a word), with the nearest known name."""
    known = known_variables()
    problems = []
    for name in sorted(n for n in environ if n.startswith(_PREFIX) and n not in known):
        near = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
        hint = f"; did you mean {near[0]}?" if near else ""
        problems.append(f"{name} is not a kycvault setting{hint}")
    return problems


def _shown(field: str, value: Any) -> str:
    if field in SECRET_FIELDS:
        return "(hidden)"
    if field.endswith("_url") and isinstance(value, str):
        value = masked_url(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…'"


# Values never printed back: in errors, ``kycvault config check`` or logs.
SECRET_FIELDS = frozenset({"master_key", "master_key_command", "previous_master_key_command"})


def masked_url(url: str) -> str:
    """``url`` without the password it may carry (``postgresql://user:***@host/db``)."""
    parsed = urlparse(url)
    if not parsed.password:
        return url
    host = parsed.netloc.rsplit("@", 1)[-1]
    return parsed._replace(netloc=f"{parsed.username}:***@{host}").geturl()


def load_settings(environ: Mapping[str, str] | None = None, **values: Any) -> Settings:
    """The settings of a command: refused, with a line per problem, when a ``KYCVAULT_*``
    variable names no setting or a value does not fit its setting.

    Raises:
        ConfigError: the problems, each naming the variable and what it expects.
    """
    problems = unknown_variables(os.environ if environ is None else environ)
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            name = variable_of(field) if field else "settings"
            given = f" (given {_shown(field, error['input'])})" if "input" in error else ""
            problems.append(f"{name}: {error['msg']}{given}")
    if problems:
        raise ConfigError(problems)
    return settings
