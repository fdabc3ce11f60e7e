"""Counters an operator alerts on, per process, exposed at ``GET /metrics`` in Prometheus'
text format. They carry no tenant data: kinds and outcomes only."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

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
