"""The client's retries, over httpx2's MockTransport with a fake sleep: which answers are
retried and after how long, that a write keeps its Idempotency-Key across attempts, and that
what is not safe to send again is sent once."""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from kycvault.client import (
    APIConnectionError,
    AsyncClient,
    Client,
    ConflictError,
    RateLimitError,
    RetryPolicy,
    ServiceUnavailableError,
    ValidationError,
)
from kycvault.client._http import query

SUBJECT_ID = "5f0c1f4e-8f7e-4a43-9d59-6a2f3e1b2c3d"
SUBJECT: dict[str, Any] = {
    "id": SUBJECT_ID,
    "number": 1,
    "type": "individual",
    "external_id": "c-1",
    "display_name": None,
    "parent_id": None,
    "metadata": {},
    "crypto_address": None,
    "created_at": "2026-01-02T03:04:05Z",
    "updated_at": "2026-01-02T03:04:05Z",
    "created_by": "kvk_1",
    "updated_by": "kvk_1",
    "added_later": "ignored",
}
Handler = Callable[[httpx2.Request], httpx2.Response]


def scripted(*answers: httpx2.Response | Exception) -> tuple[Handler, list[httpx2.Request]]:
    """A handler answering each request with the next of ``answers``, and what it got."""
    seen: list[httpx2.Request] = []
    left = list(answers)

    def handle(request: httpx2.Request) -> httpx2.Response:
        request.read()
        seen.append(request)
        answer = left.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handle, seen


def problem(status: int, code: str, **headers: str) -> httpx2.Response:
    body = {"status": status, "code": code, "detail": f"{code}!", "request_id": "req-1"}
    return httpx2.Response(status, json=body, headers=headers)


def client(handler: Handler, slept: list[float], **options: Any) -> Client:
    return Client(
        "http://vault.test",
        api_key="kvk_1.secret",
        transport=httpx2.MockTransport(handler),
        sleep=slept.append,
        **options,
    )


def test_a_write_is_retried_on_503_with_the_same_idempotency_key() -> None:
    handler, seen = scripted(
        problem(503, "unavailable"),
        httpx2.ConnectError("refused"),
        httpx2.Response(201, json=SUBJECT),
    )
    slept: list[float] = []
    with client(handler, slept) as vault:
        made = vault.subjects.create(external_id="c-1")
    assert made.external_id == "c-1" and str(made.id) == SUBJECT["id"]
    keys = {r.headers["idempotency-key"] for r in seen}
    assert len(seen) == 3 and len(keys) == 1 and all(keys)
    assert json.loads(seen[0].content) == {"external_id": "c-1"}
    assert seen[0].headers["authorization"] == "Bearer kvk_1.secret"
    # Exponential with jitter: within [half, whole] of 0.5 s, then of 1 s.
    assert 0.25 <= slept[0] <= 0.5 and 0.5 <= slept[1] <= 1.0


def test_429_waits_as_long_as_retry_after_says() -> None:
    handler, seen = scripted(
        problem(429, "too_many_requests", **{"Retry-After": "3"}),
        httpx2.Response(200, json=SUBJECT),
    )
    slept: list[float] = []
    with client(handler, slept) as vault:
        vault.subjects.get(SUBJECT_ID)
    assert slept == [3.0] and len(seen) == 2


def test_a_longer_retry_after_than_allowed_is_the_callers_to_wait() -> None:
    handler, seen = scripted(problem(429, "too_many_requests", **{"Retry-After": "600"}))
    slept: list[float] = []
    with client(handler, slept) as vault, pytest.raises(RateLimitError) as limited:
        vault.subjects.get(SUBJECT_ID)
    assert limited.value.retry_after == 600 and slept == [] and len(seen) == 1


def test_retries_end_after_max_retries_with_the_last_error() -> None:
    handler, seen = scripted(*[problem(503, "unavailable")] * 3)
    slept: list[float] = []
    vault = client(handler, slept, max_retries=2)
    with vault, pytest.raises(ServiceUnavailableError) as failed:
        vault.documents.get(SUBJECT_ID)
    assert len(seen) == 3 and len(slept) == 2
    assert failed.value.code == "unavailable" and failed.value.request_id == "req-1"


