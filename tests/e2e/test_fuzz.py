"""Schema-driven fuzzing of every operation of the live OpenAPI documents, the native one
(``/openapi.json``) and each dialect's (``/compat/<vendor>/openapi.json``), against a real
``kycvault serve`` process on each backend pair.

Schemathesis (its ``st run`` command, on those documents merged into one: ``one_document``)
runs, per operation, its coverage phase (boundary and negative values derived from each
schema) and its fuzzing phase
(``KYCVAULT_FUZZ_EXAMPLES`` generated cases, 5 unless set), from the fixed seed
``KYCVAULT_FUZZ_SEED`` and without an example database, so a run repeats exactly. The
coverage phase also sends each path the methods it does not have (``unsupported_method``):
on the embedded pair every such method, on PostgreSQL + S3 none, as the router answers them
before any storage is reached, the same on either pair. Requests
carry a real API key the way each dialect expects it (Argyle: HTTP Basic; nCore: ``apikey``;
Cynopsis: Bearer plus ``X-Domain-ID``; native, KYC Genie and Sila: Bearer), and path
parameters are drawn half of the time from real rows (a subject, a document with a file, a
download token), so that cases reach the handlers rather than stop at 404. Deletions run in a
second pass, after everything else has had the rows.

What is asserted (``CHECKS``): no response is a 5xx; every response is one the document
lists for its operation, with its content type, headers and schema (files and body-less
answers included); data the schema forbids is refused with a 4xx; an operation refuses
invalid or missing credentials as its security says; an unsupported method is a 405 whose
``Allow`` lists the path's methods; a missing required header is refused. The server's log
must hold no traceback afterwards. Left out, and why:

- ``positive_data_acceptance``: rules the document cannot state (cursor or page numbers but not
  both, a document type that exists, a file whose bytes are of an accepted type) rightly
  refuse data the schema allows;
- ``ignored_auth`` on Sila's operations: a Sila signature names its signer in the message
  (``header.app_handle``), so a signature sent with a message that names none is a 400
  about the message, before any signature is checked;
- the stateful phase and its checks (``use_after_free``, ``ensure_resource_availability``):
  the documents have no links, and the lifecycle tests cover deletion.

The run goes through ``st run`` rather than Schemathesis's pytest plugin: its loader for a
schema from a fixture sets ``Node._nodeid``, which pytest 9.2 no longer has.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kycvault.api.compat import DIALECTS
from tests.backends import EMBEDDED
from tests.helpers import Part, Server, image_bytes, post_multipart, server_on

EXAMPLES = int(os.environ.get("KYCVAULT_FUZZ_EXAMPLES", "5"))
SEED = int(os.environ.get("KYCVAULT_FUZZ_SEED", "20261216"))
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "ignored_auth",
    "allow_header_conformance",
)
REF = "#/components/schemas/"
ST = Path(sys.executable).with_name("st")
# Half of the cases take a real row's identifier for these parameters.
BINDINGS = {
    "subjects": ("subject_id", "entity_id", "user_id"),
    "documents": ("document_id", "upload_id", "identification_id"),
    "files": ("file_id", "file_ref"),
    "subject_numbers": ("customerId",),
    "document_numbers": ("documentId",),
    "tokens": ("token",),
}


def seed_rows(server: Server, api_key: str) -> dict[str, list[Any]]:
    """A subject with a document holding a file, and a download link to that file."""
    with server.client(api_key) as client:
        made = client.post("/v1/subjects", json={"external_id": "fuzz-user"})
        assert made.status_code == 201, made.text
        subject = made.json()
        parts = [
            Part("type", b"passport"),
            Part("subject_id", subject["id"].encode()),
            Part("file", image_bytes(), "page.png", "image/png"),
        ]
        made = post_multipart(client, "/v1/documents", parts)
        assert made.status_code == 201, made.text
        doc = made.json()
        file_id = doc["files"][0]["id"]
        made = client.post(f"/v1/documents/{doc['id']}/files/{file_id}/download-link")
        assert made.status_code == 201, made.text
        token = made.json()["download_url"].rsplit("/", 1)[1]
    return {
        "subjects": [subject["id"], "fuzz-user"],
        "documents": [doc["id"]],
        "files": [file_id],
        "subject_numbers": [subject["number"]],
        "document_numbers": [doc["number"]],
        "tokens": [token],
    }


def _toml(value: Any) -> str:
    # JSON strings, numbers and arrays of them are valid TOML values.
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


def config_file(
    path: Path, tenant: dict[str, Any], rows: dict[str, list[Any]], *, unexpected_methods: bool
) -> Path:
    bearer = f"Bearer {tenant['api_key']}"
    basic = base64.b64encode(f"{tenant['key_id']}:{tenant['key_secret']}".encode()).decode()
    dialect_headers = {
        "^/compat/argyle/": {"Authorization": f"Basic {basic}"},
        "^/compat/ncore/": {"apikey": tenant["api_key"]},
        "^/compat/cynopsis/": {"Authorization": bearer, "X-Domain-ID": str(tenant["domain_id"])},
    }
    lines = [
        f"seed = {SEED}",
        f"headers = {_toml({'Authorization': bearer})}",
        "[generation]",
        f"max-examples = {EXAMPLES}",
        'database = "none"',
        # The checks are chosen here, not with ``--checks``: a check named on the command line
        # would win over an operation's own setting below.
        "[checks]",
        "enabled = false",
        *(f"{check}.enabled = true" for check in CHECKS),
        "[phases]",
        "examples.enabled = false",
        "stateful.enabled = false",
        *([] if unexpected_methods else ["coverage.unexpected-methods = []"]),
        "[dictionaries]",
        *(f"{name} = {_toml({'values': values})}" for name, values in rows.items()),
        "[parameters]",
        *(
            f"{parameter} = {_toml({'dictionary': name, 'probability': 0.5})}"
            for name, parameters in BINDINGS.items()
            for parameter in parameters
        ),
    ]
    for pattern, headers in dialect_headers.items():
        lines += ["[[operations]]", f"include-path-regex = {_toml(pattern)}"]
        lines.append(f"headers = {_toml(headers)}")
    # Sila's signatures name their signer in the message (``header.app_handle``): a signature
    # with no handle is a 400 about the message, before any signature is checked.
    lines += ["[[operations]]", 'include-path-regex = "^/compat/sila/"']
    lines.append("checks.ignored_auth.enabled = false")
    path.write_text("\n".join(lines) + "\n")
    return path


def _renamed(node: Any, refs: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: refs.get(v, v) if k == "$ref" else _renamed(v, refs) for k, v in node.items()}
    if isinstance(node, list):
        return [_renamed(item, refs) for item in node]
    return node


def one_document(server: Server) -> dict[str, Any]:
    """The live documents, the native one and every dialect's, as one, so that one
    Schemathesis run covers them all (a run costs seconds before its first request): each
    dialect's schemas named after its vendor (``DocumentOut`` is not the native one), the
    security schemes as they are (one name is one scheme in every document)."""
    with server.client(None) as anonymous:
        merged: dict[str, Any] = anonymous.get("/openapi.json").json()
        for dialect in DIALECTS:
            spec = anonymous.get(f"{dialect.prefix}/openapi.json").json()
            vendor = "".join(ch for ch in dialect.title if ch.isalnum())
            names = spec["components"]["schemas"]
            spec = _renamed(spec, {REF + name: REF + vendor + name for name in names})
            merged["paths"].update(spec["paths"])
            for name, schema in spec["components"]["schemas"].items():
                assert vendor + name not in merged["components"]["schemas"], name
                merged["components"]["schemas"][vendor + name] = schema
            for name, scheme in spec["components"]["securitySchemes"].items():
                assert merged["components"]["securitySchemes"].setdefault(name, scheme) == scheme
    return merged


def _failures(output: str) -> str:
    """The report's failures and summary, without its advice on test data."""
    start = output.find("= FAILURES =")
    warnings = output.find("= WARNINGS =")
    summary = output.find("= SUMMARY =")
    failures = output[start:warnings] if 0 <= start < warnings else output[start:summary]
    return failures[-40000:] + output[summary:]


