"""``GET /metrics`` after real traffic: requests by route template and status with their
latency, bytes uploaded and downloaded, failed authentications, and the job queue's depth
and oldest job's age per kind as the database has them. Counters are per process and the
in-process servers share one, so each check compares before and after."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

import httpx2
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.processing_support import settled
from tests.helpers import Part, Server, free_port, image_bytes, post_multipart


def scrape(server: Server) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with server.client(None) as anonymous:
        answer = anonymous.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_traffic_shows_in_the_metrics(server: Server, client: httpx2.Client) -> None:
    before = scrape(server)
    content = image_bytes()
    made = post_multipart(
        client, "/v1/documents", [Part("type", b"passport"), Part("file", content, "p.png")]
    )
    assert made.status_code == 201, made.text
    doc = made.json()
    got = client.get(f"/v1/documents/{doc['id']}/files/{doc['files'][0]['id']}/content")
    assert got.content == content
    with server.client("kvk_0000000000000000.wrong") as stranger:
        assert stranger.get("/v1/documents").status_code == 401
    after = scrape(server)

    def grew(name: str, labels: dict[str, str] | None = None, by: float = 1) -> bool:
        labels = labels or {}
        return value(after, name, **labels) - value(before, name, **labels) >= by

    upload = {"method": "POST", "route": "/v1/documents", "status": "201"}
    assert grew("kycvault_http_requests_total", upload)
    download = "/v1/documents/{document_id}/files/{file_id}/content"
    got_file = {"method": "GET", "route": download, "status": "200"}
    assert grew("kycvault_http_requests_total", got_file)
    posted = {"method": "POST", "route": "/v1/documents"}
    assert grew("kycvault_http_request_duration_seconds_count", posted)
    assert grew("kycvault_http_received_bytes_total", {"route": "/v1/documents"}, len(content))
    assert grew("kycvault_http_sent_bytes_total", {"route": download}, len(content))
    assert grew("kycvault_authentication_failures_total")
    # No path with an id in it becomes a label: routes are templates.
    assert not any(doc["id"] in dict(labels).get("route", "") for _, labels in after)
    # The upload queued jobs (verification, processing) that no worker runs here.
    queued = [
        (dict(labels)["kind"], count)
        for (name, labels), count in after.items()
        if name == "kycvault_jobs" and dict(labels).get("state") == "queued"
    ]
    assert queued and all(count >= 1 for _, count in queued), queued
    kind = queued[0][0]
    assert value(after, "kycvault_job_oldest_age_seconds", kind=kind, state="queued") >= 0


def test_a_worker_serves_its_own_metrics_on_the_port_given(server: Server) -> None:
    port = free_port()
    worker = subprocess.Popen(
        [sys.executable, "-m", "kycvault", "worker", "--metrics-port", str(port)],
        env=server.env(),
        cwd=server.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert worker.poll() is None, "the worker stopped"
            try:
                answer = httpx2.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
                break
            except httpx2.TransportError:
                assert time.monotonic() < deadline, "no metrics were served"
                time.sleep(0.2)
        assert answer.status_code == 200
        names = {family.name for family in text_string_to_metric_families(answer.text)}
        assert {"kycvault_job_duration_seconds", "kycvault_webhook_attempts"} <= names
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0


def test_each_processing_stage_is_timed(processing_server: Server, pclient: httpx2.Client) -> None:
    before = scrape(processing_server)
    statement = b"Northwind Bank - Bank Statement\nOpening balance 1,204.11\n" * 20
    made = post_multipart(
        pclient,
        "/v1/documents",
        [Part("type", b"bank_statement"), Part("file", statement, "s.txt", "text/plain")],
    )
    assert made.status_code == 201, made.text
    settled(pclient, made.json()["id"])
    after = scrape(processing_server)
    for stage in ("ocr", "classification", "authenticity"):
        name = "kycvault_processing_stage_seconds_count"
        assert value(after, name, stage=stage) == value(before, name, stage=stage) + 1
