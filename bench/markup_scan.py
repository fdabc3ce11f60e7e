"""Cost of searching a text upload for markup from end to end, as the intake does: a 128 MiB
text file fed in the intake's 1 MiB batches to one ``StreamMarkupScan``, for three contents,
next to SHA-256 over the same batches (which every upload pays anyway).

    python bench/markup_scan.py            # 128 MiB each
    python bench/markup_scan.py --mib 16

Contents: a bank-statement CSV with a "<" every line or so (the common case that has any),
prose without "<", and the worst case, a file of nothing but "<" (each one starts a match
attempt).
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable

from kycvault.adapters.sniffing import StreamMarkupScan

MiB = 1024 * 1024


def _batches(pattern: bytes, total: int) -> list[bytes]:
    block = (pattern * (MiB // len(pattern) + 1))[:MiB]
    # Distinct copies, so that the figures include reading 128 MiB from memory.
    return [bytes(bytearray(block)) for _ in range(total // MiB)]


def _rate(total: int, work: Callable[[list[bytes]], None], batches: list[bytes]) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        work(batches)
        best = min(best, time.perf_counter() - started)
    return total / MiB / best


def _scan(batches: list[bytes]) -> None:
    scan = StreamMarkupScan()
    for batch in batches:
        if scan.found_in(batch):
            raise AssertionError("markup found in a clean file")


def _hash(batches: list[bytes]) -> None:
    digest = hashlib.sha256()
    for batch in batches:
        digest.update(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mib", type=int, default=128)
    total = parser.parse_args().mib * MiB
    contents = {
        "CSV with '<' in the text": b"2024-03-01,DE89370400440532013000,-20.00,EUR,ref <A-12>\n",
        "prose, no '<'": b"The account holder confirms the address given above. ",
        "worst case: only '<'": b"<",
    }
    print(f"| content ({total // MiB} MiB) | markup scan MiB/s | SHA-256 MiB/s |")
    print("|---|---|---|")
    for name, pattern in contents.items():
        batches = _batches(pattern, total)
        scan, digest = _rate(total, _scan, batches), _rate(total, _hash, batches)
        print(f"| {name} | {scan:,.0f} | {digest:,.0f} |")


if __name__ == "__main__":
    main()