@pytest.fixture(scope="module")
def fuzz_run(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Any:
    root = tmp_path_factory.mktemp(f"fuzz-{backend}")
    with server_on(root / "server", backend) as server:
        tenant = server.create_tenant()
        config = config_file(
            root / "schemathesis.toml",
            tenant,
            seed_rows(server, tenant["api_key"]),
            unexpected_methods=backend == EMBEDDED,
        )

        document = root / "openapi.json"
        document.write_text(json.dumps(one_document(server)))

        def run(*filters: str) -> None:
            command = [
                str(ST),
                "--config-file",
                str(config),
                "--no-color",
                "run",
                str(document),
                "--url",
                server.url,
                "--workers",
                "1",
                *filters,
            ]
            done = subprocess.run(
                command, cwd=root, capture_output=True, text=True, timeout=900, check=False
            )
            (root / f"st-{'-'.join(filters)}.txt").write_text(done.stdout + done.stderr)
            assert done.returncode == 0, _failures(done.stdout) + done.stderr[-5000:]
            assert "Tested:" in done.stdout, done.stdout

        yield run
        assert "Traceback" not in server.output(), server.output()[-20000:]


def test_no_operation_answers_5xx_or_breaks_its_schema(fuzz_run: Any) -> None:
    fuzz_run("--exclude-method", "DELETE")


def test_no_deletion_answers_5xx_or_breaks_its_schema(fuzz_run: Any) -> None:
    fuzz_run("--include-method", "DELETE")
