"""Random kills: the real server is SIGKILLed at a random moment while four clients upload
(new documents and files added to them, every request with an Idempotency-Key), again and
again, on both backend pairs. After each restart every interrupted request is sent again with
its key and must yield exactly one write; ``fsck`` is clean; every acknowledged file is
listed exactly once and downloads byte for byte. Bounded: ``KYCVAULT_TEST_KILLS`` kills per
backend pair (10 by default; the outside crash test of 2026-12-06 made 170), each after
0.1-0.5 s of load, in two rounds of a server each (their own seeds), so that the rounds run
side by side on the test workers."""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from kycvault.services.sweep import Grace
from tests.e2e.crash_support import (
    CRASH_ENV,
    Ledger,
    Upload,
    assert_fsck_clean,
    assert_intact,
    documents_tagged,
    file_bytes,
    kill,
    listed_files,
    no_processing,
    send_until_settled,
)
from tests.helpers import client_tls, server_on

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("KYCVAULT_TEST_KILLS", "10"))
ROUNDS = 2
CLIENTS = 4
ORPHAN_GRACE = 5
GRACE = Grace(orphan_seconds=ORPHAN_GRACE, staging_seconds=3600)
# Sizes around the 1 MiB frame edge and small ones, as onboarding sends them.
SIZES = (1_000, 40_000, 300_000, 1_048_575, 1_048_576, 1_048_577, 2_200_000)


class Load:
    """Clients sending keyed uploads until the server dies under them."""

    def __init__(self, url: str, api_key: str, ledger: Ledger, rng: random.Random) -> None:
        self.url, self.api_key, self.ledger = url, api_key, ledger
        self.rng = random.Random(rng.random())
        self.lock = threading.Lock()
        self.interrupted: list[Upload] = []
        self.sent = 0

    def _next(self) -> Upload:
        key = f"loop-{uuid.uuid4().hex}"
        with self.lock:
            known = list(self.ledger.files)
            target = self.rng.choice(known) if known and self.rng.random() < 0.25 else None
            sizes = [self.rng.choice(SIZES) for _ in range(self.rng.choice((1, 1, 2)))]
        files = [file_bytes(f"{key}{n}", size) for n, size in enumerate(sizes)]
        return Upload(key, files, target)

    def _client(self) -> None:
        with httpx2.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=60,
            verify=client_tls(),
        ) as client:
            while True:
                upload = self._next()
                try:
                    response = upload.send(client)
                except httpx2.TransportError:
                    with self.lock:
                        self.interrupted.append(upload)
                    return
                assert response.status_code == 201, response.text
                with self.lock:
                    self.ledger.record(upload, response.json())
                    self.sent += 1

    def run_until_killed(self, kill_server: Callable[[], None]) -> None:
        threads = [threading.Thread(target=self._client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(self.rng.uniform(0.1, 0.5))
        kill_server()
        for thread in threads:
            thread.join(timeout=60)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_random_kills_under_keyed_uploads_lose_and_double_nothing(
    tmp_path: Path, backend: str, round_: int
) -> None:
    rng = random.Random(16 + round_)
    env = {**CRASH_ENV, "KYCVAULT_ORPHAN_GRACE_SECONDS": str(ORPHAN_GRACE)}
    with server_on(tmp_path, backend, **env) as srv:
        tenant = srv.create_tenant()
        ledger = Ledger()
        retried_creates = 0
        with srv.client(tenant["api_key"]) as client:
            no_processing(client)
            for _ in range(max(1, KILLS // ROUNDS)):
                load = Load(srv.url, tenant["api_key"], ledger, rng)
                load.run_until_killed(lambda: kill(srv))
                srv.start()
                seen = set(ledger.files)
                for upload in load.interrupted:
                    response = send_until_settled(client, upload)
                    assert response.status_code == 201, response.text
                    ledger.record(upload, response.json())
                    if upload.document_id is None:
                        assert len(documents_tagged(client, upload.key)) == 1
                        retried_creates += 1
                assert listed_files(client) == {d: set(f) for d, f in ledger.files.items()}
                assert_fsck_clean(srv, GRACE, verify=False)
                assert_intact(client, ledger, only=set(ledger.files) - seen)
            report = assert_fsck_clean(srv, GRACE)
            assert report.files_checked == sum(len(f) for f in ledger.files.values())
            assert assert_intact(client, ledger) == report.files_checked
            assert retried_creates > 0
