"""The one settings object. Every value comes from ``KYCVAULT_*`` environment variables (or a
``.env`` file), is validated at start-up, and is injected; no other module reads the
environment."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024


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
    # Create a key file on first start (embedded default). Turn off where keys are managed.
    allow_generated_key: bool = True

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
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
    # Idempotency keys are remembered this long; a request still running after the lease is
    # taken to have died, and its key may be used again.
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    idempotency_lease_seconds: int = Field(default=15 * 60, ge=1)
    staging_grace_seconds: float = Field(default=24 * 3600, ge=0)
    # A Sila-signed request whose header.created is further than this from the server's
    # clock is refused (replay window).
    sila_replay_window_seconds: int = Field(default=300, ge=1, le=24 * 3600)

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
    def resolved_public_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def runs_in_process_worker(self) -> bool:
        return self.is_sqlite if self.in_process_worker is None else self.in_process_worker

    @property
    def max_request_body(self) -> int:
        """Largest multipart body worth reading: every file at its cap plus form overhead."""
        return self.max_files_per_request * self.max_file_size + 4 * MiB