def test_connection_errors_end_as_api_connection_error() -> None:
    handler, seen = scripted(*[httpx2.ConnectError("refused")] * 2)
    slept: list[float] = []
    with client(handler, slept, max_retries=1) as vault, pytest.raises(APIConnectionError):
        vault.subjects.get(SUBJECT_ID)
    assert len(seen) == 2


def test_a_retry_that_meets_its_first_attempt_still_running_waits_for_it() -> None:
    handler, seen = scripted(
        problem(409, "idempotency_in_progress"), httpx2.Response(201, json=SUBJECT)
    )
    slept: list[float] = []
    with client(handler, slept) as vault:
        vault.subjects.create(external_id="c-1")
    assert len(seen) == 2 and len(slept) == 1
    handler, seen = scripted(problem(409, "external_id_taken"))
    with client(handler, slept) as vault, pytest.raises(ConflictError):
        vault.subjects.create(external_id="c-1")
    assert len(seen) == 1


def test_other_errors_are_not_retried() -> None:
    handler, seen = scripted(problem(400, "validation_error"))
    slept: list[float] = []
    with client(handler, slept) as vault, pytest.raises(ValidationError):
        vault.subjects.create(type="robot")
    assert len(seen) == 1 and slept == []


def test_an_upload_from_a_pipe_is_sent_once_and_one_from_a_file_again() -> None:
    reader, writer = os.pipe()
    os.write(writer, b"%PDF-1.4 piped")
    os.close(writer)
    handler, seen = scripted(problem(503, "unavailable"))
    slept: list[float] = []
    pipe = open(reader, "rb")  # noqa: SIM115 (closed by the with below)
    with pipe, client(handler, slept) as vault, pytest.raises(ServiceUnavailableError):
        vault.documents.create(type="passport", files=[pipe])
    assert len(seen) == 1 and b"%PDF-1.4 piped" in seen[0].content
    assert "content-length" not in seen[0].headers  # chunked: its size was unknown

    stored = {
        "id": SUBJECT_ID,
        "document_id": SUBJECT_ID,
        "role": None,
        "filename": "upload",
        "content_type": "application/pdf",
        "size": 20,
        "sha256": "0" * 64,
        "created_at": "2026-01-02T03:04:05Z",
        "created_by": None,
    }
    answer = httpx2.Response(201, json={"data": [stored]})
    handler, seen = scripted(problem(503, "unavailable"), answer)
    body = io.BytesIO(b"ignored-prefix%PDF-1.4 from a file")
    body.seek(len(b"ignored-prefix"))
    with client(handler, slept) as vault:
        added = vault.files.add(SUBJECT_ID, [body])
    assert [f.filename for f in added] == ["upload"]
    assert len(seen) == 2 and seen[0].content == seen[1].content
    assert b"ignored-prefix" not in seen[1].content
    assert int(seen[1].headers["content-length"]) == len(seen[1].content)


def test_the_async_client_retries_alike() -> None:
    handler, seen = scripted(problem(503, "unavailable"), httpx2.Response(201, json=SUBJECT))
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def go() -> str:
        async with AsyncClient(
            "http://vault.test",
            api_key="kvk_1.secret",
            transport=httpx2.MockTransport(handler),
            sleep=sleep,
        ) as vault:
            return str((await vault.subjects.create(external_id="c-1")).id)

    assert asyncio.run(go()) == SUBJECT["id"]
    assert len(seen) == 2 and len(slept) == 1
    assert seen[0].headers["idempotency-key"] == seen[1].headers["idempotency-key"]


def test_backoff_grows_to_its_ceiling() -> None:
    policy = RetryPolicy(max_retries=10, backoff=0.5, max_backoff=4.0)
    for done, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (6, 4.0)]:
        delay = policy.delay(done)
        assert delay is not None and ceiling / 2 <= delay <= ceiling
    assert policy.delay(10) is None
    assert policy.delay(0, "Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past


def test_query_parameters() -> None:
    assert query(type=["passport", "national_id"], has_files=True, from_="2026-01-01", x=None) == (
        ("type", "passport"),
        ("type", "national_id"),
        ("has_files", "true"),
        ("from", "2026-01-01"),
    )
