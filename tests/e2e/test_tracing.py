"""OpenTelemetry tracing, end to end: a real server process and a real ``kycvault worker``
with KYCVAULT_TRACING=otlp export over OTLP/HTTP to a collector this test runs on 127.0.0.1
(a plain HTTP server decoding the protobuf). A request's span carries its route template,
status and request id, continues a trace the client started, and is named in the access log
line; the jobs the request queued run in another process, in the request's trace, with its
request id. Without the optional packages, tracing on is a one-line settings error."""

from __future__ import annotations

import gzip
import json
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from kycvault.ports.persistence.records import AuditEvent
from kycvault.services.context import AppContext
from tests.e2e.test_config_errors import run
from tests.helpers import Part, Server, audit_events, image_bytes, post_multipart

WAIT_SECONDS = 60


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def _attributes(pairs: Any) -> dict[str, Any]:
    found: list[KeyValue] = list(pairs)
    return {pair.key: _value(pair.value) for pair in found}


@dataclass(frozen=True)
class Received:
    """A span as the collector got it, with its process's resource."""

    span: Span
    resource: dict[str, Any]

    @property
    def attributes(self) -> dict[str, Any]:
        return _attributes(self.span.attributes)


class Collector:
    """OTLP/HTTP traces receiver: keeps every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[Received] = []
        self.changed = threading.Condition()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                collector.add(request)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"

    def add(self, request: ExportTraceServiceRequest) -> None:
        with self.changed:
            for resource_spans in request.resource_spans:
                resource = _attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    self.spans += [Received(span, resource) for span in scope_spans.spans]
            self.changed.notify_all()

    def wait_for(self, wanted: Callable[[Received], bool], count: int = 1) -> list[Received]:
        """The spans ``wanted`` picks, once there are ``count`` of them (or what there is
        when the wait gives up, for the assertion to show)."""
        with self.changed:
            self.changed.wait_for(
                lambda: len([s for s in self.spans if wanted(s)]) >= count, WAIT_SECONDS
            )
            return [s for s in self.spans if wanted(s)]


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    running = Collector()
    running.thread.start()
    yield running
    running.server.shutdown()
    running.server.server_close()


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory, collector: Collector) -> Iterator[Server]:
    env = {
        "KYCVAULT_TRACING": "otlp",
        "KYCVAULT_OTLP_ENDPOINT": collector.endpoint,
        "KYCVAULT_LOG_LEVEL": "INFO",
        # The jobs are left to a `kycvault worker` process: the request id and the trace must
        # pass through the jobs table.
        "KYCVAULT_IN_PROCESS_WORKER": "false",
        # Spans leave in batches every 50 ms rather than every 5 s.
        "OTEL_BSP_SCHEDULE_DELAY": "50",
    }
    server = Server(tmp_path_factory.mktemp("traced"), env_extra=env).start()
    yield server
    server.stop()


def test_a_request_and_its_jobs_make_one_trace(traced: Server, collector: Collector) -> None:
    tenant = traced.create_tenant()
    request_id = f"trace-{uuid.uuid4().hex}"
    with traced.client(tenant["api_key"], headers={"X-Request-Id": request_id}) as client:
        made = post_multipart(
            client,
            "/v1/documents",
            [Part("type", b"passport"), Part("file", image_bytes(), "p.png")],
        )
    assert made.status_code == 201, made.text

    def of_request(s: Received) -> bool:
        return s.attributes.get("kycvault.request_id") == request_id

    [request] = collector.wait_for(lambda s: of_request(s) and s.span.kind == Span.SPAN_KIND_SERVER)
    assert request.span.name == "POST /v1/documents"
    assert request.attributes["http.route"] == "/v1/documents"
    assert request.attributes["http.request.method"] == "POST"
    assert request.attributes["http.response.status_code"] == 201
    assert request.resource["service.name"] == "kycvault"
    assert request.resource["kycvault.process"] == "api"

    # The access log line of the request names its trace.
    lines = [json.loads(line) for line in traced.output().splitlines() if line.startswith("{")]
    [access] = [x for x in lines if x.get("event") == "request" and x["request_id"] == request_id]
    assert access["trace_id"] == request.span.trace_id.hex()
    assert access["span_id"] == request.span.span_id.hex()

    # The upload queued its file's check and the document's reading; a worker process runs
    # them, each in a span under the request's, with the request's id.
    done = traced.cli("worker", "--once")
    assert done.returncode == 0, done.stderr
    kinds = {"job file.verify", "job document.process"}
    jobs = collector.wait_for(lambda s: of_request(s) and s.span.name in kinds, count=2)
    assert {s.span.name for s in jobs} == kinds
    for job in jobs:
        assert job.resource["kycvault.process"] == "worker"
        assert job.span.trace_id == request.span.trace_id
        assert job.span.parent_span_id == request.span.span_id
        assert job.attributes["kycvault.job.outcome"] == "done"
        assert job.attributes["kycvault.job.kind"] == job.span.name.removeprefix("job ")
    # The audit event of the job's work names the request that asked for it.
    document_id = uuid.UUID(made.json()["id"])

    async def verified(ctx: AppContext) -> list[AuditEvent]:
        tenant_id = uuid.UUID(str(tenant["tenant_id"]))
        return await audit_events(ctx, tenant_id, document_id=document_id, actor="worker")

    [event] = [e for e in traced.in_context(verified) if e.action == "file.verified"]
    assert event.request_id == request_id


def test_a_span_continues_the_callers_trace(traced: Server, collector: Collector) -> None:
    tenant = traced.create_tenant()
    trace_id, parent_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    missing = uuid.uuid4()
    headers = {"traceparent": f"00-{trace_id}-{parent_id}-01"}
    with traced.client(tenant["api_key"], headers=headers) as client:
        answer = client.get(f"/v1/documents/{missing}")
    assert answer.status_code == 404
    request_id = answer.headers["x-request-id"]
    [span] = collector.wait_for(lambda s: s.attributes.get("kycvault.request_id") == request_id)
    assert span.span.trace_id.hex() == trace_id
    assert span.span.parent_span_id.hex() == parent_id
    # The route's template, never the path with its id.
    assert span.span.name == "GET /v1/documents/{document_id}"
    assert str(missing) not in span.span.name
    assert span.attributes["http.response.status_code"] == 404
    # Health probes (the test's own, waiting for the server to start) make no spans.
    assert not [s for s in collector.spans if "healthz" in s.span.name]


def check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run(tmp_path, "config", "check", **env)


def test_tracing_without_its_packages_is_a_settings_error(tmp_path: Path) -> None:
    # An `opentelemetry` package with nothing in it, found first: as if the extra were absent.
    shadow = tmp_path / "shadow"
    (shadow / "opentelemetry").mkdir(parents=True)
    (shadow / "opentelemetry" / "__init__.py").write_text("")
    done = check(tmp_path, KYCVAULT_TRACING="otlp", PYTHONPATH=str(shadow))
    assert done.returncode == 2, done.stderr
    [problem] = done.stderr.strip().splitlines()[1:]
    assert problem.strip().startswith("KYCVAULT_TRACING: ")
    assert "pip install 'kycvault[tracing]'" in problem
    assert "Traceback" not in done.stderr
    # With the packages there, the same settings pass.
    done = check(tmp_path, KYCVAULT_TRACING="otlp")
    assert done.returncode == 0, done.stderr


def test_an_endpoint_must_be_an_http_url(tmp_path: Path) -> None:
    done = check(tmp_path, KYCVAULT_OTLP_ENDPOINT="collector:4318")
    assert done.returncode == 2
    assert "KYCVAULT_OTLP_ENDPOINT: " in done.stderr
    assert "http:// or https://" in done.stderr
