"""The multipart parser as an async iterator of events, fed chunk by chunk through a bare ASGI
receive channel: the events and their order, file data across any chunk boundary, and every
limit refused at the first byte that breaks it, after the events that came before it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import httpx2
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router
from starlette.types import Message

from kycvault.api.middleware import RequestMiddleware
from kycvault.api.multipart import (
    FieldReceived,
    FileData,
    FileEnded,
    FileStarted,
    UploadEvent,
    UploadLimits,
    upload_events,
)
from kycvault.errors import InvalidInput, UnsupportedMediaType

BOUNDARY = b"x9Kq2boundary"
CONTENT_TYPE = b"multipart/form-data; boundary=" + BOUNDARY
LIMITS = UploadLimits(max_files=2, max_fields=3, max_field_size=16, max_body=10_000)


def field(name: bytes, value: bytes) -> bytes:
    return part([b'Content-Disposition: form-data; name="' + name + b'"'], value)


def file(name: bytes, filename: bytes, content: bytes) -> bytes:
    disposition = b'Content-Disposition: form-data; name="%s"; filename="%s"' % (name, filename)
    return part([disposition, b"Content-Type: application/pdf"], content)


def part(headers: Sequence[bytes], content: bytes) -> bytes:
    return b"--" + BOUNDARY + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + content


def body(*parts: bytes) -> bytes:
    return b"\r\n".join(parts) + b"\r\n--" + BOUNDARY + b"--\r\n"


class Client:
    """The receive channel of one request: hands out ``chunks`` one at a time, counting them;
    then the client goes away (or, with ``ends``, the last chunk says the body is complete)."""

    def __init__(
        self, chunks: Sequence[bytes], *, ends: bool = True, content_type: bytes = CONTENT_TYPE
    ) -> None:
        self.chunks = list(chunks)
        self.ends = ends
        self.sent = 0
        scope = {"type": "http", "method": "POST", "headers": [(b"content-type", content_type)]}
        self.request = Request(scope, self.receive)

    async def receive(self) -> Message:
        if self.sent == len(self.chunks):
            return {"type": "http.disconnect"}
        self.sent += 1
        last = self.sent == len(self.chunks)
        return {
            "type": "http.request",
            "body": self.chunks[self.sent - 1],
            "more_body": not (last and self.ends),
        }


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


async def events_of(client: Client, limits: UploadLimits = LIMITS) -> list[UploadEvent]:
    return [event async for event in upload_events(client.request, limits)]


def joined(events: list[UploadEvent]) -> list[UploadEvent]:
    """The events with each run of ``FileData`` joined into one."""
    merged: list[UploadEvent] = []
    for event in events:
        if isinstance(event, FileData) and merged and isinstance(merged[-1], FileData):
            merged[-1] = FileData(memoryview(bytes(merged[-1].chunk) + bytes(event.chunk)))
        else:
            merged.append(event)
    return merged


async def refusal(
    client: Client, limits: UploadLimits = LIMITS
) -> tuple[list[UploadEvent], InvalidInput]:
    """The events handed out before the iterator refused the body, and the refusal."""
    seen: list[UploadEvent] = []

    async def read() -> None:
        async for event in upload_events(client.request, limits):
            seen.append(event)

    with pytest.raises(InvalidInput) as raised:
        await read()
    return seen, raised.value


PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4


@pytest.mark.anyio
async def test_fields_and_files_come_out_in_order() -> None:
    data = body(
        field(b"data", b'{"a": 1}'),
        file(b"file", "r\u00e9sum\u00e9.pdf".encode(), PDF),
        field(b"role", b"FRONT"),
        file(b"file", b"back.pdf", b"%PDF-1.4\n"),
        field(b"role", b""),
    )
    events = await events_of(Client([data]))
    assert joined(events) == [
        FieldReceived("data", '{"a": 1}'),
        FileStarted("file", "r\u00e9sum\u00e9.pdf"),
        FileData(memoryview(PDF)),
        FileEnded(),
        FieldReceived("role", "FRONT"),
        FileStarted("file", "back.pdf"),
        FileData(memoryview(b"%PDF-1.4\n")),
        FileEnded(),
        FieldReceived("role", ""),
    ]


# Content that looks like the start of a boundary, so the parser has to hold bytes back and
# hand them out later from its look-behind.
TRICKY = PDF + b"\r\n--" + BOUNDARY[:5] + b"\r\n-\r\n--" + BOUNDARY[:-1] + b"\r" + PDF


@pytest.mark.anyio
@pytest.mark.parametrize("size", [1, 2, 7, len(BOUNDARY) + 3, 100, 4096])
async def test_file_data_across_chunk_boundaries(size: int) -> None:
    data = body(field(b"n", b"v" * 16), file(b"file", b"a.pdf", TRICKY), field(b"m", b"w"))
    events = await events_of(Client(pieces(data, size)))
    assert joined(events) == [
        FieldReceived("n", "v" * 16),
        FileStarted("file", "a.pdf"),
        FileData(memoryview(TRICKY)),
        FileEnded(),
        FieldReceived("m", "w"),
    ]
    # Nothing is buffered beyond a chunk (or the bytes a partial boundary held back).
    longest = max(len(e.chunk) for e in events if isinstance(e, FileData))
    assert longest <= max(size, len(BOUNDARY) + 8)


@pytest.mark.anyio
async def test_events_come_out_before_the_rest_of_the_body_is_read() -> None:
    content = b"%PDF-1.7\n" + b"\0" * 100_000
    client = Client(pieces(body(file(b"file", b"big.pdf", content)), 1000))
    events = upload_events(client.request, LIMITS)
    assert await anext(events) == FileStarted("file", "big.pdf")
    first = await anext(events)
    assert isinstance(first, FileData)
    assert client.sent == 1
    received = bytes(first.chunk)
    async for event in events:
        if isinstance(event, FileData):
            received += bytes(event.chunk)
            assert client.sent <= len(received) // 1000 + 2
    assert received == content
    assert client.sent == len(client.chunks)


HEADER_FLOOD = [b'Content-Disposition: form-data; name="a"'] + [b"X-H: 1"] * 16
HEADER_TOO_BIG = [b'Content-Disposition: form-data; name="a"', b"X-H: " + b"h" * 8192]
REFUSED = {
    "too_many_files": (
        body(*[file(b"file", b"%d.pdf" % i, PDF) for i in range(3)]),
        "too_many_files",
    ),
    "too_many_fields": (body(*[field(b"f%d" % i, b"v") for i in range(4)]), "too_many_fields"),
    "field_too_large": (body(field(b"data", b"v" * 17)), "field_too_large"),
    "file_in_another_part": (body(file(b"doc", b"a.pdf", PDF)), "unexpected_file"),
    "field_not_utf8": (body(field(b"data", b"caf\xe9")), "invalid_utf8"),
    "nul_in_a_field": (body(field(b"data", b"a\0b")), "nul_character"),
    "nul_in_a_field_name": (body(field(b"da\0ta", b"ab")), "nul_character"),
    "no_content_disposition": (
        body(part([b"Content-Type: text/plain"], b"v")),
        "malformed_multipart",
    ),
    "not_form_data": (
        body(part([b'Content-Disposition: attachment; name="a"'], b"v")),
        "malformed_multipart",
    ),
    "part_without_a_name": (
        body(part([b"Content-Disposition: form-data"], b"v")),
        "malformed_multipart",
    ),
    "too_many_headers": (body(part(HEADER_FLOOD, b"v")), "malformed_multipart"),
    "header_too_large": (body(part(HEADER_TOO_BIG, b"v")), "malformed_multipart"),
    "no_closing_boundary": (field(b"a", b"v") + b"\r\n", "malformed_multipart"),
    "another_boundary": (
        body(field(b"a", b"v")).replace(BOUNDARY, b"other"),
        "malformed_multipart",
    ),
}


@pytest.mark.anyio
@pytest.mark.parametrize("case", REFUSED)
async def test_limit_refusals(case: str) -> None:
    data, code = REFUSED[case]
    for chunks in ([data], pieces(data, 5)):
        _, refused = await refusal(Client(chunks))
        assert refused.code == code


@pytest.mark.anyio
async def test_a_body_without_closing_boundary_is_refused_once_it_ends() -> None:
    data = body(field(b"a", b"v"), file(b"file", b"a.pdf", PDF))
    cut = data[: -len(b"\r\n--" + BOUNDARY + b"--\r\n")]
    seen, refused = await refusal(Client([cut]))
    assert refused.code == "malformed_multipart"
    assert "closing boundary" in refused.detail
    assert seen[:2] == [FieldReceived("a", "v"), FileStarted("file", "a.pdf")]
    assert FileEnded() not in seen


@pytest.mark.anyio
async def test_a_client_that_goes_away_is_a_malformed_body() -> None:
    data = body(file(b"file", b"a.pdf", PDF))
    _, refused = await refusal(Client(pieces(data, 100)[:3], ends=False))
    assert refused.code == "malformed_multipart"
    assert "went away" in refused.detail


@pytest.mark.anyio
async def test_a_refusal_comes_after_the_events_before_it_in_the_same_chunk() -> None:
    data = body(*[file(b"file", b"%d.pdf" % i, b"%PDF-1.7\n") for i in range(3)])
    seen, refused = await refusal(Client([data]))
    assert refused.code == "too_many_files"
    assert joined(seen) == [
        FileStarted("file", "0.pdf"),
        FileData(memoryview(b"%PDF-1.7\n")),
        FileEnded(),
        FileStarted("file", "1.pdf"),
        FileData(memoryview(b"%PDF-1.7\n")),
        FileEnded(),
    ]


@pytest.mark.anyio
async def test_a_part_over_the_file_count_is_refused_before_its_body_is_read() -> None:
    third = file(b"file", b"2.pdf", PDF)
    head = body(file(b"file", b"0.pdf", PDF), file(b"file", b"1.pdf", PDF))
    head = head[: head.rindex(b"--" + BOUNDARY)] + third[: third.index(b"\r\n\r\n") + 4]
    client = Client([head, PDF, b"\r\n--" + BOUNDARY + b"--\r\n"])
    _, refused = await refusal(client)
    assert refused.code == "too_many_files"
    assert client.sent == 1


@pytest.mark.anyio
async def test_a_field_is_refused_at_the_chunk_that_takes_it_over_its_size() -> None:
    client = Client(pieces(body(field(b"data", b"v" * 1000)), 10))
    _, refused = await refusal(client)
    assert refused.code == "field_too_large"
    assert refused.errors[0].field == "data"
    # Refused in the chunk that holds the 17th byte of the value, not at the part's end.
    over = len(field(b"data", b"")) + 17
    assert client.sent == (over + 9) // 10


@pytest.mark.anyio
@pytest.mark.parametrize(
    "content_type",
    [b"application/json", b"multipart/form-data", b"multipart/mixed; boundary=" + BOUNDARY],
)
async def test_anything_but_multipart_form_data_is_refused_before_reading(
    content_type: bytes,
) -> None:
    client = Client([body(field(b"a", b"v"))], content_type=content_type)
    with pytest.raises(UnsupportedMediaType) as raised:
        upload_events(client.request, LIMITS)
    assert raised.value.code == "unsupported_content_type"
    assert client.sent == 0


async def event_names(request: Request) -> JSONResponse:
    events = [event async for event in upload_events(request, LIMITS)]
    return JSONResponse([type(event).__name__ for event in joined(events)])


# The default body limit (100 bytes) is the JSON routes'; the parser lifts it to max_body.
limited = RequestMiddleware(
    Router(routes=[Route("/upload", event_names, methods=["POST"])]), default_body_limit=100
)


@pytest.mark.anyio
async def test_the_body_limit_is_the_uploads() -> None:
    within = body(file(b"file", b"a.pdf", b"%PDF" + b"x" * 9_000))
    beyond = body(file(b"file", b"a.pdf", b"%PDF" + b"x" * 10_000))

    async def streamed(data: bytes) -> AsyncIterator[bytes]:
        for chunk in pieces(data, 1000):
            yield chunk

    headers = {"content-type": CONTENT_TYPE.decode()}
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=limited), base_url="http://t"
    ) as c:
        accepted = await c.post("/upload", content=within, headers=headers)
        announced = await c.post("/upload", content=beyond, headers=headers)
        streamed_over = await c.post("/upload", content=streamed(beyond), headers=headers)
    assert accepted.status_code == 200
    assert accepted.json() == ["FileStarted", "FileData", "FileEnded"]
    assert announced.status_code == 413
    assert streamed_over.status_code == 413
    assert streamed_over.json()["status"] == 413
