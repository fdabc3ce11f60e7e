"""Processes and measurements shared by the benchmarks: servers under test started on
loopback, per-process CPU and memory from /proc, and the statistics printed."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# Pinned for every server, subject and baseline alike: with glibc's default dynamic mmap
# threshold, identical code measured 299 vs 395 MB/s depending on the process's history.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "4194304", "MALLOC_TRIM_THRESHOLD_": "134217728"}
MiB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_kycvault(
    workdir: Path, name: str, env: dict[str, str] | None = None, *, workers: int | None = 1
) -> Server:
    """``kycvault serve`` (uvicorn, uvloop, httptools) on the embedded default or on the
    database named in ``env``; its first tenant's key is in ``extra["api_key"]``. One API
    process unless told otherwise (``workers=None``: the default, one a CPU): most rows read
    the server's CPU from its pid (``tree_cpu_seconds`` counts every process)."""
    port = free_port()
    data = workdir / name
    data.mkdir(parents=True, exist_ok=True)
    log = workdir / f"{name}.log"
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KYCVAULT_")},
        **MALLOC_ENV,
        "KYCVAULT_DATA_DIR": str(data),
        **({"KYCVAULT_WORKERS": str(workers)} if workers else {}),
        **(env or {}),
    }
    if "KYCVAULT_DATABASE_URL" in full_env and not (data / "master.key").exists():
        # Outside the embedded default a key is made on purpose, never by the server.
        subprocess.run(
            [PYTHON, "-m", "kycvault", "init-key"],
            env=full_env,
            cwd=workdir,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    process = subprocess.Popen(
        [PYTHON, "-m", "kycvault", "serve", "--port", str(port)],
        env=full_env,
        cwd=workdir,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    server = Server(name, process, f"http://127.0.0.1:{port}", log)
    wait_http(f"{server.url}/healthz")
    credentials = json.loads((data / "first-tenant.json").read_text())
    server.extra.update(credentials, data_dir=data, env=full_env)
    return server


def processing_off(kv: Server) -> None:
    """The first tenant's reading stages off: its uploads queue no reading in a child
    process. The upload and download rows measure the API; with reading on, the server's
    worker went on reading the thousands of U5's documents (a child process each, about
    half a second of CPU) for a quarter of an hour, through every later row of the run."""
    host, port = kv.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    body = b'{"classification": false, "ocr": false, "authenticity": false}'
    headers = {"Authorization": f"Bearer {kv.extra['api_key']}",
               "Content-Type": "application/json"}  # fmt: skip
    conn.request("PATCH", "/v1/settings/processing", body=body, headers=headers)
    answer = conn.getresponse()
    answer.read()
    conn.close()
    if answer.status != 200:
        raise RuntimeError(f"processing settings answered {answer.status}")


def start_bare(workdir: Path) -> Server:
    port = free_port()
    files = workdir / "bare-files"
    files.mkdir(parents=True, exist_ok=True)
    log = workdir / "bare.log"
    process = subprocess.Popen(
        [
            PYTHON, "-m", "uvicorn", "bare_app:app", "--app-dir", str(ROOT / "bench"),
            "--port", str(port),
            "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
            "--no-access-log",
        ],
        env={**os.environ, **MALLOC_ENV, "BARE_DIR": str(files)},
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    server = Server("bare", process, f"http://127.0.0.1:{port}", log)
    wait_http(f"{server.url}/ping")
    return server


def start_nginx(workdir: Path) -> Server | None:
    """nginx with sendfile, serving ``workdir/www`` (None when nginx is not installed)."""
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if binary is None:
        return None
    port = free_port()
    base = workdir / "nginx"
    (base / "tmp").mkdir(parents=True, exist_ok=True)
    (workdir / "www").mkdir(exist_ok=True)

    config = base / "nginx.conf"
    temp = base / "tmp"
    config.write_text(
        # Started by root, nginx's worker would drop to "nobody", who cannot reach files
        # under a private temp directory; it keeps the benchmark's own user instead.
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"""worker_processes 1;
daemon off;
error_log {base}/error.log;
pid {base}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path {temp}; proxy_temp_path {temp}; fastcgi_temp_path {temp};
  uwsgi_temp_path {temp}; scgi_temp_path {temp};
  server {{ listen 127.0.0.1:{port}; root {workdir / "www"}; }}
}}
"""
    )
    log = base / "nginx.log"
    process = subprocess.Popen(
        [binary, "-c", str(config)], stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    server = Server("nginx", process, f"http://127.0.0.1:{port}", log)
    time.sleep(0.3)
    return server


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU of ``pid`` and of every process below it (an API server's worker processes)."""
    total = 0.0
    try:
        total = cpu_seconds(pid)
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return total  # ended meanwhile
    return total + sum(tree_cpu_seconds(int(child)) for child in children)


def settle(*servers: Server, idle: float = 0.05, timeout: float = 300) -> None:
    """Wait until ``servers`` are idle (under ``idle`` of a core over a second, every process
    of each counted): an upload row leaves its server's worker verifying what it received
    (each blob read back, decrypted and hashed) for seconds after it, and a row measured
    meanwhile would share the CPU with it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = sum(tree_cpu_seconds(server.pid) for server in servers)
        time.sleep(1)
        if sum(tree_cpu_seconds(server.pid) for server in servers) - before < idle:
            return


def api_processes(pid: int) -> int:
    """The API processes of a ``kycvault serve`` (1 when it serves from its own process)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    spawned = [c for c in children if b"spawn_main" in _cmdline(int(c))]
    return len(spawned) or 1


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


def memory_kib(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise KeyError(name)


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def curl(*args: str) -> tuple[int, float]:
    """(status, seconds) of one curl request; the body is discarded."""
    done = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    status, seconds = done.stdout.split()
    return int(status), float(seconds)


def drop_writeback() -> None:
    os.sync()


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def make_file(path: Path, size: int, *, prefix: bytes = b"%PDF-1.7\n") -> Path:
    """A file of ``size`` random bytes that sniffs as a PDF."""
    if path.exists() and path.stat().st_size == size:
        return path
    with path.open("wb") as handle:
        handle.write(prefix)
        left = size - len(prefix)
        while left > 0:
            block = os.urandom(min(left, 4 * MiB))
            handle.write(block)
            left -= len(block)
    return path


@dataclass
class WrkResult:
    rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: int


def wrk(
    url: str, script: str, env: dict[str, str], *, seconds: float, connections: int
) -> WrkResult:
    """One closed-loop wrk run (one thread, ``connections`` connections)."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed (Debian package wrk)")
    scripts = ROOT / "bench" / "wrk"
    combined = Path(env.get("BENCH_WORKDIR", "/tmp")) / f"wrk-{script}"
    combined.write_text(
        (scripts / script).read_text() + "\n" + (scripts / "report.lua").read_text()
    )
    done = subprocess.run(
        [
            binary, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
            "-s", str(combined), url,
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH "))
    values = dict(part.split("=") for part in line.split()[1:])
    return WrkResult(
        rate=int(values["requests"]) / (int(values["duration_us"]) / 1e6),
        p50_ms=int(values["p50_us"]) / 1000,
        p99_ms=int(values["p99_us"]) / 1000,
        max_ms=int(values["max_us"]) / 1000,
        requests=int(values["requests"]),
        errors=int(values["errors"]),
    )


@dataclass
class Row:
    """One line of the report: a benchmark id, what was measured, the figure, the target."""

    id: str
    what: str
    figure: str
    target: str
    ok: bool | None

    def render(self) -> str:
        mark = {True: "met", False: "MISSED", None: "-"}[self.ok]
        return f"| {self.id} | {self.what} | {self.figure} | {self.target} | {mark} |"
