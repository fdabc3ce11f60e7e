"""What an operator graphs and alerts on, per process, exposed at ``GET /metrics`` in
Prometheus' text format. No tenant data: routes as templates, kinds, states and outcomes.

Each API process and each ``kycvault worker`` keeps its own counters (scrape every process,
or sum them); the job gauges are read from the database at each scrape, so every process
answers them alike."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from kycvault.services.context import AppContext

REGISTRY = CollectorRegistry(auto_describe=True)

FILES_SCRUBBED = Counter(
    "kycvault_scrub_files",
    "Stored files read in full by the scrub.",
    registry=REGISTRY,
)
INTEGRITY_FAILURES = Counter(
    "kycvault_integrity_failures",
    "Stored files found damaged or missing, by where it was noticed and what was wrong.",
    ["source", "problem"],
    registry=REGISTRY,
)
LEFTOVERS_SWEPT = Counter(
    "kycvault_leftovers_swept",
    "Staging files and unreferenced blobs removed by the sweep.",
    ["kind"],
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "kycvault_http_requests",
    "Requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "kycvault_http_request_duration_seconds",
    "Time from a request's start to its answer's end, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
BYTES_RECEIVED = Counter(
    "kycvault_http_received_bytes",
    "Request body bytes read (uploads), by route template.",
    ["route"],
    registry=REGISTRY,
)
BYTES_SENT = Counter(
    "kycvault_http_sent_bytes",
    "Response body bytes sent (downloads), by route template.",
    ["route"],
    registry=REGISTRY,
)
AUTH_FAILURES = Counter(
    "kycvault_authentication_failures",
    "Failed authentications counted against the limits (API keys, links, signatures).",
    registry=REGISTRY,
)
JOB_SECONDS = Histogram(
    "kycvault_job_duration_seconds",
    "Time a job's work took in this process (document processing is kind document.process),"
    " by kind and outcome (done, retry, dead).",
    ["kind", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
WEBHOOK_ATTEMPTS = Counter(
    "kycvault_webhook_attempts",
    "Webhook delivery attempts, by outcome (delivered, retry, failed).",
    ["outcome"],
    registry=REGISTRY,
)
JOBS = Gauge(
    "kycvault_jobs",
    "Unfinished jobs in the database, by kind and state (queued, running, dead).",
    ["kind", "state"],
    registry=REGISTRY,
)
JOB_OLDEST_SECONDS = Gauge(
    "kycvault_job_oldest_age_seconds",
    "Age of the oldest unfinished job, by kind and state.",
    ["kind", "state"],
    registry=REGISTRY,
)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(
    method: str, route: str, status: int, seconds: float, received: int, sent: int
) -> None:
    """One answered request (``route``: the matched route's template, never the path)."""
    method = method if method in _METHODS else "OTHER"
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_SECONDS.labels(method, route).observe(seconds)
    if received:
        BYTES_RECEIVED.labels(route).inc(received)
    if sent:
        BYTES_SENT.labels(route).inc(sent)


PROCESSING_STAGE_SECONDS = Histogram(
    "kycvault_processing_stage_seconds",
    "Time each stage of processing a document took in this process: ocr (decrypting and "
    "reading every file in the reader's process, the machine-readable zone included), "
    "classification, authenticity.",
    ["stage"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)


@contextmanager
def processing_stage(stage: str) -> Iterator[None]:
    """Time a stage of processing a document (``PROCESSING_STAGE_SECONDS``)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        PROCESSING_STAGE_SECONDS.labels(stage).observe(time.perf_counter() - started)


def serve(host: str, port: int) -> Callable[[], None]:
    """Serve this process's metrics at ``http://host:port/metrics`` from a thread of its own:
    for a ``kycvault worker``, which answers no API. Returns what stops it. (The job gauges
    are the API's to answer: they are read from the database at its scrapes.)"""
    server, thread = start_http_server(port, addr=host, registry=REGISTRY)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop


async def refresh_jobs(ctx: AppContext) -> None:
    """Set the job gauges from the database (at a scrape)."""
    async with ctx.store.read() as uow:
        backlog = await uow.jobs.backlog()
    now = ctx.clock()
    JOBS.clear()
    JOB_OLDEST_SECONDS.clear()
    for row in backlog:
        JOBS.labels(row.kind, row.state).set(row.count)
        JOB_OLDEST_SECONDS.labels(row.kind, row.state).set(
            max(0.0, (now - row.oldest).total_seconds())
        )
