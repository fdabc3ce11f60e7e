"""D1-D2: downloads, against nginx's sendfile and against the metadata GET."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from harness import MiB, Row, Server, cpu_seconds, curl, spread, wrk


def upload(kv: Server, path: Path) -> tuple[str, str]:
    """(document id, file id) of a new document holding ``path``."""
    done = subprocess.run(
        [
            "curl", "-s", "-H", f"Authorization: Bearer {kv.extra['api_key']}", "-H", "Expect:",
            "-F", "type=bank_statement", "-F", f"file=@{path};type=application/pdf",
            f"{kv.url}/v1/documents",
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    doc = json.loads(done.stdout)
    return doc["id"], doc["files"][0]["id"]


def d1(kv: Server, nginx: Server | None, big: Path, workdir: Path, pairs: int) -> Row:
    size = big.stat().st_size
    if nginx is None:
        return Row("D1", f"{size // MiB} MiB download vs nginx sendfile", "skipped: no nginx",
                   ">= 0.50x", None)  # fmt: skip
    shutil.copyfile(big, workdir / "www" / "big.pdf")
    doc_id, file_id = upload(kv, big)
    ours = f"{kv.url}/v1/documents/{doc_id}/files/{file_id}/content"
    auth = ["-H", f"Authorization: Bearer {kv.extra['api_key']}"]
    ratios, speeds = [], []
    for pair in range(pairs + 1):
        status, reference = curl(f"{nginx.url}/big.pdf")
        if status != 200:
            raise RuntimeError(f"nginx answered {status} (see {workdir / 'nginx' / 'error.log'})")
        status, seconds = curl(*auth, ours)
        if status != 200:
            raise RuntimeError(f"download answered {status}")
        if pair:
            ratios.append(reference / seconds)
            speeds.append(size / seconds / 1e6)
    low, median, high = spread(ratios)
    return Row(
        "D1",
        f"{size // MiB} MiB download (decrypt, verify, stream) vs nginx sendfile, {pairs} pairs",
        f"ratio {median:.2f} ({low:.2f}-{high:.2f}), {spread(speeds)[1]:.0f} MB/s",
        ">= 0.50x",
        median >= 0.50,
    )


def d2(kv: Server, small: Path, seconds: float, workdir: Path) -> Row:
    doc_id, file_id = upload(kv, small)
    env = {"BENCH_KEY": kv.extra["api_key"], "BENCH_WORKDIR": str(workdir)}
    # Server CPU per request: less sensitive than the rates to what else the machine runs.
    began = cpu_seconds(kv.pid)
    content = wrk(
        f"{kv.url}/v1/documents/{doc_id}/files/{file_id}/content", "get.lua", env,
        seconds=seconds, connections=16,
    )  # fmt: skip
    middle = cpu_seconds(kv.pid)
    metadata = wrk(
        f"{kv.url}/v1/documents/{doc_id}", "get.lua", env, seconds=seconds, connections=16
    )
    content_cpu = (middle - began) / max(content.requests, 1) * 1000
    metadata_cpu = (cpu_seconds(kv.pid) - middle) / max(metadata.requests, 1) * 1000
    ratio = content.rate / metadata.rate
    return Row(
        "D2",
        f"{small.stat().st_size // 1024} KiB downloads vs the metadata GET, 16 concurrent",
        f"{content.rate:.0f} vs {metadata.rate:.0f} req/s = {ratio:.2f}x "
        f"({content.errors + metadata.errors} errors); server CPU {content_cpu:.2f} / "
        f"{metadata_cpu:.2f} ms a request",
        ">= 0.6x",
        ratio >= 0.6 and content.errors == 0,
    )
