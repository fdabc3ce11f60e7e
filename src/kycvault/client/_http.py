"""What a request is (``Call``), how it is encoded, and when it may be retried: the logic the
blocking and the asyncio client share. Neither does any I/O here."""

from __future__ import annotations

import dataclasses
import enum
import json
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID, uuid4

import httpx2
from pydantic import BaseModel

from kycvault.client.errors import (
    APIConnectionError,
    APITimeoutError,
    from_response,
    parse_retry_after,
)
from kycvault.client.models import Listed
from kycvault.client.uploads import MultipartBody

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Query = tuple[tuple[str, str], ...]

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# 429 and 503 say "later"; 502 and 504 come from a proxy in front of a server that is
# restarting. Anything else would fail the same way again.
RETRY_STATUSES = frozenset({429, 502, 503, 504})


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def query(**filters: Any) -> Query:
    """Query parameters from keyword arguments: None left out, a list or tuple repeated,
    dates in ISO 8601, booleans as true/false; a trailing ``_`` is dropped (``from_``)."""
    pairs: list[tuple[str, str]] = []
    for name, value in filters.items():
        key = name.removesuffix("_")
        if value is None:
            continue
        if isinstance(value, list | tuple | set | frozenset):
            pairs.extend((key, as_text(v)) for v in value)
        else:
            pairs.append((key, as_text(value)))
    return tuple(pairs)


def body(**fields: Any) -> dict[str, Any]:
    """A JSON body from keyword arguments: unset (None) left out, UUIDs and dates as text."""
    return {name: _json(value) for name, value in fields.items() if value is not None}


def _json(value: Any) -> Any:
    if isinstance(value, UUID | datetime | date | enum.Enum):
        return as_text(value)
    return value


def changes(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A PATCH body: every field given, None included (it clears the field)."""
    return {name: _json(value) for name, value in fields.items()}


def model(kind: type[M]) -> Callable[[httpx2.Response], M]:
    return lambda response: kind.model_validate_json(response.content)


def listed(kind: type[M]) -> Callable[[httpx2.Response], list[M]]:
    return lambda response: Listed[kind].model_validate_json(response.content).data  # type: ignore[valid-type]


def nothing(response: httpx2.Response) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One API request and how to read its answer. A write gets an ``Idempotency-Key`` made
    once here, so that every retry of it carries the same key and the server runs it once."""

    method: str
    path: str
    parse: Callable[[httpx2.Response], T]
    params: Query = ()
    json: Any = None
    upload: MultipartBody | None = None
    idempotency_key: str | None = None
    # False for a request that must never be sent twice on a connection error (a
    # single-use download link may have been used up by the attempt that broke).
    retry_on_connection_error: bool = True
    authenticated: bool = True

    def __post_init__(self) -> None:
        if self.method in WRITES and self.idempotency_key is None:
            object.__setattr__(self, "idempotency_key", str(uuid4()))

    def with_cursor(self, cursor: str) -> Call[T]:
        params = (*(p for p in self.params if p[0] != "cursor"), ("cursor", cursor))
        return dataclasses.replace(self, params=params)

    @property
    def retryable(self) -> bool:
        """Safe to send again: a read, or a write the server deduplicates by its key."""
        if self.upload is not None and not self.upload.rewindable:
            return False  # a pipe's bytes are gone once sent
        return self.method not in WRITES or self.idempotency_key is not None

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        sent = dict(extra or {})
        if self.upload is not None:
            sent.update(self.upload.headers())
        if self.idempotency_key is not None:
            sent["Idempotency-Key"] = self.idempotency_key
        return sent


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits ``backoff * 2**n`` seconds at most
    (up to ``max_backoff``), at least half of that, or what ``Retry-After`` asks for. A
    ``Retry-After`` longer than ``max_retry_after`` is not waited for: the error is raised
    for the caller to decide."""

    max_retries: int = 2
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, retries_done: int, retry_after: str | None = None) -> float | None:
        """Seconds to wait before the next attempt, or None: do not retry."""
        if retries_done >= self.max_retries:
            return None
        asked = parse_retry_after(retry_after)
        if asked is not None:
            return asked if asked <= self.max_retry_after else None
        ceiling = min(self.max_backoff, self.backoff * 2.0**retries_done)
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not a secret)


def _still_running(response: httpx2.Response) -> bool:
    """A 409 for a retry that came while the first request with its key still runs: the
    next retry gets that request's answer."""
    if response.status_code != 409:
        return False
    try:
        problem = json.loads(response.content)
    except ValueError:
        return False
    return isinstance(problem, dict) and problem.get("code") == "idempotency_in_progress"


class Attempts:
    """The retry decisions for one call, attempt after attempt."""

    def __init__(self, policy: RetryPolicy, call: Call[Any]) -> None:
        self._policy = policy
        self._call = call
        self._done = 0

    def after_response(self, response: httpx2.Response) -> float | None:
        """The wait before sending again after ``response`` (its body read when it is an
        error), or None: it is the answer."""
        if not self._call.retryable:
            return None
        if response.status_code in RETRY_STATUSES or _still_running(response):
            return self._next(response.headers.get("retry-after"))
        return None

    def after_error(self, exc: httpx2.TransportError) -> float:
        """The wait before sending again after ``exc``; raises when that is not safe or the
        retries are spent."""
        wait = None
        if self._call.retryable and self._call.retry_on_connection_error:
            wait = self._next(None)
        if wait is None:
            raise connection_error(exc) from exc
        return wait

    def _next(self, retry_after: str | None) -> float | None:
        wait = self._policy.delay(self._done, retry_after)
        if wait is not None:
            self._done += 1
        return wait


def connection_error(exc: httpx2.TransportError) -> APIConnectionError:
    kind = APITimeoutError if isinstance(exc, httpx2.TimeoutException) else APIConnectionError
    return kind(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def raise_for_status(response: httpx2.Response) -> None:
    """The typed error for an error answer (its body read already)."""
    if response.status_code >= 400:
        raise from_response(response.status_code, response.headers, response.content)


def joined(parts: Iterable[object]) -> str:
    """A path from its segments, ids included as text."""
    return "/" + "/".join(str(p).strip("/") for p in parts)
