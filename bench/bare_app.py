"""The baseline the upload and download benchmarks compare against: a framework-free ASGI app
that does the least an honest upload must do (stream the body to a new file, hash it, fsync
it) and nothing else: no parsing, no auth, no encryption, no database.

    uvicorn bench.bare_app:app --loop uvloop --http httptools --port 8101
    (BARE_DIR says where files go; default: a temp dir)
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
from typing import Any

DIRECTORY = os.environ.get("BARE_DIR") or tempfile.mkdtemp(prefix="bare-")


async def _read_body(receive: Any, fd: int, digest: Any) -> int:
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        if chunk:
            digest.update(chunk)
            os.write(fd, chunk)
            size += len(chunk)
        if not message.get("more_body", False):
            return size


async def _respond(send: Any, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path, method = scope["path"], scope["method"]
    if path == "/ping":
        await _respond(send, 200, b'{"status":"ok"}', b"application/json")
        return
    if path == "/raw" and method in {"PUT", "POST"}:
        name = os.path.join(DIRECTORY, uuid.uuid4().hex)
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        digest = hashlib.sha256()
        try:
            size = await _read_body(receive, fd, digest)
            os.fsync(fd)
        finally:
            os.close(fd)
        body = json.dumps({"size": size, "sha256": digest.hexdigest()}).encode()
        await _respond(send, 201, body, b"application/json")
        return
    await _respond(send, 404, b"not found", b"text/plain")
