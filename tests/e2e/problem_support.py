"""The RFC 9457 problem-response checker shared by the end-to-end tests."""

from __future__ import annotations

from typing import Any

import httpx2


def problem(response: httpx2.Response, status: int, code: str | None) -> dict[str, Any]:
    """Assert an RFC 9457 problem with this status and stable code (any code when None)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code
    assert body["code"] not in ("internal_error", "error")
    assert body["type"] == f"urn:kycvault:problem:{body['code']}"
    assert body["title"]
    assert body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body
