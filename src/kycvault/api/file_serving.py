"""Serving stored files: headers that keep a browser from ever treating them as a page, RFC
6266 ``Content-Disposition`` with a server-sanitised name, and single-range requests.

The ``Content-Type`` is the type detected and stored at upload, never guessed from the name
(Starlette's ``FileResponse`` would turn ``x.html`` into ``text/html``). The first frame is
decrypted before the status line is sent, so a blob that fails verification is a clean 500
problem; a later failure aborts the connection rather than send unverified bytes.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any, Literal
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from kycvault.domain.filenames import extension_of
from kycvault.domain.media import extension_for
from kycvault.domain.models import StoredFile
from kycvault.services.files import FileContent

Disposition = Literal["inline", "attachment"]
_BYTES: dict[str, Any] = {"schema": {"type": "string", "format": "binary"}}
_HEADER: dict[str, Any] = {"schema": {"type": "string"}}
# The OpenAPI answers of a route that serves a stored file: its bytes in the type it was
# stored with (any of the accepted types), whole or one byte range.
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file's bytes, with the content type it was stored with (the "
        "file's `content_type`).",
        "content": {"*/*": _BYTES},
        "headers": {
            "Content-Disposition": {**_HEADER, "description": "the file's name"},
            "ETag": {**_HEADER, "description": "the SHA-256 of the content, quoted"},
        },
    },
    206: {
        "description": "The byte range the `Range` header asked for (one range only).",
        "content": {"*/*": _BYTES},
        "headers": {"Content-Range": {**_HEADER, "description": "`bytes a-b/size`"}},
    },
}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(HTTPException):
    code = "range_not_satisfiable"

    def __init__(self, size: int) -> None:
        super().__init__(
            416,
            f"the range is outside the file's {size} bytes",
            headers={"content-range": f"bytes */{size}"},
        )


def display_filename(stored: StoredFile) -> str:
    if stored.filename:
        return stored.filename
    ext = extension_for(stored.content_type)
    return f"{stored.id}.{ext}" if ext else str(stored.id)


def content_disposition(disposition: Disposition, filename: str) -> str:
    """``attachment; filename="ascii"; filename*=UTF-8''percent-encoded`` (RFC 6266/8187)."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\%;' else "_" for ch in filename)
    if not extension_of(fallback) and extension_of(filename):
        fallback += f".{extension_of(filename)}"
    encoded = quote(filename, safe="")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One ``bytes=a-b`` range as inclusive offsets, or None to serve the whole file.

    Malformed or multi-range headers are ignored (RFC 9110 allows that); a syntactically
    valid range that starts past the end raises ``RangeNotSatisfiable``.
    """
    if not header or len(header) > 100:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable(size)
        return max(0, size - suffix), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise RangeNotSatisfiable(size)
    return start, end


def file_headers(stored: StoredFile, disposition: Disposition) -> dict[str, str]:
    media_type = stored.content_type
    if media_type.startswith("text/"):
        media_type += "; charset=utf-8"
    return {
        "content-type": media_type,
        "content-disposition": content_disposition(disposition, display_filename(stored)),
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
        "cache-control": "private, no-store",
        "cross-origin-resource-policy": "same-origin",
        "accept-ranges": "bytes",
        "etag": f'"{stored.sha256}"',
    }


def head_response(stored: StoredFile, disposition: Disposition) -> Response:
    headers = file_headers(stored, disposition)
    headers["content-length"] = str(stored.size)
    return Response(status_code=200, headers=headers)


async def stream_response(
    request: Request, content: FileContent, disposition: Disposition
) -> Response:
    stored = content.file
    headers = file_headers(stored, disposition)
    if_range = request.headers.get("if-range")
    try:
        requested = (
            None
            if if_range and if_range != headers["etag"]
            else parse_range(request.headers.get("range"), stored.size)
        )
    except RangeNotSatisfiable:
        content.close()
        raise
    start, end = requested if requested else (0, stored.size - 1)
    chunks = content.stream(start, end)
    first = await anext(chunks)  # integrity failure here is still a clean problem response

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    headers["content-length"] = str(end - start + 1)
    status = 200
    if requested:
        status = 206
        headers["content-range"] = f"bytes {start}-{end}/{stored.size}"
    return StreamingResponse(body(), status_code=status, headers=headers)
