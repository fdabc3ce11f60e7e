"""The OpenAPI documents themselves, as the server serves them: the native API's at
``/openapi.json`` and each dialect's at ``/compat/<vendor>/openapi.json``. Each is a valid
OpenAPI 3.1 document of its own API only, with its security schemes, the errors of each
operation in its API's error body and no FastAPI 422 that is never sent, unique operation
ids, plain schema names, and references that resolve. (``test_fuzz.py`` checks the live
answers against them; this checks what a reader and a code generator rely on.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from kycvault.api.compat import DIALECTS
from tests.helpers import Server
from tests.spec_conformance import Conformance

METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
# The API's error body: its schema's name and media type.
NATIVE = ("/openapi.json", "/v1/", "Problem", "application/problem+json")
DOCUMENTS = [
    NATIVE,
    ("/compat/argyle/openapi.json", "/compat/argyle/", "ArgyleError", "application/json"),
    ("/compat/cynopsis/openapi.json", "/compat/cynopsis/", "CynopsisError", "application/json"),
    ("/compat/kycgenie/openapi.json", "/compat/kycgenie/", "KycGenieError", "application/json"),
    ("/compat/ncore/openapi.json", "/compat/ncore/", "NcoreError", "application/json"),
    ("/compat/sila/openapi.json", "/compat/sila/", "SilaError", "application/json"),
]
# How each API's callers authenticate: the schemes its document declares.
SCHEMES = {
    "/openapi.json": {"bearerAuth": ("http", "bearer"), "basicAuth": ("http", "basic")},
    "/compat/argyle/openapi.json": {
        "basicAuth": ("http", "basic"),
        "bearerAuth": ("http", "bearer"),
    },
    "/compat/cynopsis/openapi.json": {
        "bearerAuth": ("http", "bearer"),
        "basicAuth": ("http", "basic"),
        "domainId": ("apiKey", "X-Domain-ID"),
    },
    "/compat/kycgenie/openapi.json": {
        "bearerAuth": ("http", "bearer"),
        "basicAuth": ("http", "basic"),
    },
    "/compat/ncore/openapi.json": {
        "apiKey": ("apiKey", "apikey"),
        "bearerAuth": ("http", "bearer"),
        "basicAuth": ("http", "basic"),
    },
    "/compat/sila/openapi.json": {
        "authSignature": ("apiKey", "authsignature"),
        "userSignature": ("apiKey", "usersignature"),
        "bearerAuth": ("http", "bearer"),
    },
}
# The operations that take no credentials: a download token is its own.
PUBLIC = {
    "redeem_download_link",
    "redeem_download_link_head",
    "redeem_download_token_v1",
    "redeem_download_token_v1_head",
    "redeem_download_token_v2",
    "redeem_download_token_v2_head",
    "get_message",
}


@pytest.fixture(scope="module")
def specs(server: Server) -> dict[str, dict[str, Any]]:
    with server.client(None) as anonymous:
        served = {}
        for url, *_ in DOCUMENTS:
            response = anonymous.get(url)
            assert response.status_code == 200, (url, response.text)
            assert response.headers["content-type"] == "application/json"
            served[url] = response.json()
    return served


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def references(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def test_there_is_one_document_per_dialect_and_one_for_the_native_api() -> None:
    assert {url for url, *_ in DOCUMENTS} == {
        "/openapi.json",
        *(f"{d.prefix}/openapi.json" for d in DIALECTS),
    }


@pytest.mark.parametrize(("url", "prefix", "error", "media_type"), DOCUMENTS)
def test_each_document_is_valid_openapi_of_its_own_paths_only(
    specs: dict[str, dict[str, Any]], url: str, prefix: str, error: str, media_type: str
) -> None:
    spec = specs[url]
    validate(spec)
    assert spec["openapi"].startswith("3.1")
    assert len(spec["paths"]) >= 3
    assert [path for path in spec["paths"] if not path.startswith(prefix)] == []
    assert error in spec["components"]["schemas"]


@pytest.mark.parametrize(("url", "prefix", "error", "media_type"), DOCUMENTS)
def test_no_operation_lists_fastapis_validation_error(
    specs: dict[str, dict[str, Any]], url: str, prefix: str, error: str, media_type: str
) -> None:
    spec = specs[url]
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            assert response["description"] != "Validation Error", (method, path, status)


@pytest.mark.parametrize(("url", "prefix", "error", "media_type"), DOCUMENTS)
def test_every_operation_lists_its_errors_in_its_apis_body(
    specs: dict[str, dict[str, Any]], url: str, prefix: str, error: str, media_type: str
) -> None:
    for path, method, operation in operations(specs[url]):
        responses = operation["responses"]
        assert "400" in responses, (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        if operation["security"]:
            assert {"401", "403", "429"} <= set(responses), (method, path)
        if "requestBody" in operation:
            assert {"413", "415"} <= set(responses), (method, path)
        for status, response in responses.items():
            if not status.startswith(("4", "5")):
                continue
            if method == "head":
                assert "content" not in response, (method, path, status)
                continue
            ref = response["content"][media_type]["schema"]["$ref"]
            assert ref == f"#/components/schemas/{error}", (method, path, status)
            if url == "/openapi.json":
                # The stable codes of each status are named where the response is.
                assert "`" in response["description"], (method, path, status)


def test_the_problem_schema_has_the_members_problems_carry(
    specs: dict[str, dict[str, Any]],
) -> None:
    problem = specs["/openapi.json"]["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code", "errors", "request_id"} <= set(
        problem["properties"]
    )
    assert "required_scope" in problem["properties"]


@pytest.mark.parametrize(("url", "prefix", "error", "media_type"), DOCUMENTS)
def test_every_operation_has_a_unique_id_a_summary_a_description_and_security(
    specs: dict[str, dict[str, Any]], url: str, prefix: str, error: str, media_type: str
) -> None:
    spec = specs[url]
    ids = [operation["operationId"] for _, _, operation in operations(spec)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    declared = spec["components"]["securitySchemes"]
    assert {name: (s["type"], s.get("scheme") or s["name"]) for name, s in declared.items()} == (
        SCHEMES[url]
    )
    for path, method, operation in operations(spec):
        assert operation["summary"].strip(), (method, path)
        assert operation["description"].strip(), (method, path)
        security = operation["security"]
        public = operation["operationId"] in PUBLIC
        assert (security == []) == public, (method, path, security)
        for requirement in security:
            assert requirement and set(requirement) <= set(declared), (method, path)


@pytest.mark.parametrize(("url", "prefix", "error", "media_type"), DOCUMENTS)
def test_schema_names_are_plain_and_every_reference_resolves(
    specs: dict[str, dict[str, Any]], url: str, prefix: str, error: str, media_type: str
) -> None:
    spec = specs[url]
    for name in spec["components"]["schemas"]:
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", name), name
    for reference in set(references(spec)):
        assert reference.startswith("#/components/schemas/"), reference
        assert reference.rsplit("/", 1)[1] in spec["components"]["schemas"], reference


def test_served_files_are_documented_as_any_type_and_head_answers_carry_no_body(
    specs: dict[str, dict[str, Any]],
) -> None:
    content = specs["/openapi.json"]["paths"]["/v1/documents/{document_id}/files/{file_id}/content"]
    assert set(content["get"]["responses"]["200"]["content"]) == {"*/*"}
    assert {"206", "416"} <= set(content["get"]["responses"])
    assert [p["name"] for p in content["get"]["parameters"] if p["in"] == "header"] == ["Range"]
    assert content["head"]["operationId"] == "get_file_content_head"
    assert all("content" not in r for r in content["head"]["responses"].values())
    redeem = specs["/openapi.json"]["paths"]["/v1/downloads/{token}"]["get"]
    assert "410" in redeem["responses"] and redeem["security"] == []
    argyle = specs["/compat/argyle/openapi.json"]["paths"]
    redirect = argyle["/compat/argyle/v2/user-uploads/{upload_id}/file"]["get"]["responses"]
    assert "content" not in redirect["302"] and "Location" in redirect["302"]["headers"]
    cynopsis = specs["/compat/cynopsis/openapi.json"]["paths"]
    deleted = cynopsis["/compat/cynopsis/api/customer/{customerId}/document/{documentId}"]
    assert "content" not in deleted["delete"]["responses"]["200"]


def test_the_dialects_hand_parsed_writes_document_their_bodies(
    specs: dict[str, dict[str, Any]],
) -> None:
    for url, *_ in DOCUMENTS[1:]:
        for path, method, operation in operations(specs[url]):
            if method in {"post", "put", "patch"} and not path.endswith("/download-link"):
                assert "requestBody" in operation, (method, path)
    cynopsis = specs["/compat/cynopsis/openapi.json"]["paths"]
    form = cynopsis["/compat/cynopsis/api/customer/{customerId}/document"]["post"]["requestBody"]
    multipart = form["content"]["multipart/form-data"]
    assert multipart["schema"]["required"] == ["document", "front"]
    assert multipart["encoding"]["document"]["contentType"] == "application/json"


def test_writes_take_an_idempotency_key(specs: dict[str, dict[str, Any]]) -> None:
    paths = specs["/openapi.json"]["paths"]
    create = paths["/v1/subjects"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"]]
    assert {"409", "422"} <= set(create["responses"])
    assert "Idempotency-Key" not in [p["name"] for p in paths["/v1/subjects"]["get"]["parameters"]]


def test_a_405_allows_every_method_the_document_lists_for_the_path(
    server: Server, specs: dict[str, dict[str, Any]]
) -> None:
    checked = 0
    with server.client(None) as anonymous:
        for url, *_ in DOCUMENTS:
            for path, item in specs[url]["paths"].items():
                listed = {method.upper() for method in item if method in METHODS}
                refused = next(m for m in ("PUT", "PATCH", "POST", "DELETE") if m not in listed)
                concrete = re.sub(r"\{[^}]+\}", "1", path)
                response = anonymous.request(refused, concrete)
                assert response.status_code == 405, (refused, path, response.text)
                allowed = {m.strip() for m in response.headers["allow"].split(",")}
                assert allowed == listed, (refused, path)
                checked += 1
    assert checked > 60


def test_the_docs_pages_show_the_native_document(client: httpx2.Client) -> None:
    assert "url: '/openapi.json'" in client.get("/docs").text
    assert 'spec-url="/openapi.json"' in client.get("/redoc").text


def schemas_with_examples(node: object) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("examples"), list) and "properties" in node:
            yield node
        for value in node.values():
            yield from schemas_with_examples(value)
    elif isinstance(node, list):
        for item in node:
            yield from schemas_with_examples(item)


def test_the_main_operations_have_examples_that_match_their_schemas(
    specs: dict[str, dict[str, Any]],
) -> None:
    spec = specs["/openapi.json"]
    schemas = spec["components"]["schemas"]
    for name in ("SubjectCreate", "SubjectOut", "DocumentOut", "FileOut", "DownloadLinkOut"):
        assert schemas[name]["examples"], name
    create = spec["paths"]["/v1/documents"]["post"]["requestBody"]["content"]
    assert create["application/json"]["schema"]["examples"]
    checked = 0
    for schema in schemas_with_examples(spec):
        # References are to the document's components, so the schema is checked within it.
        validator = OAS31Validator(
            {**schema, "components": spec["components"]},
            format_checker=OAS31Validator.FORMAT_CHECKER,
        )
        for example in schema["examples"]:
            validator.validate(example)
            checked += 1
    assert checked >= 8


def test_extracted_is_typed(specs: dict[str, dict[str, Any]]) -> None:
    document = specs["/openapi.json"]["components"]["schemas"]["DocumentOut"]
    extracted = document["properties"]["extracted"]["properties"]
    assert {"pages", "characters", "sources", "mrz", "classification"} <= set(extracted)
    mrz = extracted["mrz"]["anyOf"][0]
    assert {"document_number", "birth_date", "checks", "valid"} <= set(mrz["required"])


def test_the_conformance_check_reads_every_answer_and_refuses_an_undocumented_one(
    responses_conform: Conformance, client: httpx2.Client
) -> None:
    before = responses_conform.checked
    made = client.post("/v1/subjects", json={"external_id": "conformance"})
    assert made.status_code == 201, made.text
    assert client.get(f"/v1/subjects/{made.json()['id']}").status_code == 200
    assert responses_conform.checked == before + 2
    # An answer the document does not allow: a subject without its id.
    body = {k: v for k, v in made.json().items() if k != "id"}
    forged = httpx2.Response(201, json=body, request=made.request)
    with pytest.raises(Exception, match="'id' is a required property"):
        responses_conform.check(forged)
    teapot = httpx2.Response(418, json={}, request=made.request)
    with pytest.raises(AssertionError, match="status not in the document"):
        responses_conform.check(teapot)
