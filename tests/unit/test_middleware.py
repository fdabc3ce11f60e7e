"""The request middleware, in-process: body limits, default headers, and bugs answered as a
problem without dropping the connection."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route, Router

from kycvault.api.middleware import RequestMiddleware


async def boom(request: Request) -> JSONResponse:
    raise RuntimeError("a bug")


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"size": len(await request.body())})


async def broken_stream(request: Request) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        yield b"first"
        raise RuntimeError("failed half-way")

    return StreamingResponse(body())


# A bare router: in the real app the middleware sits inside FastAPI's own error middleware.
app = RequestMiddleware(
    Router(
        routes=[
            Route("/boom", boom),
            Route("/echo", echo, methods=["POST"]),
            Route("/stream", broken_stream),
        ]
    ),
    default_body_limit=100,
)


@pytest.mark.anyio
async def test_a_bug_is_a_500_problem() -> None:
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://t"
    ) as c:
        response = await c.get("/boom", headers={"X-Request-ID": "req-1"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "urn:kycvault:problem:internal_error",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "an unexpected error occurred",
        "code": "internal_error",
        "request_id": "req-1",
    }
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.anyio
async def test_a_failure_after_the_response_started_is_not_hidden() -> None:
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://t"
    ) as c:
        with pytest.raises(RuntimeError, match="half-way"):
            await c.get("/stream")


@pytest.mark.anyio
async def test_body_limit() -> None:
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://t"
    ) as c:
        assert (await c.post("/echo", content=b"x" * 100)).json() == {"size": 100}
        too_big = await c.post("/echo", content=b"x" * 101)
        announced = await c.post("/echo", content=b"x" * 10, headers={"content-length": "999"})
    assert too_big.status_code == 413
    assert too_big.json()["code"] == "body_too_large"
    assert announced.status_code == 413
