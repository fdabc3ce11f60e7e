"""Every benchmark of kycvault in one run, each against a baseline measured in the same run
(see README, "Performance"). Starts its own servers on loopback: ``kycvault serve`` (uvicorn
with uvloop and httptools) on SQLite and, when reachable, on PostgreSQL; the bare baseline
app; nginx for downloads.

    python bench/run.py              # everything (about 12 minutes on 2 cores)
    python bench/run.py --smoke      # small sizes, to check the benchmarks still work
    python bench/run.py --only U1,D1 # some rows

Needs curl, wrk and nginx (Debian: curl wrk nginx-light); rows whose tool is missing are
reported as skipped. Never fails on timing: it prints figures and whether targets were met.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa
from audit_cost import a1
from downloads import d1, d2
from feature_cost import f1
from harness import (
    MiB,
    Row,
    make_file,
    processing_off,
    settle,
    start_bare,
    start_kycvault,
    start_nginx,
)
from listing_http import l1, l2, seed_server
from uploads import u1_u2, u3, u4, u5, u5w, u6
from webhooks import w1_w2

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_DATABASE = "kycvault_bench"
# The listing rows are seeded without blobs: a worker's scrub would find every one missing
# and report it, at full CPU, all through the measurement.
LISTING_ENV = {"KYCVAULT_IN_PROCESS_WORKER": "false", "KYCVAULT_SCRUB_CYCLE_DAYS": "0"}
SMOKE_ENV = {"KYCVAULT_IN_PROCESS_WORKER": "false"}


@dataclass
class Plan:
    big: int
    small: int
    pairs: int
    seconds: float
    docs: int
    others: int
    iterations: int
    concurrent: int
    hook_pairs: int
    lags: int
    audits: int
    features: int


FULL = Plan(big=128 * MiB, small=200 * 1024, pairs=10, seconds=10, docs=1_000_000,
            others=100_000, iterations=60, concurrent=8, hook_pairs=300, lags=60,
            audits=300, features=100)  # fmt: skip
SMOKE = Plan(big=4 * MiB, small=200 * 1024, pairs=2, seconds=1, docs=1_000, others=100,
             iterations=2, concurrent=2, hook_pairs=3, lags=2, audits=6,
             features=3)  # fmt: skip


def _postgres_url() -> str | None:
    try:
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {PG_DATABASE}")
        admin.dispose()
    except Exception as exc:
        print(f"PostgreSQL not reachable ({type(exc).__name__}); its rows are skipped")
        return None
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument(
        "--only", help="comma-separated row ids (U1 … L2, U5W, L2W, W1, W2, A1, F1)"
    )
    parser.add_argument("--dir", help="work directory (default: a new temp dir)")
    args = parser.parse_args()
    plan = SMOKE if args.smoke else FULL
    wanted = {x.strip().upper() for x in args.only.split(",")} if args.only else None

    def want(*ids: str) -> bool:
        return wanted is None or any(i in wanted for i in ids)

    missing = [tool for tool in ("curl", "wrk") if shutil.which(tool) is None]
    if missing:
        print(f"missing tools: {', '.join(missing)}; install them (Debian: {' '.join(missing)})")
        return 2
    workdir = Path(args.dir or tempfile.mkdtemp(prefix="kv-bench-"))
    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else workdir
    big = make_file(shm / f"kv-bench-{plan.big}.pdf", plan.big)
    small = make_file(shm / f"kv-bench-{plan.small}.pdf", plan.small)
    started = time.monotonic()
    rows: list[Row] = []
    servers = []
    try:
        # The smoke run checks the harness, not the figures: its server leaves what it is sent
        # unread (reading every upload, in the background, was most of the run's CPU).
        kv = start_kycvault(workdir, "sqlite", SMOKE_ENV if args.smoke else None)
        processing_off(kv)
        bare = start_bare(workdir)
        nginx = start_nginx(workdir)
        servers += [kv, bare] + ([nginx] if nginx else [])
        if want("U1", "U2"):
            rows += u1_u2(kv, bare, big, plan.pairs)
        if want("U3"):
            rows.append(
                u3(
                    kv,
                    big,
                    make_file(shm / "kv-bench-16m.pdf", min(plan.big, 16 * MiB)),
                    plan.concurrent,
                )
            )
        if want("U4"):
            rows.append(u4(kv, big, plan.concurrent))
        if want("U5"):
            settle(kv)
            rows.append(u5(kv, bare, small, plan.seconds, workdir))
        if want("U5W"):
            settle(kv)
            rows.append(u5w(workdir, bare, small, plan.seconds))
        if want("U6"):
            rows.append(u6(kv, workdir, 128 * MiB))
        if want("D1"):
            rows.append(d1(kv, nginx, big, workdir, plan.pairs))
        if want("D2"):
            settle(kv)
            rows.append(d2(kv, small, plan.seconds, workdir))
        if want("W1", "W2"):
            rows += w1_w2(workdir, small, plan.hook_pairs, plan.lags)
        if want("F1"):
            settle(kv)
            rows.append(f1(workdir, small, plan.features))
        if want("A1"):
            auditing = start_kycvault(workdir, "audit", LISTING_ENV)
            servers.append(auditing)
            rows.append(a1(auditing, small, plan.audits))
        if want("L1", "L2"):
            # A server of its own: the upload rows' documents would otherwise sit at the head
            # of the main tenant's newest-first order, unlike the seeded distribution.
            lister = start_kycvault(workdir, "sqlite-listing", LISTING_ENV)
            servers.append(lister)
            targets = [("SQLite", lister, f"sqlite:///{lister.extra['data_dir'] / 'kycvault.db'}")]
            # The smoke run lists on SQLite only: PostgreSQL's rows run the same harness.
            pg_url = None if args.smoke else _postgres_url()
            if pg_url:
                pg_env = {**LISTING_ENV, "KYCVAULT_DATABASE_URL": pg_url}
                pg = start_kycvault(workdir, "postgres", pg_env)
                servers.append(pg)
                targets.append(("PostgreSQL", pg, pg_url))
            else:
                rows.append(
                    Row(
                        "L1/L2 PostgreSQL",
                        "listing on PostgreSQL",
                        "skipped: smoke run" if args.smoke else "skipped: not reachable",
                        "-",
                        None,
                    )
                )
            for label, server, url in targets:
                listing = seed_server(label, server, url, plan.docs, plan.others)
                l1_rows, paths = l1(listing, plan.iterations)
                rows += l1_rows
                if want("L2"):
                    rows.append(l2(listing, paths, plan.seconds, workdir))
                if want("L2W"):
                    # The same data served by the default number of API processes.
                    server.stop()
                    env = {k: v for k, v in server.extra["env"].items() if k != "KYCVAULT_WORKERS"}
                    wide = start_kycvault(workdir, f"{server.name}", env, workers=None)
                    servers.append(wide)
                    rows.append(l2(listing, paths, plan.seconds, workdir, server=wide))
    finally:
        for server in servers:
            server.stop()
    print()
    print(
        f"kycvault benchmarks, {date.today().isoformat()}, {platform.machine()}, "
        f"{_cpu()}, {'smoke' if args.smoke else 'full'} run in {time.monotonic() - started:.0f} s"
    )
    print()
    print("| id | what | figure | target | |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(row.render())
    return 0


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                count = Path("/proc/cpuinfo").read_text().count("processor\t:")
                return f"{count} x {line.split(':', 1)[1].strip()}"
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    raise SystemExit(main())
