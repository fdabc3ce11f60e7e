"""P1-P2: document processing on the embedded default (worker inside the server).

P1: seconds from a one-page passport image's 201 to all three stages settled, one document
at a time (target: 5 s on two cores). P2: the API's latency (a page of the listing) while 20
such documents are processed, against the same requests on an idle server.

    .venv/bin/python bench/processing.py [--documents 5] [--burst 20]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from harness import ROOT, Server, percentile, start_kycvault

sys.path.insert(0, str(ROOT))
from tests.helpers import Part, multipart
from tests.samples import document_image, random_person

from kycvault.domain.mrz import Layout

SETTLED = {"completed", "failed", "unauthorized"}


def _request(kv: Server, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> Any:  # fmt: skip
    request = urllib.request.Request(f"{kv.url}{path}", data=body, method=method)
    request.add_header("Authorization", f"Bearer {kv.extra['api_key']}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def upload(kv: Server, image: bytes) -> str:
    content_type, body, _ = multipart(
        [Part("type", b"passport"), Part("file", image, "passport.png", "image/png")]
    )
    doc = _request(kv, "POST", "/v1/documents", b"".join(body), {"Content-Type": content_type})
    return str(doc["id"])


def wait_settled(kv: Server, doc_id: str, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc: dict[str, Any] = _request(kv, "GET", f"/v1/documents/{doc_id}")
        if set(doc["processing"].values()) <= SETTLED:
            return doc
        time.sleep(0.05)
    raise RuntimeError(f"document {doc_id} still processing after {timeout} s")


def listing_latencies(kv: Server, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        _request(kv, "GET", "/v1/documents?limit=10")
        out.append(time.perf_counter() - start)
        time.sleep(0.02)


def _latency_row(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name}: n={len(ms)} p50={statistics.median(ms):.1f} ms "
        f"p95={percentile(ms, 95):.1f} ms p99={percentile(ms, 99):.1f} ms max={max(ms):.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=5, help="P1: documents, one at a time")
    parser.add_argument("--burst", type=int, default=20, help="P2: documents at once")
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="kv-bench-processing-") as tmp:
        kv = start_kycvault(Path(tmp), "kv", {"KYCVAULT_WORKER_POLL_SECONDS": "0.05"})
        try:
            images = [
                document_image(random_person(rng, Layout.TD3), dpi=300)
                for _ in range(args.documents + args.burst)
            ]
            upload(kv, images[0])  # warm-up: first import of the reader's libraries
            wait_settled(kv, upload(kv, images[0]))
            seconds = []
            for image in images[: args.documents]:
                start = time.perf_counter()
                doc = wait_settled(kv, upload(kv, image))
                seconds.append(time.perf_counter() - start)
                assert doc["processing"]["ocr"] == "completed", doc["processing"]
            print(
                f"P1 one-page passport, upload to settled: median {statistics.median(seconds):.2f} s,"
                f" max {max(seconds):.2f} s over {len(seconds)} (target <= 5 s)"
            )
            idle: list[float] = []
            stop = threading.Event()
            poller = threading.Thread(target=listing_latencies, args=(kv, stop, idle))
            poller.start()
            time.sleep(3)
            stop.set()
            poller.join()
            busy: list[float] = []
            stop = threading.Event()
            poller = threading.Thread(target=listing_latencies, args=(kv, stop, busy))
            poller.start()
            start = time.perf_counter()
            ids = [upload(kv, image) for image in images[args.documents :]]
            for doc_id in ids:
                wait_settled(kv, doc_id)
            took = time.perf_counter() - start
            stop.set()
            poller.join()
            print(f"P2 {len(ids)} documents processed in {took:.1f} s")
            print("   " + _latency_row("listing, idle", idle))
            print("   " + _latency_row(f"listing while {len(ids)} are processed", busy))
        finally:
            kv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
