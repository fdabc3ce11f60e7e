"""OpenTelemetry's SDK sending spans over OTLP/HTTP in batches, from a thread of its own (the
optional ``tracing`` packages: imported only when KYCVAULT_TRACING=otlp)."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def otlp_tracer_provider(endpoint: str | None, *, version: str, process: str) -> TracerProvider:
    """Spans of this process (``process``: ``api`` or ``worker``) to the collector at
    ``endpoint`` (None: the exporter's default, from the standard OTEL_EXPORTER_OTLP_*
    variables). Sampling follows the SDK's default (the caller's decision, else every trace;
    OTEL_TRACES_SAMPLER changes it)."""
    resource = Resource.create(
        {"service.name": "kycvault", "service.version": version, "kycvault.process": process}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider
