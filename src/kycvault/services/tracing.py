"""The request id across a request and the jobs it queues, and optional OpenTelemetry spans.

api/middleware.py binds each request's id here for as long as the request runs: log lines
(``log_context``, a structlog processor) and the jobs the request queues (``job_payload``)
carry it, and a worker binds it again while it runs such a job (``job_run``). Spans exist only
once the composition root has installed a tracer (KYCVAULT_TRACING=otlp); until then nothing
here imports OpenTelemetry and the span helpers do nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, MutableMapping
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

# The span attribute naming the request (X-Request-Id) a span belongs to.
REQUEST_ID = "kycvault.request_id"
# Keys of a queued job's payload (``Job.result`` until it is done).
_PAYLOAD_REQUEST_ID = "request_id"
_request_id: ContextVar[str | None] = ContextVar("kycvault_request_id", default=None)
_tracer: Tracer | None = None


def install(tracer: Tracer | None) -> None:
    """Make spans with ``tracer`` from now on (None: no more spans)."""
    global _tracer
    _tracer = tracer


def tracer() -> Tracer | None:
    return _tracer


def bind_request(request_id: str | None) -> Token[str | None]:
    return _request_id.set(request_id)


def unbind_request(token: Token[str | None]) -> None:
    _request_id.reset(token)


def current_request_id() -> str | None:
    return _request_id.get()


def _propagator() -> TraceContextTextMapPropagator:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator()


def job_payload() -> dict[str, str]:
    """What a job queued now keeps of the request queuing it: the request's id and, with
    tracing on, its span's context (W3C ``traceparent``), so that the job's run joins the
    request's trace."""
    request_id = _request_id.get()
    payload = {_PAYLOAD_REQUEST_ID: request_id} if request_id else {}
    if _tracer is not None:
        _propagator().inject(payload)
    return payload


def log_context(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: the bound request id on every line and, with tracing on, the ids
    of the current trace and span."""
    request_id = _request_id.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    if _tracer is not None:
        from opentelemetry import trace

        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            event.setdefault("trace_id", trace.format_trace_id(context.trace_id))
            event.setdefault("span_id", trace.format_span_id(context.span_id))
    return event


class JobRun:
    """What a worker tells of one run of a job: its outcome and the error behind it."""

    def __init__(self, span: Span | None) -> None:
        self._span = span

    def outcome(self, outcome: str, error: BaseException | None = None) -> None:
        if self._span is None:
            return
        self._span.set_attribute("kycvault.job.outcome", outcome)
        if error is not None:
            from opentelemetry.trace import StatusCode

            self._span.record_exception(error)
            self._span.set_status(StatusCode.ERROR, type(error).__name__)


@contextlib.contextmanager
def job_run(job_id: UUID, kind: str, attempt: int, payload: Mapping[str, Any]) -> Iterator[JobRun]:
    """The run of a job: the id of the request that queued it bound again (the run's log lines
    and audit events carry it) and, with tracing on, a span in that request's trace."""
    named = payload.get(_PAYLOAD_REQUEST_ID)
    request_id = named if isinstance(named, str) else None
    token = _request_id.set(request_id)
    try:
        if _tracer is None:
            yield JobRun(None)
            return
        from opentelemetry.trace import SpanKind

        carrier = {key: value for key, value in payload.items() if isinstance(value, str)}
        attributes: dict[str, str | int] = {
            "kycvault.job.id": str(job_id),
            "kycvault.job.kind": kind,
            "kycvault.job.attempt": attempt,
        }
        if request_id:
            attributes[REQUEST_ID] = request_id
        with _tracer.start_as_current_span(
            f"job {kind}",
            context=_propagator().extract(carrier),
            kind=SpanKind.CONSUMER,
            attributes=attributes,
        ) as span:
            yield JobRun(span)
    finally:
        _request_id.reset(token)
