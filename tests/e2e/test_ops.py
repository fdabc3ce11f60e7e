"""Health, readiness, OpenAPI, error shapes for the framework's own errors, body limits,
request ids and what the logs must never contain."""

from __future__ import annotations

from pathlib import Path

import httpx2

from tests.helpers import Part, Server, image_bytes, post_multipart


def test_health_and_readiness(server: Server) -> None:
    with server.client(None) as anonymous:
        assert anonymous.get("/healthz").json() == {"status": "ok", "checks": {}}
        ready = anonymous.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "blob_store": "ok"}


def test_openapi_and_docs(server: Server) -> None:
    with server.client(None) as anonymous:
        spec = anonymous.get("/openapi.json").json()
        docs = anonymous.get("/docs")
    for path in (
        "/v1/subjects",
        "/v1/documents",
        "/v1/documents/{document_id}/files",
        "/v1/documents/{document_id}/files/{file_id}/content",
        "/v1/document-types",
    ):
        assert path in spec["paths"], path
    create = spec["paths"]["/v1/documents"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(create)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_framework_errors_are_problems(client: httpx2.Client) -> None:
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "not_found"
    wrong_method = client.put("/v1/subjects")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"
    bad_uuid = client.get("/v1/documents/not-a-uuid")
    assert bad_uuid.status_code == 400
    assert bad_uuid.json()["errors"][0]["field"] == "document_id"


def test_json_bodies_are_limited(client: httpx2.Client) -> None:
    body = b'{"display_name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = client.post(
        "/v1/subjects", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


def test_request_ids_and_security_headers(client: httpx2.Client) -> None:
    response = client.get("/v1/subjects", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    forged = client.get("/v1/subjects", headers={"X-Request-ID": "bad id\twith junk"})
    assert forged.headers["x-request-id"] != "bad id\twith junk"
    assert len(forged.headers["x-request-id"]) == 32


def test_logs_carry_no_secrets_or_document_data(tmp_path: Path) -> None:
    server = Server(tmp_path, env_extra={"KYCVAULT_LOG_LEVEL": "INFO"}).start()
    try:
        tenant = server.create_tenant()
        with server.client(tenant["api_key"]) as client:
            created = post_multipart(
                client,
                "/v1/documents",
                [
                    Part("type", b"passport"),
                    Part("id_number", b"X1234567Z"),
                    Part("file", image_bytes(), "ada-lovelace-passport.png", "image/png"),
                ],
            )
            assert created.status_code == 201
            httpx2.get(
                f"{server.url}/v1/subjects",
                headers={"Authorization": "Bearer kvk_0123456789abcdef.wrong-secret"},
            )
        log = server.output()
        assert '"route": "/v1/documents"' in log
        for secret in (tenant["key_secret"], "X1234567Z", "ada-lovelace", "wrong-secret"):
            assert secret not in log, secret
    finally:
        server.stop()
