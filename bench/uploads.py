"""U1-U6: uploads against the bare baseline (bare_app.py) in the same run."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import threading
import time
from pathlib import Path

from harness import (
    MiB,
    Row,
    Server,
    api_processes,
    cpu_seconds,
    curl,
    drop_writeback,
    make_file,
    memory_kib,
    percentile,
    processing_off,
    reset_peak,
    settle,
    spread,
    start_kycvault,
    tree_cpu_seconds,
    wrk,
)


def _kv_upload(kv: Server, path: Path) -> list[str]:
    return [
        "-H", f"Authorization: Bearer {kv.extra['api_key']}", "-H", "Expect:",
        "-F", "type=bank_statement", "-F", f"file=@{path};type=application/pdf",
        f"{kv.url}/v1/documents",
    ]  # fmt: skip


def _bare_upload(bare: Server, path: Path) -> list[str]:
    return ["-H", "Expect:", "-T", str(path), f"{bare.url}/raw"]


def u1_u2(kv: Server, bare: Server, big: Path, pairs: int) -> list[Row]:
    """One large upload at a time, kycvault and the baseline alternating (ABAB…, with the
    order flipped every other pair), writeback flushed before each."""
    ratios, cpu_ratios, speeds = [], [], []
    size = big.stat().st_size
    for pair in range(pairs + 1):
        runs = {}
        order = [("kv", kv), ("bare", bare)] if pair % 2 else [("bare", bare), ("kv", kv)]
        for name, server in order:
            drop_writeback()
            before = cpu_seconds(server.pid)
            args = _kv_upload(kv, big) if name == "kv" else _bare_upload(bare, big)
            status, seconds = curl(*args)
            if status != 201:
                raise RuntimeError(f"{name} upload answered {status}")
            runs[name] = (seconds, cpu_seconds(server.pid) - before)
        if pair == 0:
            continue  # warm-up pair
        ratios.append(runs["bare"][0] / runs["kv"][0])
        cpu_ratios.append(runs["kv"][1] / max(runs["bare"][1], 1e-3))
        speeds.append(size / runs["kv"][0] / 1e6)
    low, median, high = spread(ratios)
    c_low, c_median, c_high = spread(cpu_ratios)
    mb = spread(speeds)[1]
    return [
        Row("U1", f"{size // MiB} MiB multipart upload vs raw stream, {pairs} pairs",
            f"ratio {median:.2f} ({low:.2f}-{high:.2f}), {mb:.0f} MB/s",
            ">= 0.70 and >= 250 MB/s", median >= 0.70 and mb >= 250),
        Row("U2", "server CPU per byte uploaded, kycvault / baseline",
            f"{c_median:.2f}x ({c_low:.2f}-{c_high:.2f})", "<= 1.5x", c_median <= 1.5),
    ]  # fmt: skip


def _peak_growth(kv: Server, paths: list[Path]) -> int:
    """KiB the server's peak resident set grew above its idle size while ``paths`` upload
    at once."""
    idle = memory_kib(kv.pid, "VmRSS")
    reset_peak(kv.pid)
    procs = [subprocess.Popen(["curl", "-s", "-o", "/dev/null", *_kv_upload(kv, p)]) for p in paths]
    for proc in procs:
        proc.wait()
    return memory_kib(kv.pid, "VmHWM") - idle


def u3(kv: Server, big: Path, small: Path, concurrent: int) -> Row:
    _peak_growth(kv, [small])  # warm-up
    one = _peak_growth(kv, [big])
    small_one = _peak_growth(kv, [small])
    many = _peak_growth(kv, [big] * concurrent)
    size_effect = one - small_one
    ok = one <= 24 * 1024 and many <= 64 * 1024 and size_effect <= 8 * 1024
    return Row(
        "U3",
        f"peak RSS added: 1 x {big.stat().st_size // MiB} MiB / {concurrent} concurrent; "
        f"{big.stat().st_size // MiB} MiB minus {small.stat().st_size // MiB} MiB",
        f"{one / 1024:.1f} / {many / 1024:.1f} MiB; {size_effect / 1024:+.1f} MiB",
        "<= 24 / <= 64 MiB; <= 8 MiB",
        ok,
    )


def u4(kv: Server, big: Path, concurrent: int) -> Row:
    """/healthz every 20 ms on its own connection while uploads run."""
    host, port = kv.url.removeprefix("http://").split(":")
    latencies: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        while not stop.is_set():
            started = time.perf_counter()
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(max(0.0, 0.02 - (time.perf_counter() - started)))
        conn.close()

    prober = threading.Thread(target=probe)
    prober.start()
    time.sleep(0.2)
    procs = [
        subprocess.Popen(["curl", "-s", "-o", "/dev/null", *_kv_upload(kv, big)])
        for _ in range(concurrent)
    ]
    for proc in procs:
        proc.wait()
    stop.set()
    prober.join()
    p99, worst = percentile(latencies, 0.99), max(latencies)
    return Row(
        "U4",
        f"GET /healthz every 20 ms during {concurrent} concurrent uploads ({len(latencies)} probes)",
        f"p99 {p99:.1f} ms, max {worst:.1f} ms",
        "p99 <= 50 ms",
        p99 <= 50,
    )


def u5(kv: Server, bare: Server, small: Path, seconds: float, workdir: Path) -> Row:
    env = {
        "BENCH_FILE": str(small),
        "BENCH_KEY": kv.extra["api_key"],
        "BENCH_WORKDIR": str(workdir),
    }
    ours = wrk(f"{kv.url}/v1/documents", "upload.lua", env, seconds=seconds, connections=16)
    base = wrk(f"{bare.url}/raw", "put.lua", env, seconds=seconds, connections=16)
    ratio = ours.rate / base.rate
    ok = ratio >= 0.75 and ours.p99_ms <= 100 and ours.errors == 0
    return Row(
        "U5",
        f"{small.stat().st_size // 1024} KiB uploads, 16 concurrent, {seconds:.0f} s, with the "
        "database row (reading stages off)",
        f"{ours.rate:.0f} vs {base.rate:.0f} req/s = {ratio:.2f}x, p99 {ours.p99_ms:.0f} ms, "
        f"{ours.errors} errors",
        ">= 0.75x, p99 <= 100 ms, 0 errors",
        ok,
    )


def u5w(workdir: Path, bare: Server, small: Path, seconds: float) -> Row:
    """U5 on a server with the default number of API processes (one a CPU), the tenant's
    reading stages off, against the bare baseline's one process."""
    kv = start_kycvault(workdir, "sqlite-workers", workers=None)
    try:
        processes = api_processes(kv.pid)
        processing_off(kv)
        env = {"BENCH_FILE": str(small), "BENCH_KEY": kv.extra["api_key"],
               "BENCH_WORKDIR": str(workdir)}  # fmt: skip
        wrk(f"{kv.url}/v1/documents", "upload.lua", env, seconds=2, connections=16)  # warm
        settle(kv)
        began = tree_cpu_seconds(kv.pid)
        ours = wrk(f"{kv.url}/v1/documents", "upload.lua", env, seconds=seconds, connections=16)
        cpu = (tree_cpu_seconds(kv.pid) - began) / max(ours.requests, 1) * 1000
    finally:
        kv.stop()
    base = wrk(f"{bare.url}/raw", "put.lua", env, seconds=seconds, connections=16)
    ratio = ours.rate / base.rate
    return Row(
        "U5w",
        f"U5 with the default API processes ({processes} on {os.cpu_count()} CPUs, the job "
        "worker in one), reading stages off, vs the bare baseline's one process",
        f"{ours.rate:.0f} vs {base.rate:.0f} req/s = {ratio:.2f}x, p99 {ours.p99_ms:.0f} ms, "
        f"{ours.errors} errors; server CPU {cpu:.2f} ms an upload",
        ">= 0.9x",
        ratio >= 0.9 and ours.errors == 0,
    )


def u6(kv: Server, workdir: Path, file_limit: int) -> Row:
    """A body just over the per-file limit: the access log says how many body bytes the
    application read before it answered."""
    oversize = make_file(workdir / "oversize.pdf", file_limit + MiB)
    status, _ = curl(*_kv_upload(kv, oversize))
    time.sleep(0.3)
    lines = [
        line for line in kv.log.read_text(errors="replace").splitlines()
        if '"status": 413' in line and '"route": "/v1/documents"' in line
    ]  # fmt: skip
    received = int(re.search(r'"received_bytes": (\d+)', lines[-1]).group(1)) if lines else -1  # type: ignore[union-attr]
    beyond = received - file_limit
    return Row(
        "U6",
        f"a body of {(file_limit + MiB) // MiB} MiB (per-file limit {file_limit // MiB} MiB)",
        f"{status}, application read {beyond / 1024:.0f} KiB beyond the limit",
        "413, <= 1 MiB beyond",
        status == 413 and 0 <= beyond <= MiB,
    )
