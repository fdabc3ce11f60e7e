"""End to end: webhook delivery across process deaths and between workers.

A server SIGKILLed while a delivery is in flight, restarted while the receiver is down,
still delivers every event once the receiver is back (nothing is lost between a change's
commit and its delivery); two worker processes beside an API process deliver each event
exactly once to an endpoint."""

from __future__ import annotations

import base64
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import backends
from tests.backends import Backend
from tests.e2e.crash_support import kill
from tests.e2e.webhook_support import SERVER_ENV, Receiver, receiving, subscribe, verify
from tests.helpers import Server, server_on, worker_processes

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

# Retries every half second for a while: the receiver comes back within it.
PATIENT = {**SERVER_ENV, "KYCVAULT_WEBHOOK_RETRY_SCHEDULE": ",".join(["0.5s"] * 40)}


def test_delivery_survives_a_kill_and_a_receiver_away(tmp_path: Path, backend: str) -> None:
    env = {**PATIENT, "KYCVAULT_JOB_LEASE_SECONDS": "2"}
    with server_on(tmp_path / "srv", backend, **env) as srv:
        key = srv.create_tenant()["api_key"]
        with receiving() as first, srv.client(key) as client:
            endpoint = subscribe(client, first.url(), ["subject.created"])
            first.open.clear()  # hold the first delivery in flight
            made = client.post("/v1/subjects", json={"external_id": "before-kill"})
            assert made.status_code == 201, made.text
            before = made.json()["id"]
            first.wait_for(lambda: first.arrived == 1, what="the delivery in flight")
            kill(srv)  # SIGKILL mid-delivery: no attempt recorded
            first.default = 503  # the held request, released as the receiver goes away
            port = first.port
        # The receiver is down; the server comes back and records another change.
        srv.start()
        with srv.client(key) as client:
            made = client.post("/v1/subjects", json={"external_id": "while-away"})
            assert made.status_code == 201, made.text
            away = made.json()["id"]
            time.sleep(1.0)  # attempts fail: connection refused
            with receiving(Receiver(port=port)) as back:
                back.wait_for(lambda: len(back.delivered()) == 2, timeout=20)
                time.sleep(1.0)  # nothing more comes
                received = back.received
        got = [verify(endpoint["secret"], r)["data"]["subject_id"] for r in received]
        assert sorted(got) == sorted([before, away])


@pytest.fixture
def scaled(tmp_path: Path) -> Iterator[Server]:
    """An API process that runs no worker, and two worker processes, on one database."""
    backends.require(backends.SCALED)
    store = Backend.create(backends.SCALED)
    shared = {
        **SERVER_ENV,
        "KYCVAULT_IN_PROCESS_WORKER": "false",
        "KYCVAULT_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "KYCVAULT_ALLOW_GENERATED_KEY": "false",
    }
    api = Server(tmp_path / "api", env_extra=shared, backend=store)
    try:
        api.start()
        with worker_processes(tmp_path, store, shared):
            yield api
    finally:
        api.stop()
        store.drop()


def test_two_workers_deliver_each_event_once(scaled: Server) -> None:
    with receiving() as receiver, scaled.client(scaled.create_tenant()["api_key"]) as client:
        subscribe(client, receiver.url(), ["subject.created"])
        for n in range(40):
            assert client.post("/v1/subjects", json={"external_id": f"s-{n}"}).status_code == 201
        receiver.wait_for(lambda: len(receiver.delivered()) >= 40, timeout=30)
        time.sleep(1.0)
        counts = Counter(r.headers["webhook-id"] for r in receiver.received)
        assert len(counts) == 40 and set(counts.values()) == {1}
        sequences = [r.event["sequence"] for r in receiver.received]
        assert sequences == sorted(sequences)  # one endpoint: in sequence order
